import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import {
  corral,
  counterBundle,
  counts,
  expectNothingLeft,
  expectSuccess,
  expectUnbroken,
  restoreDetached,
  runCleanups,
  startCounter,
  state,
  takeTurnsWithCriu,
  waitFor,
} from './checkpoint-harness.js';

// A container with a user namespace of its own across checkpoint and restore.
afterEach(runCleanups);
takeTurnsWithCriu();

describe('checkpoint and restore in a user namespace', () => {
  it('checkpoints and restores a container in a user namespace of its own, with the host cgroups mounted', async () => {
    const bundle = counterBundle();
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.linux.namespaces.push({ type: 'user' });
    spec.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] });
    bundle.writeConfig(spec);
    // The container's root is host id 100000: its files, its data, and the log its stdout is.
    // CRIU reopens the bind mounts' sources and the stdout file from inside the namespace.
    chmodSync(bundle.path, 0o711);
    writeFileSync(join(bundle.path, 'out'), '');
    execFileSync(
      'chown',
      ['-R', '-h', '100000:100000', bundle.rootfs, join(bundle.path, 'data'), join(bundle.path, 'out')],
      {
        timeout: 60_000,
      },
    );
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    // Reachable by the runtime's ids, which CRIU's restored root still has when it opens the
    // first image, and by the container's root, which reads the rest; by no one else.
    expect(statSync(images)).toMatchObject({ uid: 0, gid: 100000, mode: 0o40750 });
    const atCheckpoint = counts(bundle.path).length;

    restoreDetached(bundle, images);
    const restored = state(bundle.stateRoot, bundle.id);
    expect(readFileSync(`/proc/${restored.pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual([
      '0',
      '100000',
      '65536',
    ]);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 5, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
    const cgroups = corral(bundle.stateRoot, 'exec', bundle.id, 'ls', '/sys/fs/cgroup/pids');
    expect(cgroups.stdout).toContain('cgroup.procs');
    expectSuccess(corral(bundle.stateRoot, 'delete', '--force', bundle.id));
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });
});
