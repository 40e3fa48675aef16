import { statSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { dumpPlanLines } from '../../src/container/dump-basis.js';
import { frontPlan } from '../../src/state/front-plan.js';
import type { ContainerStateFile } from '../../src/state/state-dir.js';

// The front plan's checkpoint lines, read from this process standing in for a container's init:
// its root is the host's, where /proc/keys is a file and /proc/acpi a directory.
function stateOf(edit: (state: ContainerStateFile) => void = () => {}): ContainerStateFile {
  const state: ContainerStateFile = {
    ociVersion: '1.2.0',
    id: 'c1',
    pid: process.pid,
    pidStartTime: '1',
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-12-01T00:00:00.000Z',
    cgroupPaths: { freezer: '/sys/fs/cgroup/freezer/c1', '': '/sys/fs/cgroup/unified/c1' },
    config: {
      ociVersion: '1.2.0',
      mounts: [{ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind'] }],
      linux: {
        namespaces: [{ type: 'pid' }, { type: 'mount' }],
        maskedPaths: ['/proc/keys', '/proc/acpi', '/proc/no-such-file'],
      },
    },
  };
  edit(state);
  return state;
}

describe('dumpPlanLines', () => {
  it('says what checkpoint.ts tells CRIU of the container: root, freezer, external mounts, config', () => {
    expect(dumpPlanLines(stateOf())).toEqual([
      'criu-root /b/rootfs',
      'criu-freeze-cgroup /sys/fs/cgroup/freezer/c1',
      'criu-ext-mount /data',
      // A masked file is bound from /dev/null; a masked directory is a tmpfs CRIU remakes.
      'criu-ext-mount /proc/keys',
      'criu-config /etc/criu/corral.conf',
    ]);
  });

  it('names a joined network namespace by inode, a terminal, and the user namespace root group', () => {
    const lines = dumpPlanLines(
      stateOf((s) => {
        s.config.annotations = { 'org.criu.config': '' };
        s.config.process = { cwd: '/', args: ['sh'], terminal: true, user: { uid: 0, gid: 0 } };
        s.config.linux!.namespaces!.push({ type: 'network', path: '/proc/self/ns/net' }, { type: 'user' });
        s.config.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.cgroupPaths = { '': '/sys/fs/cgroup/unified/c1' };
      }),
    );
    expect(lines).toEqual([
      'criu-root /b/rootfs',
      'criu-freeze-cgroup /sys/fs/cgroup/unified/c1',
      'criu-ext-mount /data',
      // In a user namespace the standard devices are the host's, bound in.
      ...['null', 'zero', 'full', 'random', 'urandom', 'tty'].map((dev) => `criu-ext-mount /dev/${dev}`),
      'criu-ext-mount /proc/keys',
      `criu-external net[${statSync(`/proc/${process.pid}/ns/net`).ino}]:extRootNetNS`,
      'criu-orphan-pts-master true',
      'criu-images-group 100000',
    ]);
  });

  it('gives none for a value of two lines, or an init that is gone', () => {
    expect(dumpPlanLines(stateOf((s) => (s.rootfs = '/b/root\nfs')))).toEqual([]);
    const gone = stateOf((s) => {
      s.pid = 2 ** 22 + 1;
      s.config.linux!.namespaces!.push({ type: 'network', path: '/proc/self/ns/net' });
    });
    expect(dumpPlanLines(gone)).toEqual([]);
  });

  it('ends the front plan', () => {
    const state = stateOf();
    expect(frontPlan(state, () => dumpPlanLines(state))).toMatch(
      /\nlist-created .*\ncriu-root \/b\/rootfs\n(criu-.*\n)+$/,
    );
  });
});
