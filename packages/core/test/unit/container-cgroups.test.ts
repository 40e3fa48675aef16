import type { CgroupManager, CgroupMounts } from '@corral/cgroups';
import { describe, expect, it } from 'vitest';

import { containerCgroups } from '../../src/container/cgroup.js';

const hybrid: CgroupMounts = {
  v1: new Map([
    ['memory', { mountpoint: '/sys/fs/cgroup/memory', root: '/' }],
    ['pids', { mountpoint: '/sys/fs/cgroup/pids', root: '/' }],
    ['cpu', { mountpoint: '/sys/fs/cgroup/cpu', root: '/inner' }],
  ]),
  v2: { mountpoint: '/sys/fs/cgroup/unified', root: '/' },
};
const manager = (paths: Record<string, string>) => ({ getPaths: () => paths }) as unknown as CgroupManager;
const own = () =>
  new Map([
    ['memory', '/user/mem'],
    ['pids', '/../outside'],
    ['cpu', '/inner/cpu'],
    ['', '/user'],
  ]);

describe("containerCgroups: what a container's cgroup mount shows", () => {
  it("is the container's own cgroup for a runtime that is root", () => {
    const cgroups = containerCgroups(manager({ memory: '/sys/fs/cgroup/memory/c' }), false, hybrid, own);
    expect(cgroups.paths).toEqual({ memory: '/sys/fs/cgroup/memory/c' });
  });

  it("is the runtime's own cgroup where a rootless container has none, never one outside the mount", () => {
    expect(containerCgroups(undefined, true, hybrid, own).paths).toEqual({
      memory: '/sys/fs/cgroup/memory/user/mem',
      cpu: '/sys/fs/cgroup/cpu/cpu',
      '': '/sys/fs/cgroup/unified/user',
    });
    const partial = containerCgroups(manager({ memory: '/sys/fs/cgroup/memory/c' }), true, hybrid, own);
    expect(partial.paths.memory).toBe('/sys/fs/cgroup/memory/c');
    expect(partial.paths.cpu).toBe('/sys/fs/cgroup/cpu/cpu');
  });
});
