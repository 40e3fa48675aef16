import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Container } from '@corral/core';
import { repoRoot } from '@corral/tooling/test-env';
import { afterAll, describe, expect, it } from 'vitest';

import {
  corral,
  exec,
  execLeavingContainer,
  newId,
  sleeperBundle,
  unitLoaded,
  unitProperties,
} from './systemd-helpers.js';

// corral's own commands on a container in a systemd scope, bad input that must leave nothing,
// and many create/delete cycles.
const bundles: Array<ReturnType<typeof sleeperBundle>> = [];
const cleanups: Array<() => void> = [];

afterAll(() => {
  for (const cleanup of cleanups) cleanup();
  for (const bundle of bundles) bundle.remove();
});

function bundleFor(id: string, configure: Parameters<typeof sleeperBundle>[0] = () => {}) {
  const bundle = sleeperBundle((spec) => {
    spec.linux!.cgroupsPath = `system.slice:vmtest:${id}`;
    configure(spec);
  });
  bundles.push(bundle);
  const run = (...args: string[]) => exec(corral, ['--root', bundle.state, '--systemd-cgroup', ...args]);
  const start = (...args: string[]) =>
    execLeavingContainer(corral, ['--root', bundle.state, '--systemd-cgroup', ...args]);
  cleanups.push(() => run('delete', '--force', id));
  return {
    bundle,
    run,
    start,
    unit: `vmtest-${id}.scope`,
    dir: `/sys/fs/cgroup/system.slice/vmtest-${id}.scope`,
  };
}

/** Every trace a container could leave: its state directory, its unit, its cgroup. */
function leftovers(state: string, unit: string, dir: string): string[] {
  return [
    ...readdirSync(state).map((entry) => `state ${entry}`),
    ...(unitLoaded(unit) ? [`unit ${unit}`] : []),
    ...(existsSync(dir) ? [`cgroup ${dir}`] : []),
  ];
}

