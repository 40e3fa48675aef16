import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The CRIU that tooling/setup.d/20-criu.sh installs into the repository. */
export const criuPath = fileURLToPath(new URL('../../../../tooling/criu/criu', import.meta.url));

if (!existsSync(fileURLToPath(new URL('../../../../tooling/criu/prefix/usr/sbin/criu', import.meta.url)))) {
  throw new Error(
    `CRIU is not installed for the tests: run tooling/setup.d/20-criu.sh (launcher ${criuPath})`,
  );
}

/** A shell loop that appends 0, 1, 2, ... to a file, ten times a second. */
const COUNTER_SCRIPT = 'i=0; while :; do echo $i >> "$1"; i=$((i+1)); sleep 0.1; done';

export interface Counter {
  /** The pid to dump: the loop's shell. */
  pid: number;
  log: string;
  /** The process this test spawned (the shell, or `unshare` around it). */
  child: ChildProcess;
  /** Resolves once that process has exited and been reaped. */
  exited: Promise<void>;
}

/**
 * Starts the counting loop in its own session (setsid through `detached`), with no terminal,
 * so CRIU needs no shell-job handling. With `pidNamespace` the loop runs as pid 1 of a new pid
 * namespace made by `unshare -p -f`, and `pid` is its pid as seen from here.
 */
export async function startCounter(dir: string, options: { pidNamespace?: boolean } = {}): Promise<Counter> {
  const log = join(dir, 'count.log');
  const args = ['-c', COUNTER_SCRIPT, 'counter', log];
  // In a pid namespace the loop starts its own session inside it: CRIU refuses a tree whose
  // session leader is outside the tree's namespace.
  const child = options.pidNamespace
    ? spawn('unshare', ['--pid', '--fork', 'setsid', 'sh', ...args], { detached: true, stdio: 'ignore' })
    : spawn('sh', args, { detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = options.pidNamespace ? await onlyChild(child.pid!) : child.pid!;
  await waitFor(() => counts(log).length >= 3, 'the counter to start');
  return { pid, log, child, exited };
}

/** The single child of `pid` (unshare's forked child), once it exists. */
async function onlyChild(pid: number): Promise<number> {
  let found = 0;
  await waitFor(() => {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    found = Number(children[0]);
    return found > 0;
  }, `a child of ${pid}`);
  return found;
}

/** The numbers written so far, in file order. */
export function counts(log: string): number[] {
  let text: string;
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

export function lastCount(log: string): number {
  const all = counts(log);
  return all.length > 0 ? all[all.length - 1]! : -1;
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (condition()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Waits until no process uses `pid` as its pid, process group or session, so that a restore
 * can have it back. The counter's `sleep`, orphaned when CRIU kills the tree, keeps the pid in
 * use as its session id until the system's init reaps it.
 */
export async function waitForPidFree(pid: number): Promise<void> {
  await waitFor(
    () =>
      readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .every((name) => {
          try {
            const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ');
            return Number(name) !== pid && Number(fields[2]) !== pid && Number(fields[3]) !== pid;
          } catch {
            return true; // exited while we looked
          }
        }),
    `pid ${pid} to be free`,
    30_000,
  );
}

export function isAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Kills a process group (the counter and its `sleep`), ignoring one that is already gone. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Bytes of memory pages in an image directory (the pages-*.img files). */
export function pageBytes(imagesDir: string): number {
  return readdirSync(imagesDir)
    .filter((name) => /^pages-\d+\.img$/.test(name))
    .reduce((sum, name) => sum + statSync(join(imagesDir, name)).size, 0);
}

/** The pid namespace levels of a process: its pid in each namespace from ours down. */
export function namespacePids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('NSpid:'));
  return (line ?? '').replace('NSpid:', '').trim().split(/\s+/).map(Number);
}
