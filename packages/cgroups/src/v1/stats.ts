import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { parseCgroupNumber, parseKeyValues, readCgroupFile } from '../files.js';
import { hugePageSizes, limitOrZero, parseBlkioEntries } from '../stats.js';
import type { CgroupStats, MemoryData } from '../types.js';

/** USER_HZ: cpuacct.stat counts in these ticks on every Linux architecture in use. */
const CLOCK_TICKS = 100;
const NS_PER_SECOND = 1e9;

const has = (dir: string, name: string) => existsSync(join(dir, name));
const number = (dir: string, name: string) => parseCgroupNumber(readCgroupFile(dir, name));
const numbers = (dir: string, name: string) =>
  readCgroupFile(dir, name).trim().split(/\s+/).filter(Boolean).map(Number);

function memoryData(dir: string, prefix: string): MemoryData {
  if (!has(dir, `${prefix}.usage_in_bytes`)) return { usage: 0, maxUsage: 0, failcnt: 0, limit: 0 };
  return {
    usage: number(dir, `${prefix}.usage_in_bytes`),
    maxUsage: number(dir, `${prefix}.max_usage_in_bytes`),
    failcnt: number(dir, `${prefix}.failcnt`),
    limit: number(dir, `${prefix}.limit_in_bytes`),
  };
}

export function readMemoryStatsV1(dir: string, stats: CgroupStats): void {
  const memory = stats.memoryStats;
  memory.stats = parseKeyValues(readCgroupFile(dir, 'memory.stat'));
  memory.cache = memory.stats.cache ?? 0;
  memory.usage = memoryData(dir, 'memory');
  memory.swapUsage = memoryData(dir, 'memory.memsw');
  memory.kernelUsage = memoryData(dir, 'memory.kmem');
  memory.useHierarchy = readCgroupFile(dir, 'memory.use_hierarchy').trim() === '1';
}

export function readCpuacctStatsV1(dir: string, stats: CgroupStats): void {
  const usage = stats.cpuStats.cpuUsage;
  usage.totalUsage = number(dir, 'cpuacct.usage');
  usage.percpuUsage = numbers(dir, 'cpuacct.usage_percpu');
  if (has(dir, 'cpuacct.usage_percpu_user')) {
    usage.percpuUsageInUsermode = numbers(dir, 'cpuacct.usage_percpu_user');
    usage.percpuUsageInKernelmode = numbers(dir, 'cpuacct.usage_percpu_sys');
  }
  const ticks = parseKeyValues(readCgroupFile(dir, 'cpuacct.stat'));
  usage.usageInUsermode = ((ticks.user ?? 0) * NS_PER_SECOND) / CLOCK_TICKS;
  usage.usageInKernelmode = ((ticks.system ?? 0) * NS_PER_SECOND) / CLOCK_TICKS;
}

export function readCpuStatsV1(dir: string, stats: CgroupStats): void {
  const cpu = parseKeyValues(readCgroupFile(dir, 'cpu.stat'));
  stats.cpuStats.throttlingData = {
    periods: cpu.nr_periods ?? 0,
    throttledPeriods: cpu.nr_throttled ?? 0,
    throttledTime: cpu.throttled_time ?? 0,
  };
}

export function readPidsStatsV1(dir: string, stats: CgroupStats): void {
  stats.pidsStats = { current: number(dir, 'pids.current'), limit: limitOrZero(number(dir, 'pids.max')) };
}

export function readBlkioStatsV1(dir: string, stats: CgroupStats): void {
  // CFQ's files went with CFQ; BFQ and the throttling layer keep their own counters.
  for (const prefix of ['blkio', 'blkio.bfq', 'blkio.throttle']) {
    if (!has(dir, `${prefix}.io_service_bytes_recursive`)) continue;
    const bytes = parseBlkioEntries(readCgroupFile(dir, `${prefix}.io_service_bytes_recursive`));
    const ios = parseBlkioEntries(readCgroupFile(dir, `${prefix}.io_serviced_recursive`));
    if (bytes.length === 0 && prefix !== 'blkio.throttle') continue;
    stats.blkioStats = { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
    return;
  }
}

export function readHugetlbStatsV1(dir: string, stats: CgroupStats): void {
  for (const size of hugePageSizes()) {
    if (!has(dir, `hugetlb.${size}.usage_in_bytes`)) continue;
    stats.hugetlbStats[size] = {
      usage: number(dir, `hugetlb.${size}.usage_in_bytes`),
      maxUsage: number(dir, `hugetlb.${size}.max_usage_in_bytes`),
      failcnt: number(dir, `hugetlb.${size}.failcnt`),
    };
  }
}
