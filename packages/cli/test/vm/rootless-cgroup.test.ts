import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { createTestUser, type TestUser } from '@corral/tooling/test-user';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A lingering user's own systemd instance on a cgroup v2 host (the test VM): corral run by that
// user puts its containers in the cgroup systemd delegates to it, limits and all, with the
// cgroupfs driver and with --systemd-cgroup (runc's systemdUser), beside runc.

let user: TestUser;
let env: NodeJS.ProcessEnv;
let runtimeDir: string;

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (done()) return;
    await sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

beforeAll(async () => {
  // Subordinate ids for rootless podman's user namespace.
  user = await createTestUser({ subordinate: { start: 200_000, count: 65536 } });
  execFileSync('loginctl', ['enable-linger', user.name], { timeout: 60_000 });
  runtimeDir = `/run/user/${user.uid}`;
  await until(() => existsSync(join(runtimeDir, 'bus')), `the session bus of ${user.name}`);
  env = { ...user.env, XDG_RUNTIME_DIR: runtimeDir, DBUS_SESSION_BUS_ADDRESS: `unix:path=${runtimeDir}/bus` };
});

afterAll(async () => {
  if (!user) return;
  spawnSync('loginctl', ['disable-linger', user.name], { timeout: 60_000 });
  spawnSync('loginctl', ['terminate-user', user.name], { timeout: 60_000 });
  await user.remove();
});

const LIMITS = {
  pids: { limit: 42 },
  memory: { limit: 64 * 1024 * 1024 },
  cpu: { quota: 50_000, period: 100_000 },
};
const FILES = { 'pids.max': '42', 'memory.max': '67108864', 'cpu.max': '50000 100000' };
const managerCgroup = () => `/user.slice/user-${user.uid}.slice/user@${user.uid}.service`;

