import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir, uniqueName } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { corralBin, processesRootedIn } from './bundle.js';
import {
  cgroupPaths,
  cleanups,
  corral,
  counterBundle,
  counts,
  described,
  detached,
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

// checkpoint and restore of a plain container: stopped or left running, the same id or another.
afterEach(runCleanups);
takeTurnsWithCriu();

describe('checkpoint and restore of a container', () => {
  it('checkpoints a counting container, which stops and is deleted, and restores it counting on', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const paths = cgroupPaths(bundle.stateRoot, bundle.id);
    const images = join(bundle.path, 'images');

    const dumped = corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id);
    expect(dumped.stderr).toBe('');
    expect(dumped.status).toBe(0);
    // Gone as runc leaves it: no state, no cgroup, no process; the images are what is left.
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
    for (const path of paths) expect(existsSync(path)).toBe(false);
    expect(existsSync(join(images, 'inventory.img'))).toBe(true);
    const descriptors = JSON.parse(readFileSync(join(images, 'descriptors.json'), 'utf8'));
    expect(descriptors).toHaveLength(3);
    const atCheckpoint = counts(bundle.path).length;
    await sleep(300);
    expect(counts(bundle.path)).toHaveLength(atCheckpoint); // nothing counts while checkpointed

    const pageBlocks = () =>
      readdirSync(images)
        .filter((f) => /^pages-\d+\.img$/.test(f))
        .reduce((sum, f) => sum + statSync(join(images, f)).blocks, 0);
    expect(pageBlocks()).toBeGreaterThan(0);
    restoreDetached(bundle, images, '--auto-dedup');
    const restored = state(bundle.stateRoot, bundle.id);
    expect(restored.status).toBe('running');
    // --auto-dedup punched the restored pages out of the images.
    expect(pageBlocks()).toBe(0);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 5, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
    // The restored init is in the container's cgroup, and state/kill/delete work on it.
    const restoredPaths = cgroupPaths(bundle.stateRoot, bundle.id);
    const pidsCgroup = restoredPaths.find((p) => p.includes('/pids/')) ?? restoredPaths[0]!;
    expect(readFileSync(join(pidsCgroup, 'cgroup.procs'), 'utf8').split('\n')).toContain(
      String(restored.pid),
    );
    expectSuccess(corral(bundle.stateRoot, 'kill', bundle.id, 'KILL'));
    await waitFor(
      () => state(bundle.stateRoot, bundle.id).status === 'stopped',
      'the restored container to stop',
    );
    expectSuccess(corral(bundle.stateRoot, 'delete', bundle.id));
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });

  it("puts the restored processes in the container's cgroup even when CRIU ignores cgroups", async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(
      corral(
        bundle.stateRoot,
        'checkpoint',
        '--manage-cgroups-mode',
        'ignore',
        '--image-path',
        images,
        bundle.id,
      ),
    );
    restoreDetached(bundle, images, '--manage-cgroups-mode', 'ignore');
    const before = counts(bundle.path).length;
    await waitFor(() => counts(bundle.path).length >= before + 3, 'the restored counter to go on');
    const pidsCgroup = cgroupPaths(bundle.stateRoot, bundle.id).find((p) => p.includes('/pids/'))!;
    const inCgroup = readFileSync(join(pidsCgroup, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
    const rooted = processesRootedIn(bundle.rootfs);
    expect(rooted.length).toBeGreaterThan(0);
    for (const pid of rooted) expect(inCgroup).toContain(pid);
  });

  it('leaves the container running with --leave-running, and restores it under a new id from a copied bundle', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');

    const dumped = corral(
      bundle.stateRoot,
      'checkpoint',
      '--leave-running',
      '--image-path',
      images,
      bundle.id,
    );
    expect(dumped.stderr).toBe('');
    expect(dumped.status).toBe(0);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');
    const afterDump = counts(bundle.path).length;
    await waitFor(() => counts(bundle.path).length >= afterDump + 5, 'the original to keep counting');

    // Stop the original first: the restored tree needs its files back as they were at the dump.
    expectSuccess(corral(bundle.stateRoot, 'delete', '--force', bundle.id));
    const copy = tempDir('bundle-copy');
    cleanups.push(copy.remove);
    const copyId = uniqueName('t');
    cleanups.push(() => {
      spawnSync(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', copyId], { timeout: 60_000 });
      for (const pid of processesRootedIn(join(copy.path, 'rootfs'))) process.kill(pid, 'SIGKILL');
    });
    cpSync(bundle.path, copy.path, { recursive: true, verbatimSymlinks: true });
    const before = counts(copy.path).length;

    const images2 = join(copy.path, 'images');
    const copyBundle = { ...bundle, path: copy.path };
    detached(
      copyBundle,
      '--root',
      bundle.stateRoot,
      'restore',
      '-d',
      '--image-path',
      images2,
      '-b',
      copy.path,
      copyId,
    );
    const restored = state(bundle.stateRoot, copyId);
    expect(restored).toMatchObject({ status: 'running', bundle: copy.path });
    await waitFor(() => counts(copy.path).length >= before + 5, 'the restored copy to count');
    // The copy goes on from the number it had reached at the dump (at least 5, at most what had
    // been written when the checkpoint returned), not from 0, one step at a time.
    const resumed = counts(copy.path).slice(before);
    expect(resumed[0]).toBeGreaterThanOrEqual(5);
    expect(resumed[0]).toBeLessThanOrEqual(afterDump);
    expect(resumed).toEqual(resumed.map((_, i) => resumed[0]! + i));
    const restoredPids = processesRootedIn(join(copy.path, 'rootfs'));
    expect(restoredPids.length).toBeGreaterThan(0);
    expect(described(processesRootedIn(bundle.rootfs))).toEqual([]);
    // In every hierarchy, v1 and v2, the tree is in the new container's cgroup, and CRIU made
    // no cgroup under the old id.
    for (const dir of cgroupPaths(bundle.stateRoot, copyId)) {
      const members = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      expect({ dir, members }).toEqual({ dir, members: expect.arrayContaining(restoredPids) });
    }
    expectNothingLeft(bundle.stateRoot, bundle.id);
  });

  it('makes the mount points that the rootfs lacks at restore, for a directory and a file', async () => {
    const bundle = counterBundle();
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.mounts.push({ destination: '/etc/marker', type: 'bind', source: 'marker', options: ['bind'] });
    bundle.writeConfig(spec);
    writeFileSync(join(bundle.path, 'marker'), 'marked\n');
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));

    // As a rootfs made afresh for the restore has them: neither mount point there.
    rmSync(join(bundle.rootfs, 'etc/marker'));
    rmSync(join(bundle.rootfs, 'data'), { recursive: true });
    const before = counts(bundle.path).length;
    restoreDetached(bundle, images);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');
    await waitFor(() => counts(bundle.path).length >= before + 3, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
    expect(statSync(join(bundle.rootfs, 'etc/marker')).isFile()).toBe(true);
    expect(statSync(join(bundle.rootfs, 'data')).isDirectory()).toBe(true);
  });
});

describe('a CRIU configuration file of the container', () => {
  it('is read from the org.criu.config annotation at checkpoint and restore, its settings winning', async () => {
    const bundle = counterBundle();
    const config = join(bundle.path, 'criu.conf');
    writeFileSync(config, 'log-file custom.log\n');
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.annotations = { 'org.criu.config': config };
    writeFileSync(join(bundle.path, 'config.json'), JSON.stringify(spec));
    await startCounter(bundle);
    const images = join(bundle.path, 'images');

    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    expect(readdirSync(images).filter((f) => f.endsWith('.log'))).toEqual(['custom.log']);
    expect(readFileSync(join(images, 'custom.log'), 'utf8')).toContain('Dumping finished successfully');

    const atCheckpoint = counts(bundle.path).length;
    restoreDetached(bundle, images);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 3, 'the restored counter to go on');
    expect(readdirSync(images).filter((f) => f.endsWith('.log'))).toEqual(['custom.log']);
    expect(readFileSync(join(images, 'custom.log'), 'utf8')).toContain('Restore finished successfully');
  });
});
