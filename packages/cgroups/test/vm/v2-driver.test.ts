import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { uniqueName } from '@corral/tooling/test-env';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { removeCgroupTree } from '../../src/cgroupfs.js';
import {
  CgroupError,
  CgroupV2Manager,
  checkCgroupResources,
  cpuSharesToCpuWeight,
  type LinuxResources,
} from '../../src/index.js';
import {
  cleanupTestParents,
  exited,
  gatedShell,
  removeLeftovers,
  sleeper,
  TEST_PARENT,
  v2Manager,
} from '../system/helpers.js';

// Inside the test VM: a unified cgroup v2 hierarchy with every controller, on Debian 12's kernel.
const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8').trim();
/** The guest's disk, "254:0": the device io limits are written for. */
const disk = readFileSync('/sys/block/vda/dev', 'utf8').trim();
const [diskMajor, diskMinor] = disk.split(':').map(Number) as [number, number];
const run = (cmd: string, args: string[]) => {
  const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};

describe('the cgroup v2 driver on a unified hierarchy', () => {
  const made: CgroupV2Manager[] = [];
  const children: Array<{ kill: (signal: NodeJS.Signals) => boolean }> = [];

  beforeAll(removeLeftovers);
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const manager of made.splice(0)) await manager.destroy();
  });
  afterAll(cleanupTestParents);

  async function fresh(prefix: string, pid = -1): Promise<CgroupV2Manager> {
    const manager = v2Manager(prefix);
    if (!manager) throw new Error('no cgroup2 mount');
    made.push(manager);
    await manager.apply(pid);
    return manager;
  }

  /** Each resource, set and then updated, with what the kernel's files read back after each. */
  const cases: Array<{
    name: string;
    set: LinuxResources;
    files: Record<string, string>;
    update: LinuxResources;
    updated: Record<string, string>;
  }> = [
    {
      name: 'memory: max, low, swap.max (memory+swap less memory), high and oom.group',
      set: {
        memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 },
        unified: { 'memory.high': String(48 << 20), 'memory.oom.group': '1' },
      },
      files: {
        'memory.max': String(64 << 20),
        'memory.low': String(32 << 20),
        'memory.swap.max': String(32 << 20),
        'memory.high': String(48 << 20),
        'memory.oom.group': '1',
      },
      update: { memory: { limit: 128 << 20, swap: 128 << 20 }, unified: { 'memory.high': 'max' } },
      updated: { 'memory.max': String(128 << 20), 'memory.swap.max': '0', 'memory.high': 'max' },
    },
    {
      name: 'cpu: weight from shares, max from quota and period, burst',
      set: { cpu: { shares: 512, quota: 50_000, period: 100_000, burst: 10_000 } },
      files: {
        'cpu.weight': String(cpuSharesToCpuWeight(512)),
        'cpu.max': '50000 100000',
        'cpu.max.burst': '10000',
      },
      update: { cpu: { shares: 4096, quota: -1, burst: 0 } },
      updated: {
        'cpu.weight': String(cpuSharesToCpuWeight(4096)),
        'cpu.max': 'max 100000',
        'cpu.max.burst': '0',
      },
    },
    {
      name: 'cpu: idle',
      set: { cpu: { idle: 1 } },
      files: { 'cpu.idle': '1', 'cpu.weight': '0' },
      update: { cpu: { idle: 0 } },
      updated: { 'cpu.idle': '0', 'cpu.weight': '100' },
    },
    {
      name: 'cpuset: cpus and mems',
      set: { cpu: { cpus: '0', mems: '0' } },
      files: { 'cpuset.cpus': '0', 'cpuset.mems': '0', 'cpuset.cpus.effective': '0' },
      update: { cpu: { cpus: '1' } },
      updated: { 'cpuset.cpus': '1', 'cpuset.cpus.effective': '1' },
    },
    {
      name: 'io: weight (converted for io.weight) and max bps and iops per device',
      set: {
        blockIO: {
          weight: 500,
          throttleReadBpsDevice: [{ major: diskMajor, minor: diskMinor, rate: 1 << 20 }],
          throttleWriteBpsDevice: [{ major: diskMajor, minor: diskMinor, rate: 2 << 20 }],
          throttleReadIOPSDevice: [{ major: diskMajor, minor: diskMinor, rate: 100 }],
          throttleWriteIOPSDevice: [{ major: diskMajor, minor: diskMinor, rate: 200 }],
        },
      },
      files: {
        'io.weight': 'default 4950',
        'io.max': `${disk} rbps=1048576 wbps=2097152 riops=100 wiops=200`,
      },
      update: {
        blockIO: { weight: 10, throttleReadBpsDevice: [{ major: diskMajor, minor: diskMinor, rate: 0 }] },
      },
      updated: { 'io.weight': 'default 1', 'io.max': `${disk} rbps=max wbps=2097152 riops=100 wiops=200` },
    },
    {
      name: 'pids.max',
      set: { pids: { limit: 64 } },
      files: { 'pids.max': '64' },
      update: { pids: { limit: -1 } },
      updated: { 'pids.max': 'max' },
    },
    {
      name: 'hugetlb: the limit and the reservation limit',
      set: { hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] },
      files: { 'hugetlb.2MB.max': String(4 << 20), 'hugetlb.2MB.rsvd.max': String(4 << 20) },
      update: { hugepageLimits: [{ pageSize: '2MB', limit: 8 << 20 }] },
      updated: { 'hugetlb.2MB.max': String(8 << 20), 'hugetlb.2MB.rsvd.max': String(8 << 20) },
    },
    {
      name: 'unified: any other v2 file, as given',
      set: { unified: { 'pids.max': '10', 'memory.min': String(1 << 20) } },
      files: { 'pids.max': '10', 'memory.min': String(1 << 20) },
      update: { unified: { 'memory.min': '0' } },
      updated: { 'memory.min': '0' },
    },
  ];

  for (const { name, set, files, update, updated } of cases) {
    it(`writes and updates ${name}`, async () => {
      const child = sleeper();
      children.push(child);
      const manager = await fresh('res', child.pid);
      await manager.set(set);
      for (const [file, value] of Object.entries(files)) expect(read(manager.dir, file), file).toBe(value);
      await manager.set(update);
      for (const [file, value] of Object.entries(updated)) expect(read(manager.dir, file), file).toBe(value);
    });
  }

  it('writes per-device io weights through BFQ (io.bfq.weight) when the disk uses it', async () => {
    const scheduler = `/sys/block/vda/queue/scheduler`;
    const before = /\[(\S+)\]/.exec(readFileSync(scheduler, 'utf8'))?.[1] ?? 'none';
    run('modprobe', ['bfq']);
    writeFileSync(scheduler, 'bfq');
    try {
      const manager = await fresh('bfq');
      await manager.set({
        blockIO: { weight: 300, weightDevice: [{ major: diskMajor, minor: diskMinor, weight: 700 }] },
      });
      expect(read(manager.dir, 'io.bfq.weight')).toBe(`default 300\n${disk} 700`);
      await manager.set({ blockIO: { weightDevice: [{ major: diskMajor, minor: diskMinor, weight: 200 }] } });
      expect(read(manager.dir, 'io.bfq.weight')).toBe(`default 300\n${disk} 200`);
      await manager.destroy();
    } finally {
      writeFileSync(scheduler, before);
      // Without BFQ loaded, io.weight is what a weight goes to again, as the other tests expect.
      spawnSync('rmmod', ['bfq'], { timeout: 60_000 });
    }
  });

  it('writes rdma.max for a real RDMA device (soft-RoCE on a veth)', async () => {
    const link = uniqueName('rx').slice(0, 12);
    const device = `r${link.slice(2)}`.slice(0, 12);
    run('modprobe', ['rdma_rxe']);
    run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`]);
    try {
      run('ip', ['link', 'set', link, 'up']);
      run('rdma', ['link', 'add', device, 'type', 'rxe', 'netdev', link]);
      const manager = await fresh('rdma');
      await manager.set({ rdma: { [device]: { hcaHandles: 2, hcaObjects: 30 } } });
      expect(read(manager.dir, 'rdma.max')).toBe(`${device} hca_handle=2 hca_object=30`);
      await manager.set({ rdma: { [device]: { hcaHandles: 5 } } });
      expect(read(manager.dir, 'rdma.max')).toBe(`${device} hca_handle=5 hca_object=max`);
      await manager.destroy();
    } finally {
      spawnSync('rdma', ['link', 'delete', device], { timeout: 60_000 });
      spawnSync('ip', ['link', 'del', link], { timeout: 60_000 });
    }
  });

  it('reports each OOM kill once, from memory.events', async () => {
    // Two processes, one after the other, each allocating past the limit: two kills.
    const shell = gatedShell(
      'for i in 1 2; do dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo "dd $?"; sleep 1; done',
    );
    children.push(shell.child);
    const manager = await fresh('oom', shell.child.pid);
    await manager.set({ memory: { limit: 32 << 20, swap: 32 << 20 } });
    const events = manager.oomEvents();
    const seen: number[] = [];
    const counting = (async () => {
      for await (const event of events) seen.push(event.count);
    })();
    const output = await shell.go();
    expect(output).toBe('dd 137\ndd 137\n');
    // The watcher hears of the second kill a moment after the shell has ended.
    for (let i = 0; i < 100 && seen.reduce((a, b) => a + b, 0) < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    await events.return?.();
    await counting;
    expect(seen.reduce((a, b) => a + b, 0)).toBe(2);
    expect(read(manager.dir, 'memory.events')).toMatch(/^oom_kill 2$/m);
  });

  it('freezes and thaws through cgroup.freeze, waiting for cgroup.events', async () => {
    const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    children.push(child);
    const manager = await fresh('freeze', child.pid ?? -1);
    await manager.freeze('frozen');
    expect(read(manager.dir, 'cgroup.events')).toMatch(/^frozen 1$/m);
    expect(await manager.getFreezerState()).toBe('frozen');
    await manager.freeze('thawed');
    expect(read(manager.dir, 'cgroup.events')).toMatch(/^frozen 0$/m);
    expect(await manager.getFreezerState()).toBe('thawed');
  });

  it('lists processes from cgroup.procs and removes the cgroup through cgroup.kill', async () => {
    const shell = spawn('sh', ['-c', 'read go; trap "" TERM; sleep 600 & sleep 600 & echo started; wait'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const manager = v2Manager('kill');
    if (!manager) throw new Error('no cgroup2 mount');
    await manager.apply(shell.pid ?? -1);
    // Only once the shell is in the cgroup may it fork its sleeps there.
    shell.stdin?.end('go\n');
    await new Promise((resolve) => shell.stdout?.once('data', resolve));
    const pids = await manager.getPids();
    expect(pids).toContain(shell.pid);
    expect(pids).toHaveLength(3);
    expect(read(manager.dir, 'cgroup.procs').split('\n').map(Number).sort()).toEqual([...pids].sort());
    await manager.destroy();
    await exited(shell);
    expect(shell.signalCode).toBe('SIGKILL');
    expect(existsSync(manager.dir)).toBe(false);
  });

  it('reads statistics with the v2 fields: memory and swap together, pressure, peaks', async () => {
    const shell = gatedShell('head -c 4000000 /dev/urandom > /dev/null; echo done');
    children.push(shell.child);
    const manager = await fresh('stats', shell.child.pid);
    await manager.set({ memory: { limit: 64 << 20, swap: 96 << 20 }, pids: { limit: 20 } });
    await shell.go();
    const stats = await manager.getStats();
    expect(stats.memoryStats.usage.limit).toBe(64 << 20);
    expect(stats.memoryStats.usage.usage).toBeGreaterThan(0);
    expect(stats.memoryStats.usage.maxUsage).toBeGreaterThanOrEqual(stats.memoryStats.usage.usage);
    expect(stats.memoryStats.swapOnlyUsage?.limit).toBe(32 << 20);
    expect(stats.memoryStats.swapUsage.limit).toBe(96 << 20);
    expect(stats.memoryStats.stats.anon).toBeTypeOf('number');
    expect(stats.cpuStats.cpuUsage.totalUsage).toBeGreaterThan(0);
    expect(stats.cpuStats.psi?.some.total).toBeTypeOf('number');
    expect(stats.memoryStats.psi?.full.avg10).toBeTypeOf('number');
    expect(stats.pidsStats.limit).toBe(20);
    expect(stats.hugetlbStats['2MB']).toEqual({ usage: 0, maxUsage: 0, failcnt: 0 });
  });

  describe('bad input, refused before any cgroup is made', () => {
    it('names a field cgroup v2 cannot express', () => {
      const manager = v2Manager('never');
      if (!manager) throw new Error('no cgroup2 mount');
      for (const [resources, field] of [
        [{ memory: { swappiness: 60 } }, 'linux.resources.memory.swappiness'],
        [{ memory: { kernel: 1 << 20 } }, 'linux.resources.memory.kernel'],
        [{ cpu: { realtimePeriod: 1000 } }, 'linux.resources.cpu.realtimePeriod'],
        [{ network: { classID: 7 } }, 'linux.resources.network.classID'],
        [{ blockIO: { leafWeight: 100 } }, 'linux.resources.blockIO.leafWeight'],
      ] as Array<[LinuxResources, string]>) {
        const error = (() => {
          try {
            checkCgroupResources(manager, resources);
          } catch (e) {
            return e as CgroupError;
          }
        })();
        expect(error?.field, field).toBe(field);
        expect(error?.message).toContain(field);
      }
      expect(existsSync(manager.dir)).toBe(false);
    });

    it('names the field whose controller the parent cannot pass down', async () => {
      // A parent with a process of its own and without io in cgroup.subtree_control: cgroup v2
      // cannot enable io there, so no child of it can have an io weight.
      const parent = join('/sys/fs/cgroup', TEST_PARENT, uniqueName('busy'));
      mkdirSync(parent, { recursive: true });
      const child = sleeper();
      children.push(child);
      writeFileSync(join(parent, 'cgroup.procs'), String(child.pid));
      try {
        const inside = new CgroupV2Manager(join(parent, 'c'), '/sys/fs/cgroup');
        const attempt = () => checkCgroupResources(inside, { blockIO: { weight: 100 } });
        expect(attempt).toThrow(CgroupError);
        expect(attempt).toThrow(
          /^linux\.resources\.blockIO\.weight: the io controller is not enabled in .* and cannot be: that cgroup has processes of its own$/,
        );
        expect(existsSync(join(parent, 'c'))).toBe(false);
      } finally {
        child.kill('SIGKILL');
        await exited(child);
        await removeCgroupTree(parent);
      }
    });
  });
});
