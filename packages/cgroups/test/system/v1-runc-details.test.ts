import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  type CgroupV1Manager,
  detectCgroupMode,
  refuseCgroupInUse,
  withDefaultDevices,
} from '../../src/index.js';
import { cleanupTestParents, gatedShell, removeLeftovers, sleeper, v1Manager } from './helpers.js';

// The details of a container's v1 cgroup that runc gets right and tools rely on, each shown on
// this host's real hierarchies.
const read = (dir: string | undefined, name: string) =>
  readFileSync(join(dir ?? '/nonexistent', name), 'utf8').trim();
const mode = detectCgroupMode();

describe.skipIf(mode === 'unified')('cgroup v1 details as runc has them', () => {
  const made: CgroupV1Manager[] = [];
  const children: Array<ReturnType<typeof sleeper>> = [];

  beforeAll(removeLeftovers);
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const manager of made.splice(0)) await manager.destroy();
  });
  afterAll(cleanupTestParents);

  function track(manager: CgroupV1Manager): CgroupV1Manager {
    made.push(manager);
    return manager;
  }

  it('writes a pids limit of 0 as 1 and -1 as max', async () => {
    const manager = track(v1Manager('pids'));
    await manager.apply(-1);
    await manager.set({ pids: { limit: 0 } });
    expect(read(manager.dirs.get('pids'), 'pids.max')).toBe('1');
    await manager.set({ pids: { limit: -1 } });
    expect(read(manager.dirs.get('pids'), 'pids.max')).toBe('max');
  });

  it('refuses a cgroup that holds a process, or one below it, and leaves the process alone', async () => {
    const manager = track(v1Manager('inuse'));
    await refuseCgroupInUse(manager); // Not made yet: nothing to refuse.
    await manager.apply(-1);
    await refuseCgroupInUse(manager); // Made, but empty.
    const squatter = sleeper();
    children.push(squatter);
    const below = join(manager.dirs.get('pids')!, 'below');
    mkdirSync(below);
    writeFileSync(join(below, 'cgroup.procs'), String(squatter.pid));
    await expect(refuseCgroupInUse(manager)).rejects.toThrow(
      "linux.cgroupsPath: container's cgroup is not empty: 1 process(es) found",
    );
    expect(squatter.exitCode).toBeNull();
  });

  it('refuses a frozen cgroup', async () => {
    const manager = track(v1Manager('frozen'));
    await manager.apply(-1);
    await manager.freeze('frozen');
    await expect(refuseCgroupInUse(manager)).rejects.toThrow("container's cgroup unexpectedly frozen");
    await manager.freeze('thawed');
    await refuseCgroupInUse(manager);
  });

  it('gives an existing parent with no cpuset its parent’s before the process joins', async () => {
    // The manager's own directory is the parent, made as an administrator's mkdir leaves it:
    // no CPUs, no memory nodes.
    const manager = track(v1Manager('cpuset'));
    const parent = manager.dirs.get('cpuset')!;
    mkdirSync(parent, { recursive: true });
    expect(read(parent, 'cpuset.cpus')).toBe('');
    const nested = new (manager.constructor as typeof CgroupV1Manager)(
      new Map([...manager.dirs].map(([controller, dir]) => [controller, join(dir, 'ct')])),
    );
    made.unshift(nested);
    const child = sleeper();
    children.push(child);
    await nested.apply(child.pid);
    expect(read(parent, 'cpuset.cpus')).toBe(read(dirname(parent), 'cpuset.cpus'));
    expect(read(parent, 'cpuset.mems')).toBe(read(dirname(parent), 'cpuset.mems'));
    expect(read(join(parent, 'ct'), 'cgroup.procs')).toBe(String(child.pid));
  });

  it.skipIf(!hasRealtimeGroups())(
    'writes a shorter rt period after the runtime that must fit in it',
    async () => {
      const manager = track(v1Manager('rt'));
      await manager.apply(-1);
      const cpu = manager.dirs.get('cpu')!;
      // A child's real-time budget comes out of its parent's.
      const parent = dirname(cpu);
      writeFileSync(join(parent, 'cpu.rt_runtime_us'), '20000');
      try {
        await manager.set({ cpu: { realtimePeriod: 1_000_000, realtimeRuntime: 10_000 } });
        expect([read(cpu, 'cpu.rt_period_us'), read(cpu, 'cpu.rt_runtime_us')]).toEqual(['1000000', '10000']);
        // 5000 is shorter than the 10000 in place: the kernel takes it only after the runtime.
        await manager.set({ cpu: { realtimePeriod: 5000, realtimeRuntime: 50 } });
        expect([read(cpu, 'cpu.rt_period_us'), read(cpu, 'cpu.rt_runtime_us')]).toEqual(['5000', '50']);
        // And back up: the period first, as a runtime of 10000 does not fit in 5000.
        await manager.set({ cpu: { realtimePeriod: 1_000_000, realtimeRuntime: 10_000 } });
        expect([read(cpu, 'cpu.rt_period_us'), read(cpu, 'cpu.rt_runtime_us')]).toEqual(['1000000', '10000']);
      } finally {
        await manager.set({ cpu: { realtimeRuntime: 0 } });
        writeFileSync(join(parent, 'cpu.rt_runtime_us'), '0');
      }
    },
  );

  it('blocks /dev/kmsg under a deny-all rule like every other device', async () => {
    const manager = track(v1Manager('kmsg'));
    const shell = gatedShell(
      'if head -c 1 /dev/kmsg > /dev/null 2>&1; then echo kmsg=read; else echo kmsg=denied; fi; ' +
        'if echo x > /dev/kmsg 2>/dev/null; then echo kmsg-write=ok; else echo kmsg-write=denied; fi; ' +
        'if echo x > /dev/null; then echo null=ok; else echo null=denied; fi',
    );
    children.push(shell.child);
    await manager.apply(shell.child.pid);
    await manager.set({ devices: withDefaultDevices([{ allow: false, access: 'rwm' }]) });
    const list = read(manager.dirs.get('devices'), 'devices.list').split('\n');
    expect(list).not.toContain('c 1:11 rwm');
    expect(list).not.toContain('a *:* rwm');
    const output = await shell.go();
    expect(output).toContain('kmsg=denied');
    expect(output).toContain('kmsg-write=denied');
    expect(output).toContain('null=ok');
  });
});

function hasRealtimeGroups(): boolean {
  try {
    readFileSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us');
    return true;
  } catch {
    return false;
  }
}
