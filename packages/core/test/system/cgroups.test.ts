import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import {
  bundleMaker,
  cgroupPaths,
  corralBin,
  corralSync,
  disposeBundles,
  processesRootedIn,
  runBundle,
  runDetached,
  type TestBundle,
} from './bundle.js';

const made: TestBundle[] = [];
afterEach(() => {
  disposeBundles(made);
});

const bundleFor = bundleMaker(made);

const corral = corralSync;

describe('cgroups of a container', () => {
  it('applies linux.resources before the process runs, and removes the cgroup with the container', () => {
    const bundle = bundleFor(['sleep', '60'], (spec) => {
      spec.linux!.cgroupsPath = `/corral-test/${Math.random().toString(36).slice(2, 8)}`;
      spec.linux!.resources = {
        memory: { limit: 64 * 1024 * 1024 },
        pids: { limit: 32 },
        cpu: { shares: 512 },
      };
    });
    runDetached(bundle);
    const paths = cgroupPaths(bundle);
    const pid = JSON.parse(corral(bundle, 'state', bundle.id).stdout).pid;
    expect(readFileSync(join(paths.memory!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(
      String(64 * 1024 * 1024),
    );
    expect(readFileSync(join(paths.pids!, 'pids.max'), 'utf8').trim()).toBe('32');
    expect(readFileSync(join(paths.cpu!, 'cpu.shares'), 'utf8').trim()).toBe('512');
    expect(readFileSync(join(paths.memory!, 'cgroup.procs'), 'utf8').trim().split('\n')).toContain(
      String(pid),
    );
    expect(corral(bundle, 'delete', '--force', bundle.id).status).toBe(0);
    for (const dir of Object.values(paths)) expect(existsSync(dir)).toBe(false);
  });

  it('denies devices the config does not allow', async () => {
    const result = await runBundle(
      bundleFor(
        ['sh', '-c', 'cat /dev/null && echo null-ok; mknod /tmp/mem c 1 1 && head -c1 /tmp/mem; echo done'],
        (spec) => {
          spec.process!.capabilities = undefined; // keep CAP_MKNOD: only the device cgroup stands in the way
        },
      ),
    );
    expect(result.stdout).toMatch(/^null-ok\n/);
    expect(result.stderr).toMatch(/\/tmp\/mem: Operation not permitted/);
  });

  it('pauses and resumes: a paused container makes no progress', async () => {
    const bundle = bundleFor([
      'sh',
      '-c',
      // Written aside and renamed, so that a read never lands between truncate and write.
      'i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.02; done',
    ]);
    runDetached(bundle);
    const count = () => Number(readFileSync(join(bundle.rootfs, 'tmp/count'), 'utf8') || 0);
    await sleep(200);
    expect(corral(bundle, 'pause', bundle.id).status).toBe(0);
    expect(JSON.parse(corral(bundle, 'state', bundle.id).stdout).status).toBe('paused');
    expect(corral(bundle, 'pause', bundle.id).stderr).toMatch(/cannot pause container .*: it is paused/);
    const frozen = count();
    await sleep(300);
    expect(count()).toBe(frozen);
    expect(corral(bundle, 'resume', bundle.id).status).toBe(0);
    await sleep(300);
    expect(count()).toBeGreaterThan(frozen);
    expect(JSON.parse(corral(bundle, 'state', bundle.id).stdout).status).toBe('running');
    // A paused container is deleted with --force: it is thawed to take its SIGKILL.
    corral(bundle, 'pause', bundle.id);
    expect(corral(bundle, 'delete', '--force', bundle.id).status).toBe(0);
    expect(processesRootedIn(bundle.rootfs)).toEqual([]);
  });

  it('exec --ignore-paused runs in a paused container once it is resumed', async () => {
    const bundle = bundleFor(['sleep', '60']);
    runDetached(bundle);
    expect(corral(bundle, 'pause', bundle.id).status).toBe(0);
    const refused = corral(bundle, 'exec', bundle.id, 'true');
    expect(refused.status).toBe(255); // A failed exec, as runc exits.
    expect(refused.stderr).toMatch(/it is paused \(use --ignore-paused/);
    // Asynchronous: the exec'd process is frozen with the rest until resume.
    const pending = new Promise<number | null>((resolve) => {
      const child = spawn(
        corralBin,
        ['--root', bundle.stateRoot, 'exec', '--ignore-paused', bundle.id, 'echo', 'after'],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.on('exit', (code) => resolve(out === 'after\n' ? code : -1));
    });
    await sleep(500);
    expect(corral(bundle, 'resume', bundle.id).status).toBe(0);
    expect(await pending).toBe(0);
  });

  it('exec --cgroup runs the process in a sub-cgroup of the container', () => {
    const bundle = bundleFor(['sleep', '60']);
    runDetached(bundle);
    const paths = cgroupPaths(bundle);
    const subCgroups = [
      ...Object.values(paths).map((dir) => join(dir, 'all')),
      join(paths.pids!, 'only-pids'),
    ];
    try {
      for (const dir of subCgroups) {
        mkdirSync(dir);
        // A new v1 cpuset has no CPUs or memory nodes until given its parent's.
        if (dir.startsWith(paths.cpuset!)) {
          for (const file of ['cpuset.cpus', 'cpuset.mems'])
            writeFileSync(join(dir, file), readFileSync(join(paths.cpuset!, file)));
        }
      }
      const cgroupOf = (...flags: string[]) => {
        const result = corral(bundle, 'exec', ...flags, bundle.id, 'cat', '/proc/self/cgroup');
        expect(result.stderr).toBe('');
        return Object.fromEntries(
          result.stdout
            .trim()
            .split('\n')
            .map((line) => line.split(':'))
            .map(([, controllers, path]) => [controllers, path]),
        );
      };
      const everywhere = cgroupOf('--cgroup', 'all');
      expect(everywhere.pids).toMatch(/\/all$/);
      expect(everywhere.memory).toMatch(/\/all$/);
      const pidsOnly = cgroupOf('--cgroup', 'pids:only-pids');
      expect(pidsOnly.pids).toMatch(/\/only-pids$/);
      expect(pidsOnly.memory).not.toMatch(/only-pids|all/);
      for (const [flag, message] of [
        ['missing', /does not exist/],
        ['../escape', /inside the container's cgroup/],
        ['nosuch:all', /no "nosuch" cgroup/],
      ] as const) {
        const refused = corral(bundle, 'exec', '--cgroup', flag, bundle.id, 'true');
        expect(refused.status).toBe(255);
        expect(refused.stderr).toMatch(message);
      }
    } finally {
      // The exec'd processes are gone: the sub-cgroups are empty and go before the container's.
      for (const dir of subCgroups) if (existsSync(dir)) rmdirSync(dir);
    }
  });

  it('refuses impossible resources before anything exists, naming the field', async () => {
    const bundle = bundleFor(['true'], (spec) => {
      spec.linux!.resources = { cpu: { cpus: '0-banana' } };
    });
    const result = await runBundle(bundle);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/linux\.resources\.cpu\.cpus/);
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
  });
});
