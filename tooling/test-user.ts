import { execFileSync, type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { busyboxRootfs, repoRoot, tempDir, uniqueName } from './test-env.js';

/** Users made by tests: `crlt`, the maker's pid in base 36, `x`, four random characters. */
const PREFIX = 'crlt';
const NAME = /^crlt([0-9a-z]+)x[0-9a-z]{4}$/;

/** An unprivileged user that a test made, with what it needs to run corral as that user. */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** The user's home and XDG_RUNTIME_DIR (0700, the user's), in a directory the user can reach. */
  home: string;
  runtimeDir: string;
  /** A directory the user owns, for its bundles. */
  work: string;
  /** `corral` as the user can run it: Node and the built command, where the user can reach them. */
  corral: string;
  /** A copy of the busybox rootfs, owned by the user. */
  rootfs: string;
  /** The environment of a login of the user's. */
  env: NodeJS.ProcessEnv;
  /** Runs a program as the user (with a time limit, as every test spawn has). */
  run(file: string, args: readonly string[], options?: RunOptions): SpawnSyncReturns<string>;
  /** `corral ARGS...` as the user. */
  corralRun(args: readonly string[], options?: RunOptions): SpawnSyncReturns<string>;
  /**
   * A bundle of the user's, from `corral spec --rootless` as the user writes it, with the test's
   * args, no terminal, the user's rootfs and the test's changes; and a unique id for it.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a test edits config.json as loose JSON, as its own files may.
  bundle(args: string[], edit?: (config: Record<string, any>) => void): { dir: string; id: string };
  /** Kills what the user still runs, removes the user (with its subordinate ids) and its files. */
  remove(): Promise<void>;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeout?: number;
  cwd?: string;
  /**
   * What it leaves running keeps its output (`create`, `run --detach`): stdout and stderr go
   * to files, read back once the program exits, so no pipe of the test's is held open.
   */
  detached?: boolean;
}

/** The pids of every process a uid runs. */
function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}`).uid === uid) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** SIGKILL to every process of the uid, until there are none (a test user runs nothing else). */
async function killAllOf(uid: number): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = processesOf(uid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await sleep(20);
  }
}

/** useradd and userdel take /etc/passwd's lock; a parallel test may hold it for a moment. */
async function shadowTool(tool: string, args: string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const result = spawnSync(tool, args, { encoding: 'utf8', timeout: 30_000 });
    if (result.status === 0) return;
    // 10: cannot lock /etc/passwd (useradd, userdel); 8: user logged in (userdel).
    if (attempt < 20 && (result.status === 10 || result.status === 1 || result.status === 8)) {
      await sleep(100);
      continue;
    }
    throw new Error(`${tool} ${args.join(' ')}: ${result.stderr.trim() || `status ${result.status}`}`);
  }
}

/** Whether a pid names a live process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the users (and their homes) that tests of a process that has since died left behind. */
export async function removeLeftoverTestUsers(): Promise<void> {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, , , home] = line.split(':');
    const match = name ? NAME.exec(name) : null;
    if (!match || alive(Number.parseInt(match[1]!, 36))) continue;
    await killAllOf(Number(uid));
    await shadowTool('userdel', ['--remove', name!]).catch(() => undefined);
    // The home lies in the test's temporary directory: remove that whole directory.
    if (home?.endsWith('/home')) rmSync(home.slice(0, -'/home'.length), { recursive: true, force: true });
  }
}

/** A hard link where possible (the same file, no copy of 100 MB), else a copy. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    cpSync(from, to);
  }
}

/**
 * corral's built command and the Node that runs it, under `dir`, for a user who may not reach the
 * checkout (a clone under /root): the CLI's dist (one bundled file per command, @corral/native's
 * code in it) and @corral/native's package.json, addon and corral-init, which it finds by name.
 */
function reachableCorral(dir: string): string {
  const cli = join(dir, 'cli');
  // As the npm package has it: corral.cjs on that Node, without the single executable (a Node
  // copy) and the C front that hands over to it.
  const dist = join(repoRoot, 'packages/cli/dist');
  const natives = new Set([join(dist, 'corral'), join(dist, 'corral-front')]);
  cpSync(dist, join(cli, 'dist'), { recursive: true, filter: (path) => !natives.has(path) });
  cpSync(join(repoRoot, 'packages/cli/package.json'), join(cli, 'package.json'));
  const native = join(cli, 'node_modules/@corral/native');
  const nativeSource = join(repoRoot, 'packages/native');
  cpSync(join(nativeSource, 'dist'), join(native, 'dist'), { recursive: true });
  cpSync(join(nativeSource, 'package.json'), join(native, 'package.json'));
  mkdirSync(join(native, 'build/Release'), { recursive: true });
  for (const file of ['corral_native.node', 'corral-init'])
    linkOrCopy(join(nativeSource, 'build/Release', file), join(native, 'build/Release', file));
  const node = join(dir, 'node');
  linkOrCopy(process.execPath, node);
  const launcher = join(dir, 'corral');
  const { bin } = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as { bin: { corral: string } };
  writeFileSync(launcher, `#!/bin/sh\nexec ${node} ${join(cli, bin.corral)} "$@"\n`, { mode: 0o755 });
  return launcher;
}

