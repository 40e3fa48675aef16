import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { tempDir } from '../../../../tooling/test-env.js';
import { CriuClient, CriuError, type CriuLazyPages } from '../../src/index.js';
import {
  counts,
  criuPath,
  freePort,
  isAlive,
  killCriuMatching,
  killGroup,
  lastCount,
  pageBytes,
  startCounter,
  waitFor,
  waitForPidFree,
} from './helpers.js';

describe('page server and lazy pages', () => {
  const client = new CriuClient({ criuPath, logLevel: 4 });
  const cleanups: Array<() => void | Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function scratch(): string {
    const dir = tempDir('criu-ps');
    cleanups.push(dir.remove);
    return dir.path;
  }

  /** A counter in a pid namespace of its own to restore lazily; skips where CRIU cannot. */
  async function lazyCounter(context: { skip: (note: string) => void }) {
    const { lazyPages } = await client.featureCheck();
    if (!lazyPages) context.skip('CRIU reports no lazy pages here (userfaultfd with non-cooperative events)');
    const dir = scratch();
    const counter = await startCounter(dir, { pidNamespace: true });
    // The loop is init of its namespace and leads its own group there: killing it ends the tree.
    cleanups.push(() => killGroup(counter.pid));
    cleanups.push(() => killGroup(counter.child.pid!));
    return { dir, counter, imagesDir: join(dir, 'images') };
  }

  it('dumps through a page server into its image directory and restores from there', async () => {
    const dir = scratch();
    const counter = await startCounter(dir);
    cleanups.push(() => killGroup(counter.pid));
    const imagesDir = join(dir, 'images');
    const port = await freePort();

    const server = await client.startPageServer({ imagesDir, address: '127.0.0.1', port });
    cleanups.push(() => killCriuMatching(`page-server --rpc --address 127.0.0.1 --port ${port}`));
    expect(server.port).toBe(port);
    expect(server.pid).toBeGreaterThan(0);
    expect(isAlive(server.pid)).toBe(true);

    await client.dump({ pid: counter.pid, imagesDir, pageServer: { address: '127.0.0.1', port } });
    await counter.exited;
    // The server wrote the memory (the dump itself writes no pages when it has a page server)
    // and exits once the dump has closed the connection.
    expect(pageBytes(imagesDir)).toBeGreaterThan(0);
    expect(readFileSync(join(imagesDir, 'page-server.log'), 'utf8')).toMatch(/Accepted connection/);
    await waitFor(() => !isAlive(server.pid), 'the page server to exit after the dump');

    await waitForPidFree(counter.pid);
    const atDump = lastCount(counter.log);
    const { pid } = await client.restore({ imagesDir });
    cleanups.push(() => killGroup(pid));
    await waitFor(() => lastCount(counter.log) >= atDump + 5, 'the restored counter to go on');
    const all = counts(counter.log);
    expect(all).toEqual(all.map((_, i) => i));
  });

  it('restores lazily: a lazy-pages daemon hands the memory to the restored tree on demand', async (context) => {
    const { counter, imagesDir } = await lazyCounter(context);

    await client.dump({ pid: counter.pid, imagesDir });
    await counter.exited;
    const atDump = lastCount(counter.log);

    let daemon: CriuLazyPages | undefined;
    cleanups.push(() => daemon?.close());
    daemon = await client.startLazyPages({ imagesDir });
    expect(isAlive(daemon.pid)).toBe(true);
    expect(existsSync(daemon.socketPath)).toBe(true);

    const { pid } = await client.restore({ imagesDir, lazyPages: true });
    cleanups.push(() => killGroup(pid));
    // The restored tree started with its anonymous memory registered with userfaultfd, and the
    // daemon filled it in; it exits by itself once every page is in place.
    await expect(daemon.stopped).resolves.toEqual({ code: 0, signal: null });
    const log = readFileSync(daemon.logFile, 'utf8');
    const handled = /Found (\d+) pages to be handled by UFFD/.exec(log);
    expect(Number(handled?.[1])).toBeGreaterThan(0);
    await waitFor(() => lastCount(counter.log) >= atDump + 5, 'the restored counter to go on');
    expect(isAlive(pid)).toBe(true);
    const all = counts(counter.log);
    expect(all).toEqual(all.map((_, i) => i));
  });

  it('migrates lazily: the restore runs while the dump still serves its memory (post-copy)', async (context) => {
    const { dir, counter, imagesDir } = await lazyCounter(context);
    const port = await freePort();

    // The lazy dump writes everything but the memory, then serves the memory on its page server
    // until the other side has taken all of it; it says when it serves.
    let serving!: () => void;
    const ready = new Promise<void>((resolve) => {
      serving = resolve;
    });
    const dumped = client.dump({
      pid: counter.pid,
      imagesDir,
      lazyPages: true,
      pageServer: { address: '127.0.0.1', port },
      notify: { statusReady: async () => serving() },
    });
    dumped.catch(() => {});
    await Promise.race([ready, dumped]);

    // The other side: a copy of the images without any memory, its daemon fetching from the dump.
    const target = join(dir, 'target');
    cpSync(imagesDir, target, { recursive: true });
    let daemon: CriuLazyPages | undefined;
    cleanups.push(() => daemon?.close());
    daemon = await client.startLazyPages({ imagesDir: target, pageServer: { address: '127.0.0.1', port } });
    const atDump = lastCount(counter.log);
    const { pid } = await client.restore({ imagesDir: target, lazyPages: true });
    cleanups.push(() => killGroup(pid));
    await dumped;
    await expect(daemon.stopped).resolves.toEqual({ code: 0, signal: null });
    // The anonymous memory crossed from the dump's page server through the daemon on demand.
    const handled = /Found (\d+) pages to be handled by UFFD/.exec(readFileSync(daemon.logFile, 'utf8'));
    expect(Number(handled?.[1])).toBeGreaterThan(0);
    await waitFor(() => lastCount(counter.log) >= atDump + 5, 'the restored counter to go on');
    const all = counts(counter.log);
    expect(all).toEqual(all.map((_, i) => i));
  });

  it('stops a lazy-pages daemon that has no images, with its log in the error', async () => {
    const dir = scratch();
    const error = await client.startLazyPages({ imagesDir: join(dir, 'empty') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CriuError);
    expect(error).toMatchObject({ code: 'CRIU_FAILED', request: 'lazy-pages' });
    expect((error as Error).message).toMatch(/exited \(code \d+\) before it was ready/);
    expect((error as CriuError).logTail.length).toBeGreaterThan(0);
  });

  it('kills a lazy-pages daemon when its signal aborts', async () => {
    const dir = scratch();
    const counter = await startCounter(dir, { pidNamespace: true });
    cleanups.push(() => killGroup(counter.pid));
    cleanups.push(() => killGroup(counter.child.pid!));
    const imagesDir = join(dir, 'images');
    await client.dump({ pid: counter.pid, imagesDir });
    const controller = new AbortController();
    const daemon = await client.startLazyPages({ imagesDir, signal: controller.signal });
    cleanups.push(() => daemon.close());
    controller.abort();
    await expect(daemon.stopped).resolves.toMatchObject({ signal: 'SIGKILL' });
    expect(isAlive(daemon.pid)).toBe(false);
    await expect(client.startLazyPages({ imagesDir, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'CRIU_ABORTED',
      request: 'lazy-pages',
    });
  });
});
