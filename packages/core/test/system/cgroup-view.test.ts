import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

import { cgroupMounts, parseCgroupMounts } from '@corral/cgroups';
import { repoRoot } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { bundleMaker, corralSync, disposeBundles, type TestBundle } from './bundle.js';
import {
  parseView,
  report,
  type View,
  viewAfterCheckpointAndRestore,
  withCgroupMount,
} from './cgroup-report.js';

const REPORT = report('/sys/fs/cgroup/memory/memory.limit_in_bytes');

// What a container sees of its cgroup on this host (hybrid: v1 controllers and a cgroup2 mount):
// its own cgroup in each v1 hierarchy, never the host's tree, with or without a cgroup namespace.
const made: TestBundle[] = [];
const bundleFor = bundleMaker(made);
afterEach(() => disposeBundles(made));

const _env = { ...process.env, CORRAL_CRIU: join(repoRoot, 'tooling/criu/criu') };

/** The host's v1 hierarchies as the container's /sys/fs/cgroup names them. */
const hierarchies = [
  ...new Set([...cgroupMounts().v1.values()].map((m) => posix.basename(m.mountpoint))),
].sort();
const hierarchyMounts = (view: View) =>
  [...view.mounts].filter(([point]) => point !== '/sys/fs/cgroup').map(([point]) => posix.basename(point));

function recordedPaths(bundle: TestBundle): Record<string, string> {
  return JSON.parse(readFileSync(join(bundle.stateRoot, bundle.id, 'state.json'), 'utf8')).cgroupPaths;
}

function run(bundle: TestBundle): View {
  const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return parseView(result.stdout);
}

describe('a container sees its own cgroup', () => {
  it('with a cgroup namespace of its own: / in every hierarchy, each mounted from its own cgroup', () => {
    const view = run(bundleFor(REPORT, withCgroupMount({ cgroupns: true })));
    expect([...view.cgroup.values()].every((path) => path === '/')).toBe(true);
    expect(view.cgroup.has('name=systemd')).toBe(true);
    expect(view.mounts.get('/sys/fs/cgroup')?.[1]).toBe('tmpfs');
    expect(hierarchyMounts(view).sort()).toEqual(hierarchies);
    for (const [point, [root, fstype, options]] of view.mounts) {
      if (point === '/sys/fs/cgroup') continue;
      expect({ point, root, fstype, ro: options.split(',').includes('ro') }).toEqual({
        point,
        root: '/',
        fstype: 'cgroup',
        ro: true,
      });
    }
    expect(view.limit).toBe(String(64 << 20));
  });

  it('without one: each hierarchy bound from the container cgroup, never the root', () => {
    const bundle = bundleFor(REPORT, withCgroupMount({ cgroupns: false }));
    const view = run(bundle);
    expect(hierarchyMounts(view).sort()).toEqual(hierarchies);
    // The state is gone after run; the cgroup paths are the ones /proc/self/cgroup shows.
    const memory = view.mounts.get('/sys/fs/cgroup/memory');
    expect(memory?.[0]).toBe(view.cgroup.get('memory'));
    expect(memory?.[0]).toMatch(new RegExp(`/${bundle.id}$`));
    expect(view.limit).toBe(String(64 << 20));
  });

  it('can write its own cgroup only when the config mounts it rw', () => {
    const write = ['sh', '-c', 'echo 50 > /sys/fs/cgroup/pids/pids.max && cat /sys/fs/cgroup/pids/pids.max'];
    const roBundle = bundleFor(write, withCgroupMount({ cgroupns: true }));
    const ro = corralSync(roBundle, 'run', '--bundle', roBundle.path, roBundle.id);
    expect(ro.status).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    const rwBundle = bundleFor(write, withCgroupMount({ cgroupns: true, rw: true }));
    const rw = corralSync(rwBundle, 'run', '--bundle', rwBundle.path, rwBundle.id);
    expect(rw.stderr).toBe('');
    expect(rw.stdout.trim()).toBe('50');
  });

  it('in a user namespace too', () => {
    const bundle = bundleFor(REPORT, (spec) => {
      withCgroupMount({ cgroupns: true })(spec);
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
    });
    const view = run(bundle);
    expect([...view.cgroup.values()].every((path) => path === '/')).toBe(true);
    expect(hierarchyMounts(view).sort()).toEqual(hierarchies);
    expect(view.limit).toBe(String(64 << 20));
  });

  for (const cgroupns of [true, false]) {
    it(`keeps its view through checkpoint and restore (${cgroupns ? 'with' : 'without'} a cgroup namespace)`, () => {
      const bundle = bundleFor(['sleep', '600'], withCgroupMount({ cgroupns }));
      const view = viewAfterCheckpointAndRestore(bundle, REPORT);
      const paths = recordedPaths(bundle);
      expect(hierarchyMounts(view).sort()).toEqual(hierarchies);
      expect(view.limit).toBe(String(64 << 20));
      const memoryRoot = view.mounts.get('/sys/fs/cgroup/memory')?.[0];
      if (cgroupns) {
        expect([...view.cgroup.values()].every((path) => path === '/')).toBe(true);
        expect(memoryRoot).toBe('/');
      } else {
        const mount = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')).v1.get('memory')!;
        expect(memoryRoot).toBe(paths.memory!.slice(mount.mountpoint.length) || '/');
      }
    });
  }
});
