import { binding } from './binding.js';
import type { SystemCallError } from './errors.js';

/** Kernel constants from linux/bpf.h that cgroup device programs need. */
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_OVERRIDE = 1;
export const BPF_F_ALLOW_MULTI = 2;

/** A BPF_PROG_LOAD failure: the verifier's log says which instruction it refused and why. */
export interface BpfLoadError extends SystemCallError {
  verifierLog: string;
}

/**
 * Loads a program (`instructions` is the raw `struct bpf_insn` array, 8 bytes each) and returns
 * its descriptor, which the caller owns. Throws a {@link BpfLoadError} on failure.
 */
export function bpfProgLoad(type: number, instructions: Uint8Array, license: string): number {
  const bytes = Buffer.from(instructions.buffer, instructions.byteOffset, instructions.byteLength);
  return binding().bpfProgLoad(type, bytes, license);
}

/** Attaches a loaded program to a target (for cgroup programs: a descriptor of the cgroup directory). */
export function bpfProgAttach(targetFd: number, progFd: number, attachType: number, flags = 0): void {
  binding().bpfProgAttach(targetFd, progFd, attachType, flags);
}

export function bpfProgDetach(targetFd: number, progFd: number, attachType: number): void {
  binding().bpfProgDetach(targetFd, progFd, attachType);
}

/** The ids of the programs attached directly to the target, and the flags they were attached with. */
export function bpfProgQuery(targetFd: number, attachType: number): { attachFlags: number; ids: number[] } {
  return binding().bpfProgQuery(targetFd, attachType);
}

/** A new descriptor for a loaded program, found by its id; the caller closes it. */
export function bpfProgGetFdById(id: number): number {
  return binding().bpfProgGetFdById(id);
}
