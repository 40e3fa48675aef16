// What the benchmarks share: a fresh work directory, the busybox bundle, the runtimes' command
// lines, a timed child process, medians and markdown tables.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';

export const repo = new URL('../..', import.meta.url).pathname;

/** Thrown where a benchmark notices Ctrl-C or a kill: its finally blocks then clean up. */
export class Interrupted extends Error {}

let interruptedBy;

/**
 * Throws Interrupted once a signal has come in. Node runs signal handlers only between tasks, so
 * this first lets them run; every loop calls it between two samples.
 */
export async function stopIfInterrupted() {
  await tick();
  if (interruptedBy) throw new Interrupted(`interrupted by ${interruptedBy}`);
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Calls fn with a new directory of its own, removed afterwards even when fn throws or a signal
 * comes in: nothing from an earlier run that crashed can collide with what this one makes, and
 * fn's own finally blocks delete its containers before the directory with their state goes. A
 * second signal ends the process at once.
 */
export async function withWorkDir(prefix, fn) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const onSignal = (signal) => {
    interruptedBy = signal;
  };
  for (const signal of SIGNALS) process.once(signal, onSignal);
  try {
    return await fn(work);
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    console.error(`\n${error.message}: containers and ${work} removed`);
    process.exitCode = 128 + constants.signals[interruptedBy];
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    rmSync(work, { recursive: true, force: true });
  }
}

/** A bundle in dir: the test busybox rootfs and the demo config, with args as its process. */
export function makeBundle(dir, args) {
  cpSync(join(repo, 'tooling/rootfs/out/busybox'), join(dir, 'rootfs'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  const config = JSON.parse(readFileSync(join(repo, 'examples/demo/config.json'), 'utf8'));
  config.process.args = args;
  config.process.terminal = false;
  // Debian's crun 1.8 refuses ociVersion 1.2.0 ("unknown version specified"); nothing here needs it.
  config.ociVersion = '1.0.2';
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** The runtimes compared: argv(root, args) is one command with its state under root. */
export const runtimes = [
  {
    name: 'corral',
    label: 'corral',
    argv: (root, args) => [join(repo, 'bin/corral'), '--root', root, ...args],
  },
  { name: 'runc', label: 'runc', argv: (root, args) => ['runc', '--root', root, ...args] },
  // crun refuses hybrid cgroups; in a mount namespace without the unified mount it sees a v1
  // host and runs. The wrapper's cost (unshare, sh, umount) is part of its time.
  {
    name: 'crun',
    label: 'crun (in unshare -m without the cgroup2 mount)',
    argv: (root, args) => [
      'unshare',
      '-m',
      'sh',
      '-c',
      'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"',
      'crun',
      '--root',
      root,
      ...args,
    ],
  },
];

/**
 * Runs argv to its end; its wall time in ms and, when it failed, what it said on stderr. stdin and
 * stdout are /dev/null; pass stdio to change that.
 */
export function timed(argv, options = {}) {
  const [cmd, ...args] = argv;
  const start = process.hrtime.bigint();
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return {
    ok: result.status === 0,
    ms,
    error: result.error?.message ?? result.stderr?.toString().trim() ?? '',
  };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A markdown table under a title: the first column left-aligned, the others right-aligned. */
export function printTable(title, header, rows) {
  console.log(`\n${title}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(
    `|---|${header
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
  );
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

export const ms = (x) => x.toFixed(1);

/**
 * `runs` rounds of once(runtime, i), runtimes alternating so that all see the same machine, after
 * `warmups` rounds that are not counted: label -> wall ms of each run.
 */
export async function alternate(runtimesToTime, once, runs, warmups) {
  const samples = new Map(runtimesToTime.map((r) => [r.label, []]));
  for (let i = -warmups; i < runs; i++) {
    for (const r of runtimesToTime) {
      const sample = once(r, i < 0 ? `warm${-i}` : i);
      await stopIfInterrupted();
      if (!sample.ok) throw new Error(`${r.label} run ${i} failed: ${sample.error}`);
      if (i >= 0) samples.get(r.label).push(sample.ms);
    }
  }
  return samples;
}

/** The library: containers of `bundle` one after another from this Node process, no start-up per run. */
export async function timeLibrary(bundle, work, runs, warmups) {
  const core = await import(join(repo, 'packages/core/dist/index.js'));
  const times = [];
  for (let i = 0; i < runs + warmups; i++) {
    await stopIfInterrupted();
    const start = process.hrtime.bigint();
    const container = await core.runContainer({
      id: `lib-${i}`,
      bundle,
      root: join(work, 'state-lib'),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await container.exited;
    if (i >= warmups) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}
