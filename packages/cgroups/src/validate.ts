import { CPU_SHARES_MAX, CPU_SHARES_MIN } from './convert.js';
import { invalidConfig } from './errors.js';
import type { LinuxDeviceCgroup, LinuxResources, LinuxThrottleDevice } from './types.js';

const BASE = 'linux.resources';

// Byte counts and times beyond 2^53 cannot be represented exactly in a JS number; 8 PiB is far above any limit.
const INT64_MAX = Number.MAX_SAFE_INTEGER;
const UINT32_MAX = 2 ** 32 - 1;

interface Range {
  min?: number;
  max?: number;
  /** -1 is accepted as "unlimited". */
  unlimited?: boolean;
  /** 0 is accepted as "unset" even when below min. */
  zeroUnset?: boolean;
}

function checkInteger(field: string, value: unknown, range: Range = {}): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidConfig(field, `must be an integer, got ${JSON.stringify(value)}`);
  }
  if (range.unlimited && value === -1) return;
  if (range.zeroUnset && value === 0) return;
  const min = range.min ?? 0;
  const max = range.max ?? INT64_MAX;
  if (value < min || value > max) {
    const allowed = [
      range.unlimited ? '-1 (unlimited)' : '',
      range.zeroUnset ? '0 (unset)' : '',
      `${min}..${max}`,
    ]
      .filter(Boolean)
      .join(' or ');
    throw invalidConfig(field, `${value} is out of range (allowed: ${allowed})`);
  }
}

function checkBoolean(field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalidConfig(field, `must be a boolean, got ${JSON.stringify(value)}`);
  }
}

function checkArray(field: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (!Array.isArray(value)) throw invalidConfig(field, 'must be an array');
  return true;
}

function checkObject(field: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidConfig(field, 'must be an object');
  return true;
}

