import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { busyboxRootfs, tempDir } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { corral, exec, newId, unitLoaded, unitProperties } from './systemd-helpers.js';

// podman as it runs on a systemd host: cgroup_manager = "systemd", so it gives the runtime
// --systemd-cgroup and a cgroupsPath of machine.slice:libpod:ID.
let work: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let rootfs: string;
const names: string[] = [];

const podman = (...args: string[]) => exec('podman', ['--runtime', corral, ...args], env);
/** What podman printed besides its own warnings (of network plugins the guest lacks, say). */
const complaints = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => line && !/^time="[^"]*" level=warning /.test(line))
    .join('\n');

beforeAll(() => {
  work = tempDir('podman-systemd');
  rootfs = join(work.path, 'rootfs');
  cpSync(busyboxRootfs, rootfs, { recursive: true, verbatimSymlinks: true });
  const conf = join(work.path, 'containers.conf');
  writeFileSync(conf, '[engine]\ncgroup_manager = "systemd"\n');
  env = { ...process.env, CONTAINERS_CONF: conf };
});

afterAll(() => {
  for (const name of names) podman('rm', '--force', '--time', '0', name);
  work.remove();
});

function name(): string {
  const n = newId('corral-sd');
  names.push(n);
  return n;
}

describe('podman with cgroup_manager = "systemd" and corral as its runtime', () => {
  it('runs a container in a libpod scope under machine.slice', () => {
    const result = podman(
      'run',
      '--rm',
      '--network',
      'none',
      '--cgroupns',
      'host',
      '--name',
      name(),
      '--rootfs',
      rootfs,
      '/bin/cat',
      '/proc/self/cgroup',
    );
    expect(complaints(result.stderr)).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^0::\/machine\.slice\/libpod-[0-9a-f]{64}\.scope\n$/);
  });

  it('runs, pauses, reports stats, stops and removes a detached container', () => {
    const n = name();
    const run = podman(
      'run',
      '-d',
      '--network',
      'none',
      '--memory',
      '64m',
      '--pids-limit',
      '50',
      '--name',
      n,
      '--rootfs',
      rootfs,
      '/bin/sleep',
      '1000',
    );
    expect(complaints(run.stderr)).toBe('');
    expect(run.status).toBe(0);
    const id = run.stdout.trim();
    const unit = `libpod-${id}.scope`;
    const shown = unitProperties(unit, ['Slice', 'MemoryMax', 'TasksMax', 'Delegate', 'ActiveState']);
    expect(shown).toEqual({
      Slice: 'machine.slice',
      MemoryMax: String(64 * 2 ** 20),
      TasksMax: '50',
      Delegate: 'yes',
      ActiveState: 'active',
    });
    const dir = `/sys/fs/cgroup/machine.slice/${unit}`;
    expect(exec('cat', [join(dir, 'memory.max')]).stdout.trim()).toBe(String(64 * 2 ** 20));

    expect(podman('pause', n).status).toBe(0);
    expect(podman('inspect', '--format', '{{.State.Status}}', n).stdout.trim()).toBe('paused');
    expect(exec('cat', [join(dir, 'cgroup.freeze')]).stdout.trim()).toBe('1');
    expect(podman('unpause', n).status).toBe(0);
    expect(podman('inspect', '--format', '{{.State.Status}}', n).stdout.trim()).toBe('running');

    const stats = podman('stats', '--no-stream', '--format', '{{.MemLimit}} {{.PIDs}}', n);
    expect(stats.status, stats.stderr).toBe(0);
    expect(stats.stdout).toBe(`${64 * 2 ** 20} 1\n`);

    expect(podman('stop', '--time', '1', n).status).toBe(0);
    expect(podman('inspect', '--format', '{{.State.Status}}', n).stdout.trim()).toBe('exited');
    expect(podman('rm', n).status).toBe(0);
    expect(unitLoaded(unit)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('execs into a container in its scope', () => {
    const n = name();
    const run = podman(
      'run',
      '-d',
      '--network',
      'none',
      '--name',
      n,
      '--rootfs',
      rootfs,
      '/bin/sleep',
      '1000',
    );
    expect(complaints(run.stderr)).toBe('');
    const inside = podman('exec', n, '/bin/cat', '/proc/self/cgroup');
    expect(complaints(inside.stderr)).toBe('');
    expect(inside.status).toBe(0);
    // The exec'd process is in the scope: the root of the container's cgroup namespace, or the
    // scope's path seen from a namespace made before the init joined it.
    expect(inside.stdout).toMatch(/^0::(\/|\/.*\/libpod-[0-9a-f]{64}\.scope)\n$/);
    expect(podman('rm', '--force', '--time', '0', n).status).toBe(0);
  });
});
