import { release } from 'node:os';

import {
  type CompiledSeccompFilter,
  compileSeccompFilter,
  type SeccompFilterSpec,
  seccompLibraryVersion,
} from '@corral/native';

/**
 * A store of compiled seccomp programs that outlives one compile: podman gives every container
 * the same 400-odd rules, which libseccomp takes 10 to 25 ms to compile. Keys name all the
 * program depends on (see programKey). What it keeps is code the kernel enforces on the
 * container: a store that outlives the process belongs where only its owner can write.
 */
export interface SeccompProgramCache {
  get(key: string): CompiledSeccompFilter | undefined;
  set(key: string, compiled: CompiledSeccompFilter): void;
}

/** Programs compiled in this process, for a library that creates container after container. */
const inProcess = new Map<string, CompiledSeccompFilter>();
const IN_PROCESS_LIMIT = 32;

/**
 * The filter's program, compiled by libseccomp unless this process or `store` already has it.
 * A filter that does not compile throws and is kept nowhere.
 */
export function compileSeccompCached(
  spec: SeccompFilterSpec,
  store?: SeccompProgramCache,
): CompiledSeccompFilter {
  const key = programKey(spec);
  let compiled = inProcess.get(key);
  if (!compiled) {
    compiled = store?.get(key);
    if (!compiled) {
      compiled = compileSeccompFilter(spec);
      store?.set(key, compiled);
    }
    if (inProcess.size >= IN_PROCESS_LIMIT) inProcess.delete(inProcess.keys().next().value!);
    inProcess.set(key, compiled);
  }
  return compiled;
}

/**
 * What the program depends on: the filter itself, libseccomp's version (its code generator),
 * the kernel (whose seccomp API level libseccomp reads) and the architecture.
 */
export function programKey(spec: SeccompFilterSpec): string {
  return JSON.stringify([seccompLibraryVersion(), release(), process.arch, spec], (_, value) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}
