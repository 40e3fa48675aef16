import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { errnoCode, systemError } from './errors.js';
import { readCgroupFile, sleep } from './files.js';

/** The pids in a cgroup's cgroup.procs (an empty list when the cgroup is gone). */
export function readProcs(dir: string): number[] {
  let text: string;
  try {
    text = readCgroupFile(dir, 'cgroup.procs');
  } catch (error) {
    if (errnoCode((error as Error).cause) === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => Number(line));
}

/** The cgroup and every cgroup below it, deepest first (the order rmdir needs). */
export function descendantsDeepestFirst(dir: string): string[] {
  const result: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw systemError('list', dir, error);
  }
  for (const name of entries) result.push(...descendantsDeepestFirst(join(dir, name)));
  result.push(dir);
  return result;
}

/** Every pid in a cgroup, and with `recursive` in the cgroups below it. */
export function collectPids(dir: string, recursive: boolean): number[] {
  const dirs = recursive ? descendantsDeepestFirst(dir).reverse() : [dir];
  return dirs.flatMap(readProcs);
}

/**
 * Creates a cgroup directory and any missing parents; returns the directories it made, top
 * first, so a failure later can remove exactly those.
 */
export function makeCgroupDir(dir: string, attempts = 3): string[] {
  const created: string[] = [];
  const missing: string[] = [];
  let probe = dir;
  for (;;) {
    try {
      readdirSync(probe);
      break;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw systemError('open', probe, error);
      missing.unshift(probe);
      const parent = join(probe, '..');
      if (parent === probe) break;
      probe = parent;
    }
  }
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (error) {
      // A parent removed between our look and our mkdir (another process cleaning up): look again.
      if (errnoCode(error) === 'ENOENT' && attempts > 1)
        return [...created, ...makeCgroupDir(dir, attempts - 1)];
      if (errnoCode(error) !== 'EEXIST') throw systemError('create', path, error);
      continue;
    }
    created.push(path);
  }
  return created;
}

/**
 * Removes a cgroup and the cgroups below it. EBUSY (a process still leaving, a css still
 * being released) is retried with backoff for up to `timeoutMs`, then reported.
 */
export async function removeCgroupTree(dir: string, timeoutMs = 5000): Promise<void> {
  for (const path of descendantsDeepestFirst(dir)) {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
      try {
        rmdirSync(path);
        break;
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || Date.now() > deadline) throw systemError('remove', path, error);
      }
      await sleep(delay);
    }
  }
}

/** Polls `done` with backoff until it is true or the time is up. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (done()) return true;
    if (Date.now() > deadline) return false;
    await sleep(delay);
  }
}

/** SIGKILL to every pid listed; pids that are already gone are skipped. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if (errnoCode(error) !== 'ESRCH') throw systemError('kill', String(pid), error);
    }
  }
}
