import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { uniqueName } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { bundleMaker, corralBin, corralSync, disposeBundles, type TestBundle } from '../system/bundle.js';
import {
  parseView,
  report,
  viewAfterCheckpointAndRestore,
  withCgroupMount,
} from '../system/cgroup-report.js';

// Inside the test VM: a unified cgroup v2 host with systemd, as most container hosts are.
const made: TestBundle[] = [];
const bundleFor = bundleMaker(made);
afterEach(() => disposeBundles(made));

const REPORT = report('/sys/fs/cgroup/memory.max');
const TEST_PARENT = '/sys/fs/cgroup/corral-test';

function run(bundle: TestBundle) {
  const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return parseView(result.stdout);
}

/** Nothing of a refused container: no state directory, no cgroup named after it. */
function expectNothingLeft(bundle: TestBundle, cgroupDir: string): void {
  expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
  expect(existsSync(cgroupDir)).toBe(false);
}

describe('a container on a cgroup v2 host sees its own cgroup', () => {
  it('with a cgroup namespace: 0::/ and a cgroup2 mount rooted at its cgroup', () => {
    const view = run(bundleFor(REPORT, withCgroupMount({ cgroupns: true })));
    expect([...view.cgroup]).toEqual([['', '/']]);
    expect([...view.mounts]).toEqual([['/sys/fs/cgroup', ['/', 'cgroup2', expect.stringMatching(/^ro,/)]]]);
    expect(view.limit).toBe(String(64 << 20));
  });

  it('without one: its own cgroup directory bound in, never the root', () => {
    const bundle = bundleFor(REPORT, withCgroupMount({ cgroupns: false }));
    const view = run(bundle);
    const own = view.cgroup.get('');
    expect(own).toMatch(new RegExp(`/${bundle.id}$`));
    expect([...view.mounts]).toEqual([['/sys/fs/cgroup', [own, 'cgroup2', expect.stringMatching(/^ro,/)]]]);
    expect(view.limit).toBe(String(64 << 20));
  });

  it('in a user namespace with a cgroup namespace', () => {
    const view = run(
      bundleFor(REPORT, (spec) => {
        withCgroupMount({ cgroupns: true })(spec);
        spec.linux!.namespaces!.push({ type: 'user' });
        spec.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
        spec.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
      }),
    );
    expect([...view.cgroup]).toEqual([['', '/']]);
    expect(view.mounts.get('/sys/fs/cgroup')?.[0]).toBe('/');
    expect(view.limit).toBe(String(64 << 20));
  });

  it('keeps that view through checkpoint and restore', () => {
    const bundle = bundleFor(['sleep', '600'], withCgroupMount({ cgroupns: true }));
    const view = viewAfterCheckpointAndRestore(bundle, REPORT);
    expect([...view.cgroup]).toEqual([['', '/']]);
    expect(view.mounts.get('/sys/fs/cgroup')?.slice(0, 2)).toEqual(['/', 'cgroup2']);
    expect(view.limit).toBe(String(64 << 20));
  });
});

describe('bad cgroup input is refused before anything is made', () => {
  it('a resource cgroup v2 cannot express: one line naming the field', () => {
    const name = uniqueName('swappy');
    const bundle = bundleFor(['true'], (spec) => {
      spec.linux!.cgroupsPath = `/corral-test/${name}`;
      spec.linux!.resources = { memory: { limit: 64 << 20, swappiness: 10 } };
    });
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^corral: .*linux\.resources\.memory\.swappiness: cgroup v2 has no per-cgroup swappiness\n$/,
    );
    expectNothingLeft(bundle, join(TEST_PARENT, name));
  });

  it('a controller the parent cannot pass down: one line naming the field', async () => {
    // A parent with a process of its own cannot enable io for its children (cgroup v2's rule).
    const parent = join(TEST_PARENT, uniqueName('busy'));
    mkdirSync(parent, { recursive: true });
    const sleeper = spawnSync('sh', ['-c', `sleep 600 >/dev/null 2>&1 & echo $!`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const pid = Number(sleeper.stdout.trim());
    try {
      writeFileSync(join(parent, 'cgroup.procs'), String(pid));
      const bundle = bundleFor(['true'], (spec) => {
        spec.linux!.cgroupsPath = `${parent.slice('/sys/fs/cgroup'.length)}/c`;
        spec.linux!.resources = { blockIO: { weight: 500 } };
      });
      const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        /^corral: linux\.resources\.blockIO\.weight: the io controller is not enabled in \S+ and cannot be: that cgroup has processes of its own\n$/,
      );
      expectNothingLeft(bundle, join(parent, 'c'));
    } finally {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && readFileSync(join(parent, 'cgroup.procs'), 'utf8').trim(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      rmdirSync(parent);
    }
  });

  it('a cgroupsPath outside the hierarchy: one line naming linux.cgroupsPath', async () => {
    // A runtime whose own cgroup is outside its cgroup namespace ("0::/../b", moved there from
    // outside after it made the namespace in a) has nothing to put a relative cgroupsPath under.
    const a = join(TEST_PARENT, uniqueName('a'));
    const b = join(TEST_PARENT, uniqueName('b'));
    mkdirSync(a, { recursive: true });
    mkdirSync(b);
    try {
      const bundle = bundleFor(['true'], (spec) => {
        spec.linux!.cgroupsPath = 'pods/c';
      });
      const script = `echo $$ > ${a}/cgroup.procs && exec unshare -C sh -c 'echo ready; read go; cat /proc/self/cgroup >&2; exec "$@"' sh "$@"`;
      const child = spawn(
        'sh',
        [
          '-c',
          script,
          'sh',
          corralBin,
          '--root',
          bundle.stateRoot,
          'run',
          '--bundle',
          bundle.path,
          bundle.id,
        ],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const status = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await new Promise((resolve) => child.stdout.once('data', resolve));
      writeFileSync(join(b, 'cgroup.procs'), String(child.pid));
      child.stdin.end('go\n');
      expect(await status).toBe(1);
      const [cgroupLine, ...errors] = stderr.split('\n');
      expect(cgroupLine).toMatch(/^0::\/\.\.\//);
      expect(errors.join('\n')).toMatch(
        /^corral: invalid config: linux\.cgroupsPath: "pods\/c" is relative to this process's cgroup \S+, which is outside the cgroup hierarchy/,
      );
      expect(errors.filter(Boolean)).toHaveLength(1);
      expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
    } finally {
      rmdirSync(a);
      rmdirSync(b);
    }
  });
});