function asUser(file: string, args: string[], detached = false) {
  const result = user.run(file, args, { env, detached, timeout: 240_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The limit files of a cgroup directory. */
function limitsIn(dir: string): Record<string, string> {
  return Object.fromEntries(
    Object.keys(FILES).map((name) => [name, readFileSync(join(dir, name), 'utf8').trim()]),
  );
}

/** The cgroup v2 directory of a container's init. */
function cgroupOfPid(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim();
  return join('/sys/fs/cgroup', line.slice(line.indexOf('::') + 2));
}

describe('corral run by a user with a systemd instance of its own, on cgroup v2', () => {
  it('puts the container and its limits in the cgroup systemd delegates to the user, as runc does', async () => {
    const corral = user.bundle(['sleep', '1000'], (config) => (config.linux.resources = LIMITS));
    const runc = user.bundle(['sleep', '1000'], (config) => (config.linux.resources = LIMITS));
    // Started from a scope of the user's own systemd: the cgroup beside it is the user's to make.
    const inScope = ['--user', '--scope', '--quiet', '--'];
    expect(
      asUser('systemd-run', [...inScope, user.corral, 'run', '-d', '-b', corral.dir, corral.id], true),
    ).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
    const runcRoot = join(runtimeDir, 'runc');
    const started = asUser(
      'systemd-run',
      [...inScope, '/usr/sbin/runc', '--root', runcRoot, 'run', '-d', '-b', runc.dir, runc.id],
      true,
    );
    expect(started.status).toBe(0);
    try {
      const state = JSON.parse(asUser(user.corral, ['state', corral.id]).stdout);
      const dir = cgroupOfPid(state.pid);
      expect(dir).toBe(join('/sys/fs/cgroup', managerCgroup(), 'app.slice', corral.id));
      expect(limitsIn(dir)).toEqual(FILES);
      const runcPid = JSON.parse(asUser('/usr/sbin/runc', ['--root', runcRoot, 'state', runc.id]).stdout).pid;
      expect(limitsIn(cgroupOfPid(runcPid))).toEqual(limitsIn(dir));
      // With a cgroup, ps, pause and events work for the user as they do for root.
      expect(JSON.parse(asUser(user.corral, ['ps', '--format', 'json', corral.id]).stdout)).toEqual([
        state.pid,
      ]);
      expect(asUser(user.corral, ['pause', corral.id]).stderr).toBe('');
      expect(readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim()).toBe('1');
      expect(JSON.parse(asUser(user.corral, ['state', corral.id]).stdout).status).toBe('paused');
      expect(asUser(user.corral, ['resume', corral.id]).stderr).toBe('');
      const stats = JSON.parse(asUser(user.corral, ['events', '--stats', corral.id]).stdout);
      expect(stats.data.pids).toEqual({ current: 1, limit: 42 });
      expect(asUser(user.corral, ['delete', '--force', corral.id]).stderr).toBe('');
      expect(existsSync(dir)).toBe(false);
    } finally {
      asUser(user.corral, ['delete', '--force', corral.id]);
      asUser('/usr/sbin/runc', ['--root', runcRoot, 'delete', '--force', runc.id]);
    }
  });

  it("with --systemd-cgroup, makes a scope of the user's systemd with the same properties as runc's", async () => {
    const corral = user.bundle(['sleep', '1000'], (config) => (config.linux.resources = LIMITS));
    const runc = user.bundle(['sleep', '1000'], (config) => (config.linux.resources = LIMITS));
    const runcRoot = join(runtimeDir, 'runc');
    expect(asUser(user.corral, ['--systemd-cgroup', 'run', '-d', '-b', corral.dir, corral.id], true)).toEqual(
      {
        status: 0,
        stdout: '',
        stderr: '',
      },
    );
    const started = asUser(
      '/usr/sbin/runc',
      ['--systemd-cgroup', '--root', runcRoot, 'run', '-d', '-b', runc.dir, runc.id],
      true,
    );
    expect(started.status).toBe(0);
    const show = (unit: string) =>
      asUser('systemctl', [
        '--user',
        'show',
        unit,
        '-p',
        'TasksMax',
        '-p',
        'MemoryMax',
        '-p',
        'CPUQuotaPerSecUSec',
        '-p',
        'ControlGroup',
        '-p',
        'Delegate',
        '-p',
        'LoadState',
      ])
        .stdout.trim()
        .split('\n')
        .sort();
    const unit = `corral-${corral.id}.scope`;
    try {
      const properties = show(unit);
      expect(properties).toContain(`ControlGroup=${managerCgroup()}/user.slice/${unit}`);
      expect(properties).toContain('TasksMax=42');
      expect(properties).toContain('MemoryMax=67108864');
      expect(properties).toContain('Delegate=yes');
      const dir = join('/sys/fs/cgroup', managerCgroup(), 'user.slice', unit);
      expect(limitsIn(dir)).toEqual(FILES);
      const runcProperties = show(`runc-${runc.id}.scope`);
      const same = (lines: string[]) => lines.filter((line) => !line.startsWith('ControlGroup='));
      expect(same(properties)).toEqual(same(runcProperties));
      const runcPid = JSON.parse(asUser('/usr/sbin/runc', ['--root', runcRoot, 'state', runc.id]).stdout).pid;
      expect(limitsIn(cgroupOfPid(runcPid))).toEqual(limitsIn(dir));
      expect(asUser(user.corral, ['pause', corral.id]).stderr).toBe('');
      expect(asUser(user.corral, ['resume', corral.id]).stderr).toBe('');
      expect(asUser(user.corral, ['delete', '--force', corral.id]).stderr).toBe('');
      expect(show(unit)).toContain('LoadState=not-found');
      expect(existsSync(dir)).toBe(false);
    } finally {
      asUser(user.corral, ['delete', '--force', corral.id]);
      asUser('/usr/sbin/runc', ['--systemd-cgroup', '--root', runcRoot, 'delete', '--force', runc.id]);
    }
  });

  /** podman run of `sh -c probe` with the runtime, its own warnings (not the runtime's) left out. */
  function podman(runtime: string, cgroupns: 'host' | 'private', probe: string) {
    const result = asUser('podman', [
      ...`--runtime ${runtime} --cgroup-manager systemd --storage-driver vfs run --rm`.split(' '),
      ...`--network none --cgroupns ${cgroupns} --pids-limit 42 --memory 64m --rootfs ${user.rootfs}`.split(
        ' ',
      ),
      ...['sh', '-c', probe],
    ]);
    const stderr = result.stderr
      .split('\n')
      .filter((line) => line && !/level=warning|is not a shared mount/.test(line))
      .join('\n');
    return { ...result, stdout: result.stdout.replace(/libpod-[0-9a-f]{64}/, 'libpod-ID'), stderr };
  }

  // podman runs the runtime as root of its user namespace, with --systemd-cgroup and a
  // cgroupsPath of user.slice:libpod:ID: the runtime reaches the user's systemd as the user.
  it('runs under rootless podman with cgroup_manager = "systemd", limits and all, as runc does', () => {
    // Without a cgroup namespace runc binds the host's whole tree, corral the container's own
    // cgroup: the probe reads the container's files wherever they are.
    const probe = [
      'p=$(sed -n "s/^0:://p" /proc/self/cgroup); echo $p',
      'd=/sys/fs/cgroup$p; [ -e $d/pids.max ] || d=/sys/fs/cgroup; cat $d/pids.max $d/memory.max',
    ].join('; ');
    const corral = podman(user.corral, 'host', probe);
    expect(corral.stderr).toBe('');
    expect(corral).toEqual({
      status: 0,
      stdout: `${managerCgroup()}/user.slice/libpod-ID.scope\n42\n67108864\n`,
      stderr: '',
    });
    expect(corral).toEqual(podman('/usr/sbin/runc', 'host', probe));
  });

  it('gives a rootless podman container a cgroup namespace rooted at its own scope, as runc does', () => {
    const probe = 'cat /proc/self/cgroup /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max';
    const corral = podman(user.corral, 'private', probe);
    expect(corral.stderr).toBe('');
    expect(corral).toEqual({ status: 0, stdout: '0::/\n42\n67108864\n', stderr: '' });
    expect(corral).toEqual(podman('/usr/sbin/runc', 'private', probe));
  });

  it('refuses --systemd-cgroup without the session bus, naming the flag, and leaves nothing', () => {
    const bundle = user.bundle(['true']);
    const result = user.run(user.corral, ['--systemd-cgroup', 'run', '-b', bundle.dir, bundle.id], {
      env: { ...env, DBUS_SESSION_BUS_ADDRESS: '', XDG_RUNTIME_DIR: user.runtimeDir },
    });
    expect(result.stderr).toMatch(
      /^corral: --systemd-cgroup: no session bus to reach the user's systemd instance .*\n$/,
    );
    expect(result.status).toBe(1);
    expect(existsSync(join(user.runtimeDir, 'corral', bundle.id))).toBe(false);
  });
});
