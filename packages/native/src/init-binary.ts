import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { binding, packageRoot } from './binding.js';

/** Where node-gyp put corral-init, beside the addon. */
export function initBinaryPath(): string {
  const path = join(packageRoot, 'build', 'Release', 'corral-init');
  if (!existsSync(path)) {
    throw new Error(`corral-init is not built (looked for ${path}); build @corral/native first`);
  }
  return path;
}

let sealedFd: number | undefined;

/**
 * A path that executes a sealed in-memory copy of corral-init. A container that later writes
 * to /proc/PID/exe of its init hits the sealed copy, never the file on disk (CVE-2019-5736).
 * The copy is made once per process and reused: sealed, it cannot change.
 */
export function sealedInitPath(): string {
  sealedFd ??= binding().sealedExecutableCopy(initBinaryPath());
  return `/proc/self/fd/${sealedFd}`;
}
