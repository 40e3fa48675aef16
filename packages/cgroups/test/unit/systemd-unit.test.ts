import { describe, expect, it } from 'vitest';

import { type CgroupError, expandSlice, systemdUnitFor } from '../../src/index.js';

describe('systemd cgroupsPath (slice:prefix:name)', () => {
  it('makes prefix-name.scope under the slice', () => {
    expect(systemdUnitFor('machine.slice:libpod:abc', 'ignored')).toEqual({
      name: 'libpod-abc.scope',
      slice: 'machine.slice',
      kind: 'scope',
      cgroup: '/machine.slice/libpod-abc.scope',
      description: 'corral container abc',
    });
  });

  it('defaults as runc does: system.slice, and :corral:ID for an empty path', () => {
    expect(systemdUnitFor(':cri-containerd:xyz', 'x')).toMatchObject({
      name: 'cri-containerd-xyz.scope',
      slice: 'system.slice',
      cgroup: '/system.slice/cri-containerd-xyz.scope',
    });
    expect(systemdUnitFor('', 'web')).toMatchObject({ name: 'corral-web.scope', slice: 'system.slice' });
    expect(systemdUnitFor(undefined, 'web').cgroup).toBe('/system.slice/corral-web.scope');
  });

  it('nests a dashed slice in its parents, and -.slice is the root', () => {
    expect(systemdUnitFor('machine-libpod.slice:libpod:1', 'x').cgroup).toBe(
      '/machine.slice/machine-libpod.slice/libpod-1.scope',
    );
    expect(systemdUnitFor('-.slice:p:n', 'x').cgroup).toBe('/p-n.scope');
    expect(expandSlice('kubepods-burstable-pod1.slice')).toBe(
      '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice',
    );
  });

  it('takes a name that is a slice as the unit itself (kubelet pod slices)', () => {
    expect(systemdUnitFor('kubepods-besteffort.slice:ignored:kubepods-besteffort-pod9.slice', 'x')).toEqual({
      name: 'kubepods-besteffort-pod9.slice',
      slice: 'kubepods-besteffort.slice',
      kind: 'slice',
      cgroup: '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice',
      description: 'corral container kubepods-besteffort-pod9.slice',
    });
  });

  it('refuses what is not slice:prefix:name, naming the field', () => {
    for (const path of ['/sys/fs/cgroup/x', 'a:b', 'a:b:c:d', 'system.slice/x:p:n']) {
      let error: CgroupError | undefined;
      try {
        systemdUnitFor(path, 'x');
      } catch (e) {
        error = e as CgroupError;
      }
      expect(error?.code, path).toBe('INVALID_CONFIG');
      expect(error?.field).toBe('linux.cgroupsPath');
      expect(error?.message).toMatch(/^linux\.cgroupsPath: /);
    }
    expect(() => systemdUnitFor('a:b', 'x')).toThrow(/expected "slice:prefix:name"/);
    expect(() => systemdUnitFor('system:p:n', 'x')).toThrow(/must end in "\.slice"/);
    expect(() => systemdUnitFor('a--b.slice:p:n', 'x')).toThrow(/not a valid slice name/);
    expect(() => systemdUnitFor('-a.slice:p:n', 'x')).toThrow(/not a valid slice name/);
    expect(() => systemdUnitFor('system.slice:p:a+b', 'x')).toThrow(/not a valid systemd unit name/);
    expect(() => systemdUnitFor(`system.slice:p:${'a'.repeat(250)}`, 'x')).toThrow(/longer than/);
    expect(() => systemdUnitFor('', undefined)).toThrow(/no container id/);
  });
});
