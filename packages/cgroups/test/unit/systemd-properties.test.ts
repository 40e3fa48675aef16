import { describe, expect, it } from 'vitest';

import {
  type CgroupError,
  cpuMask,
  cpuQuotaProperties,
  DEFAULT_ALLOWED_DEVICES,
  DENY_ALL_DEVICES,
  deviceProperties,
  type LinuxDeviceCgroup,
  resourceProperties,
  startProperties,
  systemdUnitFor,
  type UnitProperty,
  Variant,
} from '../../src/index.js';

const MAX = 2n ** 64n - 1n;
const V2 = { unified: true, version: 252 };
const V1 = { unified: false, version: 252 };

/** name -> [signature, value], the last of each name (as systemd keeps the last one). */
function byName(properties: readonly UnitProperty[]): Record<string, [string, unknown]> {
  return Object.fromEntries(properties.map((p) => [p.name, [p.value.signature, p.value.value]]));
}

const rule = (allow: boolean, type: 'a' | 'b' | 'c', major?: number, minor?: number, access = 'rwm') =>
  ({
    allow,
    type,
    ...(major === undefined ? {} : { major }),
    ...(minor === undefined ? {} : { minor }),
    access,
  }) as LinuxDeviceCgroup;

describe('unit properties from linux.resources (runc conversions)', () => {
  it('memory, cpu, pids and cpuset on cgroup v2', () => {
    const { properties, resources } = resourceProperties(
      {
        memory: { limit: 64 * 2 ** 20, reservation: 32 * 2 ** 20, swap: 128 * 2 ** 20 },
        cpu: { shares: 1024, quota: 50_000, period: 100_000, cpus: '0-3,8', mems: '0' },
        pids: { limit: 32 },
      },
      V2,
    );
    expect(byName(properties)).toEqual({
      MemoryMax: ['t', 67108864n],
      MemoryLow: ['t', 33554432n],
      MemorySwapMax: ['t', 67108864n],
      CPUWeight: ['t', 100n],
      CPUQuotaPeriodUSec: ['t', 100000n],
      CPUQuotaPerSecUSec: ['t', 500000n],
      TasksMax: ['t', 32n],
      AllowedCPUs: ['ay', new Uint8Array([0x0f, 0x01])],
      AllowedMemoryNodes: ['ay', new Uint8Array([0x01])],
    });
    expect(resources.cpu?.quota).toBe(50_000);
    expect(properties.find((p) => p.name === 'MemorySwapMax')?.field).toBe('linux.resources.memory.swap');
  });

  it('-1 is infinity, 0 is left unset', () => {
    const { properties } = resourceProperties(
      { memory: { limit: -1, swap: -1 }, pids: { limit: -1 }, cpu: { quota: -1, period: 50_000 } },
      V2,
    );
    expect(byName(properties)).toEqual({
      MemoryMax: ['t', MAX],
      MemorySwapMax: ['t', MAX],
      TasksMax: ['t', MAX],
      CPUQuotaPeriodUSec: ['t', 50000n],
      CPUQuotaPerSecUSec: ['t', MAX],
    });
    expect(
      resourceProperties({ memory: { limit: 0 }, pids: { limit: 0 }, cpu: { shares: 0 } }, V2).properties,
    ).toEqual([]);
  });

  it('rounds the quota up to whole percents and writes the rounded quota to the files', () => {
    const { properties, quota } = cpuQuotaProperties(12_345, 100_000, 252);
    expect(byName(properties).CPUQuotaPerSecUSec).toEqual(['t', 130000n]);
    expect(quota).toBe(13_000);
    // No period: the kernel's 100 ms; and systemd before 242 has no CPUQuotaPeriodUSec.
    expect(byName(cpuQuotaProperties(25_000, undefined, 252).properties)).toEqual({
      CPUQuotaPerSecUSec: ['t', 250000n],
    });
    expect(byName(cpuQuotaProperties(25_000, 200_000, 241).properties)).toEqual({
      CPUQuotaPerSecUSec: ['t', 130000n],
    });
    const set = resourceProperties({ cpu: { quota: 12_345, period: 100_000 } }, V2);
    expect(set.resources.cpu).toEqual({ quota: 13_000, period: 100_000 });
  });

  it('uses the cgroup v1 names on v1 and hybrid hosts', () => {
    const { properties } = resourceProperties(
      { memory: { limit: 1 << 20 }, cpu: { shares: 512 }, blockIO: { weight: 500 }, pids: { limit: 10 } },
      V1,
    );
    expect(byName(properties)).toEqual({
      MemoryLimit: ['t', 1048576n],
      CPUShares: ['t', 512n],
      BlockIOWeight: ['t', 500n],
      TasksMax: ['t', 10n],
    });
  });

  it('gives IO weights and per-device limits as IO* properties on v2', () => {
    const { properties } = resourceProperties(
      {
        blockIO: {
          weight: 500,
          weightDevice: [{ major: 8, minor: 0, weight: 100 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 0 }],
        },
      },
      V2,
    );
    expect(byName(properties)).toEqual({
      IOWeight: ['t', 4950n],
      IODeviceWeight: ['a(st)', [['/dev/block/8:0', 910n]]],
      IOReadBandwidthMax: ['a(st)', [['/dev/block/8:0', 1048576n]]],
      IOWriteIOPSMax: ['a(st)', [['/dev/block/8:16', MAX]]],
    });
  });

  it('gives v1 hosts the BlockIO* properties, leaving IOPS limits to the files', () => {
    const { properties } = resourceProperties(
      {
        blockIO: {
          weightDevice: [{ major: 8, minor: 0, weight: 100 }],
          throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 4096 }],
          throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 10 }],
        },
      },
      V1,
    );
    expect(byName(properties)).toEqual({
      BlockIODeviceWeight: ['a(st)', [['/dev/block/8:0', 100n]]],
      BlockIOWriteBandwidth: ['a(st)', [['/dev/block/8:0', 4096n]]],
    });
  });

  it('maps the unified keys systemd knows, and cpu.idle to CPUWeight=0', () => {
    const { properties } = resourceProperties(
      {
        unified: {
          'memory.high': '100000000',
          'memory.min': 'max',
          'pids.max': '7',
          'cpu.max': '20000 50000',
          'cpuset.cpus': '1',
          'io.max': '8:0 rbps=1',
        },
      },
      V2,
    );
    expect(byName(properties)).toEqual({
      MemoryHigh: ['t', 100000000n],
      MemoryMin: ['t', MAX],
      TasksMax: ['t', 7n],
      CPUQuotaPeriodUSec: ['t', 50000n],
      CPUQuotaPerSecUSec: ['t', 400000n],
      AllowedCPUs: ['ay', new Uint8Array([0x02])],
    });
    expect(byName(resourceProperties({ cpu: { idle: 1, shares: 2048 } }, V2).properties)).toEqual({
      CPUWeight: ['t', 0n],
    });
    expect(
      byName(resourceProperties({ unified: { 'cpu.idle': '1', 'cpu.weight': '50' } }, V2).properties),
    ).toEqual({
      CPUWeight: ['t', 0n],
    });
    expect(() => resourceProperties({ unified: { 'memory.max': '1G' } }, V2)).toThrow(
      /linux\.resources\.unified\["memory\.max"\]: "1G" is not a number/,
    );
    expect(() => resourceProperties({ unified: { '../x.max': '1' } }, V2)).toThrow(/no slashes/);
  });

  it('leaves out what the running systemd is too old for', () => {
    expect(
      resourceProperties({ cpu: { cpus: '0', mems: '0' } }, { unified: true, version: 243 }).properties,
    ).toEqual([]);
  });

  it('refuses a swap limit below the memory limit, naming the field', () => {
    try {
      resourceProperties({ memory: { limit: 2048, swap: 1024 } }, V2);
      expect.unreachable();
    } catch (error) {
      expect((error as CgroupError).field).toBe('linux.resources.memory.swap');
    }
  });
});

