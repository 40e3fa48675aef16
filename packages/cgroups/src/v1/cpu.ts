import { dirname } from 'node:path';

import type { ControllerWriter } from '../controller.js';
import { errnoCode, invalidConfig, notSupported } from '../errors.js';
import { type CgroupFiles, readCgroupFile } from '../files.js';
import { parseCpuList } from '../validate.js';

const F = 'linux.resources.cpu';

function requireFile(files: CgroupFiles, name: string, field: string, what: string): void {
  if (!files.has(name)) throw notSupported(`this kernel has no ${name} (${what})`, field);
}

export const cpuV1: ControllerWriter = {
  wants: ({ cpu }) => {
    if (!cpu) return undefined;
    const fields = [
      'shares',
      'quota',
      'period',
      'burst',
      'realtimeRuntime',
      'realtimePeriod',
      'idle',
    ] as const;
    const field = fields.find((key) => cpu[key] !== undefined);
    return field ? `${F}.${field}` : undefined;
  },

  check(files, { cpu = {} }) {
    if (cpu.burst !== undefined) requireFile(files, 'cpu.cfs_burst_us', `${F}.burst`, 'CFS burst');
    if (cpu.realtimeRuntime !== undefined || cpu.realtimePeriod !== undefined) {
      requireFile(files, 'cpu.rt_runtime_us', `${F}.realtimeRuntime`, 'CONFIG_RT_GROUP_SCHED');
    }
    if (cpu.idle !== undefined) requireFile(files, 'cpu.idle', `${F}.idle`, 'SCHED_IDLE groups');
    if (cpu.quota !== undefined || cpu.period !== undefined) {
      requireFile(files, 'cpu.cfs_quota_us', `${F}.quota`, 'CONFIG_CFS_BANDWIDTH');
    }
  },

  set(files, { cpu = {} }) {
    if (cpu.shares) files.write('cpu.shares', String(cpu.shares));
    if (cpu.period) files.write('cpu.cfs_period_us', String(cpu.period));
    if (cpu.quota) files.write('cpu.cfs_quota_us', String(cpu.quota));
    if (cpu.burst !== undefined) files.write('cpu.cfs_burst_us', String(cpu.burst));
    setRealtime(files, cpu.realtimePeriod, cpu.realtimeRuntime);
    if (cpu.idle !== undefined) files.write('cpu.idle', String(cpu.idle));
  },
};

/**
 * The kernel takes a real-time period only if the runtime already in place fits in it, and a
 * runtime only if it fits in the period in place. The period goes first (a new cgroup's runtime
 * is 0); when the kernel refuses it (EINVAL: a shorter period than the runtime now set), the
 * runtime goes first and the period after it, as runc does.
 */
function setRealtime(files: CgroupFiles, period: number | undefined, runtime: number | undefined): void {
  let periodAfterRuntime = false;
  if (period) {
    try {
      files.write('cpu.rt_period_us', String(period));
    } catch (error) {
      if (runtime === undefined || errnoCode((error as Error).cause) !== 'EINVAL') throw error;
      periodAfterRuntime = true;
    }
  }
  if (runtime !== undefined) files.write('cpu.rt_runtime_us', String(runtime));
  if (periodAfterRuntime) files.write('cpu.rt_period_us', String(period));
}

/** What the parent cgroup offers, from the first of `names` it has (v1 and v2 spell it differently). */
function parentOffers(files: CgroupFiles, names: string[]): number[] | undefined {
  for (const name of names) {
    try {
      return parseCpuList(name, readCgroupFile(dirname(files.path), name).trim());
    } catch {
      // Not this spelling (or no parent to read): try the next.
    }
  }
  return undefined;
}

/** The kernel refuses CPUs or memory nodes the parent does not have; say which, before writing. */
function checkSubset(files: CgroupFiles, field: string, wanted: string, names: string[]): void {
  const offered = parentOffers(files, names);
  if (!offered || offered.length === 0) return;
  const outside = parseCpuList(field, wanted).filter((n) => !offered.includes(n));
  if (outside.length > 0) {
    throw invalidConfig(
      field,
      `"${wanted}" asks for ${outside.join(',')}, which the parent cgroup does not have`,
    );
  }
}

export const cpusetV1: ControllerWriter = {
  wants: ({ cpu }) => (cpu?.cpus ? `${F}.cpus` : cpu?.mems ? `${F}.mems` : undefined),
  check(files, { cpu = {} }) {
    if (cpu.cpus)
      checkSubset(files, `${F}.cpus`, cpu.cpus, ['cpuset.effective_cpus', 'cpuset.cpus.effective']);
    if (cpu.mems)
      checkSubset(files, `${F}.mems`, cpu.mems, ['cpuset.effective_mems', 'cpuset.mems.effective']);
  },
  set(files, { cpu = {} }) {
    if (cpu.cpus) files.write('cpuset.cpus', cpu.cpus);
    if (cpu.mems) files.write('cpuset.mems', cpu.mems);
  },
};
