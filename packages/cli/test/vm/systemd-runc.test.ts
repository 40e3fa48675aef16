import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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

// The same bundle created by runc and by corral, both with --systemd-cgroup, on a systemd host
// with cgroup v2: the units systemd shows and the values in their cgroup files must agree.

const RESOURCES = {
  memory: { limit: 64 * 2 ** 20, reservation: 32 * 2 ** 20, swap: 96 * 2 ** 20 },
  // A quota systemd must round (12345 of 100000 is 12.345% of a CPU), and a CPU every guest has.
  cpu: { quota: 12_345, period: 100_000, cpus: '0', mems: '0' },
  pids: { limit: 64 },
  devices: [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
  ],
};

/** The unit properties both runtimes set; Description names the runtime and is checked apart. */
const PROPERTIES = [
  'Slice',
  'Delegate',
  'MemoryAccounting',
  'CPUAccounting',
  'IOAccounting',
  'TasksAccounting',
  'DefaultDependencies',
  'MemoryMax',
  'MemoryLow',
  'MemorySwapMax',
  'CPUQuotaPerSecUSec',
  'CPUQuotaPeriodUSec',
  'TasksMax',
  'AllowedCPUs',
  'AllowedMemoryNodes',
  'DevicePolicy',
  'DeviceAllow',
  'TimeoutStopUSec',
  'CollectMode',
  'ActiveState',
];

const FILES = [
  'memory.max',
  'memory.low',
  'memory.swap.max',
  'cpuset.cpus',
  'cpuset.mems',
  'pids.max',
  'cgroup.type',
];

const SLICE = 'machine-vmtest.slice';
const bundles: Array<ReturnType<typeof sleeperBundle>> = [];
const cleanups: Array<() => void> = [];

afterAll(() => {
  for (const cleanup of cleanups) cleanup();
  for (const bundle of bundles) bundle.remove();
  exec('systemctl', ['stop', SLICE]);
});

/** Creates the container (it waits at its exec FIFO) and returns its unit and cgroup directory. */
function created(runtime: 'runc' | 'corral', extra: Record<string, unknown> = {}) {
  const id = newId(runtime);
  const prefix = `vmtest-${runtime}`;
  const bundle = sleeperBundle((spec) => {
    // A slice that does not exist yet, nested by its dash: systemd makes it under machine.slice.
    spec.linux!.cgroupsPath = `${SLICE}:${prefix}:${id}`;
    spec.linux!.resources = { ...RESOURCES, ...extra } as never;
    spec.annotations = {
      'org.systemd.property.TimeoutStopSec': '45',
      'org.systemd.property.CollectMode': "'inactive-or-failed'",
    };
  });
  bundles.push(bundle);
  const binary = runtime === 'runc' ? 'runc' : corral;
  const root = ['--root', bundle.state, '--systemd-cgroup'];
  const create = execLeavingContainer(binary, [...root, 'create', '--bundle', bundle.path, id]);
  // runc 1.1 warns of default devices the host lacks (/dev/net/tun here); corral says nothing.
  if (runtime === 'corral') expect(create.stderr).toBe('');
  expect(create.status, create.stderr).toBe(0);
  cleanups.push(() => exec(binary, [...root, 'delete', '--force', id]));
  const unit = `${prefix}-${id}.scope`;
  return {
    id,
    unit,
    dir: `/sys/fs/cgroup/machine.slice/${SLICE}/${unit}`,
    remove: () => exec(binary, [...root, 'delete', '--force', id]),
  };
}

const files = (dir: string, names: readonly string[]) =>
  Object.fromEntries(names.map((name) => [name, readFileSync(join(dir, name), 'utf8').trim()]));

describe('corral --systemd-cgroup beside runc --systemd-cgroup', () => {
  it('makes the same unit with the same properties and the same cgroup files', () => {
    const runc = created('runc');
    const ours = created('corral');
    const theirs = unitProperties(runc.unit, PROPERTIES);
    const mine = unitProperties(ours.unit, PROPERTIES);
    expect(theirs.ActiveState).toBe('active');
    expect(theirs.MemoryMax).toBe(String(64 * 2 ** 20));
    expect(theirs.CPUQuotaPerSecUSec).toBe('130ms');
    expect(mine).toEqual(theirs);
    expect(files(ours.dir, FILES)).toEqual(files(runc.dir, FILES));
    // The quota systemd keeps (130 ms a second), written to the file as runc 1.3 and later
    // write it, so that systemd reapplying the unit later changes nothing; runc 1.1 wrote the
    // quota as given.
    expect(files(ours.dir, ['cpu.max'])['cpu.max']).toBe('13000 100000');
    expect(files(runc.dir, ['cpu.max'])['cpu.max']).toBe('12345 100000');
    expect(unitProperties(ours.unit, ['Description']).Description).toBe(`corral container ${ours.id}`);
    expect(unitProperties(runc.unit, ['Description']).Description).toBe(`libcontainer container ${runc.id}`);
    // The init is in the scope itself, and the scope is delegated to it.
    const pid = JSON.parse(exec(corral, ['--root', bundles[1]!.state, 'state', ours.id]).stdout).pid;
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toBe(`0::/machine.slice/${SLICE}/${ours.unit}\n`);
  });

  it('converts cpu.shares as runc 1.3 and later do, where Debian 12 runc 1.1 used a line', () => {
    const runc = created('runc', { cpu: { shares: 1024 } });
    const ours = created('corral', { cpu: { shares: 1024 } });
    expect(unitProperties(ours.unit, ['CPUWeight']).CPUWeight).toBe('100');
    expect(files(ours.dir, ['cpu.weight'])['cpu.weight']).toBe('100');
    // runc 1.1's linear mapping gives 39 for the same shares.
    expect(unitProperties(runc.unit, ['CPUWeight']).CPUWeight).toBe('39');
  });

  it('stops the unit and removes the cgroup on delete, like runc', () => {
    for (const runtime of ['runc', 'corral'] as const) {
      const container = created(runtime);
      expect(unitLoaded(container.unit)).toBe(true);
      expect(container.remove().status).toBe(0);
      expect(unitLoaded(container.unit)).toBe(false);
      expect(existsSync(container.dir)).toBe(false);
    }
  });
});
