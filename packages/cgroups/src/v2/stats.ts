import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { parseCgroupNumber, parseKeyValues, readCgroupFile } from '../files.js';
import { hugePageSizes, limitOrZero, parseIoStat } from '../stats.js';
import type { CgroupStats } from '../types.js';

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
}

export function readMemoryStatsV2(dir: string, stats: CgroupStats): void {
  if (!has(dir, 'memory.current')) return;
  const memory = stats.memoryStats;
  memory.stats = parseKeyValues(readCgroupFile(dir, 'memory.stat'));
  memory.cache = memory.stats.file ?? 0;
  const events = parseKeyValues(readCgroupFile(dir, 'memory.events'));
  memory.usage = {
    usage: number(dir, 'memory.current'),
    maxUsage: optional(dir, 'memory.peak'),
    failcnt: events.max ?? 0,
    limit: number(dir, 'memory.max'),
  };
  if (has(dir, 'memory.swap.current')) {
    memory.swapUsage = {
      usage: number(dir, 'memory.swap.current'),
      maxUsage: optional(dir, 'memory.swap.peak'),
      failcnt: 0,
      limit: number(dir, 'memory.swap.max'),
    };
  }
  memory.useHierarchy = true;
}

export function readPidsStatsV2(dir: string, stats: CgroupStats): void {
  if (!has(dir, 'pids.current')) return;
  stats.pidsStats = { current: number(dir, 'pids.current'), limit: limitOrZero(number(dir, 'pids.max')) };
}

export function readIoStatsV2(dir: string, stats: CgroupStats): void {
  if (!has(dir, 'io.stat')) return;
  const { bytes, ios } = parseIoStat(readCgroupFile(dir, 'io.stat'));
  stats.blkioStats = { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}

export function readHugetlbStatsV2(dir: string, stats: CgroupStats): void {
  for (const size of hugePageSizes()) {
    if (!has(dir, `hugetlb.${size}.current`)) continue;
    const events = has(dir, `hugetlb.${size}.events`)
      ? parseKeyValues(readCgroupFile(dir, `hugetlb.${size}.events`))
      : {};
    stats.hugetlbStats[size] = {
      usage: number(dir, `hugetlb.${size}.current`),
      maxUsage: 0,
      failcnt: events.max ?? 0,
    };
  }
}

export const V2_STATS = [
  readCpuStatsV2,
  readMemoryStatsV2,
  readPidsStatsV2,
  readIoStatsV2,
  readHugetlbStatsV2,
];
