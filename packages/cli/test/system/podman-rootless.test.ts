import { uniqueName } from '@corral/tooling/test-env';
import { createTestUser, type RunOptions, type TestUser } from '@corral/tooling/test-user';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Rootless podman, run by an unprivileged user with subordinate ids, drives corral as it drives
// runc: each step runs under both runtimes and must give the same results.

let user: TestUser;

beforeAll(async () => {
  user = await createTestUser({
    subordinate: { start: 4_000_000 + (process.pid % 1000) * 65536, count: 65536 },
  });
}, 120_000);

afterAll(async () => {
  await user?.remove();
}, 120_000);

const RUNTIMES = { corral: () => user.corral, runc: () => '/usr/sbin/runc' } as const;
type Runtime = keyof typeof RUNTIMES;

/** podman as the user, with a storage driver that needs nothing of the kernel or of fuse. */
function podman(runtime: Runtime, args: string[], options: RunOptions = {}) {
  const result = user.run('podman', ['--runtime', RUNTIMES[runtime](), '--storage-driver', 'vfs', ...args], {
    timeout: 120_000,
    ...options,
  });
  // podman's own notice about the host's mount propagation is not the runtime's.
  const stderr = result.stderr
    .split('\n')
    .filter((line) => line && !line.includes('is not a shared mount'))
    .join('\n');
  return { status: result.status, stdout: result.stdout, stderr };
}

/** Runs `step` under both runtimes and returns both results. */
function both<T>(step: (runtime: Runtime) => T): Record<Runtime, T> {
  return { corral: step('corral'), runc: step('runc') };
}

const common = (name: string) => ['--name', name, '--network', 'none', '--rootfs', user.rootfs];

describe('rootless podman with corral as its runtime', () => {
  it('run --rm: the same output, ids and status as with runc', () => {
    const results = both((runtime) =>
      podman(runtime, [
        'run',
        '--rm',
        ...common(uniqueName(`p-${runtime}`)),
        'sh',
        '-c',
        'id; cat /proc/self/uid_map; ls -l /dev/null | cut -c1-10; exit 3',
      ]),
    );
    expect(results.corral.stderr).toBe('');
    expect(results.corral.status).toBe(3);
    expect(results.corral).toEqual(results.runc);
    expect(results.corral.stdout).toMatch(/^uid=0\(root\) gid=0\(root\)/);
  });

  it('run -d, exec, stop and rm, as with runc', () => {
    const results = both((runtime) => {
      const name = uniqueName(`p-${runtime}`);
      const steps: Array<{ status: number | null; stdout: string; stderr: string }> = [];
      // A shell that exits on SIGTERM: stop needs no SIGKILL.
      const run = podman(
        runtime,
        ['run', '-d', ...common(name), 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done'],
        { detached: true },
      );
      steps.push({ ...run, stdout: run.stdout.length > 0 ? 'id' : '' });
      steps.push(podman(runtime, ['exec', name, 'sh', '-c', 'id -u; echo from exec; exit 4']));
      steps.push(podman(runtime, ['stop', '-t', '10', name]));
      steps.push(podman(runtime, ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name]));
      steps.push(podman(runtime, ['rm', name]));
      steps.push(podman(runtime, ['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}}']));
      return steps.map((step) => ({ ...step, stdout: step.stdout.replaceAll(name, 'NAME') }));
    });
    expect(results.corral.map((step) => step.stderr)).toEqual(['', '', '', '', '', '']);
    expect(results.corral[1]).toEqual({ status: 4, stdout: '0\nfrom exec\n', stderr: '' });
    expect(results.corral[3]!.stdout).toBe('exited 0\n');
    expect(results.corral).toEqual(results.runc);
  });

  it('--userns keep-id: the user is itself inside, as with runc', () => {
    const results = both((runtime) =>
      podman(runtime, [
        'run',
        '--rm',
        '--userns',
        'keep-id',
        ...common(uniqueName(`p-${runtime}`)),
        'sh',
        '-c',
        'id -u; id -g; cat /proc/self/uid_map; touch /tmp/x && stat -c %u /tmp/x',
      ]),
    );
    expect(results.corral.stderr).toBe('');
    expect(results.corral.stdout.split('\n').slice(0, 2)).toEqual([String(user.uid), String(user.gid)]);
    expect(results.corral).toEqual(results.runc);
  });
});
