import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { cacheDir } from '../../src/cache-files.js';
import { loadWithCodeCache } from '../../src/code-cache.js';

describe('loadWithCodeCache', () => {
  let work: string;
  let bundle: string;
  let cache: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'corral-code-cache-'));
    bundle = join(work, 'run.cjs');
    cache = join(work, 'cache');
    writeBundle('one');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  /** A bundle whose run() answers `word`; every word given is three letters, so the length stays. */
  function writeBundle(word: string, mtime = 1_700_000_000): void {
    writeFileSync(
      bundle,
      `'use strict';\nconst path = require('node:path');\nexports.run = () => [${JSON.stringify(word)}, path.basename(__filename), module.id];\n`,
    );
    utimesSync(bundle, mtime, mtime);
  }
  const run = (loaded: ReturnType<typeof loadWithCodeCache>) =>
    (loaded.exports as { run: () => unknown }).run();

  it('runs the file as CommonJS, with require, __filename and module of its own', () => {
    expect(run(loadWithCodeCache(bundle, undefined))).toEqual(['one', 'run.cjs', bundle]);
  });

  it('writes a cache once the command is done, and V8 takes it the next time', () => {
    const first = loadWithCodeCache(bundle, cache);
    expect(first.cacheAccepted).toBe(false);
    run(first);
    first.keepCache(true);
    expect(readdirSync(cache)).toHaveLength(1);
    const second = loadWithCodeCache(bundle, cache);
    expect(second.cacheAccepted).toBe(true);
    expect(run(second)).toEqual(['one', 'run.cjs', bundle]);
  });

  it('never offers the cache of another build of the file, even one of the same length', () => {
    const first = loadWithCodeCache(bundle, cache);
    run(first);
    first.keepCache(true);
    writeBundle('two', 1_700_000_100);
    const rebuilt = loadWithCodeCache(bundle, cache);
    expect(rebuilt.cacheAccepted).toBe(false);
    expect(run(rebuilt)).toEqual(['two', 'run.cjs', bundle]);
    rebuilt.keepCache(true);
    expect(loadWithCodeCache(bundle, cache).cacheAccepted).toBe(true);
  });

  it('replaces a cache made by a failed command once a command succeeds, and only then', () => {
    /** Whether the one cache file says a command that succeeded made it. */
    const madeByOk = () => {
      const data = readFileSync(join(cache, readdirSync(cache)[0]!));
      return data
        .subarray(4, 4 + data.readUInt32LE(0))
        .toString('utf8')
        .endsWith('\n1');
    };
    loadWithCodeCache(bundle, cache).keepCache(false);
    expect(madeByOk()).toBe(false);
    const next = loadWithCodeCache(bundle, cache);
    expect(next.cacheAccepted).toBe(true);
    next.keepCache(true);
    expect(madeByOk()).toBe(true);
    loadWithCodeCache(bundle, cache).keepCache(false);
    expect(madeByOk()).toBe(true);
  });

  it('reads and writes no cache in a directory that others may write', () => {
    mkdirSync(cache, { mode: 0o700 });
    chmodSync(cache, 0o777);
    const loaded = loadWithCodeCache(bundle, cache);
    loaded.keepCache(true);
    expect(readdirSync(cache)).toEqual([]);
    expect(run(loaded)).toEqual(['one', 'run.cjs', bundle]);
  });

  it('ignores a cache file that others may write', () => {
    const first = loadWithCodeCache(bundle, cache);
    first.keepCache(true);
    const [file] = readdirSync(cache);
    chmodSync(join(cache, file!), 0o666);
    expect(loadWithCodeCache(bundle, cache).cacheAccepted).toBe(false);
  });
});

describe('cacheDir', () => {
  it('is under $CORRAL_CACHE_DIR when set, and off when that is empty', () => {
    expect(cacheDir('code-cache', { CORRAL_CACHE_DIR: '/somewhere' })).toBe('/somewhere/code-cache');
    expect(cacheDir('code-cache', { CORRAL_CACHE_DIR: '' })).toBeUndefined();
  });
  it("is root's under /var/cache/corral, a user's under XDG_CACHE_HOME", () => {
    const expected =
      process.geteuid?.() === 0 ? '/var/cache/corral/seccomp' : '/home/u/.cache-x/corral/seccomp';
    expect(cacheDir('seccomp', { XDG_CACHE_HOME: '/home/u/.cache-x' })).toBe(expected);
  });
});
