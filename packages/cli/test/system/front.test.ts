// corral-front, the command line's C front, on the real kernel: what it does itself (start, kill,
// delete, state and checkpoint of a plain container) and what it hands to the Node command line. A copy of it runs
// here with a stand-in for the single executable beside it, which records the arguments it was
// handed and exits 97, so each case shows which of the two did the work.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { repoRoot, tempDir } from '@corral/tooling/test-env';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Spec } from '../../../core/src/spec/types.js';
import {
  bundleMaker,
  cgroupPaths,
  corralBin,
  corralSync,
  disposeBundles,
  expectNothingLeft,
  processesRootedIn,
  runDetached,
  type TestBundle,
} from '../../../core/test/system/bundle.js';
import { env as criuEnv, takeTurnsWithCriu } from '../../../core/test/system/checkpoint-harness.js';
import { MINIMUM_CRIU_VERSION } from '../../../criu/src/client.js';
import { rememberVersion } from '../../../criu/src/version-file.js';

const HANDED_OVER = 97;
const builtFront = join(repoRoot, 'packages/cli/dist/corral-front');

const made: TestBundle[] = [];
afterEach(() => disposeBundles(made));
const bundleFor = bundleMaker(made);

const dir = tempDir('front');
afterAll(() => dir.remove());
const front = join(dir.path, 'corral-front');
const handedOver = join(dir.path, 'handed-over');
copyFileSync(builtFront, front);
execFileSync('chmod', ['0755', front]);
writeFileSync(
  join(dir.path, 'corral'),
  `#!/bin/sh\nprintf '%s\\n' "$0" "$@" > ${handedOver}\nexit ${HANDED_OVER}\n`,
  { mode: 0o755 },
);

/** The front on the bundle's state root: its exit status, and the arguments it handed over (if it did). */
function runFront(bundle: TestBundle, ...args: string[]) {
  return runFrontWith(process.env, bundle, ...args);
}