describe('AllowedCPUs byte masks', () => {
  it('are little-endian with byte 0 for CPUs 0-7, as systemd reads them', () => {
    expect([...cpuMask('f', '0')]).toEqual([1]);
    expect([...cpuMask('f', '7')]).toEqual([0x80]);
    expect([...cpuMask('f', '8')]).toEqual([0, 1]);
    expect([...cpuMask('f', '0-15')]).toEqual([0xff, 0xff]);
    expect([...cpuMask('f', '1,3,63')]).toEqual([0x0a, 0, 0, 0, 0, 0, 0, 0x80]);
    expect(() => cpuMask('linux.resources.cpu.cpus', '3-1')).toThrow(
      /linux\.resources\.cpu\.cpus: .*backwards/,
    );
  });
});

describe('DevicePolicy and DeviceAllow', () => {
  it('turns the default rules into a strict list sorted by major, minor and type', () => {
    const props = deviceProperties([DENY_ALL_DEVICES, ...DEFAULT_ALLOWED_DEVICES]);
    expect(props.map(([name, value]) => [name, value.value])).toEqual([
      ['DevicePolicy', 'strict'],
      ['DeviceAllow', []],
      [
        'DeviceAllow',
        [
          ['block-*', 'm'],
          ['char-*', 'm'],
          ['/dev/char/1:3', 'rwm'],
          ['/dev/char/1:5', 'rwm'],
          ['/dev/char/1:7', 'rwm'],
          ['/dev/char/1:8', 'rwm'],
          ['/dev/char/1:9', 'rwm'],
          ['/dev/char/5:0', 'rwm'],
          ['/dev/char/5:2', 'rwm'],
          ['char-136', 'rwm'],
        ],
      ],
    ]);
    expect(props[2]![1].signature).toBe('a(ss)');
  });

  it('folds later rules into earlier ones as the devices controller does', () => {
    const [, , [, allow]] = deviceProperties([
      rule(false, 'a'),
      rule(true, 'c', 10, 200, 'rw'),
      rule(true, 'c', 10, 200, 'm'),
      rule(true, 'b', 8, 0, 'r'),
      rule(false, 'b', 8, 0, 'r'),
      rule(true, 'c', -1, 5, 'r'),
    ]) as [unknown, unknown, [string, Variant]];
    // The wildcard-major rule has no systemd spelling: it is left to the files.
    expect(allow.value).toEqual([['/dev/char/10:200', 'rwm']]);
  });

  it('allows everything with DevicePolicy=auto, and a deny list as a temporary deny-all', () => {
    expect(deviceProperties([rule(true, 'a')]).map(([n, v]) => [n, v.value])).toEqual([
      ['DevicePolicy', 'auto'],
      ['DeviceAllow', []],
    ]);
    expect(deviceProperties([rule(true, 'a'), rule(false, 'c', 1, 3)]).map(([n, v]) => [n, v.value])).toEqual(
      [
        ['DevicePolicy', 'strict'],
        ['DeviceAllow', []],
      ],
    );
  });

  it('refuses to punch a hole in a wildcard rule', () => {
    expect(() =>
      deviceProperties([rule(false, 'a'), rule(true, 'c', 1, -1, 'rwm'), rule(false, 'c', 1, 3, 'w')]),
    ).toThrow(/linux\.resources\.devices\[2\]: cannot take w away from part of the wider rule c 1 \*/);
  });
});

