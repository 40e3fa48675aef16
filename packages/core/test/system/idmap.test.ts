import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import { baseConfig, corralBin, disposeBundles, makeBundle, type TestBundle } from './bundle.js';

// Id-mapped bind mounts (mounts[i].uidMappings and gidMappings): a host directory owned by 1000
// is seen, and written, as root's inside the container, with no chown of the files.
const made: TestBundle[] = [];
afterEach(() => {
  disposeBundles(made);
});

const toRoot = [{ containerID: 1000, hostID: 0, size: 1 }];

function run(script: string, mount: Record<string, unknown>) {
  const spec: Spec = baseConfig(['sh', '-c', script]);
  const bundle = makeBundle(spec);
  made.push(bundle);
  const shared = join(bundle.path, 'shared');
  mkdirSync(shared);
  writeFileSync(join(shared, 'file'), 'owned by 1000\n');
  chownSync(shared, 1000, 1000);
  chownSync(join(shared, 'file'), 1000, 1000);
  spec.mounts!.push({ destination: '/mnt', source: shared, ...mount });
  bundle.writeConfig(spec);
  const result = spawnSync(
    corralBin,
    ['--root', bundle.stateRoot, 'run', '--bundle', bundle.path, bundle.id],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    },
  );
  return { ...result, shared, left: existsSync(join(bundle.stateRoot, bundle.id)) };
}

describe('id-mapped mounts', () => {
  it('shows and writes files of the mapped host ids as the container ids', () => {
    const result = run('stat -c %u:%g /mnt/file; touch /mnt/new', {
      type: 'bind',
      options: ['rbind', 'rw'],
      uidMappings: toRoot,
      gidMappings: toRoot,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('0:0\n');
    const created = statSync(join(result.shared, 'new'));
    expect([created.uid, created.gid]).toEqual([1000, 1000]);
  });

  it('refuses maps on a mount that is not a bind mount, or only half of them, leaving nothing', () => {
    const tmpfs = run('true', { type: 'tmpfs', source: 'tmpfs', uidMappings: toRoot, gidMappings: toRoot });
    expect(tmpfs.stderr).toMatch(/mounts\[\d+\]\.uidMappings: only a bind mount can be id-mapped/);
    expect(tmpfs.left).toBe(false);
    const half = run('true', { type: 'bind', options: ['rbind'], uidMappings: toRoot });
    expect(half.stderr).toMatch(/mounts\[\d+\]\.gidMappings: must be a non-empty array/);
    expect(half.left).toBe(false);
  });
});
