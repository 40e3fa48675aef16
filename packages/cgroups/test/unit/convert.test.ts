import { describe, expect, it } from 'vitest';

import {
  blkioWeightToIoWeight,
  cpuMax,
  cpuSharesToCpuWeight,
  cpuSharesToCpuWeightLinear,
  memorySwapToV2,
} from '../../src/index.js';

// Expected values computed from the published formulas (opencontainers/cgroups
// ConvertCPUSharesToCgroupV2Value, runc's ConvertBlkIOToIOWeightValue), not from this code.
describe('cpu.shares -> cpu.weight', () => {
  it('follows the curve runc >= 1.3 and crun >= 1.23 use: ceil(10^((l^2 + 125 l)/612 - 7/34)), l = log2(shares)', () => {
    const table: Array<[number, number]> = [
      [2, 1],
      [3, 2],
      [10, 4],
      [100, 17],
      [512, 59],
      [1024, 100],
      [2048, 174],
      [4096, 303],
      [100000, 4340],
      [262143, 10000],
      [262144, 10000],
    ];
    for (const [shares, weight] of table)
      expect(cpuSharesToCpuWeight(shares), `shares ${shares}`).toBe(weight);
  });

  it('keeps 0 as unset and clamps the ends', () => {
    expect(cpuSharesToCpuWeight(0)).toBe(0);
    expect(cpuSharesToCpuWeight(1)).toBe(1);
    expect(cpuSharesToCpuWeight(10_000_000)).toBe(10000);
  });

  it('keeps the older linear mapping 1 + ((shares - 2) * 9999) / 262142 for comparison', () => {
    expect(cpuSharesToCpuWeightLinear(2)).toBe(1);
    expect(cpuSharesToCpuWeightLinear(512)).toBe(20);
    expect(cpuSharesToCpuWeightLinear(1024)).toBe(39);
    expect(cpuSharesToCpuWeightLinear(262144)).toBe(10000);
  });
});

describe('blkio.weight -> io.weight', () => {
  it('maps [10, 1000] onto [1, 10000] as 1 + (w - 10) * 9999 / 990', () => {
    expect(blkioWeightToIoWeight(0)).toBe(0);
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(100)).toBe(910);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
  });
});

describe('memory+swap -> memory.swap.max', () => {
  it('subtracts the memory limit and keeps the special values', () => {
    expect(memorySwapToV2(300, 100)).toBe(200);
    expect(memorySwapToV2(100, 100)).toBe(0);
    expect(memorySwapToV2(-1, 100)).toBe(-1);
    expect(memorySwapToV2(0, 100)).toBe(0);
    expect(memorySwapToV2(0, -1)).toBe(-1);
  });

  it('refuses swap without a memory limit, or below it', () => {
    expect(() => memorySwapToV2(300, 0)).toThrow(/needs a memory limit/);
    expect(() => memorySwapToV2(300, -1)).toThrow(/needs a memory limit/);
    expect(() => memorySwapToV2(50, 100)).toThrow(/at least/);
  });
});

describe('cpu.max', () => {
  it('writes quota and period, "max" for no quota, nothing when neither is set', () => {
    expect(cpuMax(50000, 100000)).toBe('50000 100000');
    expect(cpuMax(-1, 100000)).toBe('max 100000');
    expect(cpuMax(20000, undefined)).toBe('20000');
    expect(cpuMax(undefined, undefined)).toBeUndefined();
    expect(cpuMax(0, 0)).toBeUndefined();
  });
});
