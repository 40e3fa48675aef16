import { binding } from './binding.js';

/** One argument test of a rule; `op` is libseccomp's scmp_compare value (SCMP_CMP_EQ is 4). */
export interface SeccompArgCondition {
  index: number;
  op: number;
  value: bigint;
  valueTwo: bigint;
}

/** Syscalls that share an action and argument tests. `where` names the rule in errors. */
export interface SeccompRule {
  names: readonly string[];
  action: number;
  args: readonly SeccompArgCondition[];
  where?: string;
}

/**
 * A filter in libseccomp's terms: actions are its action values with any errno folded in
 * (SCMP_ACT_ERRNO(1) is 0x00050001), architectures its names ("x86_64", "x86").
 */
export interface SeccompFilterSpec {
  defaultAction: number;
  architectures: readonly string[];
  rules: readonly SeccompRule[];
}

export interface CompiledSeccompFilter {
  /** The classic BPF program: struct sock_filter entries, 8 bytes each. */
  program: Buffer;
  /** Syscall names this libseccomp does not know; their rules were left out. */
  unknownSyscalls: string[];
}

/** Compiles a filter with libseccomp into the program that seccomp(SECCOMP_SET_MODE_FILTER) takes. */
export function compileSeccompFilter(spec: SeccompFilterSpec): CompiledSeccompFilter {
  return binding().seccompCompile(spec);
}

/** The version of the libseccomp the addon was built against, e.g. "2.5.4". */
export function seccompLibraryVersion(): string {
  return binding().seccompVersion();
}
