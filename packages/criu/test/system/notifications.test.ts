import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { tempDir } from '../../../../tooling/test-env.js';
import { CriuClient, CriuError, type CriuNotification } from '../../src/index.js';
import { criuPath, isAlive, killGroup, lastCount, startCounter, waitFor, waitForPidFree } from './helpers.js';

describe('notifications and aborts', () => {
  const client = new CriuClient({ criuPath, logLevel: 4 });
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  async function counterIn(): Promise<{ dir: string; pid: number; log: string; exited: Promise<void> }> {
    const dir = tempDir('criu-notify');
    cleanups.push(dir.remove);
    const counter = await startCounter(dir.path);
    cleanups.push(() => killGroup(counter.pid));
    return { dir: dir.path, ...counter };
  }

  async function expectStillCounting(log: string): Promise<void> {
    const before = lastCount(log);
    await waitFor(() => lastCount(log) >= before + 2, 'the tree to keep counting');
  }

  it('calls back at each step of a dump and a restore, and CRIU waits for each callback', async () => {
    const counter = await counterIn();
    const imagesDir = join(counter.dir, 'images');
    const seen: CriuNotification[] = [];
    let frozenFor = 0;
    await client.dump({
      pid: counter.pid,
      imagesDir,
      notify: {
        any: (n) => {
          seen.push(n);
        },
        // A slow callback: the tree must stay frozen (no new count) until it settles.
        postDump: async () => {
          const before = lastCount(counter.log);
          const started = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 500));
          frozenFor = Date.now() - started;
          expect(lastCount(counter.log)).toBe(before);
        },
      },
    });
    expect(frozenFor).toBeGreaterThanOrEqual(500);
    expect(seen.map((n) => n.name)).toEqual(expect.arrayContaining(['pre-dump', 'post-dump']));
    await counter.exited;
    await waitForPidFree(counter.pid);

    const restoreSeen: CriuNotification[] = [];
    const { pid } = await client.restore({
      imagesDir,
      notify: {
        any: (n) => {
          restoreSeen.push(n);
        },
      },
    });
    cleanups.push(() => killGroup(pid));
    // A tree in this process's namespaces: no setup-namespaces steps (see the pid namespace test).
    expect(restoreSeen.map((n) => n.name)).toEqual([
      'pre-restore',
      'post-restore',
      'pre-resume',
      'post-resume',
    ]);
    expect(restoreSeen.find((n) => n.name === 'post-restore')?.pid).toBe(pid);
  });

  it('stops a dump cleanly when a callback rejects, leaving the tree running', async () => {
    const counter = await counterIn();
    const imagesDir = join(counter.dir, 'images');
    const error = await client
      .dump({
        pid: counter.pid,
        imagesDir,
        notify: {
          postDump: () => Promise.reject(new Error('storage is full')),
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CriuError);
    expect(error).toMatchObject({ code: 'CRIU_NOTIFY_REJECTED', request: 'dump' });
    expect((error as Error).message).toContain('the post-dump callback failed');
    expect(((error as Error).cause as Error).message).toBe('storage is full');
    expect(isAlive(counter.pid)).toBe(true);
    await expectStillCounting(counter.log);
  });

  it('stops a restore cleanly when a callback rejects, and the images still restore afterwards', async () => {
    const counter = await counterIn();
    const imagesDir = join(counter.dir, 'images');
    await client.dump({ pid: counter.pid, imagesDir });
    await counter.exited;
    await waitForPidFree(counter.pid);

    let restoredPid = 0;
    const error = await client
      .restore({
        imagesDir,
        notify: {
          postRestore: (n) => {
            restoredPid = n.pid ?? 0;
            throw new Error('network not ready');
          },
        },
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CRIU_NOTIFY_REJECTED', request: 'restore' });
    expect(restoredPid).toBe(counter.pid);
    await waitFor(() => !isAlive(restoredPid), 'CRIU to remove the half-restored tree');
    await waitForPidFree(counter.pid);

    const { pid } = await client.restore({ imagesDir });
    cleanups.push(() => killGroup(pid));
    await expectStillCounting(counter.log);
  });

  it('stops a dump at the next step when its signal aborts, leaving the tree running', async () => {
    const counter = await counterIn();
    const imagesDir = join(counter.dir, 'images');
    const controller = new AbortController();
    const error = await client
      .dump({
        pid: counter.pid,
        imagesDir,
        signal: controller.signal,
        notify: { preDump: () => controller.abort(new Error('shutting down')) },
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CRIU_ABORTED', request: 'dump' });
    expect(((error as Error).cause as Error).message).toBe('shutting down');
    expect(isAlive(counter.pid)).toBe(true);
    await expectStillCounting(counter.log);
  });

  it('does not start CRIU for an already aborted signal', async () => {
    const dir = tempDir('criu-notify');
    cleanups.push(dir.remove);
    const imagesDir = join(dir.path, 'images');
    const signal = AbortSignal.abort();
    await expect(client.version({ signal })).rejects.toMatchObject({ code: 'CRIU_ABORTED' });
    await expect(client.dump({ pid: 1, imagesDir, signal })).rejects.toMatchObject({ code: 'CRIU_ABORTED' });
    expect(existsSync(imagesDir)).toBe(false);
  });

  it('kills a query at once when its signal aborts', async () => {
    const controller = new AbortController();
    const check = client.check({ signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    await expect(check).rejects.toMatchObject({ code: 'CRIU_ABORTED', request: 'check' });
  });
});
