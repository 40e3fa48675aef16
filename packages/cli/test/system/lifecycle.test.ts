import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { repoRoot, uniqueName } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import {
  baseConfig,
  bundleMaker,
  corralBin,
  corralSync,
  disposeBundles,
  makeBundle,
  processesRootedIn,
  type TestBundle,
} from '../../../core/test/system/bundle.js';

const made: TestBundle[] = [];
afterEach(() => {
  disposeBundles(made);
});

const bundleFor = bundleMaker(made);

const corral = corralSync;

/** create (or run --detach): the container keeps the output file, not a pipe of the test's. */
function createWithOutput(bundle: TestBundle, command: 'create' | 'run' = 'create', ...flags: string[]) {
  const out = join(bundle.path, 'container.out');
  const detach = command === 'run' ? ['--detach'] : [];
  execFileSync(
    'sh',
    [
      '-c',
      'out="$1"; shift; exec "$@" </dev/null >"$out" 2>&1',
      'sh',
      out,
      corralBin,
      '--root',
      bundle.stateRoot,
      command,
      ...detach,
      ...flags,
      '--bundle',
      bundle.path,
      bundle.id,
    ],
    { timeout: 60_000 },
  );
  return out;
}

function state(bundle: TestBundle) {
  return JSON.parse(corral(bundle, 'state', bundle.id).stdout);
}

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await sleep(10);
  expect(predicate()).toBe(true);
}

