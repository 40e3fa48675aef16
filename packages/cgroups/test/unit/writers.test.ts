import { describe, expect, it } from 'vitest';

import type { ControllerWriter } from '../../src/controller.js';
import type { CgroupFiles } from '../../src/files.js';
import { CgroupError, type LinuxResources } from '../../src/index.js';
import { blkioV1 } from '../../src/v1/blkio.js';
import { cpuV1 } from '../../src/v1/cpu.js';
import { memoryV1 } from '../../src/v1/memory.js';
import { pidsV1, rdmaLine } from '../../src/v1/misc.js';
import { cpuV2, hugetlbV2, ioV2, memoryV2, unifiedWriter } from '../../src/v2/writers.js';

/** A directory of cgroup files in memory that records writes: enough to test the writers' logic. */
class RecordingFiles implements CgroupFiles {
  readonly path = '/fake';
  readonly writes: string[] = [];
  constructor(readonly content: Record<string, string>) {}
  has(name: string): boolean {
    return name in this.content;
  }
  read(name: string): string {
    const value = this.content[name];
    if (value === undefined) throw new Error(`no ${name}`);
    return value;
  }
  write(name: string, value: string): void {
    this.writes.push(`${name}=${value}`);
    this.content[name] = value;
  }
}

function run(writer: ControllerWriter, files: RecordingFiles, resources: LinuxResources): string[] {
  writer.refuse?.(resources);
  writer.check?.(files, resources);
  writer.set(files, resources);
  return files.writes;
}

const v1Memory = (limit: string) =>
  new RecordingFiles({
    'memory.limit_in_bytes': limit,
    'memory.memsw.limit_in_bytes': limit,
    'memory.soft_limit_in_bytes': '0',
    'memory.swappiness': '60',
    'memory.use_hierarchy': '1',
    'memory.usage_in_bytes': '1000',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
  });

describe('v1 memory writer', () => {
  it('raises memsw before the limit when growing, so memsw >= limit holds at every step', () => {
    expect(run(memoryV1, v1Memory('100'), { memory: { limit: 200, swap: 300 } })).toEqual([
      'memory.memsw.limit_in_bytes=300',
      'memory.limit_in_bytes=200',
    ]);
  });

  it('lowers the limit before memsw when shrinking', () => {
    expect(run(memoryV1, v1Memory('1000'), { memory: { limit: 200, swap: 300 } })).toEqual([
      'memory.limit_in_bytes=200',
      'memory.memsw.limit_in_bytes=300',
    ]);
  });

  it('makes swap unlimited with an unlimited memory limit and writes the other fields', () => {
    expect(
      run(memoryV1, v1Memory('1000'), {
        memory: { limit: -1, reservation: 50, swappiness: 0, disableOOMKiller: true, useHierarchy: true },
      }),
    ).toEqual([
      'memory.memsw.limit_in_bytes=-1',
      'memory.limit_in_bytes=-1',
      'memory.soft_limit_in_bytes=50',
      'memory.swappiness=0',
      'memory.oom_control=1',
    ]);
  });

  it('refuses a limit below the usage when checkBeforeUpdate is set', () => {
    expect(() =>
      run(memoryV1, v1Memory('1000'), { memory: { limit: 500, checkBeforeUpdate: true } }),
    ).toThrow(/linux.resources.memory.limit: 500 is below the current usage \(1000\)/);
  });
});

