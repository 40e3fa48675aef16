import { type ControllerWriter, writeDeviceValue } from '../controller.js';
import { blkioWeightToIoWeight, cpuMax, cpuSharesToCpuWeight, memorySwapToV2, v2Limit } from '../convert.js';
import { attachDeviceProgram } from '../devices/program.js';
import { normalizeDeviceRule } from '../devices/rules.js';
import { invalidConfig, notSupported } from '../errors.js';
import type { LinuxBlockIO, LinuxResources } from '../types.js';
import { cpusetV1, cpuV1 } from '../v1/cpu.js';
import { hugetlbWriter, pidsV1, rdmaWriter } from '../v1/misc.js';

const MEMORY = 'linux.resources.memory';
const CPU = 'linux.resources.cpu';
const IO = 'linux.resources.blockIO';

export const memoryV2: ControllerWriter = {
  wants: ({ memory }) => {
    if (!memory) return undefined;
    const fields = [
      'limit',
      'reservation',
      'swap',
      'kernel',
      'kernelTCP',
      'swappiness',
      'disableOOMKiller',
      'useHierarchy',
    ];
    const field = fields.find((key) => memory[key as keyof typeof memory] !== undefined);
    return field ? `${MEMORY}.${field}` : undefined;
  },

  refuse({ memory = {} }) {
    if (memory.kernel !== undefined && memory.kernel > 0) {
      throw notSupported(
        'cgroup v2 has no kernel memory limit (kernel memory counts toward memory.max)',
        `${MEMORY}.kernel`,
      );
    }
    if (memory.kernelTCP !== undefined && memory.kernelTCP > 0) {
      throw notSupported('cgroup v2 has no separate kernel TCP memory limit', `${MEMORY}.kernelTCP`);
    }
    if (memory.swappiness !== undefined) {
      throw notSupported('cgroup v2 has no per-cgroup swappiness', `${MEMORY}.swappiness`);
    }
    if (memory.disableOOMKiller) {
      throw notSupported(
        'cgroup v2 cannot disable the OOM killer for a cgroup',
        `${MEMORY}.disableOOMKiller`,
      );
    }
    if (memory.useHierarchy === false) {
      throw notSupported('cgroup v2 is always hierarchical', `${MEMORY}.useHierarchy`);
    }
    try {
      memorySwapToV2(memory.swap ?? 0, memory.limit ?? 0);
    } catch (error) {
      throw invalidConfig(`${MEMORY}.swap`, (error as Error).message);
    }
  },

  check(files, { memory = {} }) {
    const swap = memorySwapToV2(memory.swap ?? 0, memory.limit ?? 0);
    if (swap > 0 && !files.has('memory.swap.max')) {
      throw notSupported('swap accounting is off on this kernel (no memory.swap.max)', `${MEMORY}.swap`);
    }
    if (memory.checkBeforeUpdate && memory.limit !== undefined && memory.limit > 0) {
      const usage = Number(files.read('memory.current').trim());
      if (usage > memory.limit) {
        throw invalidConfig(
          `${MEMORY}.limit`,
          `${memory.limit} is below the current usage (${usage}) and checkBeforeUpdate is set`,
        );
      }
    }
  },

  set(files, { memory = {} }) {
    const swap = memorySwapToV2(memory.swap ?? 0, memory.limit ?? 0);
    // memory.swap equal to memory.limit means no swap at all: "0", as runc writes it.
    const swapText = swap !== 0 ? v2Limit(swap) : memory.swap !== undefined && memory.swap > 0 ? '0' : '';
    // Swap first: a lower memory.max with room to swap pushes pages out rather than OOM-killing.
    // Without swap accounting, "max" and "0" are what the kernel has anyway (runc skips them too).
    if (swapText && files.has('memory.swap.max')) files.write('memory.swap.max', swapText);
    if (memory.limit) files.write('memory.max', v2Limit(memory.limit));
    if (memory.reservation) files.write('memory.low', v2Limit(memory.reservation));
  },
};

export const cpuV2: ControllerWriter = {
  wants: cpuV1.wants,
  refuse({ cpu = {} }) {
    if (cpu.realtimeRuntime !== undefined || cpu.realtimePeriod !== undefined) {
      const field = cpu.realtimeRuntime !== undefined ? 'realtimeRuntime' : 'realtimePeriod';
      throw notSupported('cgroup v2 has no realtime CPU bandwidth', `${CPU}.${field}`);
    }
  },
  check(files, { cpu = {} }) {
    if (cpu.burst !== undefined && !files.has('cpu.max.burst'))
      throw notSupported('this kernel has no cpu.max.burst (Linux 5.14)', `${CPU}.burst`);
    if (cpu.idle !== undefined && !files.has('cpu.idle'))
      throw notSupported('this kernel has no cpu.idle (Linux 5.15)', `${CPU}.idle`);
  },
  set(files, { cpu = {} }) {
    if (cpu.shares) files.write('cpu.weight', String(cpuSharesToCpuWeight(cpu.shares)));
    const max = cpuMax(cpu.quota, cpu.period);
    if (max) files.write('cpu.max', max);
    // After cpu.max: the kernel refuses a burst larger than the quota in force.
    if (cpu.burst !== undefined) files.write('cpu.max.burst', String(cpu.burst));
    if (cpu.idle !== undefined) files.write('cpu.idle', String(cpu.idle));
  },
};

