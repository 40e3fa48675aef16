import { readdirSync } from 'node:fs';

import type { BlkioStatEntry, CgroupStats, MemoryData } from './types.js';

const emptyMemoryData = (): MemoryData => ({ usage: 0, maxUsage: 0, failcnt: 0, limit: 0 });

export function emptyStats(): CgroupStats {
  return {
    cpuStats: {
      cpuUsage: {
        totalUsage: 0,
        percpuUsage: [],
        percpuUsageInKernelmode: [],
        percpuUsageInUsermode: [],
        usageInKernelmode: 0,
        usageInUsermode: 0,
      },
      throttlingData: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    memoryStats: {
      cache: 0,
      usage: emptyMemoryData(),
      swapUsage: emptyMemoryData(),
      kernelUsage: emptyMemoryData(),
      useHierarchy: false,
      stats: {},
    },
    pidsStats: { current: 0, limit: 0 },
    blkioStats: { ioServiceBytesRecursive: [], ioServicedRecursive: [] },
    hugetlbStats: {},
  };
}

/** v1 blkio lines: "8:0 Read 4096"; the closing "Total N" summary is dropped as libcontainer drops it. */
export function parseBlkioEntries(text: string): BlkioStatEntry[] {
  const entries: BlkioStatEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):(\d+) (\S+) (\d+)$/.exec(line.trim());
    if (match)
      entries.push({
        major: Number(match[1]),
        minor: Number(match[2]),
        op: match[3] ?? '',
        value: Number(match[4]),
      });
  }
  return entries;
}

/** v2 io.stat lines: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." in the v1 entry shape. */
export function parseIoStat(text: string): { bytes: BlkioStatEntry[]; ios: BlkioStatEntry[] } {
  const bytes: BlkioStatEntry[] = [];
  const ios: BlkioStatEntry[] = [];
  for (const line of text.split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    const match = /^(\d+):(\d+)$/.exec(device ?? '');
    if (!match) continue;
    const major = Number(match[1]);
    const minor = Number(match[2]);
    for (const pair of pairs) {
      const [key, raw] = pair.split('=');
      const value = Number(raw);
      if (key === 'rbytes') bytes.push({ major, minor, op: 'Read', value });
      if (key === 'wbytes') bytes.push({ major, minor, op: 'Write', value });
      if (key === 'rios') ios.push({ major, minor, op: 'Read', value });
      if (key === 'wios') ios.push({ major, minor, op: 'Write', value });
    }
  }
  return { bytes, ios };
}

/** The huge page sizes the kernel offers, in the spelling cgroup files use ("2MB", "1GB"). */
export function hugePageSizes(dir = '/sys/kernel/mm/hugepages'): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const match = /^hugepages-(\d+)kB$/.exec(name);
    return match ? [pageSizeName(Number(match[1]) * 1024)] : [];
  });
}

export function pageSizeName(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && value % 1024 === 0 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value}${units[unit]}`;
}

/** "max" in a limit file becomes 0, as libcontainer reports an unlimited pids.max. */
export function limitOrZero(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