function runFrontWith(env: NodeJS.ProcessEnv, bundle: TestBundle, ...args: string[]) {
  spawnSync('rm', ['-f', handedOver]);
  const result = spawnSync(front, ['--root', bundle.stateRoot, ...args], {
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  const handed = existsSync(handedOver)
    ? readFileSync(handedOver, 'utf8').split('\n').slice(1, -1)
    : undefined;
  return { status: result.status, stderr: result.stderr, handed };
}

/** create, the container's output into a file: it must not hold a pipe of the test's. */
function create(bundle: TestBundle) {
  const out = join(bundle.path, 'create.out');
  const args = ['--root', bundle.stateRoot, 'create', '--bundle', bundle.path, bundle.id];
  const result = spawnSync('sh', [
    '-c',
    'out="$1"; shift; exec "$@" </dev/null >"$out" 2>&1',
    'sh',
    out,
    corralBin,
    ...args,
  ]);
  expect(result.status, readFileSync(out, 'utf8')).toBe(0);
}

function status(bundle: TestBundle): string {
  return JSON.parse(corralSync(bundle, 'state', bundle.id).stdout).status;
}

/** Waits (up to 2 s) for what a process's exit makes true. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(10);
  expect(done()).toBe(true);
}

const planFile = (bundle: TestBundle) => join(bundle.stateRoot, bundle.id, 'front');

describe.skipIf(!existsSync(builtFront))('corral-front', () => {
  it('starts a plain container itself, and deletes it with --force, leaving nothing', () => {
    const bundle = bundleFor(['sleep', '1000']);
    create(bundle);
    expect(readFileSync(planFile(bundle), 'utf8')).toMatch(/^corral-front 1\npid \d+\n/);
    const paths = Object.values(cgroupPaths(bundle));
    expect(paths.length).toBeGreaterThan(0);

    expect(runFront(bundle, 'start', bundle.id)).toMatchObject({ status: 0, handed: undefined });
    expect(status(bundle)).toBe('running');
    expect(processesRootedIn(bundle.rootfs)).toHaveLength(1);

    expect(runFront(bundle, 'delete', '--force', bundle.id)).toMatchObject({ status: 0, handed: undefined });
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
    for (const path of paths) expect(existsSync(path)).toBe(false);
  });

  it('deletes a container whose process has exited, and a created one, without --force', async () => {
    const exited = bundleFor(['true']);
    runDetached(exited);
    await until(() => status(exited) === 'stopped');
    expect(runFront(exited, 'delete', exited.id)).toMatchObject({ status: 0, handed: undefined });
    expectNothingLeft(exited.stateRoot, exited.id, exited.rootfs);

    const created = bundleFor(['sleep', '1000']);
    create(created);
    expect(runFront(created, 'delete', created.id)).toMatchObject({ status: 0, handed: undefined });
    expectNothingLeft(created.stateRoot, created.id, created.rootfs);
  });

  it('hands over what runc answers in words, changing nothing first', () => {
    const bundle = bundleFor(['sleep', '1000']);
    runDetached(bundle);
    // A running container is not deleted without --force, nor started again.
    expect(runFront(bundle, 'delete', bundle.id)).toMatchObject({
      status: HANDED_OVER,
      handed: ['--root', bundle.stateRoot, 'delete', bundle.id],
    });
    expect(runFront(bundle, 'start', bundle.id).status).toBe(HANDED_OVER);
    expect(status(bundle)).toBe('running');
    // A paused one needs thawing after its SIGKILL: the command line does that.
    expect(corralSync(bundle, 'pause', bundle.id).status).toBe(0);
    expect(runFront(bundle, 'delete', '--force', bundle.id).status).toBe(HANDED_OVER);
    expect(status(bundle)).toBe('paused');
    expect(corralSync(bundle, 'delete', '--force', bundle.id).status).toBe(0);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });

  it('shows state as the command line shows it, in every status', async () => {
    const annotated = bundleFor(['sleep', '1000'], (spec) => {
      spec.annotations = { 'org.example/quoted': 'a "b" \\ c\n', unicode: 'ü ✓', braces: '{[,:]}' };
    });
    const bare = bundleFor(['sleep', '1000'], (spec) => {
      spec.annotations = {};
    });
    const node = join(repoRoot, 'packages/cli/dist/corral');
    const same = (bundle: TestBundle, expected: string) => {
      const args = ['--root', bundle.stateRoot, 'state', bundle.id];
      const fromNode = spawnSync(node, args, { encoding: 'utf8' }).stdout;
      expect(JSON.parse(fromNode).status).toBe(expected);
      expect(runFront(bundle, 'state', bundle.id)).toMatchObject({ status: 0, handed: undefined });
      expect(spawnSync(front, args, { encoding: 'utf8' }).stdout).toBe(fromNode);
    };
    for (const bundle of [annotated, bare]) {
      create(bundle);
      same(bundle, 'created');
      expect(corralSync(bundle, 'start', bundle.id).status).toBe(0);
      same(bundle, 'running');
      expect(corralSync(bundle, 'pause', bundle.id).status).toBe(0);
      same(bundle, 'paused');
      expect(corralSync(bundle, 'resume', bundle.id).status).toBe(0);
      expect(corralSync(bundle, 'kill', bundle.id, 'KILL').status).toBe(0);
      await until(() => JSON.parse(corralSync(bundle, 'state', bundle.id).stdout).status === 'stopped');
      same(bundle, 'stopped');
    }
  });

  it('lists as the command line lists, in every status and format, while every container has a plan', async () => {
    // An annotation named owner: the top-level owner the front fills in is the one before it.
    const annotate = (spec: Spec) => {
      spec.annotations = { 'org.example/quoted': 'a "b" \\ c\n', owner: '' };
    };
    const [created, running, paused, stopped] = [1, 2, 3, 4].map(() =>
      bundleFor(['sleep', '1000'], annotate),
    );
    for (const bundle of [running, paused, stopped]) bundle!.stateRoot = created!.stateRoot;
    create(created!);
    for (const bundle of [running, paused, stopped]) runDetached(bundle!);
    expect(corralSync(paused!, 'pause', paused!.id).status).toBe(0);
    expect(corralSync(stopped!, 'kill', stopped!.id, 'KILL').status).toBe(0);
    await until(() => status(stopped!) === 'stopped');
    const node = join(repoRoot, 'packages/cli/dist/corral');
    const same = (root: string, ...args: string[]) => {
      const argv = ['--root', root, ...args];
      const fromNode = spawnSync(node, argv, { encoding: 'utf8' });
      expect(fromNode.status).toBe(0);
      expect(runFront({ ...created!, stateRoot: root }, ...args)).toMatchObject({
        status: 0,
        handed: undefined,
      });
      expect(spawnSync(front, argv, { encoding: 'utf8' }).stdout, args.join(' ')).toBe(fromNode.stdout);
      return fromNode.stdout;
    };
    const table = same(created!.stateRoot, 'list');
    const statuses = table
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/ +/)[2]);
    expect(statuses.sort()).toEqual(['created', 'paused', 'running', 'stopped']);
    same(created!.stateRoot, 'list', '--format', 'json');
    same(created!.stateRoot, 'list', '--format=table');
    same(created!.stateRoot, 'list', '-q');
    same(created!.stateRoot, 'list', '-f', 'json', '--quiet');
    const empty = join(dir.path, 'empty-root');
    mkdirSync(empty, { mode: 0o700 });
    same(empty, 'list');

    // One container without a plan, and the whole list is the command line's.
    const hooked = bundleFor(['sleep', '1000'], (spec) => {
      spec.hooks = { poststop: [{ path: '/bin/true' }] };
    });
    hooked.stateRoot = created!.stateRoot;
    create(hooked);
    for (const args of [['list'], ['list', '--format', 'yaml'], ['list', 'extra']])
      expect(runFront(created!, ...args)).toMatchObject({
        status: HANDED_OVER,
        handed: ['--root', created!.stateRoot, ...args],
      });
  });

  it('signals the init itself, and hands over what the command line words or thaws', async () => {
    const bundle = bundleFor(['sleep', '1000']);
    runDetached(bundle);
    for (const args of [
      ['kill', '--all', bundle.id, 'KILL'],
      ['kill', bundle.id, 'NOSUCH'],
      ['kill', bundle.id, '65'],
    ])
      expect(runFront(bundle, ...args), args.join(' ')).toMatchObject({ status: HANDED_OVER });
    expect(runFront(bundle, 'kill', bundle.id, 'cont')).toMatchObject({ status: 0, handed: undefined });
    expect(corralSync(bundle, 'pause', bundle.id).status).toBe(0);
    expect(runFront(bundle, 'kill', bundle.id, 'SIGKILL').status).toBe(HANDED_OVER);
    expect(corralSync(bundle, 'resume', bundle.id).status).toBe(0);
    expect(runFront(bundle, 'kill', bundle.id, '9')).toMatchObject({ status: 0, handed: undefined });
    await until(() => status(bundle) === 'stopped');
    // runc's "container not running" is the command line's to say.
    expect(runFront(bundle, 'kill', bundle.id, 'KILL').status).toBe(HANDED_OVER);
  });

  it('hands over every command, flag and container it does not do itself', () => {
    const bundle = bundleFor(['sleep', '1000']);
    create(bundle);
    const cases = [
      ['ps', bundle.id],
      ['state', '--all', bundle.id],
      ['--debug', 'start', bundle.id],
      ['--log-format', 'yaml', 'start', bundle.id],
      ['start', '--extra', bundle.id],
      ['start', bundle.id, 'another'],
      ['delete', '--force=true', bundle.id],
      ['start', 'no-such-container'],
      ['start', '../escape'],
      ['--root', `${bundle.stateRoot}/../state`, 'state', bundle.id],
    ];
    for (const args of cases) {
      expect(runFront(bundle, ...args), args.join(' ')).toMatchObject({
        status: HANDED_OVER,
        handed: ['--root', bundle.stateRoot, ...args],
      });
    }
    // A start with a notify socket waits for the process's READY=1, as the command line's does.
    const notifying = { ...process.env, NOTIFY_SOCKET: join(dir.path, 'notify.sock') };
    expect(runFrontWith(notifying, bundle, 'start', bundle.id).status).toBe(HANDED_OVER);
    expect(status(bundle)).toBe('created');
    // A directory inside the container's (the notify socket's) is the command line's to remove.
    mkdirSync(join(bundle.stateRoot, bundle.id, 'notify'));
    expect(runFront(bundle, 'delete', '--force', bundle.id).status).toBe(HANDED_OVER);
    expect(status(bundle)).toBe('created');
  });

  it('hands over a start whose init died before it', () => {
    const bundle = bundleFor(['sleep', '1000']);
    create(bundle);
    const [pid] = processesRootedIn(bundle.rootfs);
    process.kill(pid!, 'SIGKILL');
    expect(runFront(bundle, 'start', bundle.id).status).toBe(HANDED_OVER);
    const start = corralSync(bundle, 'start', bundle.id);
    expect(start.stderr).toContain('cannot start a container that has stopped');
  });

  it('makes no plan for a container with hooks, or without a pid namespace of its own', () => {
    const hooked = bundleFor(['sleep', '1000'], (spec) => {
      spec.hooks = { poststop: [{ path: '/bin/true' }] };
    });
    create(hooked);
    expect(existsSync(planFile(hooked))).toBe(false);
    expect(runFront(hooked, 'start', hooked.id).status).toBe(HANDED_OVER);

    const shared = bundleFor(['sleep', '1000'], (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'pid');
    });
    create(shared);
    expect(existsSync(planFile(shared))).toBe(false);
  });

  it('is what bin/corral runs for start, kill, state and delete', () => {
    const bundle = bundleFor(['sleep', '1000']);
    create(bundle);
    // The Node command line keeps a code cache of each command it ran; the front has none.
    const cache = join(dir.path, 'cache');
    mkdirSync(cache, { mode: 0o700 });
    const withCache = (...args: string[]) =>
      spawnSync(corralBin, ['--root', bundle.stateRoot, ...args], {
        encoding: 'utf8',
        env: { ...process.env, CORRAL_CACHE_DIR: cache },
      });
    expect(withCache('start', bundle.id).status).toBe(0);
    expect(withCache('kill', bundle.id, 'CONT').status).toBe(0);
    expect(JSON.parse(withCache('state', bundle.id).stdout).status).toBe('running');
    expect(withCache('delete', '--force', bundle.id).status).toBe(0);
    expect(readdirSync(cache)).toEqual([]);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
    expect(withCache('features').status).toBe(0);
    expect(readdirSync(cache)).not.toEqual([]);
  });

  describe('checkpoint', () => {
    takeTurnsWithCriu();
    // The version the command line keeps of the criu binary, in a cache of this file's own.
    const cache = join(dir.path, 'checkpoint-cache');
    const withCache = { ...criuEnv, CORRAL_CACHE_DIR: cache };
    const node = join(repoRoot, 'packages/cli/dist/corral');
    const nodeCommand = (bundle: TestBundle, ...args: string[]) =>
      spawnSync(node, ['--root', bundle.stateRoot, ...args], {
        encoding: 'utf8',
        env: withCache,
        timeout: 60_000,
      });

    it('dumps a plain container as the command line does, once it knows the CRIU, images that restore', () => {
      const bundle = bundleFor(['sleep', '1000']);
      create(bundle);
      expect(corralSync(bundle, 'start', bundle.id).status).toBe(0);
      expect(readFileSync(planFile(bundle), 'utf8')).toMatch(/^criu-root \/.*\n(.*\n)*criu-config /m);
      const images = (name: string) => join(bundle.path, name);

      // Until the command line has asked criu its version, the front does not trust the binary.
      const args = ['checkpoint', '--leave-running', '--image-path', images('by-node'), bundle.id];
      expect(runFrontWith(withCache, bundle, ...args)).toMatchObject({
        status: HANDED_OVER,
        handed: ['--root', bundle.stateRoot, ...args],
      });
      expect(existsSync(images('by-node'))).toBe(false);
      expect(nodeCommand(bundle, ...args)).toMatchObject({ status: 0, stderr: '' });
      expect(readdirSync(join(cache, 'criu'))).toEqual(['version.json']);

      // The same container dumped by the front: the same stdio keys (its output is a host file, external).
      const byFront = ['checkpoint', '--leave-running', `--image-path=${images('by-front')}`, bundle.id];
      expect(runFrontWith(withCache, bundle, ...byFront)).toMatchObject({ status: 0, handed: undefined });
      const descriptors = (name: string) => readFileSync(join(images(name), 'descriptors.json'), 'utf8');
      expect(descriptors('by-front')).toBe(descriptors('by-node'));
      expect(descriptors('by-front')).toMatch(/^\["file\[[0-9a-f]+:[0-9a-f]+\]"/);
      expect(status(bundle)).toBe('running');

      // Without --leave-running the container goes, as delete would take it; the images bring it back.
      const paths = Object.values(cgroupPaths(bundle));
      const last = ['checkpoint', '--image-path', images('last'), '--work-path', images('work'), bundle.id];
      expect(runFrontWith(withCache, bundle, ...last)).toMatchObject({ status: 0, handed: undefined });
      expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
      for (const path of paths) expect(existsSync(path)).toBe(false);
      expect(readdirSync(images('work'))).toContain('dump.log');
      const restore = [
        'restore',
        '--detach',
        '--image-path',
        images('last'),
        '--bundle',
        bundle.path,
        bundle.id,
      ];
      // CRIU takes a host file back only as what it was at the dump: a regular file, as long.
      const out = join(bundle.path, 'restore.out');
      const restored = spawnSync(
        'sh',
        [
          '-c',
          'out="$1"; shift; exec "$@" </dev/null >"$out" 2>&1',
          'sh',
          out,
          node,
          '--root',
          bundle.stateRoot,
          ...restore,
        ],
        { env: withCache },
      );
      expect(restored.status, readFileSync(out, 'utf8')).toBe(0);
      expect(status(bundle)).toBe('running');
      expect(processesRootedIn(bundle.rootfs)).toHaveLength(1);
    });

    it('hands over the flags, statuses and binaries it does not take, changing nothing', () => {
      const bundle = bundleFor(['sleep', '1000']);
      create(bundle);
      const images = join(bundle.path, 'images');
      const handedCases = [
        ['checkpoint', '--pre-dump', '--image-path', images, bundle.id],
        ['checkpoint', '--manage-cgroups-mode', 'soft', '--image-path', images, bundle.id],
        ['checkpoint', '--leave-running=true', '--image-path', images, bundle.id],
        ['checkpoint', '--image-path', '', bundle.id],
        ['checkpoint', '--image-path', images, bundle.id, 'another'],
        ['--criu', '/nonexistent/criu', 'checkpoint', '--image-path', images, bundle.id],
      ];
      const expectHandedOver = (args: string[]) =>
        expect(runFrontWith(withCache, bundle, ...args), args.join(' ')).toMatchObject({
          status: HANDED_OVER,
          handed: ['--root', bundle.stateRoot, ...args],
        });
      // A created container is the command line's to refuse, a paused one's teardown to thaw.
      expectHandedOver(['checkpoint', '--image-path', images, bundle.id]);
      expect(corralSync(bundle, 'start', bundle.id).status).toBe(0);
      for (const args of handedCases) expectHandedOver(args);
      expect(corralSync(bundle, 'pause', bundle.id).status).toBe(0);
      expectHandedOver(['checkpoint', '--image-path', images, bundle.id]);
      expect(status(bundle)).toBe('paused');
      expect(existsSync(images)).toBe(false);
    });

    it('leaves a dump CRIU fails to the command line, the container running as it was', () => {
      const bundle = bundleFor(['sleep', '1000']);
      runDetached(bundle);
      // A criu that the kept version vouches for but that exits without answering.
      const failing = join(dir.path, 'failing-criu');
      writeFileSync(failing, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      mkdirSync(join(cache, 'criu'), { recursive: true, mode: 0o700 });
      const versionFile = join(cache, 'criu', 'version.json');
      const kept = existsSync(versionFile) ? readFileSync(versionFile) : undefined;
      rememberVersion(versionFile, failing, { ...MINIMUM_CRIU_VERSION, text: '3.16.0' });
      try {
        const args = [
          '--criu',
          failing,
          'checkpoint',
          '--image-path',
          join(bundle.path, 'images'),
          bundle.id,
        ];
        expect(runFrontWith(withCache, bundle, ...args)).toMatchObject({
          status: HANDED_OVER,
          handed: ['--root', bundle.stateRoot, ...args],
        });
      } finally {
        if (kept) writeFileSync(versionFile, kept);
      }
      expect(status(bundle)).toBe('running');
      expect(processesRootedIn(bundle.rootfs)).toHaveLength(1);
    });

    it("leaves what its teardown cannot finish to the command line's delete --force", () => {
      const bundle = bundleFor(['sleep', '1000']);
      // Its stdio all host files: CRIU dumps no socket to the outside without --ext-unix-sk.
      create(bundle);
      expect(corralSync(bundle, 'start', bundle.id).status).toBe(0);
      // A cgroup below the container's: the front removes only bare ones.
      const [first] = Object.values(cgroupPaths(bundle));
      const below = join(first!, 'below');
      mkdirSync(below);
      const images = join(bundle.path, 'images');
      expect(runFrontWith(withCache, bundle, 'checkpoint', '--image-path', images, bundle.id)).toMatchObject({
        status: HANDED_OVER,
        handed: ['--root', bundle.stateRoot, 'delete', '--force', bundle.id],
      });
      expect(existsSync(join(images, 'inventory.img'))).toBe(true);
      expect(processesRootedIn(bundle.rootfs)).toEqual([]);
      expect(corralSync(bundle, 'delete', '--force', bundle.id).status).toBe(0);
      expect(existsSync(below)).toBe(false);
      expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
    });
  });

  it("keeps client.ts's minimum CRIU version", () => {
    const source = readFileSync(join(repoRoot, 'packages/cli/src/front/criu.c'), 'utf8');
    const { major, minor, sublevel } = MINIMUM_CRIU_VERSION;
    expect(source).toContain(`MINIMUM_CRIU_VERSION[3] = {${major}, ${minor}, ${sublevel}};`);
  });
});
