import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { tempDir } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { spawnProcess } from '../../src/index.js';

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('spawn');
});
afterAll(() => dir.remove());

/** Runs a shell script with `fds` as its descriptors; what it wrote to fd 1, and its exit status. */
async function sh(script: string, extra: (out: number) => number[] = () => [], env?: NodeJS.ProcessEnv) {
  const path = join(dir.path, `out-${Math.random().toString(36).slice(2)}`);
  const out = openSync(path, 'w');
  const devNull = openSync('/dev/null', 'r');
  try {
    const child = spawnProcess('/bin/sh', ['sh', '-c', script], [devNull, out, out, ...extra(out)], env);
    const status = await child.exited();
    child.close();
    return { status, output: readFileSync(path, 'utf8') };
  } finally {
    closeSync(out);
    closeSync(devNull);
  }
}

describe('spawnProcess', () => {
  it('gives the process the environment asked for, and only that', async () => {
    const { output } = await sh('env | grep -v ^PWD= | sort', undefined, {
      B: 'two words',
      A: '1',
      GONE: undefined,
    });
    expect(output).toBe('A=1\nB=two words\n');
  });

  it('gives the process the descriptors asked for, in order, none of ours, and an empty environment', async () => {
    const ours = openSync(join(dir.path, 'ours'), 'w');
    try {
      const { status, output } = await sh(
        `env; readlink /proc/self/fd/1; test -e /proc/self/fd/${ours} || echo not-${ours}`,
      );
      expect(status).toEqual({ code: 0, signal: null });
      expect(output).toMatch(new RegExp(`^(PWD=/\\S*\n)?${dir.path}/out-\\w+\nnot-${ours}\n$`));
    } finally {
      closeSync(ours);
    }
  });

  it('places descriptors whose numbers are each other targets without overwriting one', async () => {
    // The caller's fd 1 goes to 4 and fd 3's source (a file) to 3: both must arrive intact.
    const path = join(dir.path, 'three');
    const three = openSync(path, 'w');
    try {
      const { output } = await sh('echo to-four >&4; echo to-three >&3', (out) => [three, out]);
      expect(output).toBe('to-four\n');
      expect(readFileSync(path, 'utf8')).toBe('to-three\n');
    } finally {
      closeSync(three);
    }
  });

  it('resets every signal to its default, as a spawned child of Node gets them', async () => {
    const { output } = await sh('grep -E "^Sig(Ign|Blk)" /proc/self/status');
    expect(output).toBe('SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
  });

  it('reports how the process ended, and is reaped by exited()', async () => {
    expect((await sh('exit 7')).status).toEqual({ code: 7, signal: null });
    expect((await sh('kill -TERM $$')).status).toEqual({ code: null, signal: 15 });
  });

  it('throws the exec failure with its code', () => {
    expect(() => spawnProcess(join(dir.path, 'missing'), ['missing'], [0, 1, 2])).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'posix_spawn' }),
    );
  });
});
