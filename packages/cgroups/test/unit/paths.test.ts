import { describe, expect, it } from 'vitest';

import {
  CgroupError,
  CgroupV1Manager,
  CgroupV2Manager,
  cgroupDirectories,
  cgroupModeOf,
  HybridCgroupManager,
  parseCgroupMounts,
  parseProcCgroup,
  resolveCgroupPath,
} from '../../src/index.js';
import type { V1Controller } from '../../src/mounts.js';

// Lines in the format of /proc/self/mountinfo on a hybrid host like the ones this project runs on.
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;
const UNIFIED = '29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate';
const LEGACY = `32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory`;

describe('mode detection', () => {
  it('tells legacy, hybrid and unified apart', () => {
    expect(cgroupModeOf(parseCgroupMounts(HYBRID))).toBe('hybrid');
    expect(cgroupModeOf(parseCgroupMounts(UNIFIED))).toBe('unified');
    expect(cgroupModeOf(parseCgroupMounts(LEGACY))).toBe('legacy');
    expect(() => cgroupModeOf(parseCgroupMounts(''))).toThrow(CgroupError);
  });

  it('maps co-mounted controllers to one mount and keeps the mount root', () => {
    const mounts = parseCgroupMounts(LEGACY);
    expect(mounts.v1.get('cpu')).toEqual({ mountpoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/' });
    expect(mounts.v1.get('cpuacct')?.mountpoint).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(mounts.v1.get('memory')?.root).toBe('/docker/abc');
    expect(mounts.v2).toBeUndefined();
  });
});

describe('cgroupsPath', () => {
  it('takes an absolute path from the root of each hierarchy', () => {
    const path = resolveCgroupPath({ cgroupsPath: '/corral/c1', containerId: 'c1' });
    expect(path).toEqual({ path: '/corral/c1', relative: false });
    const own = parseProcCgroup('4:memory:/process_api/x\n1:cpu:/\n0::/');
    const dirs = cgroupDirectories(path, parseCgroupMounts(HYBRID), own);
    expect(dirs.v1.get('memory')).toBe('/sys/fs/cgroup/memory/corral/c1');
    expect(dirs.v2).toBe('/sys/fs/cgroup/unified/corral/c1');
  });

  it('joins a relative path to our own cgroup in each hierarchy', () => {
    const path = resolveCgroupPath({ cgroupsPath: 'pods/c1' });
    const own = parseProcCgroup('4:memory:/process_api/x\n2:cpuacct:/\n1:cpu:/a\n0::/b');
    const dirs = cgroupDirectories(path, parseCgroupMounts(HYBRID), own);
    expect(dirs.v1.get('memory')).toBe('/sys/fs/cgroup/memory/process_api/x/pods/c1');
    expect(dirs.v1.get('cpu')).toBe('/sys/fs/cgroup/cpu/a/pods/c1');
    expect(dirs.v2).toBe('/sys/fs/cgroup/unified/b/pods/c1');
  });

  it('puts a relative path beside our own cgroup on a unified host, as runc does', () => {
    const own = parseProcCgroup('0::/system.slice/corral.service');
    const dirs = cgroupDirectories(resolveCgroupPath({ cgroupsPath: 'c1' }), parseCgroupMounts(UNIFIED), own);
    expect(dirs.v2).toBe('/sys/fs/cgroup/system.slice/c1');
    const atRoot = cgroupDirectories(
      resolveCgroupPath({ cgroupsPath: 'c1' }),
      parseCgroupMounts(UNIFIED),
      parseProcCgroup('0::/'),
    );
    expect(atRoot.v2).toBe('/sys/fs/cgroup/c1');
  });

  it('refuses a relative path from a cgroup outside our cgroup namespace, naming the field', () => {
    const own = parseProcCgroup('0::/../libpod-abc');
    const attempt = () =>
      cgroupDirectories(resolveCgroupPath({ cgroupsPath: 'a/c1' }), parseCgroupMounts(UNIFIED), own);
    expect(attempt).toThrow(/linux.cgroupsPath: .*outside the cgroup hierarchy/);
  });

  it("joins systemd's named hierarchy as well", () => {
    const mounts = parseCgroupMounts(HYBRID);
    expect(mounts.v1.get('name=systemd')?.mountpoint).toBe('/sys/fs/cgroup/systemd');
    const own = parseProcCgroup('9:name=systemd:/user.slice\n0::/');
    const dirs = cgroupDirectories(resolveCgroupPath({ cgroupsPath: 'c1' }), mounts, own);
    expect(dirs.v1.get('name=systemd')).toBe('/sys/fs/cgroup/systemd/user.slice/c1');
  });

  it('strips the mount root seen from inside a cgroup namespace', () => {
    const own = parseProcCgroup('4:memory:/docker/abc/sub');
    const dirs = cgroupDirectories(resolveCgroupPath({ cgroupsPath: 'c1' }), parseCgroupMounts(LEGACY), own);
    expect(dirs.v1.get('memory')).toBe('/sys/fs/cgroup/memory/sub/c1');
  });

  it('defaults to the container id, relative, as runc does', () => {
    expect(resolveCgroupPath({ containerId: 'web' })).toEqual({ path: 'web', relative: true });
  });

  it('cannot climb out of its starting point', () => {
    expect(resolveCgroupPath({ cgroupsPath: '../../etc' })).toEqual({ path: 'etc', relative: true });
    expect(resolveCgroupPath({ cgroupsPath: '/a/../../b' })).toEqual({ path: '/b', relative: false });
  });

  it('refuses a systemd path without the systemd driver, saying what to do', () => {
    expect(() => resolveCgroupPath({ cgroupsPath: 'system.slice:corral:abc' })).toThrow(
      /systemd path .*run with --systemd-cgroup/,
    );
    try {
      resolveCgroupPath({ cgroupsPath: 'a.slice:p:n' });
      expect.unreachable();
    } catch (error) {
      expect((error as CgroupError).code).toBe('NOT_SUPPORTED');
      expect((error as CgroupError).field).toBe('linux.cgroupsPath');
    }
  });

  it('refuses the root cgroup and an empty path without an id', () => {
    expect(() => resolveCgroupPath({ cgroupsPath: '/' })).toThrow(/root cgroup/);
    expect(() => resolveCgroupPath({ cgroupsPath: '' })).toThrow(/linux.cgroupsPath/);
  });
});

describe('the entry of a cgroup', () => {
  it('lists each v1 directory once, the freezer last, and the cgroup2 directory to start in', () => {
    const dirs = new Map<V1Controller, string>([
      ['cpu', '/sys/fs/cgroup/cpu,cpuacct/c'],
      ['cpuacct', '/sys/fs/cgroup/cpu,cpuacct/c'],
      ['freezer', '/sys/fs/cgroup/freezer/c'],
      ['pids', '/sys/fs/cgroup/pids/c'],
    ]);
    const v1 = new CgroupV1Manager(dirs);
    expect(v1.entryPaths()).toEqual({
      tasksFiles: [
        '/sys/fs/cgroup/cpu,cpuacct/c/tasks',
        '/sys/fs/cgroup/pids/c/tasks',
        '/sys/fs/cgroup/freezer/c/tasks',
      ],
    });
    const v2 = new CgroupV2Manager('/sys/fs/cgroup/unified/c', '/sys/fs/cgroup/unified');
    expect(new HybridCgroupManager(v1, v2).entryPaths()).toEqual({
      startIn: '/sys/fs/cgroup/unified/c',
      tasksFiles: v1.entryPaths().tasksFiles,
    });
  });
});
