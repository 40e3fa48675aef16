import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { busyboxRootfs, tempDir } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { corral, exec, newId, unitLoaded } from './systemd-helpers.js';

// containerd as Kubernetes nodes run it: the runc shim with SystemdCgroup = true, and corral as
// the runc binary; the cgroupsPath is systemd's slice:prefix:name, the rootfs a busybox copy.
let work: ReturnType<typeof tempDir>;
let daemon: ChildProcess;
let socket: string;
let rootfs: string;

const ctr = (...args: string[]) => exec('ctr', ['-a', socket, ...args]);

beforeAll(async () => {
  work = tempDir('containerd-systemd');
  socket = join(work.path, 'containerd.sock');
  daemon = spawn(
    'containerd',
    ['--root', join(work.path, 'root'), '--state', join(work.path, 'state'), '--address', socket],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 1200 && !(existsSync(socket) && ctr('version').status === 0); i++) await sleep(100);
  rootfs = join(work.path, 'rootfs');
  cpSync(busyboxRootfs, rootfs, { recursive: true, verbatimSymlinks: true });
}, 900_000);

afterAll(async () => {
  daemon?.kill('SIGTERM');
  await new Promise((resolve) => (daemon?.exitCode !== null ? resolve(null) : daemon.once('exit', resolve)));
  work?.remove();
});

/** ctr's options for the runc shim: corral as the binary, SystemdCgroup = true, the unit's path. */
const systemd = (id: string) => [
  '--runc-binary',
  corral,
  '--runc-systemd-cgroup',
  '--cgroup',
  `system.slice:ctr:${id}`,
];

describe('containerd with SystemdCgroup and corral as runc', () => {
  it('ctr run --rm runs in a transient scope and leaves none', () => {
    const id = newId('ctr');
    const run = ctr('run', '--rm', ...systemd(id), '--rootfs', rootfs, id, '/bin/cat', '/proc/self/cgroup');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^0::(/|/system\\.slice/ctr-${id}\\.scope)\\n$`));
    expect(unitLoaded(`ctr-${id}.scope`)).toBe(false);
  });

  it('ctr run -d, then task kill and task rm', async () => {
    const id = newId('ctr');
    const unit = `ctr-${id}.scope`;
    const run = ctr('run', '-d', ...systemd(id), '--rootfs', rootfs, id, '/bin/sleep', '1000');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    try {
      expect(unitLoaded(unit)).toBe(true);
      expect(existsSync(`/sys/fs/cgroup/system.slice/${unit}`)).toBe(true);
      expect(ctr('task', 'kill', '--signal', 'SIGKILL', id).status).toBe(0);
      for (let i = 0; i < 600 && !/STOPPED/.test(ctr('task', 'ls').stdout); i++) await sleep(100);
      const rm = ctr('task', 'rm', id);
      // ctr reports the SIGKILL's status 137 as a warning; the removal itself must succeed.
      expect(rm.stderr).not.toMatch(/level=(error|fatal)/);
      expect(rm.status).toBe(0);
      expect(unitLoaded(unit)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/system.slice/${unit}`)).toBe(false);
    } finally {
      ctr('task', 'rm', '--force', id);
      ctr('containers', 'rm', id);
    }
  });
});
