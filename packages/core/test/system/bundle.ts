import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { busyboxRootfs, repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';

import { defaultSpec, type Spec } from '../../src/index.js';

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
