import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { parseProcCgroup } from '@corral/cgroups';
import { repoRoot, tempDir } from '@corral/tooling/test-env';
import { expect } from 'vitest';

import type { Spec } from '../../src/index.js';
import { corralBin, corralSync, type TestBundle } from './bundle.js';

// What a container reports of its cgroup view, for the tests on this host and in the test VM.

/** Its /proc/self/cgroup, its mounts, and its memory limit as its own cgroup files show it. */
export function report(limitFile: string): string[] {
  return ['sh', '-c', `cat /proc/self/cgroup; echo ==; cat /proc/self/mountinfo; echo ==; cat ${limitFile}`];
}

/** The config's cgroup mount as runc's default spec has it, a 64 MiB limit and a test cgroup. */
export function withCgroupMount(options: { cgroupns: boolean; rw?: boolean }) {
  return (spec: Spec) => {
    spec.mounts!.push({
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', options.rw ? 'rw' : 'ro'],
    });
    if (options.cgroupns) spec.linux!.namespaces!.push({ type: 'cgroup' });
    spec.linux!.resources = { memory: { limit: 64 << 20 } };
  };
}

export interface View {
  cgroup: Map<string, string>;
  /** The mounts under /sys/fs/cgroup: mount point -> [root, fstype, options]. */
  mounts: Map<string, [string, string, string]>;
  limit: string;
}

export function parseView(output: string): View {
  const [cgroup = '', mountinfo = '', limit = ''] = output.split('==\n');
  const mounts = new Map<string, [string, string, string]>();
  for (const line of mountinfo.split('\n')) {
    const [fields = '', rest = ''] = line.split(' - ');
    const [, , , root = '', point = '', options = ''] = fields.split(' ');
    if (point.startsWith('/sys/fs/cgroup')) mounts.set(point, [root, rest.split(' ')[0] ?? '', options]);
  }
  return { cgroup: parseProcCgroup(cgroup), mounts, limit: limit.trim() };
}

/**
 * Runs the bundle's container detached, checkpoints it, restores it detached from the images
 * (with the project's CRIU), and returns the view `exec` of `reporting` shows in it; the images
 * are removed, the container is left for the test's cleanup.
 */
export function viewAfterCheckpointAndRestore(bundle: TestBundle, reporting: string[]): View {
  const env = { ...process.env, CORRAL_CRIU: join(repoRoot, 'tooling/criu/criu') };
  // corral with its stdio on /dev/null: these commands leave a container running.
  const detached = (...args: string[]) =>
    execFileSync(
      'sh',
      ['-c', 'exec "$@" </dev/null >/dev/null 2>&1', 'sh', corralBin, '--root', bundle.stateRoot, ...args],
      { timeout: 120_000, env },
    );
  const images = tempDir('cgroup-ckpt');
  try {
    detached('run', '-d', '--bundle', bundle.path, bundle.id);
    const criu = ['--criu', env.CORRAL_CRIU];
    const dump = corralSync(bundle, ...criu, 'checkpoint', '--image-path', images.path, bundle.id);
    expect(dump.stderr).toBe('');
    detached(...criu, 'restore', '-d', '--image-path', images.path, '--bundle', bundle.path, bundle.id);
    const seen = corralSync(bundle, 'exec', bundle.id, ...reporting);
    expect(seen.stderr).toBe('');
    return parseView(seen.stdout);
  } finally {
    images.remove();
  }
}
