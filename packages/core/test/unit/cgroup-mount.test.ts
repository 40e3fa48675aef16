import { parseCgroupMounts } from '@corral/cgroups';
import { describe, expect, it } from 'vitest';

import { cgroupHierarchies, cgroupMountOps, cgroupMountPoints } from '../../src/plan/cgroup-mount.js';
import { MountAttr, parseMountOptions } from '../../src/plan/mount-options.js';

const HYBRID = parseCgroupMounts(`31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw`);
const UNIFIED = parseCgroupMounts('29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate');
const hybridPaths = {
  cpu: '/sys/fs/cgroup/cpu,cpuacct/c1',
  cpuacct: '/sys/fs/cgroup/cpu,cpuacct/c1',
  memory: '/sys/fs/cgroup/memory/c1',
  'name=systemd': '/sys/fs/cgroup/systemd/c1',
  '': '/sys/fs/cgroup/unified/c1',
};
const ro = parseMountOptions(['nosuid', 'noexec', 'nodev', 'relatime', 'ro'], 'mounts[5]');

describe('the cgroup mount of a container', () => {
  it('is one cgroup2 mount of its own cgroup on a unified host', () => {
    const cgroups = { paths: { '': '/sys/fs/cgroup/system.slice/c1' }, mounts: UNIFIED };
    expect(cgroupMountPoints('/sys/fs/cgroup', cgroups)).toEqual([
      ['/sys/fs/cgroup', '/sys/fs/cgroup/system.slice/c1'],
    ]);
    const fresh = cgroupMountOps('/sys/fs/cgroup', 'mounts[5]', ro, 'cgroup', cgroups, true).map(
      ([op]) => op,
    );
    expect(fresh).toEqual([
      { op: 'mkdir', path: '/sys/fs/cgroup', mode: 0o755 },
      {
        op: 'mountFs',
        fstype: 'cgroup2',
        source: 'cgroup',
        target: '/sys/fs/cgroup',
        attrSet: ro.attrSet,
        propagation: 0,
        flags: 0,
        options: [],
        tryOptions: [],
      },
    ]);
    const bound = cgroupMountOps('/sys/fs/cgroup', 'mounts[5]', ro, 'cgroup', cgroups, false).map(
      ([op]) => op,
    );
    expect(bound[1]).toMatchObject({ op: 'mountBind', source: '/sys/fs/cgroup/system.slice/c1', flags: 0 });
    expect((bound[1] as { attrSet: bigint }).attrSet & MountAttr.readonly).toBe(MountAttr.readonly);
  });

  it("is a tmpfs of each v1 hierarchy on a hybrid host, systemd's included and unified left out", () => {
    const cgroups = { paths: hybridPaths, mounts: HYBRID };
    expect(cgroupHierarchies(cgroups).map((h) => [h.name, h.fsOptions, h.links])).toEqual([
      ['cpu,cpuacct', ['cpu', 'cpuacct'], ['cpu', 'cpuacct']],
      ['memory', ['memory'], []],
      ['systemd', ['name=systemd'], []],
    ]);
    const ops = cgroupMountOps('/sys/fs/cgroup', 'mounts[5]', ro, 'cgroup', cgroups, true);
    expect(ops.map(([op]) => op.op)).toEqual([
      'mkdir',
      'mountFs',
      'mkdir',
      'mountFs',
      'symlink',
      'symlink',
      'mkdir',
      'mountFs',
      'mkdir',
      'mountFs',
    ]);
    // The tmpfs stays writable, as runc leaves it; the hierarchies get the config's flags.
    expect(ops[1]?.[0]).toMatchObject({ fstype: 'tmpfs', options: ['mode=755'] });
    expect((ops[1]?.[0] as { attrSet: bigint }).attrSet & MountAttr.readonly).toBe(0n);
    expect(ops[4]?.[0]).toEqual({ op: 'symlink', target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpu' });
    expect(ops[9]?.[0]).toMatchObject({ source: 'systemd', options: ['name=systemd'], attrSet: ro.attrSet });
    expect(ops[9]?.[1]).toBe('mount cgroup name=systemd on /sys/fs/cgroup/systemd (mounts[5])');
    expect(cgroupMountPoints('/sys/fs/cgroup/', cgroups).map(([point]) => point)).toEqual([
      '/sys/fs/cgroup/cpu,cpuacct',
      '/sys/fs/cgroup/memory',
      '/sys/fs/cgroup/systemd',
    ]);
  });

  it('says what is missing without the container cgroup', () => {
    expect(() => cgroupMountOps('/sys/fs/cgroup', 'mounts[5]', ro, 'cgroup', undefined, true)).toThrow(
      /mounts\[5\]\.type: a cgroup mount needs the container cgroup/,
    );
  });
});
