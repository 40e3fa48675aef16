import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExitStatus } from '@corral/native';
import { busyboxRootfs, repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';

import { expect } from 'vitest';

import { defaultSpec, type RunOptions, runContainer, type Spec } from '../../src/index.js';

export const corralBin = join(repoRoot, 'bin/corral');

/** A config for tests: runc's defaults, no terminal, a writable root, the test's own args. */
export function baseConfig(args: string[]): Spec {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = args;
  spec.root = { path: 'rootfs', readonly: false };
  spec.hostname = 'corral-test';
  // The cgroup mount waits for the cgroup manager; nothing here needs it.
  spec.mounts = spec.mounts!.filter((m) => m.type !== 'cgroup');
  return spec;
}

export interface TestBundle {
  path: string;
  rootfs: string;
  /** A state root of this bundle's own, so parallel tests never meet. */
  stateRoot: string;
  id: string;
  writeConfig(spec: unknown): void;
  remove(): void;
}

/** A bundle with its own copy of the busybox rootfs. */
export function makeBundle(spec?: Spec): TestBundle {
  if (!existsSync(join(busyboxRootfs, 'bin/probe'))) {
    throw new Error(`the test rootfs ${busyboxRootfs} has no /bin/probe: run ./tooling/setup again`);
  }
  const dir = tempDir('bundle');
  const rootfs = join(dir.path, 'rootfs');
  cpSync(busyboxRootfs, rootfs, { recursive: true, verbatimSymlinks: true });
  const stateRoot = join(dir.path, 'state');
  mkdirSync(stateRoot);
  const bundle: TestBundle = {
    path: dir.path,
    rootfs,
    stateRoot,
    id: uniqueName('t'),
    writeConfig: (value) =>
      writeFileSync(
        join(dir.path, 'config.json'),
        typeof value === 'string' ? value : JSON.stringify(value, null, 2),
      ),
    // A failed test may leave its container running: kill it before removing its rootfs.
    remove: () => {
      for (const pid of processesRootedIn(rootfs)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      dir.remove();
    },
  };
  if (spec) bundle.writeConfig(spec);
  return bundle;
}

export interface CorralResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the corral command; `onStart` gets the child to signal it. */
export function corral(
  args: string[],
  onStart?: (child: ReturnType<typeof spawn>) => void,
): Promise<CorralResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(corralBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    onStart?.(child);
  });
}

