import { readFileSync } from 'node:fs';

import type { CgroupStats, LinuxResources } from '@corral/cgroups';
import {
  containerOomEvents,
  containerStats,
  containerStatus,
  openContainer,
  updateContainer,
} from '@corral/core';

import { containerIdArgument, parseCommandArgs, UsageError } from '../args.js';
import { COMMAND_FLAGS } from '../flags.js';
import type { GlobalOptions } from '../global.js';
import { writeOut } from '../output.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A byte count as runc takes it: 1048576, 512k, 64m, 1g; -1 means unlimited. */
export function parseBytes(flag: string, text: string): number {
  if (text === '-1') return -1;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!match) throw new UsageError(`update: --${flag}: not a size: ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
}

function parseInteger(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text))
    throw new UsageError(`update: --${flag}: not an integer: ${JSON.stringify(text)}`);
  return Number(text);
}

/** The resources an update asks for: a JSON file (or - for stdin), or the flags. */
export function updateResources(values: Record<string, string | undefined>): LinuxResources {
  if (values.resources !== undefined) {
    const text = readFileSync(values.resources === '-' ? 0 : values.resources, 'utf8');
    try {
      return JSON.parse(text) as LinuxResources;
    } catch (error) {
      throw new UsageError(`update: ${values.resources} is not valid JSON: ${(error as Error).message}`);
    }
  }
  for (const flag of ['kernel-memory', 'kernel-memory-tcp', 'l3-cache-schema', 'mem-bw-schema']) {
    if (values[flag] !== undefined)
      throw new UsageError(`update: --${flag} is not supported on this kernel or by corral`);
  }
  const int = (flag: string) => (values[flag] === undefined ? undefined : parseInteger(flag, values[flag]!));
  const bytes = (flag: string) => (values[flag] === undefined ? undefined : parseBytes(flag, values[flag]!));
  const pick = <T extends object>(object: T) =>
    Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
  const resources: LinuxResources = {};
  const memory = pick({
    limit: bytes('memory'),
    reservation: bytes('memory-reservation'),
    swap: bytes('memory-swap'),
  });
  if (Object.keys(memory).length) resources.memory = memory;
  const cpu = pick({
    shares: int('cpu-share'),
    quota: int('cpu-quota'),
    burst: int('cpu-burst'),
    period: int('cpu-period'),
    realtimeRuntime: int('cpu-rt-runtime'),
    realtimePeriod: int('cpu-rt-period'),
    idle: int('cpu-idle'),
    cpus: values['cpuset-cpus'],
    mems: values['cpuset-mems'],
  });
  if (Object.keys(cpu).length) resources.cpu = cpu as LinuxResources['cpu'];
  if (values['pids-limit'] !== undefined) resources.pids = { limit: int('pids-limit')! };
  if (values['blkio-weight'] !== undefined) resources.blockIO = { weight: int('blkio-weight')! };
  return resources;
}

/**
 * `--memory -1` as `--memory=-1`: runc takes -1 (unlimited) as a flag's value, where Node's
 * parser would read it as a flag of its own.
 */
export function joinNegativeValues(args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i]!.startsWith('--') ? args[i]!.slice(2) : undefined;
    if (name && name in COMMAND_FLAGS.update && /^-\d/.test(args[i + 1] ?? ''))
      joined.push(`${args[i]}=${args[++i]}`);
    else joined.push(args[i]!);
  }
  return joined;
}

export async function update(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('update', joinNegativeValues(args));
  const container = openContainer(global.root, containerIdArgument('update', positionals));
  await updateContainer(container, updateResources(values as Record<string, string | undefined>));
  return 0;
}

/** runc's events `data` for stats: its own field names over libcontainer's numbers. */
export function statsEventData(stats: CgroupStats) {
  const usage = stats.cpuStats.cpuUsage;
  const memory = stats.memoryStats;
  const entry = (e: { usage: number; maxUsage: number; failcnt: number; limit: number }) => ({
    limit: e.limit,
    usage: e.usage,
    max: e.maxUsage,
    failcnt: e.failcnt,
  });
  const psi = (value: CgroupStats['cpuStats']['psi']) => (value ? { psi: value } : {});
  const none = { limit: 0, usage: 0, maxUsage: 0, failcnt: 0 };
  return {
    cpu: {
      usage: {
        total: usage.totalUsage,
        percpu: usage.percpuUsage,
        percpu_kernel: usage.percpuUsageInKernelmode,
        percpu_user: usage.percpuUsageInUsermode,
        kernel: usage.usageInKernelmode,
        user: usage.usageInUsermode,
      },
      throttling: {
        periods: stats.cpuStats.throttlingData.periods,
        throttledPeriods: stats.cpuStats.throttlingData.throttledPeriods,
        throttledTime: stats.cpuStats.throttlingData.throttledTime,
      },
      ...psi(stats.cpuStats.psi),
    },
    // cgroup v2 has no cpuset flags; runc reports them as 0 there too.
    cpuset: {
      cpus: stats.cpusetStats?.cpus ?? [],
      cpu_exclusive: 0,
      mems: stats.cpusetStats?.mems ?? [],
      mem_hardwall: 0,
      mem_exclusive: 0,
      memory_migrate: 0,
      memory_spread_page: 0,
      memory_spread_slab: 0,
      memory_pressure: 0,
      sched_load_balance: 0,
      sched_relax_domain_level: 0,
    },
    memory: {
      cache: memory.cache,
      usage: entry(memory.usage),
      swap: entry(memory.swapUsage),
      kernel: entry(memory.kernelUsage),
      kernelTCP: entry(none),
      raw: memory.stats,
      ...psi(memory.psi),
    },
    pids: stats.pidsStats,
    blkio: {
      ioServiceBytesRecursive: stats.blkioStats.ioServiceBytesRecursive,
      ioServicedRecursive: stats.blkioStats.ioServicedRecursive,
      ...psi(stats.blkioStats.psi),
    },
    hugetlb: Object.fromEntries(
      Object.entries(stats.hugetlbStats).map(([size, h]) => [
        size,
        { usage: h.usage, max: h.maxUsage, failcnt: h.failcnt },
      ]),
    ),
    intel_rdt: {},
    network_interfaces: null,
  };
}

// An unlimited cgroup v2 limit is Infinity here and MaxUint64 in runc's JSON.
const MAX_UINT64 = '18446744073709551615';
const UNLIMITED = '\u0001unlimited';

/** One JSON line, with unlimited limits printed as runc prints them. */
export function jsonLine(value: unknown): string {
  const text = JSON.stringify(value, (_, v) => (v === Number.POSITIVE_INFINITY ? UNLIMITED : v));
  return `${text.replaceAll(JSON.stringify(UNLIMITED), MAX_UINT64)}\n`;
}

/** `events [--stats] [--interval 5s] ID`: JSON lines, as runc prints them. */
export async function events(args: string[], global: GlobalOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs('events', args);
  const id = containerIdArgument('events', positionals);
  const container = openContainer(global.root, id);
  const line = (type: string, data?: unknown) =>
    writeOut(jsonLine(data === undefined ? { type, id } : { type, id, data }));
  if (values.stats) {
    line('stats', statsEventData(await containerStats(container)));
    return 0;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(values.interval);
  if (!match)
    throw new UsageError(
      `events: --interval must be a duration such as 5s, got ${JSON.stringify(values.interval)}`,
    );
  const intervalMs = Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1000);
  const oom = containerOomEvents(container);
  const oomLoop = (async () => {
    for await (const _ of oom) line('oom');
  })().catch(() => undefined);
  try {
    while ((await containerStatus(container)) !== 'stopped') {
      line('stats', statsEventData(await containerStats(container)));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    await oom.return?.();
    await oomLoop;
  }
  return 0;
}
