import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { tempDir } from '@corral/tooling/test-env';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  baseConfig,
  corralBin,
  disposeBundles,
  makeBundle,
  type TestBundle,
} from '../../../core/test/system/bundle.js';

// A service manager's NOTIFY_SOCKET (a Python listener here) hears from the container's
// process through corral, as it would through runc.
const work = tempDir('notify');
const sdNotify = join(work.path, 'sd-notify');
const made: TestBundle[] = [];
const listeners: ChildProcess[] = [];

beforeAll(() => {
  const source = fileURLToPath(new URL('./fixtures/sd-notify.c', import.meta.url));
  execFileSync('cc', ['-static', '-O2', '-Wall', '-o', sdNotify, source], { timeout: 60_000 });
});

afterEach(() => {
  for (const listener of listeners.splice(0)) listener.kill('SIGKILL');
  disposeBundles(made);
});

afterAll(() => work.remove());

function notifyingBundle(script: string): TestBundle {
  const bundle = makeBundle(baseConfig(['sh', '-c', script]));
  copyFileSync(sdNotify, join(bundle.rootfs, 'bin/sd-notify'));
  made.push(bundle);
  return bundle;
}

/** A datagram socket like systemd's: resolves with what it heard once READY=1 arrives. */
async function listen(path: string): Promise<{ heard: Promise<string[]> }> {
  const listener = spawn(
    'python3',
    [
      '-c',
      `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    message = s.recv(4096).decode()
    print(message.strip(), flush=True)
    if "READY=1" in message.split("\\n"):
        break`,
      path,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  listeners.push(listener);
  let out = '';
  const bound = new Promise<void>((resolve) =>
    listener.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.startsWith('bound\n')) resolve();
    }),
  );
  const heard = new Promise<string[]>((resolve) =>
    listener.on('exit', () => resolve(out.split('\n').slice(1, -1))),
  );
  await bound;
  return { heard };
}

describe('NOTIFY_SOCKET', () => {
  it('run --detach returns once the process is ready, announcing it as MAINPID', async () => {
    const bundle = notifyingBundle(
      'sd-notify STATUS=starting; sleep 0.3; touch /ready-was-sent; sd-notify READY=1; sleep 60',
    );
    const socket = join(bundle.path, 'manager.sock');
    const { heard } = await listen(socket);
    execFileSync(
      corralBin,
      ['--root', bundle.stateRoot, 'run', '--detach', '--bundle', bundle.path, bundle.id],
      {
        env: { ...process.env, NOTIFY_SOCKET: socket },
        stdio: 'ignore',
        timeout: 60_000,
      },
    );
    // Written just before READY=1: run returned after it, not at start.
    expect(existsSync(join(bundle.rootfs, 'ready-was-sent'))).toBe(true);
    const { pid } = JSON.parse(readFileSync(join(bundle.stateRoot, bundle.id, 'state.json'), 'utf8'));
    expect(await heard).toEqual(['STATUS=starting', `MAINPID=${pid}`, 'READY=1']);
  });

  it('a foreground run passes READY=1 on and stays the main process', async () => {
    const bundle = notifyingBundle('sd-notify READY=1; echo "$NOTIFY_SOCKET"');
    const socket = join(bundle.path, 'manager.sock');
    const { heard } = await listen(socket);
    const result = spawnSync(
      corralBin,
      ['--root', bundle.stateRoot, 'run', '--bundle', bundle.path, bundle.id],
      {
        env: { ...process.env, NOTIFY_SOCKET: socket },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('/run/notify/notify.sock\n');
    expect(await heard).toEqual(['READY=1']);
  });

  it('start does not wait for a process that exits without notifying', () => {
    const bundle = notifyingBundle('exit 0');
    const socket = join(bundle.path, 'nobody-listens.sock');
    const run = (...args: string[]) =>
      spawnSync(corralBin, ['--root', bundle.stateRoot, ...args], {
        env: { ...process.env, NOTIFY_SOCKET: socket },
        stdio: 'ignore',
        timeout: 60_000,
      });
    expect(run('create', '--bundle', bundle.path, bundle.id).status).toBe(0);
    expect(run('start', bundle.id).status).toBe(0);
  });
});
