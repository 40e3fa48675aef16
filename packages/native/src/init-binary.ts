import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { addonPath, binding } from './binding.js';

/**
 * corral-init, beside the addon: both come from the same build or the same prebuild. It is only
 * read (into the sealed copy below), never executed from disk, so it needs no executable bit.
 */
export function initBinaryPath(addon = addonPath()): string {
  const path = join(dirname(addon), 'corral-init');
  if (!existsSync(path)) {
    throw new Error(`@corral/native: corral-init is missing (looked for ${path}); reinstall @corral/native`);
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
