import { chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import { baseConfig, disposeBundles, makeBundle, runInProcess, type TestBundle } from './bundle.js';

// Id-mapped bind mounts (mounts[i].uidMappings and gidMappings): a host directory owned by 1000
// is seen, and written, as root's inside the container, with no chown of the files.
const made: TestBundle[] = [];
afterEach(() => {
  disposeBundles(made);
});

const toRoot = [{ containerID: 1000, hostID: 0, size: 1 }];

/** runContainer of `script` with a bind of a directory owned by 1000 on /mnt, as `mount` says. */
async function run(script: string, mount: Record<string, unknown>) {
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
  const left = () => readdirSync(bundle.stateRoot).length > 0;
  try {
    return { ...(await runInProcess(bundle)), shared, left: left() };
  } catch (error) {
    return { error, shared, left: left() };
  }
}

describe('id-mapped mounts', () => {
  it('shows and writes files of the mapped host ids as the container ids', async () => {
    const result = await run('stat -c %u:%g /mnt/file; touch /mnt/new', {
      type: 'bind',
      options: ['rbind', 'rw'],
      uidMappings: toRoot,
      gidMappings: toRoot,
    });
    expect(result).toMatchObject({ stdout: '0:0\n', stderr: '' });
    const created = statSync(join(result.shared, 'new'));
    expect([created.uid, created.gid]).toEqual([1000, 1000]);
  });

  it('refuses maps on a mount that is not a bind mount, or only half of them, leaving nothing', async () => {
    const tmpfs = await run('true', {
      type: 'tmpfs',
      source: 'tmpfs',
      uidMappings: toRoot,
      gidMappings: toRoot,
    });
    expect(tmpfs).toMatchObject({
      error: {
        field: expect.stringMatching(/^mounts\[\d+\]\.uidMappings$/),
        message: expect.stringMatching(/only a bind mount can be id-mapped/),
      },
      left: false,
    });
    const half = await run('true', { type: 'bind', options: ['rbind'], uidMappings: toRoot });
    expect(half).toMatchObject({
      error: {
        field: expect.stringMatching(/^mounts\[\d+\]\.gidMappings$/),
        message: expect.stringMatching(/must be a non-empty array/),
      },
      left: false,
    });
  });
});
