import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import protobuf from 'protobufjs/minimal.js';

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

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port from listen(0)');
  return address.port;
}

/**
 * Kills the criu processes whose command line (CRIU retitles its workers, e.g.
 * `criu: page-server --rpc --address 127.0.0.1 --port 4321`) contains `part`: what a failed
 * test may leave, a page server or a lazy dump that still waits for its reader.
 */
export function killCriuMatching(part: string): void {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes('criu') && cmdline.includes(part)) process.kill(Number(name), 'SIGKILL');
    } catch {
      // exited while we looked
    }
  }
}

/** A StatsEntry.dump of a stats-dump image: what CRIU counted while dumping memory. */
export interface DumpStats {
  pagesScanned: number;
  pagesSkippedParent: number;
  pagesWritten: number;
  pagesLazy: number;
}

/**
 * Reads `stats-dump` of an image directory: two magic words, then one entry (a 32-bit
 * little-endian length and a StatsEntry protobuf whose field 1 is the dump's statistics).
 */
export function dumpStats(imagesDir: string): DumpStats {
  const image = readFileSync(join(imagesDir, 'stats-dump'));
  const size = image.readUInt32LE(8);
  const entry = fields(image.subarray(12, 12 + size));
  const dump = entry.get(1);
  if (!(dump instanceof Uint8Array)) throw new Error(`${imagesDir}/stats-dump has no dump statistics`);
  const stats = fields(dump);
  const count = (field: number) => Number(stats.get(field) ?? 0);
  return {
    pagesScanned: count(5),
    pagesSkippedParent: count(6),
    pagesWritten: count(7),
    pagesLazy: count(9),
  };
}

/** The varint and length-delimited fields of a protobuf message, by field number. */
function fields(bytes: Uint8Array): Map<number, bigint | Uint8Array> {
  const out = new Map<number, bigint | Uint8Array>();
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const type = tag & 7;
    if (type === 0) out.set(tag >>> 3, BigInt(reader.uint64().toString()));
    else if (type === 2) out.set(tag >>> 3, reader.bytes());
    else reader.skipType(type);
  }
  return out;
}