describe('create, start, state, kill, delete', () => {
  it('walks a container through every status', async () => {
    const bundle = bundleFor(['sh', '-c', 'trap "exit 0" TERM; echo started; while :; do sleep 0.05; done']);
    const out = createWithOutput(bundle);
    const created = state(bundle);
    expect(created).toMatchObject({
      id: bundle.id,
      status: 'created',
      bundle: bundle.path,
      rootfs: join(bundle.path, 'rootfs'),
    });
    expect(created.pid).toBeGreaterThan(0);
    // Created means set up but not exec'd: nothing of the process has run.
    expect(readFileSync(out, 'utf8')).toBe('');

    expect(corral(bundle, 'start', bundle.id).status).toBe(0);
    await until(() => readFileSync(out, 'utf8') === 'started\n');
    expect(state(bundle)).toMatchObject({ status: 'running', pid: created.pid });
    // The leak check used after failures does see a live container.
    expect(processesRootedIn(bundle.rootfs)).toContain(created.pid);
    expect(corral(bundle, 'start', bundle.id).stderr).toMatch(/cannot start an already running container/);

    const list = corral(bundle, 'list', '--format', 'json');
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: bundle.id, status: 'running' })]);
    expect(corral(bundle, 'list', '-q').stdout).toBe(`${bundle.id}\n`);
    expect(corral(bundle, 'list').stdout).toMatch(
      new RegExp(
        `^ID\\s+PID\\s+STATUS\\s+BUNDLE\\s+CREATED\\s+OWNER\\n${bundle.id}\\s+${created.pid}\\s+running\\s`,
      ),
    );

    expect(corral(bundle, 'delete', bundle.id).stderr).toMatch(
      new RegExp(`cannot delete container ${bundle.id} that is not stopped: running`),
    );
    expect(corral(bundle, 'kill', bundle.id, 'TERM').status).toBe(0);
    await until(() => state(bundle).status === 'stopped');
    expect(state(bundle).pid).toBe(0);
    expect(corral(bundle, 'kill', bundle.id).stderr).toMatch(/container not running/);

    expect(corral(bundle, 'delete', bundle.id).status).toBe(0);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
    expect(corral(bundle, 'state', bundle.id)).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/does not exist/),
    });
  });

  it('deletes a created container, and a running one with --force, leaving no process', async () => {
    const created = bundleFor(['true']);
    createWithOutput(created);
    expect(corral(created, 'delete', created.id).status).toBe(0);
    expect(processesRootedIn(created.rootfs)).toEqual([]);

    const running = bundleFor(['sleep', '60']);
    createWithOutput(running);
    expect(corral(running, 'start', running.id).status).toBe(0);
    expect(corral(running, 'delete', '--force', running.id).status).toBe(0);
    expect(processesRootedIn(running.rootfs)).toEqual([]);
    expect(existsSync(join(running.stateRoot, running.id))).toBe(false);
  });

  it('start does not hang when the created init has died', async () => {
    const bundle = bundleFor(['true']);
    createWithOutput(bundle);
    const { pid } = state(bundle);
    process.kill(pid, 'SIGKILL');
    await until(() => state(bundle).status === 'stopped');
    expect(corral(bundle, 'start', bundle.id).stderr).toMatch(/cannot start a container that has stopped/);
  });

  it('run --detach leaves the container running', async () => {
    const bundle = bundleFor(['sh', '-c', 'echo detached; sleep 60']);
    const out = createWithOutput(bundle, 'run');
    expect(state(bundle).status).toBe('running');
    await until(() => readFileSync(out, 'utf8') === 'detached\n');
  });

  it('run --keep leaves the stopped container for delete', () => {
    const bundle = bundleFor(['sh', '-c', 'exit 7']);
    expect(corral(bundle, 'run', '--keep', '--bundle', bundle.path, bundle.id).status).toBe(7);
    expect(state(bundle).status).toBe('stopped');
    expect(corral(bundle, 'delete', bundle.id).status).toBe(0);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
  });

  it('gives the container a session keyring of its own unless --no-new-keyring', () => {
    const keyrings = (...flags: string[]) => {
      const bundle = makeBundle({
        ...baseConfig(['sh', '-c', 'grep -o " keyring *_ses[^:]*" /proc/keys; true']),
        // /proc/keys is masked by default; this test reads it.
        linux: { ...baseConfig([]).linux, maskedPaths: [] },
      });
      made.push(bundle);
      const result = corral(bundle, 'run', ...flags, '--bundle', bundle.path, bundle.id);
      expect(result.stderr).toBe('');
      return {
        id: bundle.id,
        found: result.stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(/ +/)[2]),
      };
    };
    // Root in other containers sees their keyrings too: look for this container's own.
    const fresh = keyrings();
    expect(fresh.found).toContain(`_ses.${fresh.id}`);
    const kept = keyrings('--no-new-keyring');
    expect(kept.found).not.toContain(`_ses.${kept.id}`);
  });

  it('serializes two starts racing on one container: one starts it, the other is refused', async () => {
    const bundle = bundleFor(['sleep', '60']);
    createWithOutput(bundle);
    const start = () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(corralBin, ['--root', bundle.stateRoot, 'start', bundle.id], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
    const results = await Promise.all([start(), start()]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    expect(results.find((r) => r.code === 1)?.stderr).toMatch(/cannot start an already running container/);
    expect(state(bundle).status).toBe('running');
  });

  it('kill takes signal names and numbers, and refuses unknown ones', async () => {
    const bundle = bundleFor(['sh', '-c', 'trap "exit 0" USR1; while :; do sleep 0.05; done']);
    createWithOutput(bundle);
    corral(bundle, 'start', bundle.id);
    expect(corral(bundle, 'kill', bundle.id, 'SIGFOO').stderr).toMatch(/unknown signal "SIGFOO"/);
    expect(corral(bundle, 'kill', bundle.id, '10').status).toBe(0);
    await until(() => state(bundle).status === 'stopped');
  });

  it('exec runs a process in the container, with the flags applied', async () => {
    const bundle = bundleFor(['sleep', '60']);
    createWithOutput(bundle, 'run');
    const inside = corral(
      bundle,
      'exec',
      bundle.id,
      'sh',
      '-c',
      'echo "$$ $(hostname)"; set -- /proc/[0-9]*; echo $#; exit 5',
    );
    expect(inside.status).toBe(5);
    // Not pid 1, in the container's pid and uts namespaces: sleep and this shell are all it sees
    // (a glob, not ls | grep, whose two children may or may not both exist when ls reads /proc).
    expect(inside.stdout).toMatch(/^(\d+) corral-test\n2\n$/);
    expect(inside.stdout.split(' ')[0]).not.toBe('1');
    const changed = corral(
      bundle,
      'exec',
      '-u',
      '1000:1001',
      '-g',
      '7',
      '--env',
      'X=y',
      '--cwd',
      '/tmp',
      bundle.id,
      'sh',
      '-c',
      'grep -E "^(Uid|Gid|Groups)" /proc/self/status | tr -s "\t " " "; echo $X; pwd',
    );
    expect(changed.stdout).toBe('Uid: 1000 1000 1000 1000\nGid: 1001 1001 1001 1001\nGroups: 7 \ny\n/tmp\n');
    expect(corral(bundle, 'exec', bundle.id, 'no-such-program').stderr).toMatch(
      /executable file not found in \$PATH/,
    );
  });

  it('ps lists the container processes and nothing else', async () => {
    const bundle = bundleFor(['sh', '-c', 'sleep 61 & sleep 62; wait']);
    createWithOutput(bundle, 'run');
    await until(() => JSON.parse(corral(bundle, 'ps', '--format', 'json', bundle.id).stdout).length === 3);
    const table = corral(bundle, 'ps', bundle.id, '-o', 'pid,args').stdout.split('\n');
    expect(table[0]).toMatch(/PID/);
    expect(
      table
        .slice(1)
        .filter(Boolean)
        .map((line) => line.trim().split(/\s+/).slice(1).join(' '))
        .sort(),
    ).toEqual(['sh -c sleep 61 & sleep 62; wait', 'sleep 61', 'sleep 62']);
  });

  it('exec refuses a container that is not running', () => {
    const bundle = bundleFor(['true']);
    createWithOutput(bundle);
    expect(corral(bundle, 'exec', bundle.id, 'true').stderr).toMatch(
      /cannot exec into container .*: it is created/,
    );
  });

  it('passes descriptors on with --preserve-fds and LISTEN_FDS, and nothing else', () => {
    const bundle = bundleFor(['sh', '-c', 'cat <&3; echo "$LISTEN_FDS $LISTEN_PID"; cat <&4']);
    const input = join(bundle.path, 'fd3');
    writeFileSync(input, 'through fd 3\n');
    const run = (env: NodeJS.ProcessEnv, ...flags: string[]) =>
      spawnSync(
        'sh',
        [
          '-c',
          `exec "$0" --root "$1" run ${flags.join(' ')} --bundle "$2" "$3" 3<"$4"`,
          corralBin,
          bundle.stateRoot,
          bundle.path,
          bundle.id,
          input,
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, ...env },
          timeout: 60_000,
        },
      );
    const preserved = run({}, '--preserve-fds', '1');
    expect(preserved.stdout).toBe('through fd 3\n \n');
    expect(preserved.stderr).toMatch(/4: Bad file descriptor/);
    expect(run({ LISTEN_FDS: '1' }).stdout).toBe('through fd 3\n1 1\n');
    const closed = run({});
    expect(closed.stdout).toBe(' \n');
    expect(closed.stderr).toMatch(/3: Bad file descriptor/);
  });

  it('delete --force removes what a create killed before recording its state left', () => {
    const bundle = bundleFor(['true']);
    mkdirSync(join(bundle.stateRoot, bundle.id));
    expect(corral(bundle, 'delete', '--force', bundle.id).status).toBe(0);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
  });

  it('a create killed at any moment is cleaned completely by delete --force', async () => {
    for (const delay of [0, 10, 20, 40, 60, 80, 120, 200]) {
      const bundle = bundleFor(['sleep', '60']);
      const create = spawn(
        corralBin,
        ['--root', bundle.stateRoot, 'create', '--bundle', bundle.path, bundle.id],
        {
          stdio: 'ignore',
        },
      );
      // Listening before the kill: a create that finished first has already exited.
      const exited = new Promise((resolve) => create.once('exit', resolve));
      await sleep(delay);
      create.kill('SIGKILL');
      await exited;
      expect(corral(bundle, 'delete', '--force', bundle.id).status).toBe(0);
      expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
      // A half-made container process ends by itself once its channel to the runtime closes.
      await until(() => processesRootedIn(bundle.rootfs).length === 0);
    }
  });

  it('--pidfd-socket hands over a pidfd of the init', async () => {
    const bundle = bundleFor(['sleep', '60']);
    const socketPath = join(bundle.path, 'pidfd.sock');
    // An independent receiver: Python's socket.recv_fds, reporting the pid the pidfd is for.
    const receiver = spawn('python3', [
      '-c',
      [
        'import socket, sys',
        's = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)',
        'c, _ = s.accept(); msg, fds, _, _ = socket.recv_fds(c, 64, 1)',
        'info = open(f"/proc/self/fdinfo/{fds[0]}").read()',
        'print(msg.decode(), [l.split()[1] for l in info.splitlines() if l.startswith("Pid:")][0])',
      ].join('\n'),
      socketPath,
    ]);
    let output = '';
    receiver.stdout.on('data', (d) => {
      output += d;
    });
    await until(() => output.startsWith('ready'));
    createWithOutput(bundle, 'create', '--pidfd-socket', socketPath);
    await new Promise((resolve) => receiver.once('close', resolve));
    expect(output).toBe(`ready\npidfd ${state(bundle).pid}\n`);
  });

  it('says so for a container that does not exist', () => {
    const bundle = bundleFor(['true']);
    for (const command of ['start', 'state', 'kill', 'delete']) {
      const result = corral(bundle, command, 'no-such-container');
      expect(result.status).toBe(1);
      expect(result.stderr).toBe('corral: container "no-such-container" does not exist\n');
    }
    expect(corral(bundle, 'delete', '--force', 'no-such-container').status).toBe(0);
  });
});

