import { closeSync, openSync } from 'node:fs';

import {
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  bpfProgAttach,
  bpfProgDetach,
  bpfProgGetFdById,
  bpfProgLoad,
  bpfProgQuery,
} from '@corral/native';

import { CgroupError, systemError } from '../errors.js';
import { assembleDeviceProgram, encodeInstructions } from './ebpf.js';
import type { DeviceRule } from './rules.js';

/**
 * Replaces the device program attached to a v2 cgroup with one built from `rules`. The new
 * program is attached (with BPF_F_ALLOW_MULTI) before the old ones are detached, so the cgroup is
 * never left without a filter.
 */
export function attachDeviceProgram(cgroupDir: string, rules: readonly DeviceRule[]): void {
  const program = encodeInstructions(assembleDeviceProgram(rules));
  let progFd: number;
  try {
    progFd = bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, program, 'Apache-2.0');
  } catch (error) {
    const log = (error as { verifierLog?: string }).verifierLog;
    throw new CgroupError(
      'SYSTEM',
      `loading the device program for ${cgroupDir} failed: ${(error as Error).message}${log ? `\n${log}` : ''}`,
      { path: cgroupDir, cause: error },
    );
  }
  let dirFd: number | undefined;
  try {
    dirFd = openSync(cgroupDir, 'r');
    const existing = bpfProgQuery(dirFd, BPF_CGROUP_DEVICE);
    if (existing.ids.length > 0 && existing.attachFlags !== BPF_F_ALLOW_MULTI) {
      // Attached without ALLOW_MULTI: attaching again with the same flags replaces it.
      bpfProgAttach(dirFd, progFd, BPF_CGROUP_DEVICE, existing.attachFlags);
      return;
    }
    bpfProgAttach(dirFd, progFd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
    for (const id of existing.ids) {
      const oldFd = bpfProgGetFdById(id);
      try {
        bpfProgDetach(dirFd, oldFd, BPF_CGROUP_DEVICE);
      } finally {
        closeSync(oldFd);
      }
    }
  } catch (error) {
    if (error instanceof CgroupError) throw error;
    throw systemError('attach device program to', cgroupDir, error);
  } finally {
    if (dirFd !== undefined) closeSync(dirFd);
    // The attachment holds its own reference to the program.
    closeSync(progFd);
  }
}

/** The ids of the device programs attached directly to a v2 cgroup. */
export function attachedDevicePrograms(cgroupDir: string): number[] {
  const dirFd = openSync(cgroupDir, 'r');
  try {
    return bpfProgQuery(dirFd, BPF_CGROUP_DEVICE).ids;
  } finally {
    closeSync(dirFd);
  }
}
