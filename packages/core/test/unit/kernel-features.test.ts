import { describe, expect, it } from 'vitest';

import { missingKernelFeature } from '../../src/plan/kernel-features.js';

describe('a call the kernel lacks', () => {
  it('is named with what it does and the Linux version that has it', () => {
    expect(missingKernelFeature('mount_setattr', 38)).toBe(
      'this kernel lacks mount_setattr, which id-mapped mounts and recursive mount attributes (rro and the like) need (Linux 5.12 or newer)',
    );
    expect(missingKernelFeature('openat2', -38)).toMatch(/openat2.*Linux 5\.6/);
  });

  it('is only ENOSYS of a known call', () => {
    expect(missingKernelFeature('mount_setattr', 1)).toBeUndefined();
    expect(missingKernelFeature('write', 38)).toBeUndefined();
  });
});
