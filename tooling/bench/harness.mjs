// What the benchmarks share: a fresh work directory, the busybox bundle, the runtimes' command
// lines, a timed child process, one helper per kind of measurement (wall time, peak RSS, a
// waiting init's RSS, corral's timing marks), medians and markdown tables.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
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

/**
 * A bundle in dir: the test busybox rootfs and the demo config, with args as its process (and
 * `seccomp` as its linux.seccomp, when given). Give each runtime's bundle its own cgroupsPath:
 * two containers of one path share a cgroup.
 */
export function makeBundle(dir, args, { cgroupsPath, seccomp } = {}) {
  cpSync(join(repo, 'tooling/rootfs/out/busybox'), join(dir, 'rootfs'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  const config = JSON.parse(readFileSync(join(repo, 'examples/demo/config.json'), 'utf8'));
  config.process.args = args;
  config.process.terminal = false;
  // Debian's crun 1.8 refuses ociVersion 1.2.0 ("unknown version specified"); nothing here needs it.
  config.ociVersion = '1.0.2';
  if (cgroupsPath) config.linux.cgroupsPath = cgroupsPath;
  if (seccomp) config.linux.seccomp = seccomp;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/**
 * The runtimes compared: argv(root, args) is one command with its state under root; bin, where
 * there is one, is the executable that podman can be given as --runtime.
 */
export const runtimes = [
  {
    name: 'corral',
    label: 'corral',
    bin: join(repo, 'bin/corral'),
    argv: (root, args) => [join(repo, 'bin/corral'), '--root', root, ...args],
  },
  { name: 'runc', label: 'runc', bin: 'runc', argv: (root, args) => ['runc', '--root', root, ...args] },
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

/** The runtime that ratios are taken against. */
export const BASE = 'runc';

/** What a failed child said: its error, the first line of its stderr, or how it ended. */
function failure(result) {
  if (result.error) return result.error.message;
  const said = result.stderr?.toString().trim().split('\n')[0];
  return said || (result.signal ? `killed by ${result.signal}` : `exit status ${result.status}`);
}

/**
 * Runs argv to its end: its wall time in ms, when it started (ms since the epoch, the clock of
 * performance.timeOrigin), its stdout when asked for (stdout: 'pipe') and, when it failed, what
 * it said. stdin and stdout are /dev/null. A command that leaves a process behind (run --detach,
 * create) says so with leavesProcess: its stderr then goes to an unlinked file, as a pipe would
 * keep this wait open as long as the container lives. A command still running after a minute
 * fails.
 */
export function timed(argv, { stdout = 'ignore', leavesProcess = false, ...options } = {}) {
  const [cmd, ...args] = argv;
  const stderr = leavesProcess ? unlinkedFile() : 'pipe';
  try {
    const startedAt = performance.timeOrigin + performance.now();
    const start = process.hrtime.bigint();
    const result = spawnSync(cmd, args, { stdio: ['ignore', stdout, stderr], timeout: 60_000, ...options });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const ok = result.status === 0;
    if (leavesProcess && !ok) result.stderr = readAll(stderr);
    return { ok, ms, startedAt, stdout: result.stdout?.toString() ?? '', error: ok ? '' : failure(result) };
  } finally {
    if (leavesProcess) closeSync(stderr);
  }
}

/** A descriptor of a file that is already gone from its directory: nothing is left to remove. */
function unlinkedFile() {
  const path = join(tmpdir(), `corral-bench-${process.pid}-stderr`);
  const fd = openSync(path, 'w+');
  unlinkSync(path);
  return fd;
}

/** All of an open file, whatever its descriptor's offset. */
function readAll(fd) {
  const buffer = Buffer.alloc(fstatSync(fd).size);
  readSync(fd, buffer, 0, buffer.length, 0);
  return buffer;
}

/** Like timed, but a failure throws with what the command said. */
export function must(argv, options) {
  const result = timed(argv, options);
  if (!result.ok) throw new Error(`${argv.join(' ')}: ${result.error}`);
  return result;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const ms = (x) => x.toFixed(1);
export const mib = (kib) => (kib / 1024).toFixed(1);

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

/**
 * One table of several measurements, each a Map runtime -> samples: per runtime its median,
 * spread and ratio to runc's median in the same measurement.
 */
export function printComparison(title, measurements, { unit = 'ms', format = ms } = {}) {
  const rows = [];
  for (const [what, samples] of measurements) {
    const base = [...samples].find(([r]) => r.name === BASE)?.[1];
    for (const [runtime, xs] of samples) {
      const m = median(xs);
      const ratio = base ? `${(m / median(base)).toFixed(2)}x` : '–';
      rows.push([what, runtime.label, format(m), format(Math.min(...xs)), format(Math.max(...xs)), ratio]);
    }
  }
  printTable(title, ['measured', 'runtime', `median ${unit}`, 'min', 'max', `vs ${BASE}`], rows);
}

/**
 * One measurement row that cannot stop the others: an error is printed as the reason the row is
 * missing. Only an interruption goes on up.
 */
export async function row(what, fn) {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    console.log(`\n${what}: not measured (${error.message.split('\n')[0]})`);
  }
}

/**
 * The runtimes whose first once(runtime, 'probe') succeeds; the others are reported under what,
 * not timed (crun on a hybrid host, a runtime podman cannot drive). The probe is also a warm-up.
 */
export async function usable(what, runtimesToTry, once) {
  const ok = [];
  for (const runtime of runtimesToTry) {
    const probe = once(runtime, 'probe');
    await stopIfInterrupted();
    if (probe.ok) ok.push(runtime);
    else console.log(`${what}, ${runtime.label}: skipped (${probe.error})`);
  }
  return ok;
}

/**
 * `runs` rounds of once(runtime, i), runtimes alternating so that all see the same machine, after
 * `warmups` rounds that are not counted: runtime -> value(sample) of each run (its wall ms unless
 * value says otherwise). A failed run throws.
 */
export async function alternate(runtimesToTime, once, runs, warmups, value = (sample) => sample.ms) {
  const samples = new Map(runtimesToTime.map((r) => [r, []]));
  for (let i = -warmups; i < runs; i++) {
    for (const r of runtimesToTime) {
      const sample = once(r, i < 0 ? `warm${-i}` : i);
      await stopIfInterrupted();
      if (!sample.ok) throw new Error(`${r.label} run ${i}: ${sample.error}`);
      if (i >= 0) samples.get(r).push(value(sample));
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

/**
 * fn(), with each of containers ({ runtime, root, bundle, id }) running detached for its whole
 * length, all deleted afterwards whatever fails (a half-started one too).
 */
export async function withRunningContainers(containers, fn) {
  const started = [];
  try {
    for (const { runtime, root, bundle, id } of containers) {
      started.push({ runtime, root, id });
      must(runtime.argv(root, ['run', '--detach', '--bundle', bundle, id]), { leavesProcess: true });
    }
    return await fn();
  } finally {
    for (const { runtime, root, id } of started) timed(runtime.argv(root, ['delete', '--force', id]));
  }
}

/**
 * Commands ([argv, options of timed]) run one after another, timed as a whole; a failed one ends
 * the sequence, and then onFailure (not timed) removes what the others left.
 */
export function timedSequence(steps, onFailure) {
  let total = 0;
  for (const [argv, options] of steps) {
    const result = timed(argv, options);
    total += result.ms;
    if (!result.ok) {
      onFailure();
      return { ...result, ms: total };
    }
  }
  return { ok: true, ms: total };
}

// GNU time reports the kernel's rusage of the child it waited for: ru_maxrss, the peak RSS in KiB
// of it and of what it reaped in turn. What forks the runtime counts: a child's peak starts at
// its parent's RSS when it forks, so the parent must be small, as GNU time is (under 1 MiB), and
// Python's os.wait4 or Node are not. BusyBox's time prints the same figure times four.
const GNU_TIME = '/usr/bin/time';

/**
 * Runs argv to its end: as timed, plus kib, the peak RSS of the process (and what it reaped).
 * report is a file for GNU time's figure.
 */
export function peakRss(argv, report) {
  if (!existsSync(GNU_TIME)) throw new Error(`no ${GNU_TIME} (Debian's package time)`);
  const result = timed([GNU_TIME, '--format', '%M', '--output', report, ...argv]);
  return result.ok ? { ...result, kib: Number(readFileSync(report, 'utf8').trim()) } : result;
}

/** A process's resident set now, in KiB, from /proc/PID/status. */
export function residentKib(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/^VmRSS:\s+(\d+) kB$/m)[1]);
}

/**
 * The RSS in KiB of a container's init while it waits for start: create, read the pid from
 * state, then delete. The container is deleted whatever fails.
 */
export function waitingInitRss(runtime, root, bundle, id) {
  try {
    const created = timed(runtime.argv(root, ['create', '--bundle', bundle, id]), { leavesProcess: true });
    if (!created.ok) return created;
    const state = must(runtime.argv(root, ['state', id]), { stdout: 'pipe' });
    return { ok: true, kib: residentKib(JSON.parse(state.stdout).pid) };
  } catch (error) {
    return { ok: false, error: error.message };
  } finally {
    timed(runtime.argv(root, ['delete', '--force', id]));
  }
}

/**
 * The phases of one corral command from the line its CORRAL_TIMING_FILE got: [name, ms] for the
 * gap before each mark, from the spawn (the parent's clock; `run` is the timed result) through
 * Node's own start-up milestones and the command's marks to the parent's return from wait.
 */
export function timingPhases(line, run) {
  const { timeOrigin, node, marks } = JSON.parse(line);
  const points = [
    ['spawn', run.startedAt - timeOrigin],
    ['process start', 0],
    ['node start', node.nodeStart],
    ['v8 start', node.v8Start],
    ['node environment', node.environment],
    ['node bootstrap', node.bootstrapComplete],
    ...marks,
    ['reaped', run.startedAt + run.ms - timeOrigin],
  ];
  return points.slice(1).map(([name, at], i) => [`${points[i][0]} → ${name}`, at - points[i][1]]);
}

/** Per phase (in the order of the first run) its median over the runs: [phase, median ms]. */
export function medianPhases(runsOfPhases) {
  const byPhase = new Map();
  for (const phases of runsOfPhases) {
    for (const [phase, took] of phases) byPhase.set(phase, [...(byPhase.get(phase) ?? []), took]);
  }
  return [...byPhase].map(([phase, xs]) => [phase, median(xs)]);
}
