import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The busybox root filesystem that `tooling/setup` builds for system tests. Resolved when it is
 * a link to a rootfs built elsewhere: copying the link itself would give every test bundle the
 * same shared root to write into.
 */
export const busyboxRootfs = resolveLink(fileURLToPath(new URL('./rootfs/out/busybox', import.meta.url)));

function resolveLink(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path; // Not built yet: tests that need it say so themselves.
  }
}

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
