import { describe, expect, it } from 'vitest';

import { CgroupError, type LinuxResources, parseCpuList, validateResources } from '../../src/index.js';

function fieldOf(resources: unknown): string | undefined {
  try {
    validateResources(resources as LinuxResources);
  } catch (error) {
    expect(error).toBeInstanceOf(CgroupError);
    expect((error as CgroupError).code).toBe('INVALID_CONFIG');
    expect((error as Error).message.startsWith((error as CgroupError).field ?? '?')).toBe(true);
    return (error as CgroupError).field;
  }
  return undefined;
}

describe('validateResources', () => {
  it('accepts a full, valid set of resources', () => {
    expect(
      fieldOf({
        memory: {
          limit: 1 << 30,
          reservation: 1 << 29,
          swap: 2 ** 31,
          swappiness: 60,
          disableOOMKiller: false,
        },
        cpu: { shares: 1024, quota: 50000, period: 100000, burst: 0, cpus: '0-3,5', mems: '0', idle: 1 },
        pids: { limit: 100 },
        blockIO: {
          weight: 500,
          weightDevice: [{ major: 8, minor: 0, weight: 300 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        },
        hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
        network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] },
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
        ],
        rdma: { mlx5_0: { hcaHandles: 3 } },
        unified: { 'memory.high': '1000000' },
      }),
    ).toBeUndefined();
    expect(fieldOf({ memory: { limit: -1, swap: -1 }, pids: { limit: -1 } })).toBeUndefined();
  });

  it('names the field of each bad value', () => {
    const cases: Array<[unknown, string]> = [
      [{ memory: { limit: -2 } }, 'linux.resources.memory.limit'],
      [{ memory: { limit: 1.5 } }, 'linux.resources.memory.limit'],
      [{ memory: { limit: '1G' } }, 'linux.resources.memory.limit'],
      [{ memory: { limit: 200, swap: 100 } }, 'linux.resources.memory.swap'],
      [{ memory: { swappiness: 101 } }, 'linux.resources.memory.swappiness'],
      [{ memory: { disableOOMKiller: 'yes' } }, 'linux.resources.memory.disableOOMKiller'],
      [{ cpu: { shares: 1 } }, 'linux.resources.cpu.shares'],
      [{ cpu: { quota: 10 } }, 'linux.resources.cpu.quota'],
      [{ cpu: { period: 2_000_000 } }, 'linux.resources.cpu.period'],
      [{ cpu: { cpus: '0-3,x' } }, 'linux.resources.cpu.cpus'],
      [{ cpu: { cpus: '3-1' } }, 'linux.resources.cpu.cpus'],
      [{ cpu: { mems: 'all' } }, 'linux.resources.cpu.mems'],
      [{ cpu: { idle: 2 } }, 'linux.resources.cpu.idle'],
      [{ pids: { limit: -3 } }, 'linux.resources.pids.limit'],
      [{ blockIO: { weight: 5 } }, 'linux.resources.blockIO.weight'],
      [
        { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 2000 }] } },
        'linux.resources.blockIO.weightDevice[0].weight',
      ],
      [
        { blockIO: { throttleWriteIOPSDevice: [{ major: 8, rate: 1 }] } },
        'linux.resources.blockIO.throttleWriteIOPSDevice[0].minor',
      ],
      [{ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'linux.resources.hugepageLimits[0].pageSize'],
      [
        { network: { priorities: [{ name: 'a b', priority: 1 }] } },
        'linux.resources.network.priorities[0].name',
      ],
      [{ devices: [{ allow: true, type: 'x' }] }, 'linux.resources.devices[0].type'],
      [{ devices: [{ allow: true, access: 'rwx' }] }, 'linux.resources.devices[0].access'],
      [{ devices: [{ type: 'c' }] }, 'linux.resources.devices[0].allow'],
      [{ unified: { 'memory.high/../x': '1' } }, 'linux.resources.unified["memory.high/../x"]'],
      [{ unified: { noDot: '1' } }, 'linux.resources.unified["noDot"]'],
      [{ unified: { 'cgroup.procs': '1' } }, 'linux.resources.unified["cgroup.procs"]'],
      [{ unified: { 'memory.high': 5 } }, 'linux.resources.unified["memory.high"]'],
      [{ memroy: {} }, 'linux.resources.memroy'],
    ];
    for (const [resources, field] of cases) expect(fieldOf(resources), JSON.stringify(resources)).toBe(field);
  });
});

describe('parseCpuList', () => {
  it('expands ranges and single numbers', () => {
    expect(parseCpuList('f', '0-2,5, 7-8')).toEqual([0, 1, 2, 5, 7, 8]);
    expect(parseCpuList('f', '')).toEqual([]);
  });

  it('refuses what is not a list', () => {
    for (const bad of ['a', '1-', '-1', '1,,2', '0-99999'])
      expect(() => parseCpuList('cpus', bad), bad).toThrow(/cpus/);
  });
});
