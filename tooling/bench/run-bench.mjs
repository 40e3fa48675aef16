#!/usr/bin/env node
// Side-by-side timing of `run` for corral and runc (and crun where it works on this host):
// the same busybox bundle, the same /bin/true, runs alternated so that both see the same machine.
// A benchmark, not a test: it prints medians and ratios and never fails on a number.
//
//   node tooling/bench/run-bench.mjs [--runs N]
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  alternate,
  makeBundle,
  median,
  ms,
  printTable,
  runtimes,
  timed,
  timeLibrary,
  withWorkDir,
} from './harness.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });
const runs = Number(values.runs);

await withWorkDir('corral-bench-', async (work) => {
  const bundle = makeBundle(join(work, 'bundle'), ['/bin/true']);
  const once = (runtime, i) =>
    timed(runtime.argv(join(work, `state-${runtime.name}`), ['run', '--bundle', bundle, `bench-${i}`]));

  // A runtime that cannot run this bundle here (crun on a hybrid host) is reported, not timed.
  const usable = runtimes.filter((runtime) => {
    const probe = once(runtime, 'probe');
    if (!probe.ok) console.log(`${runtime.label}: skipped (${probe.error.split('\n')[0] || 'failed'})`);
    return probe.ok;
  });

  const samples = await alternate(usable, once, runs, 3);
  samples.set('corral (library, in-process)', await timeLibrary(bundle, work, runs, 3));

  const base = median(samples.get('runc') ?? samples.get('corral (library, in-process)'));
  printTable(
    `\`run\` of /bin/true in a busybox bundle, ${runs} alternating runs each (wall ms)`,
    ['runtime', 'median ms', 'min', 'max', 'containers/s', 'vs runc'],
    [...samples].map(([label, xs]) => {
      const m = median(xs);
      return [
        label,
        ms(m),
        ms(Math.min(...xs)),
        ms(Math.max(...xs)),
        (1000 / m).toFixed(0),
        `${(m / base).toFixed(2)}x`,
      ];
    }),
  );
});