describe('corral --systemd-cgroup commands', () => {
  it('state, ps, pause, resume, update, events and delete act on the scope', () => {
    const id = newId('life');
    const { bundle, run, start, unit, dir } = bundleFor(id, (spec) => {
      spec.linux!.resources = { memory: { limit: 64 * 2 ** 20 } } as never;
    });
    const started = start('run', '-d', '--bundle', bundle.path, id);
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    const state = JSON.parse(run('state', id).stdout);
    expect(state.status).toBe('running');
    expect(JSON.parse(run('ps', '--format', 'json', id).stdout)).toEqual([state.pid]);
    expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim()).toBe(String(state.pid));

    expect(run('pause', id).status).toBe(0);
    expect(JSON.parse(run('state', id).stdout).status).toBe('paused');
    expect(readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim()).toBe('1');
    expect(run('resume', id).status).toBe(0);
    expect(JSON.parse(run('state', id).stdout).status).toBe('running');

    // update goes through systemd (SetUnitProperties), then the files; no flag is needed for it.
    const update = exec(corral, [
      '--root',
      bundle.state,
      'update',
      '--memory',
      '128m',
      '--pids-limit',
      '20',
      id,
    ]);
    expect(update.stderr).toBe('');
    expect(unitProperties(unit, ['MemoryMax', 'TasksMax'])).toEqual({
      MemoryMax: String(128 * 2 ** 20),
      TasksMax: '20',
    });
    expect(readFileSync(join(dir, 'memory.max'), 'utf8').trim()).toBe(String(128 * 2 ** 20));
    expect(readFileSync(join(dir, 'pids.max'), 'utf8').trim()).toBe('20');

    const stats = JSON.parse(run('events', '--stats', id).stdout);
    expect(stats.type).toBe('stats');
    expect(stats.data.memory.usage.limit).toBe(128 * 2 ** 20);
    expect(stats.data.pids.current).toBe(1);

    const removed = exec(corral, ['--root', bundle.state, 'delete', '--force', id]);
    expect(removed.stderr).toBe('');
    expect(leftovers(bundle.state, unit, dir)).toEqual([]);
  });

  it('reports an OOM kill in the scope through events', async () => {
    const id = newId('oom');
    const { bundle, run, start } = bundleFor(id, (spec) => {
      spec.linux!.resources = { memory: { limit: 32 * 2 ** 20, swap: 32 * 2 ** 20 } } as never;
      // Waits for the test to be listening, then allocates past the limit once.
      spec.process!.args = [
        '/bin/sh',
        '-c',
        'while [ ! -e /go ]; do sleep 0.1; done; dd if=/dev/zero of=/dev/null bs=64M count=1; echo "dd $?" > /dd; sleep 1000',
      ];
    });
    expect(start('run', '-d', '--bundle', bundle.path, id).status).toBe(0);
    const events = spawn(corral, ['--root', bundle.state, 'events', '--interval', '1s', id], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    const lines = () =>
      output
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line).type as string);
    events.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      while (!lines().includes('stats') && events.exitCode === null)
        await new Promise((resolve) => setTimeout(resolve, 100));
      writeFileSync(join(bundle.path, 'rootfs/go'), '');
      while (!lines().includes('oom') && events.exitCode === null)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(lines().filter((type) => type === 'oom')).toEqual(['oom']);
    } finally {
      events.kill('SIGKILL');
    }
    expect(run('delete', '--force', id).status).toBe(0);
  });

  it('checkpoints a container and restores it into a new scope', () => {
    const id = newId('ckpt');
    // The guest has no iptables for CRIU's network lock; the container's network is its own, empty one.
    const criuConf = join(tmpdir(), `corral-${id}-criu.conf`);
    writeFileSync(criuConf, 'network-lock skip\n');
    cleanups.push(() => rmSync(criuConf, { force: true }));
    const { bundle, run, start, unit, dir } = bundleFor(id, (spec) => {
      spec.linux!.resources = { pids: { limit: 30 } } as never;
      spec.annotations = { 'org.criu.config': criuConf };
      // CRIU cannot dump the container's view of the host's cgroup mount yet, whatever the driver.
      spec.mounts = spec.mounts!.filter((m) => m.type !== 'cgroup');
    });
    const criu = ['--criu', join(repoRoot, 'tooling/criu/criu')];
    expect(start('run', '-d', '--bundle', bundle.path, id).status).toBe(0);
    const images = join(bundle.path, 'images');
    const dumped = run(...criu, 'checkpoint', '--image-path', images, id);
    expect(dumped.stderr).toBe('');
    expect(leftovers(bundle.state, unit, dir)).toEqual([]);
    const restored = start(...criu, 'restore', '-d', '--image-path', images, '--bundle', bundle.path, id);
    expect(restored.stderr).toBe('');
    expect(restored.status).toBe(0);
    const state = JSON.parse(run('state', id).stdout);
    expect(state.status).toBe('running');
    expect(unitProperties(unit, ['ActiveState', 'TasksMax'])).toEqual({
      ActiveState: 'active',
      TasksMax: '30',
    });
    expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim()).toBe(String(state.pid));
    expect(run('delete', '--force', id).status).toBe(0);
    expect(leftovers(bundle.state, unit, dir)).toEqual([]);
  });

  it('delete --force cleans a scope left by a create that was killed', () => {
    const id = newId('crash');
    const { bundle, run, start, unit, dir } = bundleFor(id, (spec) => {
      // The runtime dies with SIGKILL once the scope holds the init, before create returns.
      spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'kill -9 $PPID'] }] };
    });
    const create = start('create', '--bundle', bundle.path, id);
    expect(create.status).not.toBe(0);
    expect(readdirSync(bundle.state)).toEqual([id]);
    const removed = run('delete', '--force', id);
    expect(removed.stderr).toBe('');
    expect(removed.status).toBe(0);
    expect(leftovers(bundle.state, unit, dir)).toEqual([]);
  });

  it('refuses a cgroupsPath that is not slice:prefix:name with one line, leaving nothing', () => {
    const id = newId('badpath');
    const { bundle, start } = bundleFor(id, (spec) => {
      spec.linux!.cgroupsPath = '/system.slice/x';
    });
    const create = start('create', '--bundle', bundle.path, id);
    expect(create.status).toBe(1);
    expect(create.stderr).toBe(
      'corral: invalid config: linux.cgroupsPath: expected "slice:prefix:name" for systemd cgroups, got "/system.slice/x"\n',
    );
    expect(readdirSync(bundle.state)).toEqual([]);
  });

  it('names the annotation of a property systemd refuses, leaving nothing', () => {
    const id = newId('badprop');
    const { bundle, start, unit, dir } = bundleFor(id, (spec) => {
      spec.annotations = { 'org.systemd.property.NoSuchProperty': 'uint64 1' };
    });
    const create = start('create', '--bundle', bundle.path, id);
    expect(create.status).toBe(1);
    expect(create.stderr.split('\n').length).toBe(2);
    expect(create.stderr).toMatch(
      /^corral: invalid config: annotations\["org\.systemd\.property\.NoSuchProperty"\]: systemd refused NoSuchProperty: Cannot set property NoSuchProperty, or unknown property\.\n$/,
    );
    expect(leftovers(bundle.state, unit, dir)).toEqual([]);
  });

  it('leaves no unit and no cgroup after 100 create/delete cycles', async () => {
    const id = newId('cycle');
    const { bundle, unit, dir } = bundleFor(id);
    for (let i = 0; i < 100; i++) {
      const container = await Container.create({
        id,
        bundle: bundle.path,
        root: bundle.state,
        systemdCgroup: true,
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      if (i === 0 || i === 99) expect(unitLoaded(unit)).toBe(true);
      await container.delete({ force: true });
    }
    expect(leftovers(bundle.state, unit, dir)).toEqual([]);
    expect(readdirSync('/run/systemd/transient').filter((name) => name.includes(id))).toEqual([]);
    expect(existsSync(`/run/systemd/system.control/${unit}.d`)).toBe(false);
  });
});
