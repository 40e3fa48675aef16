import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { seccompStore } from '../../src/seccomp-store.js';

describe('seccompStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'corral-seccomp-store-')), 'seccomp');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  const compiled = { program: Buffer.from([6, 0, 0, 0, 0, 0, 0xff, 0x7f]), unknownSyscalls: ['nosuchcall'] };

  it('gives back what it was given for the same key, from a file of its own', () => {
    seccompStore(dir)!.set('key one', compiled);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(seccompStore(dir)!.get('key one')).toEqual(compiled);
    expect(seccompStore(dir)!.get('key two')).toBeUndefined();
  });

  it('never answers for another key, even from the file its key would have', () => {
    seccompStore(dir)!.set('key one', compiled);
    const [file] = readdirSync(dir);
    const text = JSON.stringify({
      key: 'key ONE',
      program: compiled.program.toString('base64'),
      unknownSyscalls: [],
    });
    writeFileSync(join(dir, file!), text, { mode: 0o600 });
    expect(seccompStore(dir)!.get('key one')).toBeUndefined();
  });

  it('ignores a file others may write, and a directory others may write', () => {
    seccompStore(dir)!.set('key one', compiled);
    const [file] = readdirSync(dir);
    chmodSync(join(dir, file!), 0o666);
    expect(seccompStore(dir)!.get('key one')).toBeUndefined();
    chmodSync(join(dir, file!), 0o600);
    chmodSync(dir, 0o777);
    expect(seccompStore(dir)!.get('key one')).toBeUndefined();
    seccompStore(dir)!.set('key two', compiled);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('is off when the cache directory is', () => {
    expect(seccompStore(undefined)).toBeUndefined();
  });
});