describe('the properties a scope starts with', () => {
  it('are runc’s, then the annotations', () => {
    const unit = systemdUnitFor('machine.slice:libpod:abc', 'x');
    const annotation = { name: 'CollectMode', value: new Variant('s', 'inactive-or-failed'), field: 'a' };
    const props = startProperties(unit, 1234, {
      unified: true,
      annotations: [annotation],
      resources: { unified: { 'memory.oom.group': '1' } },
    });
    expect(props.map((p) => [p.name, p.value.signature, p.value.value])).toEqual([
      ['Description', 's', 'corral container abc'],
      ['Slice', 's', 'machine.slice'],
      ['Delegate', 'b', true],
      ['PIDs', 'au', [1234]],
      ['MemoryAccounting', 'b', true],
      ['CPUAccounting', 'b', true],
      ['IOAccounting', 'b', true],
      ['TasksAccounting', 'b', true],
      ['DefaultDependencies', 'b', false],
      ['CollectMode', 's', 'inactive-or-failed'],
      ['OOMPolicy', 's', 'kill'],
    ]);
  });

  it('make a slice wanted by its parent, with no pid and no delegation', () => {
    const unit = systemdUnitFor('kubepods.slice:x:kubepods-pod1.slice', 'x');
    const props = startProperties(unit, -1, { unified: false, annotations: [] });
    expect(props.map((p) => p.name)).toEqual([
      'Description',
      'Wants',
      'MemoryAccounting',
      'CPUAccounting',
      'BlockIOAccounting',
      'TasksAccounting',
      'DefaultDependencies',
    ]);
    expect(props[1]!.value.value).toEqual(['kubepods.slice']);
  });
});
