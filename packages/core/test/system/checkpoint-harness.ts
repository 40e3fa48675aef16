// What the checkpoint tests share: counting containers, CRIU found as users find it, and checks
// that nothing of a container is left.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { flock } from '@corral/native';
import { busyboxRootfs, repoRoot, uniqueName } from '@corral/tooling/test-env';
import { afterEach, beforeEach, expect } from 'vitest';

import { baseConfig, corralBin, makeBundle, type TestBundle } from './bundle.js';

export { expectNothingLeft } from './bundle.js';

/** The CRIU that tooling/setup.d/20-criu.sh unpacks into the repository, found as users would: CORRAL_CRIU. */
export const env = { ...process.env, CORRAL_CRIU: join(repoRoot, 'tooling/criu/criu') };

/** What the tests made, undone after each (`afterEach(runCleanups)`), the last first. */
export const cleanups: Array<() => void> = [];

export function runCleanups(): void {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
}

/**
 * Has each test of the calling file wait for its turn with CRIU, so that the checkpoint tests of
 * every file take turns as they did when they were one file: two CRIUs at work at once on a
 * loaded two-core machine slow each other down.
 */
export function takeTurnsWithCriu(): void {
  let turn: number | undefined;
  beforeEach(async () => {
    // Beside the test rootfs that tooling/setup builds, which every worktree has its own of.
    turn = openSync(join(dirname(busyboxRootfs), '.criu-turns.lock'), 'a');
    await flock(turn, { exclusive: true });
  });
  afterEach(() => {
    if (turn !== undefined) closeSync(turn);
    turn = undefined;
  });
}

/** The bundle, its container deleted and the bundle removed after the test. */
export function deletedAfter(bundle: TestBundle): TestBundle {
  cleanups.push(() => {
    spawnSync(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', bundle.id], { timeout: 60_000 });
    bundle.remove();
  });
  return bundle;
}

/** A container counting on its stdout, deleted after the test. */
export function stdoutCounterBundle(): TestBundle {
  return deletedAfter(
    makeBundle(baseConfig(['sh', '-c', 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done'])),
  );
}

/** A container counting into /data/count, a directory of the bundle bind-mounted in. */
export function counterBundle(): TestBundle {
  const spec = baseConfig([
    'sh',
    '-c',
    'i=0; while :; do echo $i >> /data/count; i=$((i+1)); sleep 0.05; done',
  ]);
  spec.mounts!.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'rw'] });
  const bundle = deletedAfter(makeBundle(spec));
  mkdirSync(join(bundle.path, 'data'));
  mkdirSync(join(bundle.rootfs, 'data'), { recursive: true });
  return bundle;
}

/** corral with pipes for its output: only for commands that leave no process holding them. */
export function corral(stateRoot: string, ...args: string[]) {
  return spawnSync(corralBin, ['--root', stateRoot, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
    env,
  });
}

/** Succeeded, and said nothing: the whole result in one assertion, so a failure shows why. */
export function expectSuccess(result: ReturnType<typeof corral>): void {
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
}

/** A command that leaves a container running: its stdio is /dev/null and a file, never a pipe of ours. */
export function detached(bundle: TestBundle, ...args: string[]): void {
  execFileSync(
    'sh',
    [
      '-c',
      'out="$1"; shift; exec "$@" </dev/null >>"$out" 2>&1',
      'sh',
      join(bundle.path, 'out'),
      corralBin,
      ...args,
    ],
    { timeout: 60_000, env },
  );
}

/** `restore --detach` of `images` into the bundle's own container, its stdio as `detached` gives it. */
export function restoreDetached(bundle: TestBundle, images: string, ...flags: string[]): void {
  detached(
    bundle,
    ...['--root', bundle.stateRoot, 'restore', '--detach', ...flags],
    ...['--image-path', images, '--bundle', bundle.path, bundle.id],
  );
}

/** A detached container running `args` in the network namespace at `netnsPath`, deleted after the test. */
export function runJoining(netnsPath: string, args: string[]): TestBundle {
  const spec = baseConfig(args);
  spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
    ns.type === 'network' ? { type: 'network', path: netnsPath } : ns,
  );
  const bundle = deletedAfter(makeBundle(spec));
  detached(bundle, '--root', bundle.stateRoot, 'run', '-d', '--bundle', bundle.path, bundle.id);
  return bundle;
}

export function counts(bundlePath: string): number[] {
  const file = join(bundlePath, 'data', 'count');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (let i = 0; i < timeoutMs / 10 && !predicate(); i++) await sleep(10);
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
}

export function state(stateRoot: string, id: string) {
  const result = corral(stateRoot, 'state', id);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as { status: string; pid: number; bundle: string };
}

/** The container's cgroup directories as its state.json records them. */
export function cgroupPaths(stateRoot: string, id: string): string[] {
  return Object.values(JSON.parse(readFileSync(join(stateRoot, id, 'state.json'), 'utf8')).cgroupPaths ?? {});
}

export async function startCounter(bundle: TestBundle): Promise<void> {
  detached(bundle, '--root', bundle.stateRoot, 'run', '--detach', '--bundle', bundle.path, bundle.id);
  await waitFor(() => counts(bundle.path).length >= 5, 'the counter to count');
}

export function described(pids: number[]): string[] {
  return pids.map((pid) => {
    try {
      return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')} ${readlinkSync(`/proc/${pid}/root`)} ${statSync(`/proc/${pid}/root`).ino}`;
    } catch {
      return `${pid} gone`;
    }
  });
}

/** One unbroken sequence 0, 1, 2, ...: no restart from 0 and no gap. */
export function expectUnbroken(all: number[]): void {
  expect(all).toEqual(all.map((_, i) => i));
}

/** A network namespace of `ip netns add`, removed after the test; returns its path. */
export function netns(): string {
  const name = uniqueName('ns');
  execFileSync('ip', ['netns', 'add', name], { timeout: 60_000 });
  cleanups.push(() => spawnSync('ip', ['netns', 'delete', name], { timeout: 60_000 }));
  return `/run/netns/${name}`;
}

/**
 * corral with its stdout a real pipe (Node's own 'pipe' is a socket) read by cat into `out`; the
 * exit status goes to `out.status`, stderr to `out.err`. Not waited for: a container keeps the pipe.
 */
export function corralIntoPipe(out: string, ...args: string[]): void {
  const child = spawn(
    'sh',
    [
      '-c',
      'out="$1"; shift; { "$@" 2>"$out.err" </dev/null; echo $? >"$out.status"; } | cat >"$out"',
      'sh',
      out,
      corralBin,
      ...args,
    ],
    { stdio: 'ignore', env, detached: true },
  );
  child.unref();
}

export function linesOf(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

/** A TCP client that keeps everything it receives; retries the connection until the server listens. */
export async function connectWhenListening(address: string, port: number) {
  for (let attempt = 0; ; attempt++) {
    try {
      const socket = await new Promise<Socket>((resolveSocket, reject) => {
        const s = connect(port, address, () => resolveSocket(s));
        s.once('error', reject);
      });
      let data = '';
      let closed = false;
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString();
      });
      socket.on('close', () => {
        closed = true;
      });
      return {
        socket,
        closed: () => closed,
        received: (expected: string) =>
          waitFor(() => data === expected, `the echo of ${JSON.stringify(expected)}`, 30_000),
      };
    } catch (error) {
      if (attempt >= 100) throw error;
      await sleep(50);
    }
  }
}

/** A TCP port of 127.0.0.1 that nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  await new Promise((resolve) => server.close(resolve));
  return port;
}
