import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { parseCgroupNumber, parseKeyValues, readCgroupFile } from '../files.js';
import { hugePageSizes, limitOrZero, parseIoStat } from '../stats.js';
import type { CgroupStats, MemoryData, PsiData, PsiStats } from '../types.js';
import { parseCpuList } from '../validate.js';

const has = (dir: string, name: string) => existsSync(join(dir, name));
const number = (dir: string, name: string) => parseCgroupNumber(readCgroupFile(dir, name));
const optional = (dir: string, name: string) => (has(dir, name) ? number(dir, name) : 0);

/** cpu.stat is always there on v2 (usage is accounted even without the cpu controller). */
export function readCpuStatsV2(dir: string, stats: CgroupStats): void {
  const cpu = parseKeyValues(readCgroupFile(dir, 'cpu.stat'));
  const usage = stats.cpuStats.cpuUsage;
  usage.totalUsage = (cpu.usage_usec ?? 0) * 1000;
  usage.usageInUsermode = (cpu.user_usec ?? 0) * 1000;
  usage.usageInKernelmode = (cpu.system_usec ?? 0) * 1000;
  stats.cpuStats.throttlingData = {
    periods: cpu.nr_periods ?? 0,
    throttledPeriods: cpu.nr_throttled ?? 0,
    throttledTime: (cpu.throttled_usec ?? 0) * 1000,
  };
  stats.cpuStats.psi = readPsi(dir, 'cpu.pressure');
}

/** A *.pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line), if any. */
export function readPsi(dir: string, name: string): PsiStats | undefined {
  if (!has(dir, name)) return undefined;
  const empty = (): PsiData => ({ avg10: 0, avg60: 0, avg300: 0, total: 0 });
  const psi: PsiStats = { some: empty(), full: empty() };
  for (const line of readCgroupFile(dir, name).split('\n')) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    for (const pair of pairs) {
      const [key, value] = pair.split('=');
      if (key === 'avg10' || key === 'avg60' || key === 'avg300' || key === 'total')
        psi[kind][key] = Number(value);
    }
  }
  return psi;
}

/** memory.current, .max and .peak (5.19; memory.swap.peak 6.5) of "memory" or "memory.swap". */
function memoryData(dir: string, prefix: string, failcnt = 0): MemoryData {
  return {
    usage: number(dir, `${prefix}.current`),
    maxUsage: optional(dir, `${prefix}.peak`),
    failcnt,
    limit: number(dir, `${prefix}.max`),
  };
}

export function readMemoryStatsV2(dir: string, stats: CgroupStats): void {
  if (!has(dir, 'memory.current')) return;
  const memory = stats.memoryStats;
  memory.stats = parseKeyValues(readCgroupFile(dir, 'memory.stat'));
  memory.cache = memory.stats.file ?? 0;
  const events = parseKeyValues(readCgroupFile(dir, 'memory.events'));
  memory.usage = memoryData(dir, 'memory', events.max ?? 0);
  if (has(dir, 'memory.swap.current')) {
    const swap = memoryData(dir, 'memory.swap');
    memory.swapOnlyUsage = swap;
    // v1 counts memory and swap together; runc reports v2's the same way, without a peak.
    memory.swapUsage = {
      usage: swap.usage + memory.usage.usage,
      maxUsage: 0,
      failcnt: 0,
      limit: swap.limit + memory.usage.limit,
    };
  }
  memory.useHierarchy = true;
  memory.psi = readPsi(dir, 'memory.pressure');
}

export function readPidsStatsV2(dir: string, stats: CgroupStats): void {
  if (!has(dir, 'pids.current')) return;
  stats.pidsStats = { current: number(dir, 'pids.current'), limit: limitOrZero(number(dir, 'pids.max')) };
}

export function readIoStatsV2(dir: string, stats: CgroupStats): void {
  if (!has(dir, 'io.stat')) return;
  const { bytes, ios } = parseIoStat(readCgroupFile(dir, 'io.stat'));
  stats.blkioStats = {
    ioServiceBytesRecursive: bytes,
    ioServicedRecursive: ios,
    psi: readPsi(dir, 'io.pressure'),
  };
}

export function readHugetlbStatsV2(dir: string, stats: CgroupStats): void {
  for (const size of hugePageSizes()) {
    if (!has(dir, `hugetlb.${size}.current`)) continue;
    const events = has(dir, `hugetlb.${size}.events`)
      ? parseKeyValues(readCgroupFile(dir, `hugetlb.${size}.events`))
      : {};
    // What is reserved as well as faulted in, where the kernel counts it (5.7), as runc reads it.
    const rsvd = has(dir, `hugetlb.${size}.rsvd.current`) ? '.rsvd' : '';
    stats.hugetlbStats[size] = {
      usage: number(dir, `hugetlb.${size}${rsvd}.current`),
      maxUsage: 0,
      failcnt: events.max ?? 0,
    };
  }
}

export function readCpusetStatsV2(dir: string, stats: CgroupStats): void {
  if (!has(dir, 'cpuset.cpus.effective')) return;
  const list = (name: string) => parseCpuList(name, readCgroupFile(dir, name).trim());
  stats.cpusetStats = { cpus: list('cpuset.cpus.effective'), mems: list('cpuset.mems.effective') };
}

export const V2_STATS = [
  readCpusetStatsV2,
  readCpuStatsV2,
  readMemoryStatsV2,
  readPidsStatsV2,
  readIoStatsV2,
  readHugetlbStatsV2,
];