describe('v1 cpu and blkio writers', () => {
  const cpu = () =>
    new RecordingFiles({
      'cpu.shares': '1024',
      'cpu.cfs_period_us': '100000',
      'cpu.cfs_quota_us': '-1',
      'cpu.rt_period_us': '1000000',
      'cpu.rt_runtime_us': '0',
    });

  it('sets the period before the quota and the realtime period before its runtime', () => {
    expect(
      run(cpuV1, cpu(), {
        cpu: { shares: 2048, quota: 20000, period: 50000, realtimePeriod: 500000, realtimeRuntime: 1000 },
      }),
    ).toEqual([
      'cpu.shares=2048',
      'cpu.cfs_period_us=50000',
      'cpu.cfs_quota_us=20000',
      'cpu.rt_period_us=500000',
      'cpu.rt_runtime_us=1000',
    ]);
  });

  it('writes the realtime runtime first when the kernel refuses a period shorter than the runtime in place', () => {
    // The kernel's rule: a runtime never exceeds its period.
    class RealtimeFiles extends RecordingFiles {
      override write(name: string, value: string): void {
        const period = Number(name === 'cpu.rt_period_us' ? value : this.content['cpu.rt_period_us']);
        const runtime = Number(name === 'cpu.rt_runtime_us' ? value : this.content['cpu.rt_runtime_us']);
        if (name.startsWith('cpu.rt_') && runtime > period) {
          throw new CgroupError('SYSTEM', `write ${name}: EINVAL`, { cause: { code: 'EINVAL' } });
        }
        super.write(name, value);
      }
    }
    const files = new RealtimeFiles({ 'cpu.rt_period_us': '1000000', 'cpu.rt_runtime_us': '10000' });
    expect(run(cpuV1, files, { cpu: { realtimePeriod: 5000, realtimeRuntime: 50 } })).toEqual([
      'cpu.rt_runtime_us=50',
      'cpu.rt_period_us=5000',
    ]);
    // Without a runtime to write first, the refusal is the answer.
    expect(() => run(cpuV1, files, { cpu: { realtimePeriod: 10 } })).toThrow(/EINVAL/);
  });

  it('writes a pids limit of 0 as 1 and a negative one as max, as current runc does', () => {
    const pids = (limit: number) =>
      run(pidsV1, new RecordingFiles({ 'pids.max': 'max' }), { pids: { limit } });
    expect(pids(0)).toEqual(['pids.max=1']);
    expect(pids(-1)).toEqual(['pids.max=max']);
    expect(pids(42)).toEqual(['pids.max=42']);
  });

  it('refuses burst where the kernel has no cpu.cfs_burst_us', () => {
    expect(() => run(cpuV1, cpu(), { cpu: { burst: 1000 } })).toThrow(/linux.resources.cpu.burst/);
  });

  it('uses BFQ weights when CFQ is gone and refuses leaf weights', () => {
    const files = new RecordingFiles({
      'blkio.bfq.weight': '100',
      'blkio.bfq.weight_device': '',
      'blkio.throttle.read_bps_device': '',
    });
    expect(
      run(blkioV1, files, {
        blockIO: {
          weight: 300,
          weightDevice: [{ major: 8, minor: 0, weight: 200 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
        },
      }),
    ).toEqual([
      'blkio.bfq.weight=300',
      'blkio.bfq.weight_device=8:0 200',
      'blkio.throttle.read_bps_device=8:0 1000',
    ]);
    expect(() => run(blkioV1, files, { blockIO: { leafWeight: 300 } })).toThrow(
      /linux.resources.blockIO.leafWeight/,
    );
  });
});

describe('v2 writers', () => {
  it('converts shares to cpu.weight and quota/period to cpu.max', () => {
    const files = new RecordingFiles({ 'cpu.weight': '100', 'cpu.max': 'max 100000', 'cpu.max.burst': '0' });
    expect(run(cpuV2, files, { cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000 } })).toEqual([
      'cpu.weight=100',
      'cpu.max=50000 100000',
      'cpu.max.burst=1000',
    ]);
  });

  it('turns memory+swap into memory.swap.max and -1 into max', () => {
    const files = new RecordingFiles({
      'memory.max': 'max',
      'memory.swap.max': 'max',
      'memory.low': '0',
      'memory.current': '0',
    });
    expect(run(memoryV2, files, { memory: { limit: 100, swap: 300, reservation: 50 } })).toEqual([
      'memory.swap.max=200',
      'memory.max=100',
      'memory.low=50',
    ]);
    const unlimited = new RecordingFiles({ 'memory.max': '100', 'memory.swap.max': '0' });
    expect(run(memoryV2, unlimited, { memory: { limit: -1 } })).toEqual([
      'memory.swap.max=max',
      'memory.max=max',
    ]);
  });

  it('turns memory+swap equal to the limit into no swap at all, as runc does', () => {
    const files = new RecordingFiles({ 'memory.max': 'max', 'memory.swap.max': 'max' });
    expect(run(memoryV2, files, { memory: { limit: 100, swap: 100 } })).toEqual([
      'memory.swap.max=0',
      'memory.max=100',
    ]);
    const noSwapAccounting = new RecordingFiles({ 'memory.max': 'max' });
    expect(run(memoryV2, noSwapAccounting, { memory: { limit: 100, swap: 100 } })).toEqual([
      'memory.max=100',
    ]);
  });

  it('limits huge page reservations too where the kernel counts them', () => {
    const files = new RecordingFiles({ 'hugetlb.2MB.max': 'max', 'hugetlb.2MB.rsvd.max': 'max' });
    expect(run(hugetlbV2, files, { hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] })).toEqual([
      'hugetlb.2MB.max=4194304',
      'hugetlb.2MB.rsvd.max=4194304',
    ]);
  });

  it('refuses what v2 does not have', () => {
    const files = new RecordingFiles({ 'memory.max': 'max' });
    expect(() => run(memoryV2, files, { memory: { swappiness: 10 } })).toThrow(/swappiness/);
    expect(() => run(memoryV2, files, { memory: { kernel: 100 } })).toThrow(/memory.kernel/);
    expect(() => run(memoryV2, files, { memory: { swap: 100 } })).toThrow(/needs a memory limit/);
    expect(() => run(cpuV2, files, { cpu: { realtimeRuntime: 100 } })).toThrow(/realtime/);
  });

  it('converts blkio.weight for io.weight and writes throttles to io.max', () => {
    const files = new RecordingFiles({ 'io.weight': 'default 100', 'io.max': '' });
    expect(
      run(ioV2, files, {
        blockIO: {
          weight: 500,
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 0 }],
        },
      }),
    ).toEqual(['io.weight=4950', 'io.max=8:0 rbps=1000', 'io.max=8:0 wiops=max']);
  });

  it('writes unified keys raw and refuses a key with no file', () => {
    const files = new RecordingFiles({ 'memory.high': 'max' });
    expect(run(unifiedWriter(), files, { unified: { 'memory.high': '5000' } })).toEqual(['memory.high=5000']);
    expect(() => run(unifiedWriter(), files, { unified: { 'memory.bogus': '1' } })).toThrow(
      /linux.resources.unified\["memory.bogus"\]/,
    );
  });

  it('formats rdma.max lines with max for unset counts', () => {
    expect(rdmaLine('mlx5_0', { hcaHandles: 3 })).toBe('mlx5_0 hca_handle=3 hca_object=max');
  });
});
