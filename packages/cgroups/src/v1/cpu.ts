import type { ControllerWriter } from '../controller.js';
import { notSupported } from '../errors.js';
import type { CgroupFiles } from '../files.js';

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
    // The runtime must fit in the period: set the period first.
    if (cpu.realtimePeriod) files.write('cpu.rt_period_us', String(cpu.realtimePeriod));
    if (cpu.realtimeRuntime !== undefined) files.write('cpu.rt_runtime_us', String(cpu.realtimeRuntime));
    if (cpu.idle !== undefined) files.write('cpu.idle', String(cpu.idle));
  },
};

export const cpusetV1: ControllerWriter = {
  wants: ({ cpu }) => (cpu?.cpus ? `${F}.cpus` : cpu?.mems ? `${F}.mems` : undefined),
  set(files, { cpu = {} }) {
    if (cpu.cpus) files.write('cpuset.cpus', cpu.cpus);
    if (cpu.mems) files.write('cpuset.mems', cpu.mems);
  },
};