/** cpuset.cpus / cpuset.mems and pids.max have the same names and formats on both versions. */
export const cpusetV2 = cpusetV1;
export const pidsV2 = pidsV1;
/**
 * hugetlb.<size>.max, and hugetlb.<size>.rsvd.max where the kernel has it (5.7), as runc writes
 * both: without the reservation limit a mapping can reserve pages it will fault on later.
 */
const hugetlbMaxV2 = hugetlbWriter((pageSize) => `hugetlb.${pageSize}.max`);
export const hugetlbV2: ControllerWriter = {
  ...hugetlbMaxV2,
  set(files, resources) {
    hugetlbMaxV2.set(files, resources);
    for (const entry of resources.hugepageLimits ?? []) {
      const rsvd = `hugetlb.${entry.pageSize}.rsvd.max`;
      if (files.has(rsvd)) files.write(rsvd, String(entry.limit));
    }
  },
};
export const rdmaV2 = rdmaWriter;

const IO_MAX_KEYS = [
  ['throttleReadBpsDevice', 'rbps'],
  ['throttleWriteBpsDevice', 'wbps'],
  ['throttleReadIOPSDevice', 'riops'],
  ['throttleWriteIOPSDevice', 'wiops'],
] as const;

export const ioV2: ControllerWriter = {
  wants: ({ blockIO }) => {
    if (!blockIO) return undefined;
    const key = Object.keys(blockIO).find((k) => blockIO[k as keyof LinuxBlockIO] !== undefined);
    return key ? `${IO}.${key}` : undefined;
  },
  refuse({ blockIO = {} }) {
    if (blockIO.leafWeight) throw notSupported('cgroup v2 has no leaf weights', `${IO}.leafWeight`);
    const leaf = blockIO.weightDevice?.findIndex((device) => device.leafWeight) ?? -1;
    if (leaf >= 0)
      throw notSupported('cgroup v2 has no leaf weights', `${IO}.weightDevice[${leaf}].leafWeight`);
  },
  check(files, { blockIO = {} }) {
    if (blockIO.weight && !files.has('io.weight') && !files.has('io.bfq.weight')) {
      throw notSupported(
        'no io.weight or io.bfq.weight: the device scheduler has no weights',
        `${IO}.weight`,
      );
    }
    if (blockIO.weightDevice?.some((device) => device.weight) && !files.has('io.bfq.weight')) {
      throw notSupported('per-device weights need the BFQ scheduler (io.bfq.weight)', `${IO}.weightDevice`);
    }
  },
  set(files, { blockIO = {} }) {
    if (blockIO.weight) {
      // io.bfq.weight takes v1's range as it is; io.weight takes the converted value.
      if (files.has('io.bfq.weight')) files.write('io.bfq.weight', String(blockIO.weight));
      else files.write('io.weight', String(blkioWeightToIoWeight(blockIO.weight)));
    }
    for (const device of blockIO.weightDevice ?? []) {
      if (device.weight) {
        writeDeviceValue(
          files,
          'io.bfq.weight',
          `${device.major}:${device.minor}`,
          String(device.weight),
          'default',
        );
      }
    }
    for (const [key, limit] of IO_MAX_KEYS) {
      for (const device of blockIO[key] ?? []) {
        const id = `${device.major}:${device.minor}`;
        const value = device.rate === 0 ? 'max' : String(device.rate);
        files.write('io.max', `${id} ${limit}=${value}`, () => files.write('io.max', `${id} ${limit}=max`));
      }
    }
  },
};

export const networkV2: ControllerWriter = {
  wants: ({ network }) =>
    network?.classID !== undefined || network?.priorities?.length ? 'linux.resources.network' : undefined,
  refuse({ network }) {
    const field = network?.classID !== undefined ? 'classID' : 'priorities';
    throw notSupported('cgroup v2 has no net_cls or net_prio controller', `linux.resources.network.${field}`);
  },
  set() {},
};

/** The controller a unified key belongs to: "memory.high" -> "memory". */
export function unifiedController(key: string): string {
  return key.slice(0, key.indexOf('.'));
}

/** Raw v2 files; each key must name a file that exists here (checked before anything is written). */
export function unifiedWriter(filter: (key: string) => boolean = () => true): ControllerWriter {
  const keys = (resources: LinuxResources) => Object.keys(resources.unified ?? {}).filter(filter);
  return {
    wants: (resources) => (keys(resources).length > 0 ? 'linux.resources.unified' : undefined),
    check(files, resources) {
      for (const key of keys(resources)) {
        if (!files.has(key)) {
          throw notSupported(
            `no such file in ${files.path} (unknown key, or the ${unifiedController(key)} controller is not enabled)`,
            `linux.resources.unified["${key}"]`,
          );
        }
      }
    },
    set(files, resources) {
      for (const key of keys(resources)) files.write(key, resources.unified?.[key] ?? '');
    },
  };
}

export const devicesV2: ControllerWriter = {
  wants: ({ devices }) => (devices ? 'linux.resources.devices' : undefined),
  set(files, { devices = [] }) {
    attachDeviceProgram(files.path, devices.map(normalizeDeviceRule));
  },
};

/** v2 writers in the order runc applies them, with the controller each needs enabled ('' for none). */
export const V2_WRITERS: ReadonlyArray<[string, ControllerWriter]> = [
  ['pids', pidsV2],
  ['memory', memoryV2],
  ['io', ioV2],
  ['cpu', cpuV2],
  ['cpuset', cpusetV2],
  ['hugetlb', hugetlbV2],
  ['rdma', rdmaV2],
  ['', networkV2],
  ['', unifiedWriter()],
  ['', devicesV2],
];
