import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { bundleMaker, corralBin, corralSync, disposeBundles, type TestBundle } from './bundle.js';

// Descriptors that whoever started corral left open without O_CLOEXEC (fds 100 and 101, the
// first a directory of the host's /): corral-init closes them as its first step, so neither the
// init waiting at its exec FIFO nor the container's process ever holds them.
const made: TestBundle[] = [];
afterEach(() => disposeBundles(made));
const bundleFor = bundleMaker(made);

const REPORT = 'for fd in 3 100 101; do [ -e /proc/self/fd/$fd ] && echo "fd $fd open"; done; echo checked';

/** corral with fds 100 and 101 (and `extra` shell redirections) open and inheritable, output to `out`. */
function corralLeaking(bundle: TestBundle, out: string, extra: string, ...args: string[]) {
  const script = `exec 100</ 101</etc/hostname ${extra}; exec "$@" >"${out}" 2>&1`;
  const result = spawnSync('bash', ['-c', script, 'bash', corralBin, '--root', bundle.stateRoot, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return result;
}

describe('descriptors left open by the caller', () => {
  it('are closed in the created init, and the started process never sees them', () => {
    const bundle = bundleFor(['sh', '-c', REPORT]);
    const out = join(bundle.path, 'container.out');
    const created = corralLeaking(bundle, out, '', 'create', '--bundle', bundle.path, bundle.id);
    expect(readFileSync(out, 'utf8')).toBe('');
    expect(created.status).toBe(0);
    const { pid } = JSON.parse(corralSync(bundle, 'state', bundle.id).stdout) as { pid: number };
    // The init is corral-init itself, stopped at its exec FIFO.
    const fds = readdirSync(`/proc/${pid}/fd`).map(Number);
    expect(fds).not.toContain(100);
    expect(fds).not.toContain(101);
    expect(corralSync(bundle, 'start', bundle.id).status).toBe(0);
    expect(corralSync(bundle, 'delete', '--force', bundle.id).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('checked\n');
  });

  it('never reach an exec, while --preserve-fds still passes the ones asked for', () => {
    const bundle = bundleFor(['sleep', '100']);
    const out = join(bundle.path, 'container.out');
    expect(corralLeaking(bundle, out, '', 'run', '--detach', '--bundle', bundle.path, bundle.id).status).toBe(
      0,
    );
    const execOut = join(bundle.path, 'exec.out');
    const exec = corralLeaking(
      bundle,
      execOut,
      '3</etc/hostname',
      'exec',
      '--preserve-fds',
      '1',
      bundle.id,
      'sh',
      '-c',
      REPORT,
    );
    expect(readFileSync(execOut, 'utf8')).toBe('fd 3 open\nchecked\n');
    expect(exec.status).toBe(0);
  });
});
