import { blkioWeightToIoWeight, cpuSharesToCpuWeight, memorySwapToV2 } from '../convert.js';
import { invalidConfig } from '../errors.js';
import type { LinuxBlockIO, LinuxResources, LinuxThrottleDevice } from '../types.js';
import { parseCpuList } from '../validate.js';
import { Variant } from './dbus/variant.js';
import { deviceProperties } from './device-properties.js';
import type { SystemdUnit } from './unit.js';

/** A unit property and the config field it comes from, to name in an error. */
export interface UnitProperty {
  name: string;
  value: Variant;
  field: string;
}

/** systemd's "infinity" for limits (CGROUP_LIMIT_MAX, USEC_INFINITY). */
export const UINT64_MAX = 2n ** 64n - 1n;
/** The kernel's default CFS period, which a quota without a period is taken against. */
const DEFAULT_CPU_PERIOD = 100_000;

const R = 'linux.resources';

/** The systemd versions that brought the properties runc gates on. */
const SINCE = { cpuQuotaPeriod: 242, allowedCpus: 244, cpuIdle: 252 } as const;

const u64 = (value: number | bigint) => new Variant('t', value === -1 ? UINT64_MAX : BigInt(value));

/**
 * The properties a scope starts with (StartTransientUnit), as runc's systemd drivers give them:
 * description, slice, delegation, the init's pid, accounting on for every controller, no default
 * dependencies, then the config's own `org.systemd.property.` annotations.
 */
export function startProperties(
  unit: SystemdUnit,
  pid: number,
  options: { unified: boolean; annotations: readonly UnitProperty[]; resources?: LinuxResources },
): UnitProperty[] {
  const base = (name: string, value: Variant): UnitProperty => ({ name, value, field: 'linux.cgroupsPath' });
  const properties: UnitProperty[] = [base('Description', new Variant('s', unit.description))];
  if (unit.kind === 'slice') {
    properties.push(base('Wants', new Variant('as', [unit.slice])));
  } else {
    properties.push(base('Slice', new Variant('s', unit.slice)), base('Delegate', new Variant('b', true)));
  }
  if (pid !== -1) properties.push({ name: 'PIDs', value: new Variant('au', [pid]), field: 'pid' });
  for (const name of [
    'MemoryAccounting',
    'CPUAccounting',
    options.unified ? 'IOAccounting' : 'BlockIOAccounting',
    'TasksAccounting',
  ])
    properties.push(base(name, new Variant('b', true)));
  properties.push(base('DefaultDependencies', new Variant('b', false)));
  properties.push(...options.annotations);
  const oomGroup = options.resources?.unified?.['memory.oom.group'];
  if (options.unified && oomGroup !== undefined) {
    const field = `${R}.unified["memory.oom.group"]`;
    const value = oomGroup.trim();
    if (!/^\d+$/.test(value)) throw invalidConfig(field, `${JSON.stringify(oomGroup)} is not 0 or 1`);
    // Other values go to the file alone, where the kernel refuses them.
    if (value === '0' || value === '1')
      properties.push({
        name: 'OOMPolicy',
        value: new Variant('s', value === '1' ? 'kill' : 'continue'),
        field,
      });
  }
  return properties;
}

/**
 * CPUQuotaPeriodUSec and CPUQuotaPerSecUSec for a quota and period, as runc converts them.
 * systemd keeps the quota per second in whole percents of a CPU, so runc rounds it up to the next
 * 10 ms and writes the same rounded quota to cpu.max; `quota` is that rounded value.
 */
export function cpuQuotaProperties(
  quota: number | undefined,
  period: number | undefined,
  version: number,
): { properties: UnitProperty[]; quota: number | undefined } {
  const properties: UnitProperty[] = [];
  if (period && version >= SINCE.cpuQuotaPeriod) {
    properties.push({ name: 'CPUQuotaPeriodUSec', value: u64(period), field: `${R}.cpu.period` });
  }
  let rounded = quota;
  if (quota || period) {
    let perSecond = UINT64_MAX;
    if (quota !== undefined && quota > 0) {
      const basis = BigInt(period || DEFAULT_CPU_PERIOD);
      perSecond = (BigInt(quota) * 1_000_000n) / basis;
      if (perSecond % 10_000n !== 0n) {
        perSecond = (perSecond / 10_000n + 1n) * 10_000n;
        rounded = Number((perSecond * basis) / 1_000_000n);
      }
    }
    properties.push({
      name: 'CPUQuotaPerSecUSec',
      value: new Variant('t', perSecond),
      field: `${R}.cpu.quota`,
    });
  }
  return { properties, quota: rounded };
}

