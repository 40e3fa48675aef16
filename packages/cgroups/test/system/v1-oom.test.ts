import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { detectCgroupMode, type OomEvent } from '../../src/index.js';
import { cleanupTestParents, exited, gatedShell, removeLeftovers, v1Manager } from './helpers.js';

const LIMIT = 32 * 1024 * 1024;

describe.skipIf(detectCgroupMode() === 'unified')('OOM events on cgroup v1', () => {
  beforeAll(removeLeftovers);
  afterAll(cleanupTestParents);

  it('reports a real OOM kill in a memory-limited cgroup through cgroup.event_control and an eventfd', async () => {
    const manager = v1Manager('oom');
    // dd fills a 256 MiB buffer: far over the limit, and there is no swap to escape to.
    const shell = gatedShell('exec dd if=/dev/zero of=/dev/null bs=256M count=1');
    try {
      await manager.apply(shell.child.pid);
      await manager.set({ memory: { limit: LIMIT, swap: LIMIT } });
      const events = manager.oomEvents();
      const first = events.next();
      const output = await shell.go();
      await exited(shell.child);
      const result = await Promise.race([
        first,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('no OOM event within 10 s')), 10_000),
        ),
      ]);
      expect(result.done).toBe(false);
      expect((result.value as OomEvent).count).toBeGreaterThanOrEqual(1);
      expect(shell.child.signalCode, output).toBe('SIGKILL');
      const control = readFileSync(join(manager.dirs.get('memory') ?? '', 'memory.oom_control'), 'utf8');
      expect(Number(/oom_kill (\d+)/.exec(control)?.[1])).toBeGreaterThanOrEqual(1);
      const stats = await manager.getStats();
      // The peak reached the limit (this kernel leaves failcnt at 0 when the charge ends in an OOM kill).
      expect(stats.memoryStats.usage.maxUsage).toBe(LIMIT);
      expect(stats.memoryStats.usage.limit).toBe(LIMIT);
      expect(stats.memoryStats.swapUsage.limit).toBe(LIMIT);
      await events.return?.();
    } finally {
      shell.child.kill('SIGKILL');
      await manager.destroy();
    }
  });

  it('ends the stream when the cgroup is removed', async () => {
    const manager = v1Manager('oom-end');
    await manager.apply(-1);
    const events = manager.oomEvents();
    const next = events.next();
    await manager.destroy();
    expect(await next).toEqual({ value: undefined, done: true });
  });
});
