import { closeSync, existsSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriuClient } from '@corral/criu';
import { repoRoot } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { Container, restoreContainer } from '../../src/index.js';
import {
  cleanups,
  corral,
  corralIntoPipe,
  expectNothingLeft,
  expectSuccess,
  linesOf,
  runCleanups,
  state,
  stdoutCounterBundle,
  takeTurnsWithCriu,
  waitFor,
} from './checkpoint-harness.js';

// What a restored container's stdio is: the restoring runtime's own, or what it is given.
afterEach(runCleanups);
takeTurnsWithCriu();

describe('restore in the foreground', () => {
  it("hands the container's stdio pipe back as the restoring corral's own, and waits for it", async () => {
    const bundle = stdoutCounterBundle();
    const first = join(bundle.path, 'first');
    corralIntoPipe(first, '--root', bundle.stateRoot, 'run', '-d', '--bundle', bundle.path, bundle.id);
    await waitFor(() => linesOf(first).length >= 5, 'the container to write to its pipe');
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    expect(JSON.parse(readFileSync(join(images, 'descriptors.json'), 'utf8'))[1]).toMatch(/^pipe:\[\d+\]$/);
    await sleep(200);
    const written = linesOf(first);

    const second = join(bundle.path, 'second');
    corralIntoPipe(
      second,
      '--root',
      bundle.stateRoot,
      'restore',
      '--image-path',
      images,
      '--bundle',
      bundle.path,
      bundle.id,
    );
    await waitFor(() => linesOf(second).length >= 5, 'the restored container to write to the new pipe');
    // It goes on in the new pipe from the number after the last one the old pipe got.
    const resumed = linesOf(second);
    expect(resumed[0]).toBe(written[written.length - 1]! + 1);
    expect(resumed).toEqual(resumed.map((_, i) => resumed[0]! + i));
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');
    expect(existsSync(`${second}.status`)).toBe(false); // the restore is still waiting

    // The foreground restore ends with the container, with its status, and deletes it.
    expectSuccess(corral(bundle.stateRoot, 'kill', bundle.id, 'KILL'));
    await waitFor(() => existsSync(`${second}.status`), 'the foreground restore to return');
    await waitFor(() => readFileSync(`${second}.status`, 'utf8') !== '', 'the status to be written');
    expect(readFileSync(`${second}.status`, 'utf8').trim()).toBe('137');
    expect(readFileSync(`${second}.err`, 'utf8')).toBe('');
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });
});

describe('checkpoint and restore as a library', () => {
  const criuPath = join(repoRoot, 'tooling/criu/criu');

  it('restores with the stdio it is given, after a pre-dump where the kernel can track memory', async () => {
    const bundle = stdoutCounterBundle();
    const firstOut = join(bundle.path, 'first.out');
    const secondOut = join(bundle.path, 'second.out');
    const fds = [openSync('/dev/null', 'r'), openSync(firstOut, 'a'), openSync(secondOut, 'a')];
    cleanups.push(() => {
      for (const fd of fds) closeSync(fd);
    });
    const container = await Container.create({
      id: bundle.id,
      bundle: bundle.path,
      root: bundle.stateRoot,
      stdio: [fds[0]!, fds[1]!, fds[1]!],
    });
    await container.start();
    await waitFor(() => linesOf(firstOut).length >= 5, 'the container to write');

    const images = join(bundle.path, 'images');
    // A pre-dump needs the kernel's dirty-page tracking; without it, it is refused and changes nothing.
    const { memTrack } = await new CriuClient({ criuPath }).featureCheck();
    const preDump = container.checkpoint({ imagePath: join(images, 'pre'), preDump: true, criuPath });
    if (memTrack) {
      await preDump;
    } else {
      await expect(preDump).rejects.toMatchObject({
        code: 'NOT_SUPPORTED',
        message: expect.stringMatching(/^pre-dump: .*dirty memory tracking/),
      });
    }
    expect(await container.status()).toBe('running'); // a pre-dump leaves it running
    await container.checkpoint({
      imagePath: join(images, 'final'),
      ...(memTrack ? { parentPath: '../pre' } : {}),
      criuPath,
    });
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
    // After a pre-dump the final images hold only what changed, and point at the parent's.
    if (memTrack) expect(readlinkSync(join(images, 'final', 'parent'))).toBe('../pre');
    await sleep(200);
    const written = linesOf(firstOut);

    const restored = await restoreContainer({
      id: bundle.id,
      bundle: bundle.path,
      root: bundle.stateRoot,
      imagePath: join(images, 'final'),
      criuPath,
      stdio: [fds[0]!, fds[2]!, fds[2]!],
      detach: true,
    });
    expect(restored.pid).toBeGreaterThan(0);
    await waitFor(() => linesOf(secondOut).length >= 5, 'the restored container to write to its new stdout');
    const resumed = linesOf(secondOut);
    expect(resumed[0]).toBe(written[written.length - 1]! + 1);
    expect(linesOf(firstOut)).toEqual(written); // nothing more went to the old file
    const again = Container.load(bundle.stateRoot, bundle.id);
    expect(await again.status()).toBe('running');
    await again.delete({ force: true });
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });
});
