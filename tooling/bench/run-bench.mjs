#!/usr/bin/env node
// Side-by-side timing of the command line for corral and runc (and crun where it works on this
// host): the same busybox bundle, runs alternated so that all see the same machine, each runtime
// with its own containers in cgroups of their own. Measured: `run` of /bin/true (and corral's
// library doing the same in one process), the same with podman's seccomp profile, `state`,
// `list`, `kill` and `exec` against a running container, `create` + `start` + `delete`, `podman
// run --rm` with each runtime, where the time of one corral `run` goes (its timing marks), and
// memory: the runtime's peak RSS during `run` and its init's RSS while a created container waits.
// A benchmark, not a test: it prints medians and ratios and never fails on a number.
//
//   node tooling/bench/run-bench.mjs [--runs N]
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  alternate,
  makeBundle,
  median,
  medianPhases,
  mib,
  ms,
  peakRss,
  printComparison,
  printTable,
  row,
  runtimes,
  timed,
  timedSequence,
  timeLibrary,
  timingPhases,
  usable,
  waitingInitRss,
  withRunningContainers,
  withWorkDir,
} from './harness.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });
const runs = Number(values.runs);
// podman takes half a second a container, and memory hardly moves from run to run.
const fewRuns = Math.max(3, Math.ceil(runs / 4));
const WARMUPS = 3;

const corral = runtimes.find((r) => r.name === 'corral');
const library = { name: 'corral-library', label: 'corral (library, runContainer in-process)' };
const PROCESSES = { true: ['/bin/true'], sleep: ['/bin/sleep', '1000'] };

await withWorkDir('corral-bench-', async (work) => {
  // Ids and cgroups unique to this run: a container left by a run that crashed keeps its cgroups.
  const tag = `bench-${basename(work).slice(-6)}`;
  const root = (runtime) => join(work, `state-${runtime.name}`);
  const bundles = new Map();
  /** runtime's bundle whose process is PROCESSES[kind], in a cgroup of its own. */
  const bundleOf = (runtime, kind, seccomp) => {
    const key = `${runtime.name}-${kind}${seccomp ? '-seccomp' : ''}`;
    if (!bundles.has(key)) {
      bundles.set(
        key,
        makeBundle(join(work, `bundle-${key}`), PROCESSES[kind], { cgroupsPath: `/${tag}-${key}`, seccomp }),
      );
    }
    return bundles.get(key);
  };
  const runArgv = (runtime, i) =>
    runtime.argv(root(runtime), ['run', '--bundle', bundleOf(runtime, 'true'), `${tag}-run-${i}`]);
  const run = (runtime, i, options) => timed(runArgv(runtime, i), options);

  const cli = await usable('run', runtimes, run);
  const commands = [];
  /** Adds [what, samples of fn()] to list, or prints why it could not be measured. */
  const measure = (list, what, fn) => row(what, async () => list.push([what, await fn()]));

  await measure(commands, '`run` of /bin/true', async () => {
    const samples = await alternate(cli, run, runs, WARMUPS);
    samples.set(library, await timeLibrary(bundleOf(corral, 'true'), work, runs, WARMUPS));
    return samples;
  });

  await measure(commands, "`run` of /bin/true with podman's seccomp profile", async () => {
    const profile = podmanSeccomp(work, tag);
    const argv = (runtime, i) =>
      runtime.argv(root(runtime), ['run', '--bundle', bundleOf(runtime, 'true', profile), `${tag}-sc-${i}`]);
    const samples = await alternate(cli, (runtime, i) => timed(argv(runtime, i)), runs, WARMUPS);
    samples.set(library, await timeLibrary(bundleOf(corral, 'true', profile), work, runs, WARMUPS));
    return samples;
  });

  const up = `${tag}-up`;
  const running = cli.map((runtime) => ({
    runtime,
    root: root(runtime),
    bundle: bundleOf(runtime, 'sleep'),
    id: up,
  }));
  await row('commands against a running container', () =>
    withRunningContainers(running, async () => {
      for (const [what, args] of [
        ['`state ID`', ['state', up]],
        ['`list`', ['list']],
        // SIGCONT: the container's sleep goes on, so one container serves every run.
        ['`kill ID CONT`', ['kill', up, 'CONT']],
        ['`exec ID /bin/true`', ['exec', up, '/bin/true']],
      ]) {
        await measure(commands, what, () =>
          alternate(cli, (r) => timed(r.argv(root(r), args)), runs, WARMUPS),
        );
      }
    }),
  );

  // podman deletes with --force too: /bin/true may not have exited by the time start returns.
  const lifecycle = (runtime, i) => {
    const id = `${tag}-cycle-${i}`;
    const argv = (args) => runtime.argv(root(runtime), args);
    return timedSequence(
      [
        [argv(['create', '--bundle', bundleOf(runtime, 'true'), id]), { leavesProcess: true }],
        [argv(['start', id])],
        [argv(['delete', '--force', id])],
      ],
      () => timed(argv(['delete', '--force', id])),
    );
  };
  await measure(commands, '`create` + `start` + `delete --force`', () =>
    alternate(cli, lifecycle, runs, WARMUPS),
  );

  await measure(commands, `\`podman run --rm\` of /bin/true (${fewRuns} runs)`, () => podmanRuns(work, tag));

  printComparison(
    `Commands on a busybox bundle: wall ms of the whole process, ${runs} alternating runs each unless said`,
    commands,
  );

  await row('phases of corral run', async () => {
    const marked = (runtime, i) => {
      const file = join(work, `marks-${i}.jsonl`);
      const result = run(runtime, `marks-${i}`, { env: { ...process.env, CORRAL_TIMING_FILE: file } });
      return result.ok ? { ...result, phases: timingPhases(readFileSync(file, 'utf8'), result) } : result;
    };
    const phases = (await alternate([corral], marked, runs, 1, (sample) => sample.phases)).get(corral);
    const whole = median(phases.map((p) => p.reduce((sum, [, took]) => sum + took, 0)));
    printTable(
      `Where one \`corral run\` of /bin/true goes: median ms between consecutive timing marks, ${runs} runs`,
      ['from → to', 'median ms'],
      [
        ...medianPhases(phases).map(([phase, took]) => [phase, ms(took)]),
        ['whole run (its own median: the medians above need not add up to it)', ms(whole)],
      ],
    );
  });

  const memory = [];
  await measure(memory, 'peak RSS of the runtime during a foreground `run`', () =>
    alternate(
      cli,
      (r, i) => peakRss(runArgv(r, `rss-${i}`), join(work, 'rss')),
      fewRuns,
      1,
      (sample) => sample.kib,
    ),
  );
  await measure(memory, "RSS of the container's init while it waits for `start`", () =>
    alternate(
      cli,
      (r, i) => waitingInitRss(r, root(r), bundleOf(r, 'true'), `${tag}-init-${i}`),
      fewRuns,
      1,
      (sample) => sample.kib,
    ),
  );
  printComparison(`Memory in MiB, ${fewRuns} alternating runs each`, memory, { unit: 'MiB', format: mib });
});

