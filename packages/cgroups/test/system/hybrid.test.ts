import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CgroupError, createCgroupManager, detectCgroupMode, HybridCgroupManager } from '../../src/index.js';
import { cleanupTestParents, exited, removeLeftovers, sleeper, testCgroupPath } from './helpers.js';

describe.skipIf(detectCgroupMode() !== 'hybrid')('hybrid manager on this hybrid host', () => {
  beforeAll(removeLeftovers);
  afterAll(cleanupTestParents);

  it('is what createCgroupManager gives here, and puts the process in v1 and in the cgroup2 mount', async () => {
    const manager = createCgroupManager({ cgroupsPath: testCgroupPath('hybrid'), containerId: 'unused' });
    expect(manager).toBeInstanceOf(HybridCgroupManager);
    expect(manager.mode).toBe('hybrid');
    const child = sleeper();
    try {
      await manager.apply(child.pid);
      const paths = manager.getPaths();
      expect(Object.keys(paths)).toEqual(expect.arrayContaining(['memory', 'cpu', 'freezer', 'devices', '']));
      for (const [controller, dir] of Object.entries(paths)) {
        expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), controller || 'cgroup2').toContain(
          String(child.pid),
        );
      }
      await manager.set({
        memory: { limit: 64 << 20 },
        pids: { limit: 20 },
        devices: [{ allow: true, access: 'rwm' }],
      });
      expect(readFileSync(join(paths.memory ?? '', 'memory.limit_in_bytes'), 'utf8').trim()).toBe(
        String(64 << 20),
      );
      // unified keys for controllers that live on v1 here are refused with the key named.
      const error = await manager.set({ unified: { 'memory.high': '1' } }).catch((e: unknown) => e);
      expect((error as CgroupError).field).toBe('linux.resources.unified["memory.high"]');
      // No net_cls on this host's v1, and cgroup v2 has none at all.
      const network = await manager.set({ network: { classID: 0x100001 } }).catch((e: unknown) => e);
      expect((network as CgroupError).code).toBe('NOT_SUPPORTED');
      expect((network as CgroupError).field).toBe('linux.resources.network.classID');
      await manager.freeze('frozen');
      expect(await manager.getFreezerState()).toBe('frozen');
      await manager.freeze('thawed');
      expect((await manager.getStats()).pidsStats).toEqual({ current: 1, limit: 20 });
      await manager.destroy();
      await exited(child);
      expect(manager.exists()).toBe(false);
      for (const dir of Object.values(paths)) expect(existsSync(dir)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await manager.destroy();
    }
  });

  it('refuses the systemd driver on a host without systemd instead of falling back', () => {
    expect(() => createCgroupManager({ cgroupsPath: 'system.slice:corral:x' })).toThrow(CgroupError);
    expect(() => createCgroupManager({ containerId: 'x', systemdCgroup: true })).toThrow(
      /^--systemd-cgroup: systemd is not running on this host/,
    );
  });
});
