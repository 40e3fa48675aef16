#!/usr/bin/env node
// Side-by-side timing of `run` for corral and runc (and crun where it works on this host):
// the same busybox bundle, the same /bin/true, runs alternated so that both see the same machine.
// A benchmark, not a test: it prints medians and ratios and never fails on a number.
//
//   node tooling/bench/run-bench.mjs [--runs N]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const repo = new URL('../..', import.meta.url).pathname;
const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });
const runs = Number(values.runs);

const work = mkdtempSync(join(tmpdir(), 'corral-bench-'));
const bundle = join(work, 'bundle');
cpSync(join(repo, 'tooling/rootfs/out/busybox'), join(bundle, 'rootfs'), {
  recursive: true,
  verbatimSymlinks: true,
});
const config = JSON.parse(
  (await import('node:fs')).readFileSync(join(repo, 'examples/demo/config.json'), 'utf8'),
);
config.process.args = ['/bin/true'];
// Debian's crun 1.8 refuses ociVersion 1.2.0 ("unknown version specified"); nothing here needs it.
config.ociVersion = '1.0.2';
writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));

const runtimes = [
  {
    name: 'corral',
    argv: (root, id) => [join(repo, 'bin/corral'), '--root', root, 'run', '--bundle', bundle, id],
  },
  { name: 'runc', argv: (root, id) => ['runc', '--root', root, 'run', '--bundle', bundle, id] },
  // crun refuses hybrid cgroups; in a mount namespace without the unified mount it sees a v1
  // host and runs. The wrapper's cost (unshare, sh, umount) is part of its time.
  {
    name: 'crun (in unshare -m without the cgroup2 mount)',
    argv: (root, id) => [
      'unshare',
      '-m',
      'sh',
      '-c',
      'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"',
      'crun',
      '--root',
      root,
      'run',
      '--bundle',
      bundle,
      id,
    ],
  },
];

function once(runtime, i) {
  const root = join(work, `state-${runtime.name}`);
  const [cmd, ...args] = runtime.argv(root, `bench-${i}`);
  const start = process.hrtime.bigint();
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ok: result.status === 0, ms, error: result.error?.message ?? result.stderr?.toString().trim() };
}

// A runtime that cannot run this bundle here (crun on a hybrid host) is reported, not timed.
const usable = runtimes.filter((runtime) => {
  const probe = once(runtime, 'probe');
  if (!probe.ok) console.log(`${runtime.name}: skipped (${probe.error.split('\n')[0] || 'failed'})`);
  return probe.ok;
});

const samples = new Map(usable.map((r) => [r.name, []]));
for (let i = 0; i < 3; i++) for (const r of usable) once(r, `warm-${i}`);
for (let i = 0; i < runs; i++) {
  for (const r of usable) {
    const sample = once(r, i);
    if (!sample.ok) throw new Error(`${r.name} run ${i} failed: ${sample.error}`);
    samples.get(r.name).push(sample.ms);
  }
}

// The library: one long-lived Node process creating containers, with no start-up cost per run.
const core = await import(join(repo, 'packages/core/dist/index.js'));
const library = [];
for (let i = 0; i < runs + 3; i++) {
  const start = process.hrtime.bigint();
  const container = await core.runContainer({
    id: `lib-${i}`,
    bundle,
    root: join(work, 'state-lib'),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await container.exited;
  if (i >= 3) library.push(Number(process.hrtime.bigint() - start) / 1e6);
}
samples.set('corral (library, in-process)', library);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(samples.get('runc') ?? library);
console.log(`\n\`run\` of /bin/true in a busybox bundle, ${runs} alternating runs each (wall ms)\n`);
console.log('| runtime | median ms | min | max | containers/s | vs runc |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, xs] of samples) {
  const m = median(xs);
  const cells = [m, Math.min(...xs), Math.max(...xs)].map((x) => x.toFixed(1));
  console.log(`| ${name} | ${cells.join(' | ')} | ${(1000 / m).toFixed(0)} | ${(m / base).toFixed(2)}x |`);
}
rmSync(work, { recursive: true, force: true });