/**
 * podman's default seccomp profile (containers-common's, resolved for this machine's
 * architecture and podman's default capabilities), as podman writes it into a container's
 * config.json: taken from a `podman run` whose runtime copies it out and hands over to runc.
 */
function podmanSeccomp(work, tag) {
  const out = join(work, 'podman-seccomp.json');
  const runtime = join(work, 'seccomp-capture');
  writeFileSync(
    runtime,
    `#!/bin/sh\nprev=\nfor a in "$@"; do [ "$prev" = --bundle ] && cp "$a/config.json" ${out}; prev=$a; done\nexec runc "$@"\n`,
    { mode: 0o755 },
  );
  const conf = join(work, 'containers-seccomp.conf');
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]\n');
  const rootfs = join(makeBundle(join(work, 'bundle-seccomp-capture'), ['/bin/true']), 'rootfs');
  const argv = [
    'podman',
    '--runtime',
    runtime,
    'run',
    '--rm',
    '--name',
    `${tag}-seccomp`,
    '--rootfs',
    rootfs,
    '/bin/true',
  ];
  const result = timed(argv, { env: { ...process.env, CONTAINERS_CONF: conf } });
  if (!result.ok) throw new Error(`podman could not run a container to take its seccomp profile from`);
  const seccomp = JSON.parse(readFileSync(out, 'utf8')).linux?.seccomp;
  if (!seccomp) throw new Error("podman's config.json has no linux.seccomp");
  return seccomp;
}

/**
 * `podman run --rm` of /bin/true on the busybox rootfs with corral and with runc as its runtime;
 * throws why where podman cannot run a container here.
 */
async function podmanRuns(work, tag) {
  if (!timed(['podman', '--version']).ok) throw new Error('podman is not installed');
  // The machine's hard RLIMIT_NOFILE is below podman's default request; ask for what it allows.
  const conf = join(work, 'containers.conf');
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]\n');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const rootfs = join(makeBundle(join(work, 'bundle-podman'), ['/bin/true']), 'rootfs');
  const podmanRun = (runtime, i) => {
    const name = `${tag}-podman-${runtime.name}-${i}`;
    const argv = [
      'podman',
      '--runtime',
      runtime.bin,
      'run',
      '--rm',
      '--name',
      name,
      '--rootfs',
      rootfs,
      '/bin/true',
    ];
    const result = timed(argv, { env });
    // A run cut short leaves its container in podman's store.
    if (!result.ok) timed(['podman', 'rm', '--force', '--ignore', '--time', '0', name], { env });
    return result;
  };
  const drivable = await usable(
    'podman run',
    runtimes.filter((r) => r.bin),
    podmanRun,
  );
  if (drivable.length === 0) throw new Error('podman runs no container here with either runtime');
  return alternate(drivable, podmanRun, fewRuns, 1);
}
