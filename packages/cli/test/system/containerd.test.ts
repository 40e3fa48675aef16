import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rootfsImageArchive } from './cri-containerd.js';

// A containerd of the test's own (its own root, state and socket) runs corral through its runc
// shim, with an image made from the busybox rootfs.
const corral = join(repoRoot, 'bin/corral');
let work: ReturnType<typeof tempDir>;
let daemon: ChildProcess;
let socket: string;
const image = `localhost/${uniqueName('corral-bb')}:latest`;

function ctr(...args: string[]) {
  return spawnSync('ctr', ['-a', socket, ...args], { encoding: 'utf8', timeout: 60_000 });
}

beforeAll(async () => {
  work = tempDir('containerd');
  socket = join(work.path, 'containerd.sock');
  daemon = spawn(
    'containerd',
    ['--root', join(work.path, 'root'), '--state', join(work.path, 'state'), '--address', socket],
    {
      stdio: 'ignore',
    },
  );
  // Ready once it answers, not once its socket exists; a loaded machine may take a while.
  for (let i = 0; i < 600 && !(existsSync(socket) && ctr('version').status === 0); i++) await sleep(100);
  const archive = rootfsImageArchive(work.path, image);
  // The archive names its manifest; --index-name would add an index record that ctr then
  // fails to unpack (exit 1), though the manifest's image was imported.
  const imported = ctr('images', 'import', archive);
  if (imported.status !== 0) throw new Error(`ctr images import failed: ${imported.stderr}`);
}, 120_000);

afterAll(async () => {
  daemon?.kill('SIGTERM');
  await new Promise((resolve) => (daemon?.exitCode !== null ? resolve(null) : daemon.once('exit', resolve)));
  // containerd leaves its shims' mounts under its state directory when it stops abruptly.
  spawnSync('sh', [
    '-c',
    `grep -o " ${work.path}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`,
  ]);
  work.remove();
});

describe('containerd with corral as its runc binary', () => {
  it('runs a container and returns its output and status', () => {
    const id = uniqueName('c');
    const result = ctr(
      'run',
      '--rm',
      '--runc-binary',
      corral,
      image,
      id,
      '/bin/sh',
      '-c',
      'echo hello from containerd; exit 4',
    );
    expect(result.stdout).toBe('hello from containerd\n');
    expect(result.status).toBe(4);
  });

  it('runs a detached task, lists it, kills and deletes it', async () => {
    const id = uniqueName('c');
    expect(ctr('run', '-d', '--runc-binary', corral, image, id, '/bin/sleep', '60').status).toBe(0);
    expect(ctr('task', 'ls').stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
    const exec = ctr('task', 'exec', '--exec-id', 'probe', id, '/bin/sh', '-c', 'echo exec ok; exit 7');
    expect(exec).toMatchObject({ stdout: 'exec ok\n', status: 7 });
    expect(ctr('task', 'kill', '--signal', 'SIGKILL', id).status).toBe(0);
    for (let i = 0; i < 100 && !/STOPPED/.test(ctr('task', 'ls').stdout); i++) await sleep(50);
    expect(ctr('task', 'ls').stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
    expect(ctr('task', 'delete', id).status).toBe(0);
    expect(ctr('container', 'rm', id).status).toBe(0);
  });
});