/** corral on the bundle's state root, waited for: only for commands that leave no process holding its pipes. */
export function corralSync(bundle: TestBundle, ...args: string[]) {
  return spawnSync(corralBin, ['--root', bundle.stateRoot, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
}

/** Deletes each bundle's container, in whatever state a failed test left it, and removes the bundle. */
export function disposeBundles(bundles: TestBundle[]): void {
  for (const bundle of bundles.splice(0)) {
    spawnSync(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', bundle.id], { timeout: 60_000 });
    bundle.remove();
  }
}

/**
 * A maker of bundles running `args` (with the config edited by `edit`), each listed in `made`
 * for disposeBundles.
 */
export function bundleMaker(made: TestBundle[]) {
  return (args: string[], edit?: (spec: Spec) => void): TestBundle => {
    const spec = baseConfig(args);
    edit?.(spec);
    const bundle = makeBundle(spec);
    made.push(bundle);
    return bundle;
  };
}

/** `run --detach` of the bundle's container, its output thrown away. */
export function runDetached(bundle: TestBundle): void {
  execFileSync(
    'sh',
    [
      '-c',
      'exec "$@" >/dev/null 2>&1',
      'sh',
      corralBin,
      '--root',
      bundle.stateRoot,
      'run',
      '--detach',
      '--bundle',
      bundle.path,
      bundle.id,
    ],
    { timeout: 60_000 },
  );
}

/** The container's cgroup directories, as recorded in its state. */
export function cgroupPaths(bundle: TestBundle): Record<string, string> {
  return JSON.parse(readFileSync(join(bundle.stateRoot, bundle.id, 'state.json'), 'utf8')).cgroupPaths;
}

/** `corral --root STATE run --bundle BUNDLE ID` for a test bundle. */
export function runBundle(
  bundle: TestBundle,
  onStart?: (child: ReturnType<typeof spawn>) => void,
): Promise<CorralResult> {
  return corral(['--root', bundle.stateRoot, 'run', '--bundle', bundle.path, bundle.id], onStart);
}

/**
 * Processes whose root directory is `dir` or inside it: what a failed run must not leave. A
 * process in another mount namespace shows its root as "/", so roots are compared by inode.
 */
export function processesRootedIn(dir: string): number[] {
  const target = statSync(dir);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const root = statSync(`/proc/${entry}/root`);
      if (
        (root.ino === target.ino && root.dev === target.dev) ||
        readlinkSync(`/proc/${entry}/root`).startsWith(dir)
      ) {
        pids.push(Number(entry));
      }
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

/** What tooling/rootfs/probe.c reports of the process it runs as. */
export interface ProbeReport {
  args: string[];
  pid: number;
  ppid: number;
  sid: number;
  /** Real, effective and saved ids. */
  uid: [number, number, number];
  gid: [number, number, number];
  groups: number[];
  /** Each set as /proc/self/status shows it, in hex. */
  capabilities: Record<'inheritable' | 'permitted' | 'effective' | 'bounding' | 'ambient', string>;
  noNewPrivs: boolean;
  /** 0 none, 1 strict, 2 filter. */
  seccomp: number;
  /** Descriptor number -> what it points to. */
  fds: Record<string, string>;
  cwd: string;
  hostname: string;
  domainname: string;
  /** The lines of /proc/self/cgroup. */
  cgroup: string[];
  /** The lines of /proc/self/mountinfo. */
  mountinfo: string[];
  env: string[];
  affinity: number[];
  umask: number;
  /** [soft, hard], -1 for unlimited. */
  rlimits: Record<string, [number, number]>;
  oomScoreAdj: string;
  personality: number;
  /** The policy: SCHED_OTHER 0, SCHED_BATCH 3, SCHED_IDLE 5... */
  scheduler: number;
  nice: number;
  /** class << 13 | level, as ioprio_get gives it. */
  ioPriority: number;
  /** Whether fds 0, 1 and 2 are terminals. */
  tty: [boolean, boolean, boolean];
  /** Namespace name (as in /proc/self/ns) -> `type:[inode]`. */
  namespaces: Record<string, string>;
}

/** The mount points of a mountinfo, in order. */
export function mountPoints(report: ProbeReport): string[] {
  return report.mountinfo.map((line) => line.split(' ')[4]!);
}

/** A file of the bundle that a container's stdout and stderr go to, for library tests. */
export interface Output {
  /** A descriptor for the container's stdio; this process's copy is closed by `close`. */
  fd: number;
  text(): string;
  /** Waits until the output holds a whole line (the probe's report) and parses it. */
  report(): Promise<ProbeReport>;
  close(): void;
}

export function outputFile(bundle: TestBundle, name = 'out'): Output {
  const path = join(bundle.path, name);
  const fd = openSync(path, 'w');
  let open = true;
  const text = () => readFileSync(path, 'utf8');
  return {
    fd,
    text,
    report: async () => {
      for (let i = 0; i < 1000 && !text().includes('\n'); i++) await sleep(10);
      return JSON.parse(text().split('\n')[0]!) as ProbeReport;
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/**
 * Runs the bundle's container in this process with runContainer, its stdout and stderr into
 * files of the bundle; resolves once it has ended and been torn down.
 */
export async function runInProcess(
  bundle: TestBundle,
  options: Partial<RunOptions> = {},
): Promise<{ status: ExitStatus; stdout: string; stderr: string }> {
  const stdout = outputFile(bundle, 'stdout');
  const stderr = outputFile(bundle, 'stderr');
  try {
    const running = await runContainer({
      id: bundle.id,
      bundle: bundle.path,
      root: bundle.stateRoot,
      stdio: ['ignore', stdout.fd, stderr.fd],
      ...options,
    });
    const status = await running.exited;
    return { status, stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    stdout.close();
    stderr.close();
  }
}

/** Nothing of a container left: no state directory, no cgroup directory named after it, no process. */
export function expectNothingLeft(stateRoot: string, id: string, rootfs?: string): void {
  expect(existsSync(join(stateRoot, id))).toBe(false);
  for (const hierarchy of ['pids', 'memory', 'freezer', 'unified', '']) {
    const dir = join('/sys/fs/cgroup', hierarchy);
    if (existsSync(join(dir, 'cgroup.procs')) || existsSync(join(dir, 'tasks'))) {
      expect(readdirSync(dir)).not.toContain(id);
    }
  }
  if (rootfs) expect(processesRootedIn(rootfs)).toEqual([]);
}
