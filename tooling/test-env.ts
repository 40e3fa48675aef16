import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rootfsPath = fileURLToPath(new URL('./rootfs/out/busybox', import.meta.url));

/**
 * The busybox root filesystem that `tooling/setup` builds for system tests, with symlinks
 * resolved: a copy of a link would share the one rootfs between every test.
 */
export const busyboxRootfs = existsSync(rootfsPath) ? realpathSync(rootfsPath) : rootfsPath;

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `corral-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A short unique name for things tests create (cgroups, links, containers). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