/** A kernel cpu/memory-node list: "0-3,5,7-8" (empty means "inherit"). Returns the numbers. */
export function parseCpuList(field: string, text: unknown): number[] {
  if (typeof text !== 'string') throw invalidConfig(field, `must be a string, got ${JSON.stringify(text)}`);
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const result: number[] = [];
  for (const part of trimmed.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw invalidConfig(field, `"${text}" is not a list such as "0-3,5" (bad part "${part}")`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw invalidConfig(field, `"${text}": range ${part} runs backwards`);
    if (last > 65535) throw invalidConfig(field, `"${text}": ${last} is beyond any CPU or memory node`);
    for (let n = first; n <= last; n++) result.push(n);
  }
  return result;
}

function checkThrottle(field: string, list: unknown): void {
  if (list === undefined) return;
  checkArray(field, list);
  (list as unknown[]).forEach((entry, index) => {
    const at = `${field}[${index}]`;
    checkObject(at, entry);
    const device = (entry ?? {}) as Partial<LinuxThrottleDevice>;
    checkInteger(`${at}.major`, device.major ?? Number.NaN, { max: UINT32_MAX });
    checkInteger(`${at}.minor`, device.minor ?? Number.NaN, { max: UINT32_MAX });
    checkInteger(`${at}.rate`, device.rate ?? Number.NaN);
  });
}

export function checkDeviceRule(at: string, rule: unknown): void {
  if (rule === undefined) throw invalidConfig(at, 'must be an object');
  checkObject(at, rule);
  const device = rule as Partial<LinuxDeviceCgroup>;
  if (typeof device.allow !== 'boolean') throw invalidConfig(`${at}.allow`, 'must be a boolean');
  if (device.type !== undefined && !['a', 'b', 'c'].includes(device.type)) {
    throw invalidConfig(`${at}.type`, `must be "a", "b" or "c", got ${JSON.stringify(device.type)}`);
  }
  checkInteger(`${at}.major`, device.major, { unlimited: true, max: UINT32_MAX });
  checkInteger(`${at}.minor`, device.minor, { unlimited: true, max: UINT32_MAX });
  if (device.access !== undefined && (typeof device.access !== 'string' || !/^[rwm]*$/.test(device.access))) {
    throw invalidConfig(
      `${at}.access`,
      `must be made of "r", "w" and "m", got ${JSON.stringify(device.access)}`,
    );
  }
}

/**
 * Checks every field of `linux.resources` for type and range before anything is written, and
 * names the field at fault. What the host supports is checked separately by each driver.
 */
export function validateResources(resources: LinuxResources): void {
  if (resources === undefined) return;
  checkObject(BASE, resources);
  const known = [
    'devices',
    'memory',
    'cpu',
    'pids',
    'blockIO',
    'hugepageLimits',
    'network',
    'rdma',
    'unified',
  ];
  for (const key of Object.keys(resources)) {
    if (!known.includes(key)) throw invalidConfig(`${BASE}.${key}`, 'is not a field of linux.resources');
  }

  if (resources.devices !== undefined && checkArray(`${BASE}.devices`, resources.devices)) {
    resources.devices.forEach((rule, index) => {
      checkDeviceRule(`${BASE}.devices[${index}]`, rule);
    });
  }

  const memory = resources.memory;
  if (memory !== undefined && checkObject(`${BASE}.memory`, memory)) {
    const at = `${BASE}.memory`;
    for (const key of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'] as const) {
      checkInteger(`${at}.${key}`, memory[key], { unlimited: true });
    }
    checkInteger(`${at}.swappiness`, memory.swappiness, { max: 100 });
    for (const key of ['disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate'] as const) {
      checkBoolean(`${at}.${key}`, memory[key]);
    }
    const { limit, swap } = memory;
    if (swap !== undefined && swap > 0 && limit !== undefined && limit > 0 && swap < limit) {
      throw invalidConfig(`${at}.swap`, `memory+swap (${swap}) must be at least memory.limit (${limit})`);
    }
  }

  const cpu = resources.cpu;
  if (cpu !== undefined && checkObject(`${BASE}.cpu`, cpu)) {
    const at = `${BASE}.cpu`;
    checkInteger(`${at}.shares`, cpu.shares, { min: CPU_SHARES_MIN, max: CPU_SHARES_MAX, zeroUnset: true });
    // The kernel refuses a quota below 1 ms and periods outside 1 ms..1 s.
    checkInteger(`${at}.quota`, cpu.quota, { min: 1000, unlimited: true, zeroUnset: true });
    checkInteger(`${at}.period`, cpu.period, { min: 1000, max: 1_000_000, zeroUnset: true });
    checkInteger(`${at}.burst`, cpu.burst);
    checkInteger(`${at}.realtimeRuntime`, cpu.realtimeRuntime, { unlimited: true });
    checkInteger(`${at}.realtimePeriod`, cpu.realtimePeriod);
    checkInteger(`${at}.idle`, cpu.idle, { max: 1 });
    if (cpu.cpus !== undefined) parseCpuList(`${at}.cpus`, cpu.cpus);
    if (cpu.mems !== undefined) parseCpuList(`${at}.mems`, cpu.mems);
  }

  if (resources.pids !== undefined && checkObject(`${BASE}.pids`, resources.pids)) {
    checkInteger(`${BASE}.pids.limit`, resources.pids.limit, { unlimited: true });
  }

  const blockIO = resources.blockIO;
  if (blockIO !== undefined && checkObject(`${BASE}.blockIO`, blockIO)) {
    const at = `${BASE}.blockIO`;
    checkInteger(`${at}.weight`, blockIO.weight, { min: 10, max: 1000, zeroUnset: true });
    checkInteger(`${at}.leafWeight`, blockIO.leafWeight, { min: 10, max: 1000, zeroUnset: true });
    if (blockIO.weightDevice !== undefined && checkArray(`${at}.weightDevice`, blockIO.weightDevice)) {
      blockIO.weightDevice.forEach((device, index) => {
        const entry = `${at}.weightDevice[${index}]`;
        checkObject(entry, device);
        checkInteger(`${entry}.major`, device.major ?? Number.NaN, { max: UINT32_MAX });
        checkInteger(`${entry}.minor`, device.minor ?? Number.NaN, { max: UINT32_MAX });
        checkInteger(`${entry}.weight`, device.weight, { min: 10, max: 1000, zeroUnset: true });
        checkInteger(`${entry}.leafWeight`, device.leafWeight, { min: 10, max: 1000, zeroUnset: true });
      });
    }
    for (const key of [
      'throttleReadBpsDevice',
      'throttleWriteBpsDevice',
      'throttleReadIOPSDevice',
      'throttleWriteIOPSDevice',
    ] as const) {
      checkThrottle(`${at}.${key}`, blockIO[key]);
    }
  }

  if (
    resources.hugepageLimits !== undefined &&
    checkArray(`${BASE}.hugepageLimits`, resources.hugepageLimits)
  ) {
    resources.hugepageLimits.forEach((entry, index) => {
      const at = `${BASE}.hugepageLimits[${index}]`;
      checkObject(at, entry);
      if (typeof entry.pageSize !== 'string' || !/^\d+[KMG]B$/.test(entry.pageSize)) {
        throw invalidConfig(
          `${at}.pageSize`,
          `must look like "2MB" or "1GB", got ${JSON.stringify(entry.pageSize)}`,
        );
      }
      checkInteger(`${at}.limit`, entry.limit ?? Number.NaN);
    });
  }

  const network = resources.network;
  if (network !== undefined && checkObject(`${BASE}.network`, network)) {
    checkInteger(`${BASE}.network.classID`, network.classID, { max: UINT32_MAX });
    if (network.priorities !== undefined && checkArray(`${BASE}.network.priorities`, network.priorities)) {
      network.priorities.forEach((entry, index) => {
        const at = `${BASE}.network.priorities[${index}]`;
        if (typeof entry?.name !== 'string' || !/^[^\s/]{1,15}$/.test(entry.name)) {
          throw invalidConfig(`${at}.name`, `must be an interface name, got ${JSON.stringify(entry?.name)}`);
        }
        checkInteger(`${at}.priority`, entry.priority ?? Number.NaN, { max: UINT32_MAX });
      });
    }
  }

  if (resources.rdma !== undefined && checkObject(`${BASE}.rdma`, resources.rdma)) {
    for (const [device, limits] of Object.entries(resources.rdma)) {
      const at = `${BASE}.rdma.${device}`;
      if (!/^[^\s/]+$/.test(device)) throw invalidConfig(at, 'is not an RDMA device name');
      checkObject(at, limits);
      checkInteger(`${at}.hcaHandles`, limits.hcaHandles, { max: UINT32_MAX });
      checkInteger(`${at}.hcaObjects`, limits.hcaObjects, { max: UINT32_MAX });
    }
  }

  if (resources.unified !== undefined && checkObject(`${BASE}.unified`, resources.unified)) {
    for (const [key, value] of Object.entries(resources.unified)) {
      const at = `${BASE}.unified["${key}"]`;
      if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.-]+$/.test(key) || key.includes('..')) {
        throw invalidConfig(at, 'is not a cgroup v2 interface file name such as "memory.high"');
      }
      if (key.startsWith('cgroup.') && ['cgroup.procs', 'cgroup.threads', 'cgroup.kill'].includes(key)) {
        throw invalidConfig(at, 'moves or kills processes and cannot be set as a resource');
      }
      if (typeof value !== 'string')
        throw invalidConfig(at, `must be a string, got ${JSON.stringify(value)}`);
    }
  }
}

/** True when no resource at all is asked for (nothing to write). */
export function isEmptyResources(resources: LinuxResources | undefined): boolean {
  return !resources || Object.values(resources).every((value) => value === undefined);
}
