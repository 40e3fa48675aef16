#!/usr/bin/env node
// Side-by-side timing of `checkpoint` and `restore` of the same container for corral and runc
// (and crun where its build can checkpoint), runs alternated so that all see the same machine.
// Each run starts a busybox `sleep` in its own pid namespace, checkpoints it, restores it
// detached from the images and deletes it. CRIU's own share of each step is the last stamp of its
// log (dump.log, restore.log in the image directory; both runtimes log at level 4), so what is
// left of the wall time is the runtime's: its start-up, its checks, its RPC with CRIU, its cgroups.
// A benchmark, not a test: it prints medians and ratios and never fails on a number.
//
//   node tooling/bench/checkpoint-bench.mjs [--runs N]
import { readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  alternate,
  makeBundle,
  median,
  ms,
  printTable,
  repo,
  runtimes,
  timed,
  usable,
  withWorkDir,
} from './harness.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);

// CRIU is not installed system-wide: every runtime finds the project's wrapper first on PATH.
const env = { ...process.env, PATH: `${join(repo, 'tooling/criu')}:${process.env.PATH}` };

/** CRIU's elapsed time in ms: the `(SS.uuuuuu)` stamp of the last line of its log. */
function criuMs(log) {
  const stamps = readFileSync(log, 'utf8').match(/^\(\d+\.\d+\)/gm);
  if (!stamps) throw new Error(`${log}: no timestamped line`);
  return Number(stamps.at(-1).slice(1, -1)) * 1000;
}

await withWorkDir('corral-cr-bench-', async (work) => {
  const bundle = makeBundle(join(work, 'bundle'), ['/bin/sleep', '1000']);
  // Ids unique to this run: a container left by a run that crashed keeps its cgroups.
  const tag = `crb-${basename(work).slice(-6)}`;

  /** One command of a runtime, with its errors in a log file of its own. */
  function step(runtime, args) {
    const log = join(work, `${runtime.name}.log`);
    const argv = runtime.argv(join(work, `state-${runtime.name}`), ['--log', log, ...args]);
    // A detached container inherits the runtime's stdio: all of it is /dev/null for run and
    // restore, so that neither this process waits on a pipe nor the restore has to hand back
    // one the dump saw. The other commands' stderr is read when they fail.
    const detaches = args.includes('--detach');
    // A CRIU that hangs fails the step instead of the whole benchmark waiting forever.
    const result = timed(argv, { env, timeout: 60_000, ...(detaches ? { stdio: 'ignore' } : {}) });
    if (!result.ok) {
      let logged = '';
      try {
        logged = readFileSync(log, 'utf8').trim().split('\n').at(-1);
      } catch {}
      throw new Error(`${runtime.name} ${args[0]}: ${logged || result.error || 'failed'}`);
    }
    return result.ms;
  }

  /** run --detach, then the timed checkpoint and restore; the container is deleted whatever fails. */
  function cycle(runtime, i) {
    const id = `${tag}-${i}`;
    const images = join(work, `images-${runtime.name}-${i}`);
    try {
      step(runtime, ['run', '--detach', '--bundle', bundle, id]);
      const checkpoint = step(runtime, ['checkpoint', '--image-path', images, id]);
      const restore = step(runtime, ['restore', '--detach', '--image-path', images, '--bundle', bundle, id]);
      const criuDump = criuMs(join(images, 'dump.log'));
      const criuRestore = criuMs(join(images, 'restore.log'));
      return { checkpoint, restore, criuDump, criuRestore };
    } finally {
      timed(runtime.argv(join(work, `state-${runtime.name}`), ['delete', '--force', id]), { env });
      rmSync(images, { recursive: true, force: true });
    }
  }

  /** One cycle as a sample for alternate: its figures, or why it failed. */
  const attempt = (runtime, i) => {
    try {
      return { ok: true, ...cycle(runtime, i) };
    } catch (error) {
      return { ok: false, error: error.message.split('\n')[0] };
    }
  };

  // A runtime that cannot checkpoint here (a crun built without CRIU) is reported, not timed.
  const able = await usable('checkpoint and restore', runtimes, attempt);
  if (able.length === 0) {
    console.log('no runtime could checkpoint and restore here: nothing to time');
    return;
  }
  const samples = await alternate(able, attempt, runs, 0, (sample) => sample);

  // Each figure is the median of its own column over the runs; an overhead is the median of the
  // per-run differences, so it need not equal the difference of the two medians beside it.
  const col = (xs, f) => median(xs.map(f));
  const total = (s) => s.checkpoint + s.restore;
  const runc = [...samples].find(([r]) => r.name === 'runc')?.[1];
  const base = runc && col(runc, total);
  printTable(
    `\`checkpoint\` then \`restore --detach\` of a busybox \`sleep\`, ${runs} alternating runs each (median wall ms)`,
    ['runtime', 'checkpoint', 'restore', 'total', 'total min–max', 'vs runc'],
    [...samples].map(([r, xs]) => {
      const totals = xs.map(total);
      return [
        r.label,
        ms(col(xs, (s) => s.checkpoint)),
        ms(col(xs, (s) => s.restore)),
        ms(median(totals)),
        `${ms(Math.min(...totals))}–${ms(Math.max(...totals))}`,
        base ? `${(median(totals) / base).toFixed(2)}x` : '–',
      ];
    }),
  );
  printTable(
    'Time in CRIU (last stamp of dump.log / restore.log) and the runtime around it (wall − CRIU), medians in ms',
    [
      'runtime',
      'checkpoint wall',
      'CRIU dump',
      'overhead',
      'restore wall',
      'CRIU restore',
      'overhead',
      'total overhead',
    ],
    [...samples].map(([r, xs]) => [
      r.label,
      ms(col(xs, (s) => s.checkpoint)),
      ms(col(xs, (s) => s.criuDump)),
      ms(col(xs, (s) => s.checkpoint - s.criuDump)),
      ms(col(xs, (s) => s.restore)),
      ms(col(xs, (s) => s.criuRestore)),
      ms(col(xs, (s) => s.restore - s.criuRestore)),
      ms(col(xs, (s) => total(s) - s.criuDump - s.criuRestore)),
    ]),
  );
});
