import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readlinkSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';

import { corralBin, processesRootedIn } from './bundle.js';
import {
  corral,
  counterBundle,
  described,
  detached,
  env,
  expectNothingLeft,
  expectSuccess,
  runCleanups,
  startCounter,
  state,
  takeTurnsWithCriu,
  waitFor,
} from './checkpoint-harness.js';

// Checkpoints and restores that fail, and what they leave: nothing.
afterEach(runCleanups);
takeTurnsWithCriu();

describe('checkpoint and restore errors', () => {
  it('refuses a directory that is not a checkpoint, and leaves nothing behind', () => {
    const bundle = counterBundle();
    const notImages = join(bundle.path, 'not-images');
    mkdirSync(notImages);
    const result = corral(
      bundle.stateRoot,
      'restore',
      '-d',
      '--image-path',
      notImages,
      '-b',
      bundle.path,
      bundle.id,
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/is not a checkpoint: it has no inventory\.img/);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });

  it('removes the state, the cgroup and any restored process when CRIU fails part way', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    // The bind mount's source is gone: CRIU has made namespaces and processes when it finds out.
    renameSync(join(bundle.path, 'data'), join(bundle.path, 'data-moved'));
    const result = corral(
      bundle.stateRoot,
      'restore',
      '-d',
      '--image-path',
      images,
      '-b',
      bundle.path,
      bundle.id,
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^corral: restore failed: criu restore: /);
    expect(result.stderr).toContain(join(images, 'restore.log'));
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });

  it('refuses to checkpoint a container that is not running, and to restore over an existing id', async () => {
    const bundle = counterBundle();
    detached(bundle, '--root', bundle.stateRoot, 'create', '--bundle', bundle.path, bundle.id);
    const images = join(bundle.path, 'images');
    const created = corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id);
    expect(created.status).toBe(1);
    expect(created.stderr).toMatch(new RegExp(`cannot checkpoint container ${bundle.id}: it is created`));
    expect(state(bundle.stateRoot, bundle.id).status).toBe('created');

    // A real checkpoint of another container, restored onto the id that exists.
    const other = counterBundle();
    await startCounter(other);
    const otherImages = join(other.path, 'images');
    expectSuccess(corral(other.stateRoot, 'checkpoint', '--image-path', otherImages, other.id));
    const clash = corral(
      bundle.stateRoot,
      'restore',
      '-d',
      '--image-path',
      otherImages,
      '-b',
      other.path,
      bundle.id,
    );
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(/already exists/);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('created'); // untouched
    expect(described(processesRootedIn(other.rootfs))).toEqual([]);

    const missing = corral(other.stateRoot, 'checkpoint', '--image-path', images, 'no-such-container');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('a restore killed at any moment is cleaned completely by delete --force', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    for (const delay of [0, 40, 80, 120, 160, 240, 400]) {
      const restore = spawn(
        'sh',
        [
          '-c',
          'out="$1"; shift; exec "$@" </dev/null >>"$out" 2>&1',
          ...['sh', join(bundle.path, 'out'), corralBin, '--root', bundle.stateRoot, 'restore', '-d'],
          ...['--image-path', images, '--bundle', bundle.path, bundle.id],
        ],
        { stdio: 'ignore', env },
      );
      const exited = new Promise((resolve) => restore.once('exit', resolve));
      await sleep(delay);
      restore.kill('SIGKILL');
      await exited;
      // CRIU runs on for a moment without its caller, restoring or undoing what it restored.
      await waitFor(() => holdersOf(images).length === 0, 'CRIU to finish', 20_000);
      expectSuccess(corral(bundle.stateRoot, 'delete', '--force', bundle.id));
      expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
    }
  });
});

/** The processes with a descriptor open on `dir` or in it (a CRIU at work on a checkpoint). */
function holdersOf(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readdirSync(`/proc/${pid}/fd`).some((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir);
          } catch {
            return false;
          }
        });
      } catch {
        return false;
      }
    })
    .map(Number);
}