/** A cpuset list as the byte mask systemd takes for AllowedCPUs: little-endian, byte 0 is CPUs 0-7. */
export function cpuMask(field: string, list: string): Uint8Array {
  const numbers = parseCpuList(field, list);
  if (numbers.length === 0) throw invalidConfig(field, 'is empty');
  const mask = new Uint8Array(Math.floor(Math.max(...numbers) / 8) + 1);
  for (const n of numbers) mask[n >> 3]! |= 1 << (n & 7);
  return mask;
}

/** systemd's block I/O properties: v2's IO* (weights converted as for io.weight), or v1's BlockIO*. */
function ioProperties(blockIO: LinuxBlockIO, unified: boolean): UnitProperty[] {
  const B = `${R}.blockIO`;
  const weight = (w: number) => BigInt(unified ? blkioWeightToIoWeight(w) : w);
  type Entry = { major: number; minor: number; value: bigint };
  const perDevice = (name: string | undefined, field: string, entries: Entry[]): UnitProperty[] =>
    name && entries.length
      ? [
          {
            name,
            field,
            value: new Variant(
              'a(st)',
              entries.map((e) => [`/dev/block/${e.major}:${e.minor}`, e.value]),
            ),
          },
        ]
      : [];
  // A rate of 0 means no limit, as the files take it.
  const rates = (devices: readonly LinuxThrottleDevice[] = []): Entry[] =>
    devices.map((d) => ({ ...d, value: d.rate === 0 ? UINT64_MAX : BigInt(d.rate) }));
  const weights = (blockIO.weightDevice ?? []).flatMap((d) =>
    d.weight ? [{ ...d, value: weight(d.weight) }] : [],
  );
  return [
    ...(blockIO.weight
      ? [
          {
            name: unified ? 'IOWeight' : 'BlockIOWeight',
            value: new Variant('t', weight(blockIO.weight)),
            field: `${B}.weight`,
          },
        ]
      : []),
    ...perDevice(unified ? 'IODeviceWeight' : 'BlockIODeviceWeight', `${B}.weightDevice`, weights),
    ...perDevice(
      unified ? 'IOReadBandwidthMax' : 'BlockIOReadBandwidth',
      `${B}.throttleReadBpsDevice`,
      rates(blockIO.throttleReadBpsDevice),
    ),
    ...perDevice(
      unified ? 'IOWriteBandwidthMax' : 'BlockIOWriteBandwidth',
      `${B}.throttleWriteBpsDevice`,
      rates(blockIO.throttleWriteBpsDevice),
    ),
    // systemd has IOPS limits on cgroup v2 only; on v1 the files take them.
    ...perDevice(
      unified ? 'IOReadIOPSMax' : undefined,
      `${B}.throttleReadIOPSDevice`,
      rates(blockIO.throttleReadIOPSDevice),
    ),
    ...perDevice(
      unified ? 'IOWriteIOPSMax' : undefined,
      `${B}.throttleWriteIOPSDevice`,
      rates(blockIO.throttleWriteIOPSDevice),
    ),
  ];
}

