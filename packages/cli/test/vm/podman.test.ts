import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';

import { busyboxRootfs, repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Inside the test VM: podman on a systemd host with cgroup v2, driving corral and Debian's runc
// in turn; what podman reports and what the container sees must be the same under both. This
// file drives the cgroupfs driver (--cgroup-manager cgroupfs); podman's default there, systemd,
// has tests of its own.
const RUNTIMES = { corral: join(repoRoot, 'bin/corral'), runc: '/usr/bin/runc' } as const;
type Runtime = keyof typeof RUNTIMES;
let work: ReturnType<typeof tempDir>;
let rootfs: string;
const names: string[] = [];

function podman(runtime: Runtime, ...args: string[]) {
  return spawnSync('podman', ['--runtime', RUNTIMES[runtime], '--cgroup-manager', 'cgroupfs', ...args], {
    encoding: 'utf8',
    timeout: 180_000,
  });
}

function name(runtime: Runtime): string {
  const n = uniqueName(`podman-${runtime}`);
  names.push(n);
  return n;
}

beforeAll(() => {
  work = tempDir('podman');
  rootfs = join(work.path, 'rootfs');
  cpSync(busyboxRootfs, rootfs, { recursive: true, verbatimSymlinks: true });
});

afterAll(() => {
  for (const n of names) spawnSync('podman', ['rm', '--force', '--time', '0', n], { timeout: 180_000 });
  work.remove();
});

const LIMITS = ['--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', '--cgroupns', 'private'];

describe('podman --runtime corral on a cgroup v2 host, as with runc', () => {
  it('applies --memory, --cpus and --pids-limit, and gives the container its own cgroup namespace', () => {
    const script =
      'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max; awk \'$5 == "/sys/fs/cgroup" { for (i = 7; i <= NF; i++) if ($i == "-") print $4, $5, $(i + 1) }\' /proc/self/mountinfo';
    const results = Object.fromEntries(
      (Object.keys(RUNTIMES) as Runtime[]).map((runtime) => {
        const result = podman(
          runtime,
          'run',
          '--rm',
          '--name',
          name(runtime),
          ...LIMITS,
          '--rootfs',
          rootfs,
          'sh',
          '-c',
          script,
        );
        return [runtime, { status: result.status, stdout: result.stdout, stderr: result.stderr }];
      }),
    );
    expect(results.corral).toEqual(results.runc);
    expect(results.corral?.stdout).toBe('0::/\n67108864\n50000 100000\n50\n/ /sys/fs/cgroup cgroup2\n');
  });

  it('pauses, resumes and reports stats of a container', () => {
    const seen: Record<string, unknown> = {};
    for (const runtime of Object.keys(RUNTIMES) as Runtime[]) {
      const n = name(runtime);
      const started = podman(
        runtime,
        'run',
        '-d',
        '--name',
        n,
        ...LIMITS,
        '--rootfs',
        rootfs,
        'sleep',
        '600',
      );
      expect(started.stderr).toBe('');
      const status = () => podman(runtime, 'inspect', '--format', '{{.State.Status}}', n).stdout.trim();
      const paused = podman(runtime, 'pause', n);
      const whilePaused = status();
      const resumed = podman(runtime, 'unpause', n);
      const stats = podman(runtime, 'stats', '--no-stream', '--format', '{{.MemUsage}}|{{.PIDs}}', n);
      // What is used differs from run to run; the limit and the process count do not.
      const [usage = '', pids] = stats.stdout.trim().split('|');
      seen[runtime] = {
        paused: [paused.status, paused.stderr, whilePaused],
        resumed: [resumed.status, resumed.stderr, status()],
        limit: usage.split(' / ')[1],
        pids,
        statsError: stats.stderr,
      };
      podman(runtime, 'rm', '--force', '--time', '0', n);
    }
    expect(seen.corral).toEqual(seen.runc);
    expect(seen.corral).toMatchObject({
      paused: [0, '', 'paused'],
      resumed: [0, '', 'running'],
      limit: '67.11MB',
      pids: '1',
    });
  });
});
