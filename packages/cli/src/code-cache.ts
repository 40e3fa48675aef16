import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

import { ownDirectory, readOwnFile, shortHash, writeOwnFile } from './cache-files.js';

/**
 * Loads one of the command line's bundled files (CommonJS) through a V8 code cache of the
 * functions the command ran. Node's own compile cache keeps only what V8 compiles up front, the
 * top level of each module; nearly every function of a short command is compiled on its first
 * call, and that compiling was the biggest part of a command's time after Node's own start-up.
 * A cache made after the command ran holds all of it.
 *
 * keepCache writes the cache, as the process exits, when there was none, V8 rejected it
 * (another Node or V8 flags), it belongs to another build of the file, or it was made by a
 * failed command (which ran little) and this one succeeded. V8 checks only its own version,
 * flags and the source's length, so the file's identity (path, size, mtime, inode, read from
 * the descriptor the source is read from) is kept beside it and checked first: a rebuilt bundle
 * never runs the bytecode of the one before. The cache is code, so it is read only from a
 * directory that this user owns and nobody else can write. The file runs as a script, where
 * import() is refused: the build keeps it out of the bundles.
 */
export function loadWithCodeCache(file: string, cacheDir: string | undefined): LoadedBundle {
  const { source, identity } = readBundle(file);
  const cache = cacheDir ? openCache(cacheDir, file, identity) : undefined;
  const script = new Script(wrap(source), {
    filename: file,
    ...(cache?.data ? { cachedData: cache.data } : {}),
  });
  const module = { exports: {} as unknown, id: file, filename: file, loaded: false };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  const accepted = cache?.data !== undefined && script.cachedDataRejected !== true;
  return {
    exports: module.exports,
    cacheAccepted: accepted,
    keepCache(ok) {
      if (cache && (!accepted || (ok && !cache.madeByOk))) cache.save(script.createCachedData(), ok);
    },
  };
}

/** A bundled file that loadWithCodeCache ran. */
export interface LoadedBundle {
  /** Its module.exports. */
  exports: unknown;
  /** Whether V8 took the cache it was offered (false when none was offered). */
  cacheAccepted: boolean;
  /** Once the command is done (`ok`: it succeeded): writes the cache if it needs to be. */
  keepCache(ok: boolean): void;
}

interface OpenCache {
  /** V8's cached data for this very file, when there is one. */
  data?: Buffer;
  /** Whether a command that succeeded made it. */
  madeByOk: boolean;
  save(data: Buffer, ok: boolean): void;
}

/**
 * A cache file is `u32 length | identity (JSON) | V8's data`; the identity names the bundled
 * file it was made from and the Node that made it.
 */
function openCache(dir: string, file: string, identity: string): OpenCache | undefined {
  if (!ownDirectory(dir)) return undefined;
  const path = join(dir, `${basename(file, '.cjs')}-${shortHash(file)}.v8`);
  const found = readOwnFile(path);
  let data: Buffer | undefined;
  let madeByOk = false;
  if (found && found.length > 5) {
    const length = found.readUInt32LE(0);
    const header = found.subarray(4, 4 + length).toString('utf8');
    if (header === `${identity}\n1` || header === `${identity}\n0`) {
      data = found.subarray(4 + length);
      madeByOk = header.endsWith('1');
    }
  }
  return {
    ...(data ? { data } : {}),
    madeByOk,
    save(v8: Buffer, ok: boolean) {
      const header = Buffer.from(`${identity}\n${ok ? 1 : 0}`, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(header.length, 0);
      writeOwnFile(path, Buffer.concat([length, header, v8]));
    },
  };
}

/** The bundle's source and identity, both of the one file a descriptor holds. */
function readBundle(file: string): { source: string; identity: string } {
  const fd = openSync(file, 'r');
  try {
    const stat = fstatSync(fd);
    return {
      source: readFileSync(fd, 'utf8'),
      identity: JSON.stringify([file, stat.size, stat.mtimeMs, stat.ino, process.version, process.arch]),
    };
  } finally {
    closeSync(fd);
  }
}
