import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { busyboxRootfs, repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// podman drives corral as its OCI runtime, as it drives runc, on a rootfs of the test's own.
const corral = join(repoRoot, 'bin/corral');
let work: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let rootfs: string;
const names: string[] = [];
const images: string[] = [];

function podman(...args: string[]) {
  return spawnSync('podman', ['--runtime', corral, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

beforeAll(() => {
  work = tempDir('podman');
  rootfs = join(work.path, 'rootfs');
  cpSync(busyboxRootfs, rootfs, { recursive: true, verbatimSymlinks: true });
  // The machine's hard RLIMIT_NOFILE is below podman's default request; ask for what it allows.
  const conf = join(work.path, 'containers.conf');
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]\n');
  // podman looks for criu on PATH for checkpoint and restore, and corral then finds the same one:
  // the CRIU that tooling/setup.d/20-criu.sh unpacks into the repository.
  env = {
    ...process.env,
    CONTAINERS_CONF: conf,
    PATH: `${join(repoRoot, 'tooling/criu')}:${process.env.PATH}`,
  };
});

afterAll(() => {
  for (const name of names) podman('rm', '--force', '--time', '0', name);
  for (const image of images) podman('rmi', '--force', image);
  work.remove();
});

function name(): string {
  const n = uniqueName('corral-podman');
  names.push(n);
  return n;
}

describe('podman with corral as its runtime', () => {
  it('runs a container in the foreground and returns its output and status', () => {
    const result = podman(
      'run',
      '--rm',
      '--name',
      name(),
      '--hostname',
      'from-podman',
      '--rootfs',
      rootfs,
      '/bin/sh',
      '-c',
      'echo hello; hostname; exit 3',
    );
    expect(result.stdout).toBe('hello\nfrom-podman\n');
    expect(result.status).toBe(3);
  });

  it('runs a container in a user namespace with --uidmap', () => {
    // A rootfs of the mapped ids, as podman makes of an image for --uidmap.
    const mapped = join(work.path, 'rootfs-mapped');
    cpSync(rootfs, mapped, { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(mapped, 'run'), { recursive: true });
    execFileSync('chown', ['-R', '-h', '100000:100000', mapped], { timeout: 60_000 });
    const result = podman(
      'run',
      '--rm',
      '--name',
      name(),
      '--uidmap',
      '0:100000:65536',
      '--gidmap',
      '0:100000:65536',
      '--rootfs',
      mapped,
      '/bin/sh',
      '-c',
      'id -u; cat /proc/self/uid_map; touch /made-inside',
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.replace(/[ \t]+/g, ' ')).toBe('0\n 0 100000 65536\n');
    const made = statSync(join(mapped, 'made-inside'));
    expect([made.uid, made.gid]).toEqual([100000, 100000]);
  });

  it("applies podman's seccomp profile, and none when podman asks for none", () => {
    const seccomp = (...options: string[]) =>
      podman(
        'run',
        '--rm',
        '--name',
        name(),
        ...options,
        '--rootfs',
        rootfs,
        'grep',
        '^Seccomp:',
        '/proc/self/status',
      ).stdout;
    // 2 is SECCOMP_MODE_FILTER.
    expect(seccomp()).toBe('Seccomp:\t2\n');
    expect(seccomp('--security-opt', 'seccomp=unconfined')).toBe('Seccomp:\t0\n');
  });

  it('runs a detached container, lists, stops and removes it', () => {
    const container = name();
    const run = podman(
      'run',
      '-d',
      '--name',
      container,
      '--rootfs',
      rootfs,
      '/bin/sh',
      '-c',
      'trap "exit 0" TERM; while :; do sleep 0.05; done',
    );
    expect(run.status).toBe(0);
    expect(podman('ps', '--format', '{{.Names}} {{.Status}}').stdout).toMatch(new RegExp(`${container} Up`));
    expect(podman('stop', '--time', '5', container).status).toBe(0);
    expect(
      podman('inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', container).stdout.trim(),
    ).toBe('exited 0');
    expect(podman('rm', container).status).toBe(0);
    expect(podman('ps', '-a', '--format', '{{.Names}}').stdout).not.toContain(container);
  });

  it('execs into a running container and returns the exec status', () => {
    const container = name();
    expect(podman('run', '-d', '--name', container, '--rootfs', rootfs, '/bin/sleep', '60').status).toBe(0);
    const result = podman('exec', container, '/bin/sh', '-c', 'echo "exec in $(hostname)"; exit 6');
    expect(result.stdout).toBe(
      `exec in ${podman('inspect', '--format', '{{.Config.Hostname}}', container).stdout.trim()}\n`,
    );
    expect(result.status).toBe(6);
  });

  it('gives a container and an exec a terminal (--console-socket)', () => {
    const container = name();
    const run = podman(
      'run',
      '-t',
      '--name',
      container,
      '--rootfs',
      rootfs,
      '/bin/sh',
      '-c',
      'tty; readlink -f /proc/self/fd/1; exit 2',
    );
    expect(run.stdout).toBe('/dev/pts/0\r\n/dev/pts/0\r\n');
    expect(run.status).toBe(2);
    const detached = name();
    expect(podman('run', '-d', '--name', detached, '--rootfs', rootfs, '/bin/sleep', '60').status).toBe(0);
    const exec = podman('exec', '-t', detached, '/bin/sh', '-c', 'tty');
    expect(exec.stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
  });

  it('shows the container processes with podman top', () => {
    const container = name();
    expect(podman('run', '-d', '--name', container, '--rootfs', rootfs, '/bin/sleep', '61').status).toBe(0);
    const top = podman('top', container, 'pid', 'args');
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/^1\s+\/bin\/sleep 61\s*$/m);
  });

  it('pauses and unpauses a container, and reports its stats', () => {
    const container = name();
    expect(podman('run', '-d', '--name', container, '--rootfs', rootfs, '/bin/sleep', '60').status).toBe(0);
    expect(podman('pause', container).status).toBe(0);
    expect(podman('inspect', '--format', '{{.State.Status}}', container).stdout.trim()).toBe('paused');
    expect(podman('unpause', container).status).toBe(0);
    expect(podman('inspect', '--format', '{{.State.Status}}', container).stdout.trim()).toBe('running');
    const stats = podman('stats', '--no-stream', '--format', '{{.PIDs}}', container);
    expect(stats.stdout.trim()).toBe('1');
  });

  it('kills a container with a signal it chose', () => {
    const container = name();
    podman('run', '-d', '--name', container, '--rootfs', rootfs, '/bin/sleep', '60');
    expect(podman('kill', '--signal', 'KILL', container).status).toBe(0);
    execFileSync('podman', ['--runtime', corral, 'wait', container], { env, timeout: 60_000 });
    expect(podman('inspect', '--format', '{{.State.Status}}', container).stdout.trim()).toBe('exited');
  });

  describe('checkpoint and restore', () => {
    // Appends 0, 1, 2, ... to /tmp/count, ten a second.
    const counter = ['/bin/sh', '-c', 'i=0; while :; do echo $i >> /tmp/count; i=$((i+1)); sleep 0.1; done'];

    function numbers(text: string): number[] {
      return text.split('\n').filter(Boolean).map(Number);
    }

    async function waitFor(predicate: () => boolean, what: string): Promise<void> {
      for (let i = 0; i < 200 && !predicate(); i++) await sleep(50);
      if (!predicate()) throw new Error(`timed out waiting for ${what}`);
    }

    function status(container: string): string {
      return podman(
        'inspect',
        '--format',
        '{{.State.Status}} {{.State.Checkpointed}} {{.State.Restored}}',
        container,
      ).stdout.trim();
    }

    /** Succeeded and printed the container's name, the whole result in one assertion. */
    function expectNamed(result: ReturnType<typeof podman>, container: string): void {
      expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
        status: 0,
        stdout: `${container}\n`,
        stderr: '',
      });
    }

    /** One unbroken sequence 0, 1, 2, ...: no restart from 0 and no gap. */
    function expectUnbroken(all: number[]): void {
      expect(all).toEqual(all.map((_, i) => i));
    }

    it('checkpoints a counting container, which stops, and restores it counting on', async () => {
      const container = name();
      // A rootfs of its own: the count is read from the host while the container is checkpointed.
      const own = join(work.path, `rootfs-${container}`);
      cpSync(rootfs, own, { recursive: true, verbatimSymlinks: true });
      const countFile = join(own, 'tmp/count');
      const counted = () => (existsSync(countFile) ? numbers(readFileSync(countFile, 'utf8')) : []);
      expect(podman('run', '-d', '--name', container, '--rootfs', own, ...counter).status).toBe(0);
      await waitFor(() => counted().length >= 5, 'the container to count');

      expectNamed(podman('container', 'checkpoint', container), container);
      expect(status(container)).toBe('exited true false');
      expect(podman('ps', '--format', '{{.Names}}').stdout).not.toContain(container);
      const atCheckpoint = counted().length;
      await sleep(300);
      expect(counted()).toHaveLength(atCheckpoint); // nothing counts while checkpointed

      expectNamed(podman('container', 'restore', container), container);
      expect(status(container)).toBe('running false true');
      await waitFor(() => counted().length >= atCheckpoint + 5, 'the restored container to count on');
      expectUnbroken(counted());
      // podman's own commands work on the restored container.
      expect(podman('top', container, 'args').stdout).toContain('/bin/sh -c i=0');
      expect(podman('stop', '--time', '0', container).status).toBe(0);
      expect(podman('inspect', '--format', '{{.State.Status}}', container).stdout.trim()).toBe('exited');
    });

    it('exports a checkpoint and imports it into a new container that counts on', async () => {
      // restore --import looks up the image the checkpoint names, and a --rootfs container has
      // none (podman then fails with "repository name must have at least one component", with
      // runc as well): this container runs from an image of the same rootfs.
      const image = `localhost/${uniqueName('corral-podman')}:latest`;
      images.push(image);
      execFileSync('sh', ['-c', 'tar -C "$1" -c . | podman import - "$2"', 'sh', rootfs, image], {
        env,
        timeout: 60_000,
        stdio: 'ignore',
      });
      const container = name();
      expect(podman('run', '-d', '--name', container, image, ...counter).status).toBe(0);
      const counted = () => numbers(podman('exec', container, 'cat', '/tmp/count').stdout);
      await waitFor(() => counted().length >= 5, 'the container to count');

      const archive = join(work.path, `${container}.tar.gz`);
      expectNamed(podman('container', 'checkpoint', '--export', archive, container), container);
      expect(podman('rm', container).status).toBe(0);
      const restored = podman('container', 'restore', '--import', archive);
      expect({ status: restored.status, stderr: restored.stderr }).toEqual({ status: 0, stderr: '' });
      expect(status(container)).toBe('running false true');
      const atRestore = counted().length;
      await waitFor(() => counted().length >= atRestore + 5, 'the imported container to count on');
      expectUnbroken(counted());
    });
    it('restores a container with a terminal onto a new pty, and its log goes on', async () => {
      const container = name();
      const ticker = ['/bin/sh', '-c', 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'];
      expect(podman('run', '-d', '-t', '--name', container, '--rootfs', rootfs, ...ticker).status).toBe(0);
      const ticks = () =>
        numbers(podman('logs', container).stdout.replaceAll('tick ', '').replaceAll('\r', ''));
      await waitFor(() => ticks().length >= 5, 'the container to tick');

      expectNamed(podman('container', 'checkpoint', container), container);
      const atCheckpoint = ticks().length;
      // The restored init is on the terminal that corral handed podman through --console-socket.
      expectNamed(podman('container', 'restore', container), container);
      expect(status(container)).toBe('running false true');
      expect(podman('exec', container, 'readlink', '/proc/1/fd/1').stdout).toMatch(/^\/dev\/pts\/\d+\n$/);
      await waitFor(() => ticks().length >= atCheckpoint + 5, 'the restored container to tick on');
      expectUnbroken(ticks());
    });
  });
});
