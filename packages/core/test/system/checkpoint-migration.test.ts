import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriuClient } from '@corral/criu';
import { tempDir, uniqueName } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { corralBin } from './bundle.js';
import {
  cleanups,
  corral,
  counterBundle,
  counts,
  detached,
  env,
  expectSuccess,
  expectUnbroken,
  freePort,
  restoreDetached,
  runCleanups,
  startCounter,
  state,
  takeTurnsWithCriu,
  waitFor,
} from './checkpoint-harness.js';

// Moving a container: post-copy migration and a page server.
afterEach(runCleanups);
takeTurnsWithCriu();

describe('post-copy migration', () => {
  it('restores a container under another state root while its checkpoint still serves the memory', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    const port = await freePort();

    const refused = corral(bundle.stateRoot, 'checkpoint', '--lazy-pages', '--image-path', images, bundle.id);
    expect(refused.stderr).toMatch(/--lazy-pages serves the memory on --page-server ADDRESS:PORT/);

    // The checkpoint writes all but the memory, says so on --status-fd, and then serves the
    // memory until the other side has all of it.
    const checkpoint = spawn(
      corralBin,
      [
        ...['--root', bundle.stateRoot, 'checkpoint', '--lazy-pages'],
        ...['--page-server', `127.0.0.1:${port}`, '--status-fd', '3', '--image-path', images, bundle.id],
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env },
    );
    cleanups.push(() => checkpoint.kill('SIGKILL'));
    let stderr = '';
    checkpoint.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const finished = new Promise<number | null>((resolve) => checkpoint.once('exit', resolve));
    const status = await new Promise<Buffer>((resolve, reject) => {
      checkpoint.stdio[3]!.once('data', resolve);
      finished.then(() => reject(new Error(`checkpoint ended before serving: ${stderr}`)));
    });
    expect([...status]).toEqual([0]);
    const atCheckpoint = counts(bundle.path).length;

    // The other side: its own copy of the images, its own state root and id, and a lazy-pages
    // daemon that fetches each page from the checkpoint as the restored container touches it.
    const there = tempDir('lazy-target');
    cleanups.push(there.remove);
    const target = join(there.path, 'images');
    cpSync(images, target, { recursive: true });
    const daemon = await new CriuClient({ criuPath: env.CORRAL_CRIU, logLevel: 4 }).startLazyPages({
      imagesDir: target,
      pageServer: { address: '127.0.0.1', port },
    });
    cleanups.push(() => void daemon.close());
    const otherRoot = join(there.path, 'state');
    const otherId = uniqueName('t');
    cleanups.push(() => {
      spawnSync(corralBin, ['--root', otherRoot, 'delete', '--force', otherId], { timeout: 60_000 });
    });
    detached(
      bundle,
      ...['--root', otherRoot, 'restore', '-d', '--lazy-pages'],
      ...['--image-path', target, '--bundle', bundle.path, otherId],
    );
    expect(state(otherRoot, otherId).status).toBe('running');

    expect(await finished).toBe(0);
    expect(stderr).toBe('');
    await expect(daemon.stopped).resolves.toEqual({ code: 0, signal: null });
    // The restored container faulted on memory that was still on the checkpoint's side.
    expect(readFileSync(daemon.logFile, 'utf8')).toMatch(/#PF at/);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 5, 'the migrated counter to go on');
    expectUnbroken(counts(bundle.path));
  });
});

describe('restore from a page server', () => {
  it('sends the memory to a page server with --page-server, and restores from what it received', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    const pages = join(bundle.path, 'pages');
    const port = await freePort();
    const pageServer = await new CriuClient({ criuPath: env.CORRAL_CRIU }).startPageServer({
      imagesDir: pages,
      address: '127.0.0.1',
      port,
    });
    cleanups.push(() => {
      try {
        process.kill(pageServer.pid, 'SIGKILL');
      } catch {
        // It exits by itself once the dump is done.
      }
    });
    const bad = corral(
      bundle.stateRoot,
      'checkpoint',
      '--page-server',
      'nowhere',
      '--image-path',
      images,
      bundle.id,
    );
    expect(bad.stderr).toMatch(/--page-server must be ADDRESS:PORT/);

    const dumped = corral(
      bundle.stateRoot,
      'checkpoint',
      '--page-server',
      `127.0.0.1:${port}`,
      '--image-path',
      images,
      bundle.id,
    );
    expectSuccess(dumped);
    // The pages went to the server's directory, the rest to --image-path.
    const pageImages = (dir: string) => readdirSync(dir).filter((f) => /^pages-\d+\.img$/.test(f));
    expect(pageImages(images)).toEqual([]);
    expect(pageImages(pages).length).toBeGreaterThan(0);
    const atCheckpoint = counts(bundle.path).length;
    cpSync(pages, images, { recursive: true, force: false, errorOnExist: false });
    restoreDetached(bundle, images);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 5, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
  });
});
