import { describe, expect, it } from 'vitest';

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
