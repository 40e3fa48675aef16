// What the benchmarks share: a fresh work directory, the busybox bundle, the runtimes' command
// lines, a timed child process, medians and markdown tables.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repo = new URL('../..', import.meta.url).pathname;

/**
 * Calls fn with a new directory of its own, removed afterwards even when fn throws: nothing from
 * an earlier run that crashed can collide with what this one makes.
 */
export async function withWorkDir(prefix, fn) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(work);
  } finally {
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
