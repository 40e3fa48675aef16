import type { ControllerWriter } from '../controller.js';
import { kernelAtLeast } from '../controller.js';
import { invalidConfig, notSupported } from '../errors.js';
import type { CgroupFiles } from '../files.js';
import type { LinuxMemory } from '../types.js';

const F = 'linux.resources.memory';
const LIMIT = 'memory.limit_in_bytes';
const MEMSW = 'memory.memsw.limit_in_bytes';

/** v1 spells "unlimited" as -1 too. */
const bytes = (value: number) => String(value);

function setLimitAndSwap(files: CgroupFiles, memory: LinuxMemory): void {
  let { limit = 0, swap = 0 } = memory;
  // Unlimited memory with swap unset means unlimited swap too, as runc does.
  if (limit === -1 && swap === 0) swap = -1;
  if (!files.has(MEMSW)) swap = 0;
  if (limit !== 0 && swap !== 0) {
    // memsw must stay >= the memory limit at every step: raise it first when growing.
    const current = Number(files.read(LIMIT).trim());
    if (swap === -1 || current < swap) {
      files.write(MEMSW, bytes(swap));
      files.write(LIMIT, bytes(limit));
      return;
    }
  }
  if (limit !== 0) files.write(LIMIT, bytes(limit));
  if (swap !== 0) files.write(MEMSW, bytes(swap));
}

export const memoryV1: ControllerWriter = {
  wants: (r) => (r.memory && Object.values(r.memory).some((v) => v !== undefined) ? F : undefined),

  check(files, { memory = {} }) {
    if (memory.kernel !== undefined && memory.kernel > 0) {
      // Since Linux 6.1 kmem.limit_in_bytes accepts writes and ignores them.
      if (!files.has('memory.kmem.limit_in_bytes') || kernelAtLeast(6, 1)) {
        throw notSupported(
          'kernel memory limits were removed from the kernel (Linux 6.1); leave it unset',
          `${F}.kernel`,
        );
      }
    }
    if (
      memory.kernelTCP !== undefined &&
      memory.kernelTCP > 0 &&
      !files.has('memory.kmem.tcp.limit_in_bytes')
    ) {
      throw notSupported('this kernel has no kernel TCP memory limit', `${F}.kernelTCP`);
    }
    if (memory.swap !== undefined && memory.swap > 0 && !files.has(MEMSW)) {
      throw notSupported(
        'swap accounting is off on this kernel (no memory.memsw.limit_in_bytes)',
        `${F}.swap`,
      );
    }
    if (memory.useHierarchy === false && kernelAtLeast(5, 11)) {
      throw notSupported(
        'the kernel removed non-hierarchical memory accounting (Linux 5.11)',
        `${F}.useHierarchy`,
      );
    }
    if (memory.swappiness !== undefined && !files.has('memory.swappiness')) {
      throw notSupported('this kernel has no memory.swappiness', `${F}.swappiness`);
    }
    if (memory.checkBeforeUpdate && memory.limit !== undefined && memory.limit > 0) {
      const usage = Number(files.read('memory.usage_in_bytes').trim());
      if (usage > memory.limit) {
        throw invalidConfig(
          `${F}.limit`,
          `${memory.limit} is below the current usage (${usage}) and checkBeforeUpdate is set`,
        );
      }
    }
  },

  set(files, { memory = {} }) {
    setLimitAndSwap(files, memory);
    if (memory.reservation !== undefined && memory.reservation !== 0) {
      files.write('memory.soft_limit_in_bytes', bytes(memory.reservation));
    }
    if (memory.kernelTCP !== undefined && memory.kernelTCP !== 0) {
      files.write('memory.kmem.tcp.limit_in_bytes', bytes(memory.kernelTCP));
    }
    if (memory.swappiness !== undefined) files.write('memory.swappiness', String(memory.swappiness));
    if (memory.disableOOMKiller !== undefined) {
      // Reads back as "oom_kill_disable N" lines, written as a bare number.
      const previous = /oom_kill_disable (\d)/.exec(files.read('memory.oom_control'))?.[1] ?? '0';
      files.write('memory.oom_control', memory.disableOOMKiller ? '1' : '0', () =>
        files.write('memory.oom_control', previous),
      );
    }
    if (memory.useHierarchy === true && files.read('memory.use_hierarchy').trim() !== '1') {
      files.write('memory.use_hierarchy', '1');
    }
  },
};
