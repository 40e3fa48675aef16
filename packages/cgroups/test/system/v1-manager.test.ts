import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { CgroupError, type CgroupV1Manager, detectCgroupMode, withDefaultDevices } from '../../src/index.js';
import { cleanupTestParents, exited, gatedShell, removeLeftovers, sleeper, v1Manager } from './helpers.js';

const read = (dir: string | undefined, name: string) =>
  readFileSync(join(dir ?? '/nonexistent', name), 'utf8').trim();
const mode = detectCgroupMode();

describe.skipIf(mode === 'unified')('cgroup v1 manager on the real hierarchies', () => {
  const made: CgroupV1Manager[] = [];
  const children: Array<ReturnType<typeof sleeper>> = [];

  beforeAll(removeLeftovers);
  afterEach(async () => {
    for (const manager of made.splice(0)) await manager.destroy();
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  afterAll(cleanupTestParents);

  function track(manager: CgroupV1Manager): CgroupV1Manager {
    made.push(manager);
    return manager;
  }

  it('creates the cgroup in every hierarchy and moves the process in', async () => {
    const manager = track(v1Manager('apply'));
    const child = sleeper();
    children.push(child);
    await manager.apply(child.pid);
    expect(manager.exists()).toBe(true);
    for (const [controller, dir] of manager.dirs) {
      expect(read(dir, 'cgroup.procs').split('\n'), controller).toContain(String(child.pid));
    }
    // A new cpuset cgroup got its parent's CPUs, or the move would have failed.
    expect(read(manager.dirs.get('cpuset'), 'cpuset.cpus')).not.toBe('');
    expect(await manager.getPids()).toEqual([child.pid]);
  });

  it('writes resources and reads them back', async () => {
    const manager = track(v1Manager('set'));
    await manager.apply(-1);
    await manager.set({
      memory: {
        limit: 64 * 1024 * 1024,
        reservation: 32 * 1024 * 1024,
        swappiness: 10,
        disableOOMKiller: false,
      },
      cpu: { shares: 512, quota: 50_000, period: 100_000, burst: 10_000, cpus: '0', mems: '0', idle: 0 },
      pids: { limit: 42 },
    });
    const memory = manager.dirs.get('memory');
    const cpu = manager.dirs.get('cpu');
    expect(read(memory, 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
    expect(read(memory, 'memory.soft_limit_in_bytes')).toBe(String(32 * 1024 * 1024));
    expect(read(memory, 'memory.swappiness')).toBe('10');
    expect(read(cpu, 'cpu.shares')).toBe('512');
    expect(read(cpu, 'cpu.cfs_quota_us')).toBe('50000');
    expect(read(cpu, 'cpu.cfs_burst_us')).toBe('10000');
    expect(read(manager.dirs.get('cpuset'), 'cpuset.cpus')).toBe('0');
    expect(read(manager.dirs.get('pids'), 'pids.max')).toBe('42');
    await manager.set({ pids: { limit: -1 }, memory: { limit: -1 } });
    expect(read(manager.dirs.get('pids'), 'pids.max')).toBe('max');
    expect(Number(read(memory, 'memory.limit_in_bytes'))).toBeGreaterThan(2 ** 62);
  });

  it('refuses bad input before writing anything, naming the field', async () => {
    const manager = track(v1Manager('invalid'));
    await manager.apply(-1);
    const memory = manager.dirs.get('memory');
    const before = read(memory, 'memory.limit_in_bytes');
    const attempts: Array<[object, string]> = [
      [{ memory: { limit: 64 << 20 }, pids: { limit: -5 } }, 'linux.resources.pids.limit'],
      [{ memory: { limit: -2 } }, 'linux.resources.memory.limit'],
      [{ memory: { limit: 64 << 20 }, cpu: { cpus: '0-x' } }, 'linux.resources.cpu.cpus'],
      [{ memory: { limit: 64 << 20 }, unified: { 'memory.high': '1' } }, 'linux.resources.unified'],
      [{ memory: { limit: 64 << 20, kernel: 1 << 20 } }, 'linux.resources.memory.kernel'],
      [{ memory: { limit: 64 << 20 }, cpu: { cpus: '0-4095' } }, 'linux.resources.cpu.cpus'],
    ];
    for (const [resources, field] of attempts) {
      const error = await manager.set(resources).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CgroupError);
      expect((error as CgroupError).field).toBe(field);
      expect((error as Error).message).toContain(field);
      expect(read(memory, 'memory.limit_in_bytes')).toBe(before);
    }
  });

  it('rolls back what it wrote when a later write fails', async () => {
    const manager = track(v1Manager('rollback'));
    await manager.apply(-1);
    const memory = manager.dirs.get('memory');
    const cpu = manager.dirs.get('cpu');
    const before = read(memory, 'memory.limit_in_bytes');
    const sharesBefore = read(cpu, 'cpu.shares');
    // No block device 250:250 exists, so the kernel refuses the throttle after memory and cpu were written.
    const error = await manager
      .set({
        cpu: { shares: 300 },
        memory: { limit: 48 << 20 },
        blockIO: { throttleReadBpsDevice: [{ major: 250, minor: 250, rate: 1_000_000 }] },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CgroupError);
    expect((error as CgroupError).code).toBe('SYSTEM');
    expect(read(memory, 'memory.limit_in_bytes')).toBe(before);
    expect(read(cpu, 'cpu.shares')).toBe(sharesBefore);
  });

  it('enforces device rules through devices.allow and devices.deny', async () => {
    const manager = track(v1Manager('devices'));
    const shell = gatedShell(
      'if echo x > /dev/null; then echo null=ok; else echo null=denied; fi; ' +
        'if head -c 1 /dev/zero > /dev/null; then echo zero=ok; else echo zero=denied; fi',
    );
    children.push(shell.child);
    await manager.apply(shell.child.pid);
    const rules = withDefaultDevices([{ allow: false, type: 'c', major: 1, minor: 5, access: 'rwm' }]).filter(
      (rule) => !(rule.major === 1 && rule.minor === 5 && rule.allow),
    );
    await manager.set({ devices: rules });
    const list = read(manager.dirs.get('devices'), 'devices.list').split('\n');
    expect(list).toContain('c 1:3 rwm');
    expect(list).not.toContain('c 1:5 rwm');
    expect(list).not.toContain('a *:* rwm');
    const output = await shell.go();
    expect(output).toContain('null=ok');
    expect(output).toContain('zero=denied');
  });

  it('reports statistics in the libcontainer shape', async () => {
    const manager = track(v1Manager('stats'));
    const child = spawn(
      'sh',
      // Pages are charged to the cgroup a process is in when it touches them: work only once moved.
      [
        '-c',
        'sleep 0.2; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; head -c 4000000 /dev/zero | cat >/dev/null; sleep 600',
      ],
      { stdio: 'ignore' },
    );
    children.push(child as ReturnType<typeof sleeper>);
    await manager.apply(child.pid ?? -1);
    await manager.set({ memory: { limit: 128 << 20 }, pids: { limit: 10 } });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const stats = await manager.getStats();
    expect(stats.memoryStats.usage.limit).toBe(128 << 20);
    expect(stats.memoryStats.usage.usage).toBeGreaterThan(0);
    expect(stats.memoryStats.stats).toHaveProperty('rss');
    expect(stats.memoryStats.useHierarchy).toBe(true);
    expect(stats.pidsStats).toEqual({ current: expect.any(Number), limit: 10 });
    expect(stats.pidsStats.current).toBeGreaterThanOrEqual(1);
    expect(stats.cpuStats.cpuUsage.totalUsage).toBeGreaterThan(0);
    expect(stats.cpuStats.cpuUsage.percpuUsage.length).toBeGreaterThan(0);
    expect(stats.cpuStats.cpuUsage.percpuUsageInUsermode).toHaveLength(
      stats.cpuStats.cpuUsage.percpuUsage.length,
    );
    expect(stats.cpuStats.throttlingData).toEqual({
      periods: expect.any(Number),
      throttledPeriods: expect.any(Number),
      throttledTime: expect.any(Number),
    });
    expect(Array.isArray(stats.blkioStats.ioServiceBytesRecursive)).toBe(true);
  });

  it('freezes a busy process so it stops using CPU, and thaws it', async () => {
    const manager = track(v1Manager('freeze'));
    const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    children.push(child as ReturnType<typeof sleeper>);
    await manager.apply(child.pid ?? -1);
    const usage = () => Number(read(manager.dirs.get('cpuacct'), 'cpuacct.usage'));
    await manager.freeze('frozen');
    expect(await manager.getFreezerState()).toBe('frozen');
    const frozenAt = usage();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(usage()).toBe(frozenAt);
    await manager.freeze('thawed');
    expect(await manager.getFreezerState()).toBe('thawed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(usage()).toBeGreaterThan(frozenAt);
  });

  it('destroy kills what is left, children included, and removes every directory', async () => {
    const manager = v1Manager('destroy');
    const child = spawn('sh', ['-c', 'sleep 0.1; sleep 600 & sleep 600 & wait'], { stdio: 'ignore' });
    await manager.apply(child.pid ?? -1);
    const deadline = Date.now() + 5000;
    while ((await manager.getPids()).length < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect((await manager.getPids()).length).toBe(3);
    await manager.destroy();
    await exited(child);
    expect(manager.exists()).toBe(false);
    for (const dir of manager.dirs.values()) expect(existsSync(dir)).toBe(false);
    // Destroying again is a no-op.
    await manager.destroy();
  });

  it('lists pids of nested cgroups with recursive', async () => {
    const manager = track(v1Manager('nested'));
    const outer = sleeper();
    const inner = sleeper();
    children.push(outer, inner);
    await manager.apply(outer.pid);
    const nested = new (manager.constructor as typeof CgroupV1Manager)(
      new Map([...manager.dirs].map(([controller, dir]) => [controller, join(dir, 'inner')])),
    );
    await nested.apply(inner.pid);
    expect(await manager.getPids()).toEqual([outer.pid]);
    expect((await manager.getPids({ recursive: true })).sort()).toEqual([outer.pid, inner.pid].sort());
  });
});
