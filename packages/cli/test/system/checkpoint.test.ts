import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { corralBin } from '../../../core/test/system/bundle.js';
import {
  corral,
  counterBundle,
  expectNothingLeft,
  expectSuccess,
  runCleanups,
  startCounter,
  state,
  takeTurnsWithCriu,
} from '../../../core/test/system/checkpoint-harness.js';

// What `corral checkpoint` and `restore` say of flags and a CRIU they cannot use.
afterEach(runCleanups);
takeTurnsWithCriu();

describe('checkpoint and restore flags', () => {
  it('says clearly when CRIU cannot be found, and when a flag is not supported, leaving nothing', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    const noCriu = spawnSync(
      corralBin,
      [
        '--root',
        bundle.stateRoot,
        '--criu',
        '/nonexistent/criu',
        'checkpoint',
        '--image-path',
        images,
        bundle.id,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(noCriu.status).toBe(1);
    expect(noCriu.stderr).toMatch(/checkpoint needs CRIU: .*\/nonexistent\/criu/);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');

    const badNs = corral(
      bundle.stateRoot,
      'checkpoint',
      '--empty-ns',
      'uts',
      '--image-path',
      images,
      bundle.id,
    );
    expect(badNs.status).toBe(1);
    expect(badNs.stderr.trim().split('\n')).toHaveLength(1);
    expect(badNs.stderr).toMatch(/--empty-ns can only be network, got "uts"/);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');

    // A checkpoint to restore from, then a restore with no CRIU: no state, no cgroup left.
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    const restore = spawnSync(
      corralBin,
      [
        '--root',
        bundle.stateRoot,
        '--criu',
        '/nonexistent/criu',
        'restore',
        '-d',
        '--image-path',
        images,
        '-b',
        bundle.path,
        bundle.id,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(restore.status).toBe(1);
    expect(restore.stderr).toMatch(/restore needs CRIU/);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);

    const lsm = corral(
      ...[bundle.stateRoot, 'restore', '-d', '--lsm-profile', 'apparmor:unconfined'],
      ...['--image-path', images, '-b', bundle.path, bundle.id],
    );
    expect(lsm.status).toBe(1);
    expect(lsm.stderr.trim().split('\n')).toHaveLength(1);
    expect(lsm.stderr).toMatch(/--lsm-profile is not supported yet/);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });
});
