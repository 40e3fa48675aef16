import { describe, expect, it } from 'vitest';

import { frontPlan } from '../../src/state/front-plan.js';
import type { ContainerStateFile } from '../../src/state/state-dir.js';

/** A whole container's state on a hybrid host: v1 controllers (cpu and cpuacct sharing a directory) and cgroup2. */
function stateOf(edit: (state: ContainerStateFile) => void = () => {}): ContainerStateFile {
  const state: ContainerStateFile = {
    ociVersion: '1.2.0',
    id: 'c1',
    pid: 4242,
    pidStartTime: '987654',
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-12-01T00:00:00.000Z',
    cgroupPaths: {
      cpu: '/sys/fs/cgroup/cpu,cpuacct/c1',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/c1',
      freezer: '/sys/fs/cgroup/freezer/c1',
      '': '/sys/fs/cgroup/unified/c1',
    },
    config: { ociVersion: '1.2.0', linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] } },
  };
  edit(state);
  return state;
}

describe('frontPlan', () => {
  it('names the init, each cgroup directory once (v1 first) and the freezer that tells a pause', () => {
    expect(frontPlan(stateOf())).toBe(
      [
        'corral-front 1',
        'pid 4242',
        'pid-start-time 987654',
        'cgroup /sys/fs/cgroup/cpu,cpuacct/c1',
        'cgroup /sys/fs/cgroup/freezer/c1',
        'cgroup /sys/fs/cgroup/unified/c1',
        'v1-freezer /sys/fs/cgroup/freezer/c1',
        'state-head {"ociVersion":"1.2.0","id":"c1"',
        'state-tail "bundle":"/b","rootfs":"/b/rootfs","created":"2026-12-01T00:00:00.000Z","owner":""}',
        'list-bundle /b',
        'list-created 2026-12-01T00:00:00.000Z',
        '',
      ].join('\n'),
    );
  });

  it("keeps state's view around the pid and status, annotations included, on one line each", () => {
    const plan = frontPlan(stateOf((s) => (s.annotations = { 'a"b': 'line\none', '{': '' })))!;
    const head = /^state-head (.*)$/m.exec(plan)![1];
    const tail = /^state-tail (.*)$/m.exec(plan)![1];
    expect(JSON.parse(`${head},"pid":7,"status":"paused",${tail}`)).toEqual({
      ociVersion: '1.2.0',
      id: 'c1',
      pid: 7,
      status: 'paused',
      bundle: '/b',
      rootfs: '/b/rootfs',
      created: '2026-12-01T00:00:00.000Z',
      owner: '',
      annotations: { 'a"b': 'line\none', '{': '' },
    });
  });

  it("leaves list's table to the command line for a bundle path of two lines", () => {
    const plan = frontPlan(stateOf((s) => (s.bundle = '/b\nc')))!;
    expect(plan).toContain('state-tail "bundle":"/b\\nc"');
    expect(plan).not.toContain('list-bundle');
  });

  it('leaves a state view of many kilobytes to the command line', () => {
    const plan = frontPlan(stateOf((s) => (s.annotations = { big: 'x'.repeat(20_000) })))!;
    expect(plan).toMatch(/^pid 4242$/m);
    expect(plan).not.toContain('state-head');
  });

  it('asks cgroup2 about a pause where there is no v1 freezer', () => {
    const plan = frontPlan(stateOf((s) => (s.cgroupPaths = { '': '/sys/fs/cgroup/c1' })));
    expect(plan).toContain('cgroup /sys/fs/cgroup/c1\nv2-freezer /sys/fs/cgroup/c1\n');
  });

  it.each<[string, (state: ContainerStateFile) => void]>([
    ['still being created', (s) => (s.creating = true)],
    ['with poststart hooks', (s) => (s.config.hooks = { poststart: [{ path: '/bin/true' }] })],
    ['with poststop hooks', (s) => (s.config.hooks = { poststop: [{ path: '/bin/true' }] })],
    ['with lent network devices', (s) => (s.netDevices = [{ host: 'eth1', name: 'eth1' }])],
    ['in a systemd unit', (s) => (s.systemdUnit = 'corral-c1.scope')],
    ['with rootless cgroups', (s) => (s.rootless = {})],
    ['sharing the host pid namespace', (s) => (s.config.linux!.namespaces = [{ type: 'mount' }])],
    [
      'joining a pid namespace',
      (s) => (s.config.linux!.namespaces = [{ type: 'pid', path: '/proc/1/ns/pid' }]),
    ],
    ['with a cgroup outside /sys/fs/cgroup', (s) => (s.cgroupPaths = { '': '/tmp/c1' })],
    ['with a cgroup path that climbs', (s) => (s.cgroupPaths = { '': '/sys/fs/cgroup/../../tmp' })],
    ['with a cgroup path of two lines', (s) => (s.cgroupPaths = { '': '/sys/fs/cgroup/a\nv1-freezer /x' })],
    ['without a start time', (s) => (s.pidStartTime = '')],
  ])('makes none for a container %s', (_, edit) => {
    expect(frontPlan(stateOf(edit))).toBeUndefined();
  });
});
