import { join } from 'node:path';

import type { SeccompProgramCache } from '@corral/core';

import { ownDirectory, readOwnFile, shortHash, writeOwnFile } from './cache-files.js';

/**
 * Compiled seccomp programs kept in `dir` (the cache directory's seccomp/), one file each
 * holding its whole key: podman's containers share one profile, which then compiles once rather
 * than for every create. A file is used only for the very key it holds; no directory, no store.
 */
export function seccompStore(dir: string | undefined): SeccompProgramCache | undefined {
  if (!dir) return undefined;
  const fileOf = (key: string) => join(dir, `${shortHash(key)}-${key.length.toString(16)}.json`);
  return {
    get(key) {
      const data = ownDirectory(dir) ? readOwnFile(fileOf(key)) : undefined;
      if (!data) return undefined;
      try {
        const kept = JSON.parse(data.toString('utf8')) as {
          key?: unknown;
          program?: unknown;
          unknownSyscalls?: unknown;
        };
        if (kept.key !== key || typeof kept.program !== 'string' || !Array.isArray(kept.unknownSyscalls))
          return undefined;
        return {
          program: Buffer.from(kept.program, 'base64'),
          unknownSyscalls: kept.unknownSyscalls as string[],
        };
      } catch {
        return undefined;
      }
    },
    set(key, compiled) {
      if (!ownDirectory(dir)) return;
      const { program, unknownSyscalls } = compiled;
      writeOwnFile(
        fileOf(key),
        JSON.stringify({ key, program: program.toString('base64'), unknownSyscalls }),
      );
    },
  };
}
