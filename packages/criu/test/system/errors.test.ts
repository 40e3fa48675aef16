import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { tempDir } from '../../../../tooling/test-env.js';
import { CriuClient, CriuError, CriuOptionError } from '../../src/index.js';
import { criuPath, isAlive, killGroup, lastCount, startCounter, waitFor } from './helpers.js';

describe('errors from CRIU and around it', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  function scratch(): string {
    const dir = tempDir('criu-err');
    cleanups.push(dir.remove);
    return dir.path;
  }

  /** A criu path that runs the real CRIU through a shell line (privileges dropped, and so on). */
  function wrappedCriu(dir: string, line: string): string {
    const path = join(dir, 'criu-wrapper');
    writeFileSync(path, `#!/bin/sh\n${line}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it('names the missing binary and where its path came from', async () => {
    const missing = join(scratch(), 'no-such-criu');
    const error = await new CriuClient({ criuPath: missing }).version().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CriuError);
    expect(error).toMatchObject({ code: 'CRIU_NOT_FOUND', request: 'version' });
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain('criuPath');
    expect((error as Error).message).toContain('ENOENT');
  });

  it('refuses a CRIU older than the client needs before touching the process', async () => {
    const dir = scratch();
    const counter = await startCounter(dir);
    cleanups.push(() => killGroup(counter.pid));
    const client = new CriuClient({ criuPath, minimumVersion: '99.0' });
    const imagesDir = join(dir, 'images');
    const error = await client.dump({ pid: counter.pid, imagesDir }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CRIU_TOO_OLD' });
    expect((error as Error).message).toMatch(/is CRIU 4\.\d+(\.\d+)?; this client needs 99\.0 or newer/);
    expect(existsSync(imagesDir)).toBe(false);
    expect(isAlive(counter.pid)).toBe(true);
  });

  it('reports a CRIU that fails its own check, with what it said', async () => {
    const dir = scratch();
    // The real CRIU, without root's uid and capabilities: its check must fail.
    const unprivileged = wrappedCriu(
      dir,
      `exec setpriv --reuid=65534 --regid=65534 --clear-groups "${criuPath}" "$@"`,
    );
    const error = await new CriuClient({ criuPath: unprivileged }).check().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CriuError);
    expect(error).toMatchObject({ code: 'CRIU_CHECK_FAILED', request: 'check' });
    expect((error as Error).message).toContain('fails its own check');
    // What CRIU said (it cannot even reach its working directory without privileges).
    expect((error as CriuError).logTail.join('\n')).toMatch(/Error|CAP_/);
    expect((error as Error).message).toMatch(/Permission denied|CAP_/);
  });

  it("gives CRIU's errno and the end of its log when a dump fails", async () => {
    const dir = scratch();
    const counter = await startCounter(dir);
    killGroup(counter.pid);
    await counter.exited;
    const imagesDir = join(dir, 'images');
    const error = await new CriuClient({ criuPath })
      .dump({ pid: counter.pid, imagesDir })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CriuError);
    const criuError = error as CriuError;
    expect(criuError).toMatchObject({ code: 'CRIU_FAILED', request: 'dump', errno: constants.errno.ESRCH });
    expect(criuError.message).toMatch(/^criu dump: CRIU reported a failure: .*No such process \(ESRCH\)/);
    expect(criuError.logFile).toBe(join(imagesDir, 'dump.log'));
    expect(criuError.logTail.length).toBeGreaterThan(0);
    expect(criuError.logTail.join('\n')).toContain(String(counter.pid));
    expect(criuError.message).toContain(`last lines of ${join(imagesDir, 'dump.log')}`);
  });

  it('reports a criu that exits without answering', async () => {
    const broken = wrappedCriu(scratch(), 'echo "criu: cannot start" >&2; exit 3');
    const error = await new CriuClient({ criuPath: broken }).version().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CRIU_EXITED', request: 'version' });
    expect((error as Error).message).toContain('criu exited (code 3) before answering');
    expect((error as CriuError).logTail).toEqual(['criu: cannot start']);
  });

  it('rejects bad options before starting CRIU, naming the option', async () => {
    const dir = scratch();
    const imagesDir = join(dir, 'images');
    const client = new CriuClient({ criuPath: join(dir, 'never-started') });
    await expect(client.dump({ pid: -4, imagesDir })).rejects.toThrow(CriuOptionError);
    await expect(client.dump({ pid: -4, imagesDir })).rejects.toThrow(
      'options.pid: expected a positive integer, got -4',
    );
    await expect(client.restore({ imagesDir, logFile: '../x.log' })).rejects.toThrow('options.logFile');
    expect(existsSync(imagesDir)).toBe(false);
  });

  it('refuses a pre-dump when the kernel cannot track dirty memory, leaving the tree running', async () => {
    const client = new CriuClient({ criuPath });
    const { memTrack } = await client.featureCheck();
    const dir = scratch();
    const counter = await startCounter(dir);
    cleanups.push(() => killGroup(counter.pid));
    const imagesDir = join(dir, 'pre');
    const attempt = client.preDump({ pid: counter.pid, imagesDir });
    if (memTrack) {
      await expect(attempt).resolves.toBeUndefined(); // covered by the incremental dump test
      return;
    }
    await expect(attempt).rejects.toMatchObject({ code: 'CRIU_UNSUPPORTED', request: 'pre-dump' });
    await expect(attempt).rejects.toThrow(/dirty memory tracking/);
    const before = lastCount(counter.log);
    await waitFor(() => lastCount(counter.log) > before, 'the counter to go on');
  });
});
