#!/usr/bin/env node
// `run` of /bin/true with memory, cpu and pids limits on a cgroup v2 host with systemd, the
// kind of host most containers run on: corral, runc and crun side by side, alternating, inside
// the test VM. The guest is emulated (about 100 times slower for Node's JIT-compiled code than
// the machine it runs on), so only ratios mean anything: no absolute time is printed.
// A benchmark, not a test: it never fails on a number.
//
//   ./tooling/pnpm bench:vm [--runs N]      (./tooling/vm run -- node tooling/bench/vm-run-bench.mjs)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  alternate,
  makeBundle,
  median,
  printTable,
  repo,
  timed,
  timeLibrary,
  withWorkDir,
} from './harness.mjs';

if (!existsSync('/etc/corral-test-vm')) {
  console.error('vm-run-bench: runs inside the test VM: ./tooling/pnpm bench:vm');
  process.exit(1);
}
const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);

const RUNTIMES = [
  { label: 'runc', argv: (root, args) => ['runc', '--root', root, ...args] },
  { label: 'crun', argv: (root, args) => ['crun', '--root', root, ...args] },
  { label: 'corral', argv: (root, args) => [join(repo, 'bin/corral'), '--root', root, ...args] },
];

await withWorkDir('corral-vm-bench-', async (work) => {
  const bundle = makeBundle(join(work, 'bundle'), ['/bin/true']);
  const configPath = join(bundle, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.linux.resources = {
    ...config.linux.resources,
    memory: { limit: 64 << 20 },
    cpu: { shares: 512, quota: 50_000, period: 100_000 },
    pids: { limit: 64 },
  };
  writeFileSync(configPath, JSON.stringify(config));
  const once = (runtime, i) =>
    timed(runtime.argv(join(work, `state-${runtime.label}`), ['run', '--bundle', bundle, `bench-${i}`]));

  const samples = await alternate(RUNTIMES, once, runs, 2);
  samples.set({ label: 'corral (library, in-process)' }, await timeLibrary(bundle, work, runs, 2));

  const medianOf = (label) => median([...samples].find(([r]) => r.label === label)[1]);
  const base = medianOf('runc');
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  printTable(
    `\`run\` of /bin/true with memory, cpu and pids limits, cgroup v2 + systemd guest (Linux ${kernel}), ${runs} alternating runs each: ratios of median wall time`,
    ['runtime', 'vs runc', 'vs crun'],
    [...samples].map(([{ label }, xs]) => [
      label,
      `${(median(xs) / base).toFixed(2)}x`,
      `${(median(xs) / medianOf('crun')).toFixed(2)}x`,
    ]),
  );
});
