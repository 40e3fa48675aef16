import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  attachedDevicePrograms,
  CgroupError,
  type CgroupV2Manager,
  withDefaultDevices,
} from '../../src/index.js';
import { cleanupTestParents, exited, gatedShell, removeLeftovers, sleeper, v2Manager } from './helpers.js';

const available = v2Manager('probe') !== undefined;
const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8').trim();
const usageUsec = (dir: string) => Number(/usage_usec (\d+)/.exec(read(dir, 'cpu.stat'))?.[1]);

// On hybrid hosts the cgroup2 mount has no memory/cpu/io/pids controllers, but its core files
// (procs, freeze, kill, events) and BPF device programs are the real v2 kernel interfaces.
describe.skipIf(!available)('cgroup v2 manager on the real cgroup2 mount', () => {
  const made: CgroupV2Manager[] = [];
  const children: Array<{ kill: (s: NodeJS.Signals) => boolean }> = [];

  beforeAll(removeLeftovers);
  afterEach(async () => {
    for (const manager of made.splice(0)) await manager.destroy();
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  afterAll(cleanupTestParents);

  function fresh(prefix: string): CgroupV2Manager {
    const manager = v2Manager(prefix);
    if (!manager) throw new Error('no cgroup2 mount');
    made.push(manager);
    return manager;
  }

  it('moves a process in and lists it', async () => {
    const manager = fresh('procs');
    const child = sleeper();
    children.push(child);
    await manager.apply(child.pid);
    expect(read(manager.dir, 'cgroup.procs')).toBe(String(child.pid));
    expect(await manager.getPids()).toEqual([child.pid]);
    expect(manager.getPaths()).toEqual({ '': manager.dir });
  });

  it('freezes through cgroup.freeze and returns only once cgroup.events says frozen', async () => {
    const manager = fresh('freeze');
    const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    children.push(child);
    await manager.apply(child.pid ?? -1);
    await manager.freeze('frozen');
    expect(read(manager.dir, 'cgroup.events')).toContain('frozen 1');
    expect(await manager.getFreezerState()).toBe('frozen');
    const frozenAt = usageUsec(manager.dir);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(usageUsec(manager.dir)).toBe(frozenAt);
    await manager.freeze('thawed');
    expect(read(manager.dir, 'cgroup.events')).toContain('frozen 0');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(usageUsec(manager.dir)).toBeGreaterThan(frozenAt);
    expect((await manager.getStats()).cpuStats.cpuUsage.totalUsage).toBeGreaterThan(0);
  });

  it('destroy kills the whole subtree with cgroup.kill and removes it', async () => {
    const manager = v2Manager('kill');
    if (!manager) throw new Error('no cgroup2 mount');
    const child = spawn('sh', ['-c', 'sleep 0.1; sleep 600 & sleep 600 & wait'], { stdio: 'ignore' });
    await manager.apply(child.pid ?? -1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await manager.getPids()).length).toBe(3);
    await manager.destroy();
    await exited(child);
    expect(child.signalCode).toBe('SIGKILL');
    expect(existsSync(manager.dir)).toBe(false);
  });

  it('enforces device rules with an eBPF program: a denied device cannot be opened, an allowed one can', async () => {
    const manager = fresh('devices');
    const shell = gatedShell(
      'if echo x > /dev/null; then echo null=ok; else echo null=denied; fi; ' +
        'if head -c 1 /dev/zero > /dev/null; then echo zero=ok; else echo zero=denied; fi; ' +
        'if head -c 1 /dev/urandom > /dev/null; then echo urandom=ok; else echo urandom=denied; fi',
    );
    children.push(shell.child);
    await manager.apply(shell.child.pid);
    // Deny all, then allow /dev/null read-write, then the defaults minus /dev/zero's read.
    await manager.set({
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
        { allow: true, type: 'c', major: 1, minor: 9, access: 'r' },
        { allow: true, type: 'c', major: 1, minor: 5, access: 'w' },
      ],
    });
    expect(attachedDevicePrograms(manager.dir)).toHaveLength(1);
    const output = await shell.go();
    expect(output).toContain('null=ok');
    expect(output).toContain('urandom=ok');
    expect(output).toContain('zero=denied');
    expect(output).toMatch(/Operation not permitted/);
  });

  it('replaces the device program on a second set instead of stacking programs', async () => {
    const manager = fresh('devices2');
    await manager.apply(-1);
    await manager.set({ devices: withDefaultDevices() });
    const [first] = attachedDevicePrograms(manager.dir);
    await manager.set({
      devices: withDefaultDevices([{ allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }]),
    });
    const now = attachedDevicePrograms(manager.dir);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(first);
    // The default list still lets a process open /dev/null and keeps /dev/sda-like block devices out.
    const shell = gatedShell(
      'echo x > /dev/null && echo null=ok; head -c 1 /dev/loop0 >/dev/null 2>&1 || echo block=denied',
    );
    children.push(shell.child);
    await manager.apply(shell.child.pid);
    const output = await shell.go();
    expect(output).toContain('null=ok');
    expect(output).toContain('block=denied');
  });

  it('refuses a controller the hierarchy lacks, and an unknown unified key, before writing anything', async () => {
    const manager = fresh('refuse');
    await manager.apply(-1);
    const attempts: Array<[object, string]> = [
      [{ devices: withDefaultDevices(), memory: { limit: 1 << 26 } }, 'linux.resources.memory.limit'],
      [
        { devices: withDefaultDevices(), unified: { 'cgroup.bogus': '1' } },
        'linux.resources.unified["cgroup.bogus"]',
      ],
      [
        { devices: withDefaultDevices(), unified: { 'memory.high': '1' } },
        'linux.resources.unified["memory.high"]',
      ],
      [{ devices: withDefaultDevices(), cpu: { realtimeRuntime: 1 } }, 'linux.resources.cpu.realtimeRuntime'],
    ];
    for (const [resources, field] of attempts) {
      const error = await manager.set(resources).catch((e: unknown) => e);
      expect(error, field).toBeInstanceOf(CgroupError);
      expect((error as CgroupError).field).toBe(field);
      expect(attachedDevicePrograms(manager.dir)).toHaveLength(0);
    }
  });

  it('rolls back a half-done set: a value the kernel refuses undoes the writes before it', async () => {
    const manager = fresh('rollback');
    await manager.apply(-1);
    expect(read(manager.dir, 'cgroup.max.depth')).toBe('max');
    const error = await manager
      .set({ unified: { 'cgroup.max.depth': '3', 'cgroup.max.descendants': 'lots' } })
      .catch((e: unknown) => e);
    expect((error as CgroupError).code).toBe('SYSTEM');
    expect((error as Error).message).toContain('cgroup.max.descendants');
    expect(read(manager.dir, 'cgroup.max.depth')).toBe('max');
    await manager.set({ unified: { 'cgroup.max.depth': '3' } });
    expect(read(manager.dir, 'cgroup.max.depth')).toBe('3');
  });

  it('says clearly that OOM events need the memory controller here', () => {
    const manager = fresh('oom');
    if (existsSync(join(manager.mountpoint, 'memory.stat'))) return;
    return manager.apply(-1).then(() => {
      expect(() => manager.oomEvents()).toThrow(/memory controller is not enabled/);
    });
  });
});
