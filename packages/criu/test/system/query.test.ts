import { chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { CriuClient } from '../../src/index.js';
import { criuPath } from './helpers.js';

describe('queries against the real CRIU', () => {
  const client = new CriuClient({ criuPath });

  it('reports its version', async () => {
    const version = await client.version();
    expect(version.major).toBeGreaterThanOrEqual(4);
    expect(version.text).toMatch(/^\d+\.\d+(\.\d+)?$/);
  });

  it('passes its own check on this kernel', async () => {
    await expect(client.check()).resolves.toBeUndefined();
  });

  it('reports the features of this kernel', async () => {
    const features = await client.featureCheck();
    expect(typeof features.memTrack).toBe('boolean');
    expect(typeof features.lazyPages).toBe('boolean');
    expect(typeof features.pidfdStore).toBe('boolean');
    // Kernel 6.x with CHECKPOINT_RESTORE has pidfd_open and pidfd_getfd.
    expect(features.pidfdStore).toBe(true);
  });
});

describe('the version kept in versionFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-criu-version-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const starts = join(dir, 'starts');
  // A criu that notes each start: how often a client had to ask it.
  const binary = join(dir, 'criu');
  writeFileSync(binary, `#!/bin/sh\necho "$@" >> ${starts}\nexec ${criuPath} "$@"\n`);
  chmodSync(binary, 0o755);
  const versionFile = join(dir, 'version.json');
  const started = () => readFileSync(starts, 'utf8').split('\n').filter(Boolean).length;

  it('is asked of criu by the first client only, while the binary stays the same file', async () => {
    await new CriuClient({ criuPath: binary, versionFile }).check();
    // The version, then the check itself.
    expect(started()).toBe(2);
    expect(JSON.parse(readFileSync(versionFile, 'utf8')).version.major).toBeGreaterThanOrEqual(4);
    await new CriuClient({ criuPath: binary, versionFile }).check();
    expect(started()).toBe(3);
    // Another build of the binary (here: its mtime) is asked again.
    utimesSync(binary, 1_700_000_000, 1_700_000_000);
    await new CriuClient({ criuPath: binary, versionFile }).check();
    expect(started()).toBe(5);
  });
});