/** `linux.resources.unified` keys systemd has a property for (runc's table); others go to the files alone. */
function unifiedProperties(unified: Readonly<Record<string, string>>, version: number): UnitProperty[] {
  const properties: UnitProperty[] = [];
  const idle = (value: string | undefined) => value?.trim() === '1' && version >= SINCE.cpuIdle;
  const limit = (field: string, value: string) => {
    if (value === 'max') return new Variant('t', UINT64_MAX);
    if (!/^\d+$/.test(value)) throw invalidConfig(field, `${JSON.stringify(value)} is not a number or "max"`);
    return new Variant('t', BigInt(value));
  };
  const names: Record<string, string> = {
    'memory.high': 'MemoryHigh',
    'memory.low': 'MemoryLow',
    'memory.min': 'MemoryMin',
    'memory.max': 'MemoryMax',
    'memory.swap.max': 'MemorySwapMax',
    'pids.max': 'TasksMax',
  };
  for (const [key, raw] of Object.entries(unified)) {
    const field = `${R}.unified[${JSON.stringify(key)}]`;
    if (key.includes('/')) throw invalidConfig(field, 'must be a file name (no slashes)');
    if (key.indexOf('.') <= 0) throw invalidConfig(field, 'must be CONTROLLER.PARAMETER');
    const value = raw.trim();
    if (names[key]) properties.push({ name: names[key], value: limit(field, value), field });
    else if (key === 'cpu.idle' && idle(value)) {
      // CPUWeight=0 is how systemd says cpu.idle=1.
      properties.push({ name: 'CPUWeight', value: new Variant('t', 0n), field });
    } else if (key === 'cpu.weight' && !idle(unified['cpu.idle'])) {
      properties.push({ name: 'CPUWeight', value: limit(field, value), field });
    } else if (key === 'cpu.max') {
      const parts = value.split(/\s+/);
      const bad = () => invalidConfig(field, `${JSON.stringify(raw)} is not "QUOTA|max [PERIOD]"`);
      if (parts.length < 1 || parts.length > 2) throw bad();
      if (parts[0] !== 'max' && !/^\d+$/.test(parts[0]!)) throw bad();
      if (parts[1] !== undefined && !/^\d+$/.test(parts[1])) throw bad();
      const quota = parts[0] === 'max' ? 0 : Number(parts[0]);
      const period = parts[1] === undefined ? DEFAULT_CPU_PERIOD : Number(parts[1]);
      properties.push(...cpuQuotaProperties(quota, period, version).properties.map((p) => ({ ...p, field })));
    } else if ((key === 'cpuset.cpus' || key === 'cpuset.mems') && version >= SINCE.allowedCpus) {
      const name = key === 'cpuset.cpus' ? 'AllowedCPUs' : 'AllowedMemoryNodes';
      properties.push({ name, value: new Variant('ay', cpuMask(field, value)), field });
    }
  }
  return properties;
}

/**
 * The unit properties for `linux.resources` (SetUnitProperties), with runc's conversions for
 * the host's cgroup version, and the resources the cgroup files get afterwards (the same, with
 * the CPU quota rounded as systemd keeps it). systemd has no word for some of them (swappiness,
 * hugetlb, rdma, most unified keys): those reach the kernel through the files alone.
 */
export function resourceProperties(
  resources: LinuxResources,
  options: { unified: boolean; version: number },
): { properties: UnitProperty[]; resources: LinuxResources } {
  const { unified, version } = options;
  const { memory = {}, cpu = {}, pids, blockIO = {} } = resources;
  const properties: UnitProperty[] = [];
  const add = (name: string, value: Variant, field: string) => properties.push({ name, value, field });

  if (resources.devices) {
    for (const [name, value] of deviceProperties(resources.devices)) add(name, value, `${R}.devices`);
  }
  if (unified) {
    if (memory.limit) add('MemoryMax', u64(memory.limit), `${R}.memory.limit`);
    if (memory.reservation) add('MemoryLow', u64(memory.reservation), `${R}.memory.reservation`);
    let swap: number;
    try {
      swap = memorySwapToV2(memory.swap ?? 0, memory.limit ?? 0);
    } catch (error) {
      throw invalidConfig(`${R}.memory.swap`, (error as Error).message);
    }
    if (swap !== 0) add('MemorySwapMax', u64(swap), `${R}.memory.swap`);
    const idle = cpu.idle === 1 && version >= SINCE.cpuIdle;
    if (idle) add('CPUWeight', new Variant('t', 0n), `${R}.cpu.idle`);
    else if (cpu.shares)
      add('CPUWeight', new Variant('t', BigInt(cpuSharesToCpuWeight(cpu.shares))), `${R}.cpu.shares`);
  } else {
    if (memory.limit) add('MemoryLimit', u64(memory.limit), `${R}.memory.limit`);
    if (cpu.shares) add('CPUShares', new Variant('t', BigInt(cpu.shares)), `${R}.cpu.shares`);
  }
  const quota = cpuQuotaProperties(cpu.quota, cpu.period, version);
  properties.push(...quota.properties);
  properties.push(...ioProperties(blockIO, unified));
  if (pids && (pids.limit > 0 || pids.limit === -1)) add('TasksMax', u64(pids.limit), `${R}.pids.limit`);
  if (version >= SINCE.allowedCpus) {
    if (cpu.cpus?.trim())
      add('AllowedCPUs', new Variant('ay', cpuMask(`${R}.cpu.cpus`, cpu.cpus)), `${R}.cpu.cpus`);
    if (cpu.mems?.trim())
      add('AllowedMemoryNodes', new Variant('ay', cpuMask(`${R}.cpu.mems`, cpu.mems)), `${R}.cpu.mems`);
  }
  if (unified && resources.unified) properties.push(...unifiedProperties(resources.unified, version));
  const files = quota.quota === cpu.quota ? resources : { ...resources, cpu: { ...cpu, quota: quota.quota } };
  return { properties, resources: files };
}
