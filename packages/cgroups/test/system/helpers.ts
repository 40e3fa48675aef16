import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { uniqueName } from '@corral/tooling/test-env';
import { removeCgroupTree } from '../../src/cgroupfs.js';
import {
  CgroupV1Manager,
  CgroupV2Manager,
  cgroupDirectories,
  cgroupMounts,
  resolveCgroupPath,
} from '../../src/index.js';

/** Every test cgroup lives under this parent in each hierarchy. */
export const TEST_PARENT = 'corral-test';

/** An absolute cgroupsPath no other test uses. */
export function testCgroupPath(prefix: string): string {
  return `/${TEST_PARENT}/${uniqueName(prefix)}`;
}

/** The parent directories in every mounted hierarchy. */
export function testParents(): string[] {
  const mounts = cgroupMounts();
  const roots = [...new Set([...mounts.v1.values()].map((m) => m.mountpoint))];
  if (mounts.v2) roots.push(mounts.v2.mountpoint);
  return roots.map((root) => join(root, TEST_PARENT));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes cgroups that a crashed earlier run left behind: names carry the creating process's
 * pid (uniqueName), and only those whose creator is gone are touched.
 */
export async function removeLeftovers(): Promise<void> {
  for (const parent of testParents()) {
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      const pid = Number.parseInt(/^[a-z0-9]+-([a-z0-9]+)-/.exec(name)?.[1] ?? '', 36);
      if (!Number.isFinite(pid) || alive(pid)) continue;
      const dir = join(parent, name);
      const manager = new CgroupV1Manager(new Map([['cpu', dir]]));
      await manager.destroy().catch(() => removeCgroupTree(dir));
    }
  }
}

/** A v1 manager for a fresh test cgroup in every mounted v1 hierarchy. */
export function v1Manager(prefix: string): CgroupV1Manager {
  const dirs = cgroupDirectories(resolveCgroupPath({ cgroupsPath: testCgroupPath(prefix) }), cgroupMounts());
  return new CgroupV1Manager(dirs.v1);
}

/** A long sleep we own, to put in cgroups. */
export function sleeper(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('could not start sleep');
  return child as ChildProcess & { pid: number };
}

/** Resolves once a child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Leftovers gone, and the parents removed once no test of any file still uses them. */
export async function cleanupTestParents(): Promise<void> {
  await removeLeftovers();
  for (const parent of testParents()) {
    try {
      rmdirSync(parent);
    } catch {
      // Still in use by a test running in parallel, or already gone.
    }
  }
}

/** A v2 manager for a fresh test cgroup on this host's cgroup2 mount, or undefined without one. */
export function v2Manager(prefix: string): CgroupV2Manager | undefined {
  const mounts = cgroupMounts();
  if (!mounts.v2) return undefined;
  const dirs = cgroupDirectories(resolveCgroupPath({ cgroupsPath: testCgroupPath(prefix) }), mounts);
  return dirs.v2 ? new CgroupV2Manager(dirs.v2, mounts.v2.mountpoint) : undefined;
}

/** Starts a shell that waits for a line on stdin before running `script`; returns its output. */
export function gatedShell(script: string): {
  child: ChildProcess & { pid: number };
  go: () => Promise<string>;
} {
  const child = spawn('sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error('could not start sh');
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  // 'close', not 'exit': output may still be in the pipes when the shell has exited.
  const done = new Promise<string>((resolve) => child.once('close', () => resolve(output)));
  return {
    child: child as ChildProcess & { pid: number },
    go: () => {
      child.stdin?.end('go\n');
      return done;
    },
  };
}