export interface TestUserOptions {
  /** Ranges for /etc/subuid and /etc/subgid (`start`, `count`); none by default. */
  subordinate?: { start: number; count: number };
}

/**
 * Makes an unprivileged user for a test, with none of useradd's automatic subordinate ids
 * unless asked for, a home and XDG_RUNTIME_DIR in a temporary directory everyone may enter, and
 * corral where the user can run it. Leftovers of an earlier crashed run are removed first.
 */
export async function createTestUser(options: TestUserOptions = {}): Promise<TestUser> {
  await removeLeftoverTestUsers();
  const base = tempDir('user');
  chmodSync(base.path, 0o755);
  const name = `${PREFIX}${process.pid.toString(36)}x${Math.random().toString(36).slice(2, 6).padEnd(4, '0')}`;
  const home = join(base.path, 'home');
  try {
    await shadowTool('useradd', [
      '--create-home',
      '--home-dir',
      home,
      '--shell',
      '/bin/sh',
      '--user-group',
      '-K',
      'SUB_UID_COUNT=0',
      '-K',
      'SUB_GID_COUNT=0',
      name,
    ]);
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', timeout: 10_000 }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', timeout: 10_000 }).trim());
    if (options.subordinate) {
      const { start, count } = options.subordinate;
      const range = `${start}-${start + count - 1}`;
      await shadowTool('usermod', ['--add-subuids', range, '--add-subgids', range, name]);
    }
    const owned = (path: string, mode: number) => {
      mkdirSync(path, { recursive: true });
      chownSync(path, uid, gid);
      chmodSync(path, mode);
      return path;
    };
    const runtimeDir = owned(join(base.path, 'run'), 0o700);
    const work = owned(join(base.path, 'work'), 0o755);
    const rootfs = join(work, 'rootfs');
    cpSync(busyboxRootfs, rootfs, { recursive: true, verbatimSymlinks: true });
    execFileSync('chown', ['-R', '-h', `${uid}:${gid}`, rootfs], { timeout: 60_000 });
    const corral = reachableCorral(join(base.path, 'corral'));
    const env: NodeJS.ProcessEnv = {
      HOME: home,
      USER: name,
      LOGNAME: name,
      PATH: '/usr/local/bin:/usr/bin:/bin',
      XDG_RUNTIME_DIR: runtimeDir,
      LANG: 'C.UTF-8',
    };
    const run: TestUser['run'] = (file, args, runOptions = {}) => {
      const common = {
        uid,
        gid,
        cwd: runOptions.cwd ?? work,
        env: runOptions.env ?? env,
        encoding: 'utf8' as const,
        timeout: runOptions.timeout ?? 60_000,
      };
      if (!runOptions.detached) return spawnSync(file, args, { ...common, input: runOptions.input });
      const out = join(base.path, `out-${process.hrtime.bigint()}`);
      const files = [openSync(`${out}.1`, 'w'), openSync(`${out}.2`, 'w')];
      try {
        const result = spawnSync(file, args, { ...common, stdio: ['ignore', files[0]!, files[1]!] });
        return {
          ...result,
          stdout: readFileSync(`${out}.1`, 'utf8'),
          stderr: readFileSync(`${out}.2`, 'utf8'),
        };
      } finally {
        for (const fd of files) closeSync(fd);
        rmSync(`${out}.1`, { force: true });
        rmSync(`${out}.2`, { force: true });
      }
    };
    const bundle: TestUser['bundle'] = (args, edit = () => {}) => {
      const dir = join(work, uniqueName('b'));
      const spec = run('sh', ['-c', 'mkdir "$1" && "$2" spec --rootless --bundle "$1"', 'sh', dir, corral]);
      if (spec.status !== 0) throw new Error(`corral spec --rootless as ${name}: ${spec.stderr}`);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      config.process.terminal = false;
      config.process.args = args;
      config.root = { path: rootfs, readonly: false };
      edit(config);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      return { dir, id: uniqueName('rl') };
    };
    return {
      name,
      uid,
      gid,
      home,
      runtimeDir,
      work,
      corral,
      rootfs,
      env,
      run,
      corralRun: (args, runOptions) => run(corral, args, runOptions),
      bundle,
      remove: async () => {
        await killAllOf(uid);
        await shadowTool('userdel', ['--remove', name]).catch(() => undefined);
        base.remove();
      },
    };
  } catch (error) {
    if (existsSync(home)) await shadowTool('userdel', ['--remove', name]).catch(() => undefined);
    base.remove();
    throw error;
  }
}
