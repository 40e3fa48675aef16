import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';

import { executablePath } from './executable-path.js';
import type { CriuVersion } from './version.js';

/**
 * A criu binary's version kept in a file between processes, so that a program making one
 * request per process (a command line) does not start criu twice for each. It is trusted only
 * for the very file it was asked of: its path (as found on PATH), size, mtime and inode.
 */
export function rememberedVersion(file: string, binary: string): CriuVersion | undefined {
  try {
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { binary?: unknown; version?: CriuVersion };
    if (JSON.stringify(kept.binary) !== JSON.stringify(identity(binary))) return undefined;
    return typeof kept.version?.text === 'string' ? kept.version : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the version for rememberedVersion; a file that cannot be written is no error. */
export function rememberVersion(file: string, binary: string, version: CriuVersion): void {
  try {
    const temporary = `${file}.${process.pid}`;
    writeFileSync(temporary, `${JSON.stringify({ binary: identity(binary), version })}\n`, { mode: 0o644 });
    renameSync(temporary, file);
  } catch {
    // The next process asks criu again.
  }
}

/** What names one build of the binary; throws when it cannot be found. */
function identity(binary: string): [string, number, number, number] {
  const path = executablePath(binary);
  const stat = statSync(path);
  return [path, stat.size, stat.mtimeMs, stat.ino];
}
