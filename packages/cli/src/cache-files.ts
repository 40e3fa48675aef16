import {
  closeSync,
  constants as fs,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The command line's caches (compiled code, compiled seccomp programs) live in one directory:
 * $CORRAL_CACHE_DIR (empty turns them off), else /var/cache/corral for root and
 * $XDG_CACHE_HOME/corral (else ~/.cache/corral) for anyone else; `kind` is a directory in it.
 * What they keep is code, run or enforced: each is used only from a directory its user owns and
 * nobody else may write (ownDirectory), and only from files of that user's (readOwnFile).
 */
export function cacheDir(kind: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CORRAL_CACHE_DIR !== undefined)
    return env.CORRAL_CACHE_DIR ? join(env.CORRAL_CACHE_DIR, kind) : undefined;
  if (process.geteuid?.() === 0) return join('/var/cache/corral', kind);
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'corral', kind);
}

/** The directory, made if missing, when it is this user's and nobody else may write in it. */
export function ownDirectory(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === process.geteuid!() && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The file's bytes, when it is a regular file of this user's that nobody else may write. */
export function readOwnFile(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, fs.O_RDONLY | fs.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== process.geteuid!() || (stat.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the file whole or not at all: another command may be writing the same one, so each
 * writes its own and renames it. A cache that cannot be written is no error.
 */
export function writeOwnFile(path: string, data: Uint8Array | string): void {
  const temporary = `${path}.${process.pid}`;
  try {
    writeFileSync(temporary, data, { mode: 0o600 });
    renameSync(temporary, path);
  } catch {
    // The next command compiles again.
  }
}

/** A short name for a longer text (FNV-1a), for file names; a file keeps its whole key. */
export function shortHash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16).padStart(8, '0');
}