describe('what callers of runc rely on', () => {
  /** `delete --force` of the bundle's container, its exit status and what it said. */
  function deleteForce(bundle: TestBundle) {
    return new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', bundle.id], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
  }

  it('20 pairs of delete --force racing on one container all succeed, as with runc', async () => {
    const bundle = bundleFor(['sleep', '60']);
    for (let i = 0; i < 20; i++) {
      bundle.id = uniqueName('race');
      createWithOutput(bundle, 'run');
      const results = await Promise.all([deleteForce(bundle), deleteForce(bundle)]);
      expect(results).toEqual([
        { code: 0, stderr: '' },
        { code: 0, stderr: '' },
      ]);
      expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
    }
    expect(processesRootedIn(bundle.rootfs)).toEqual([]);
  });

  it('start, exec, checkpoint and delete exit 0 after config.json is replaced, as the OCI lifecycle asks', () => {
    const bundle = bundleFor(['sleep', '60']);
    createWithOutput(bundle);
    bundle.writeConfig({ ociVersion: '1.0.0' });
    const images = join(bundle.path, 'images');
    const env = { ...process.env, CORRAL_CRIU: join(repoRoot, 'tooling/criu/criu') };
    for (const args of [
      ['start', bundle.id],
      ['exec', bundle.id, 'true'],
      ['checkpoint', '--leave-running', '--image-path', images, bundle.id],
      ['delete', '--force', bundle.id],
    ]) {
      const result = spawnSync(corralBin, ['--root', bundle.stateRoot, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
        env,
      });
      expect({ args, status: result.status, stderr: result.stderr }).toEqual({ args, status: 0, stderr: '' });
    }
    expect(processesRootedIn(bundle.rootfs)).toEqual([]);
  });
});
