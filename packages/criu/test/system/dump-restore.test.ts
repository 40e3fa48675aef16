import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { tempDir } from '../../../../tooling/test-env.js';
import { CriuClient } from '../../src/index.js';
import {
  counts,
  criuPath,
  isAlive,
  killGroup,
  lastCount,
  namespacePids,
  startCounter,
  waitFor,
  waitForPidFree,
} from './helpers.js';

describe('dump and restore of a plain process tree', () => {
  const client = new CriuClient({ criuPath, logLevel: 4 });
  const cleanups: Array<() => void> = [];

  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  function scratch(): string {
    const dir = tempDir('criu');
    cleanups.push(dir.remove);
    return dir.path;
  }

  it('dumps a counting process and restores it counting on from where it was', async () => {
    const dir = scratch();
    const counter = await startCounter(dir);
    cleanups.push(() => killGroup(counter.pid));
    const imagesDir = join(dir, 'images');

    await client.dump({ pid: counter.pid, imagesDir });
    await counter.exited;
    await waitForPidFree(counter.pid);
    const atDump = lastCount(counter.log);
    await sleep(300);
    expect(lastCount(counter.log)).toBe(atDump); // nothing counts while it is dumped
    expect(existsSync(join(imagesDir, 'pstree.img'))).toBe(true);

    const { pid } = await client.restore({ imagesDir });
    cleanups.push(() => killGroup(pid));
    expect(pid).toBe(counter.pid); // CRIU gives the tree its pids back
    await waitFor(() => lastCount(counter.log) >= atDump + 5, 'the restored counter to go on');
    const all = counts(counter.log);
    // One unbroken sequence 0, 1, 2, ...: no restart from 0 and no gap.
    expect(all).toEqual(all.map((_, i) => i));
  });

  it('leaves the tree running with leaveRunning, and a restore goes back to the dumped state', async () => {
    const dir = scratch();
    const counter = await startCounter(dir);
    cleanups.push(() => killGroup(counter.pid));
    const imagesDir = join(dir, 'images');

    let atDump = -1;
    await client.dump({
      pid: counter.pid,
      imagesDir,
      leaveRunning: true,
      notify: {
        // The tree is frozen here, so the file holds exactly what the images hold.
        postDump: () => {
          atDump = lastCount(counter.log);
        },
      },
    });
    expect(atDump).toBeGreaterThanOrEqual(2);
    expect(isAlive(counter.pid)).toBe(true);
    await waitFor(() => lastCount(counter.log) >= atDump + 10, 'the original to keep counting');

    killGroup(counter.pid);
    await counter.exited;
    await waitForPidFree(counter.pid);
    const beforeRestore = counts(counter.log).length;

    const { pid } = await client.restore({ imagesDir });
    cleanups.push(() => killGroup(pid));
    await waitFor(() => counts(counter.log).length >= beforeRestore + 3, 'the restored counter to write');
    const restored = counts(counter.log).slice(beforeRestore);
    expect(restored.slice(0, 3)).toEqual([atDump + 1, atDump + 2, atDump + 3]);
  });

  it('restores a tree that is pid 1 of its own pid namespace into a new pid namespace', async () => {
    const dir = scratch();
    const counter = await startCounter(dir, { pidNamespace: true });
    // unshare, and the loop (init of the namespace, leading its own group): killing it ends the tree.
    cleanups.push(() => killGroup(counter.pid));
    cleanups.push(() => killGroup(counter.child.pid!));
    expect(namespacePids(counter.pid)).toEqual([counter.pid, 1]);
    const imagesDir = join(dir, 'images');

    await client.dump({ pid: counter.pid, imagesDir });
    await counter.exited;
    const atDump = lastCount(counter.log);

    const steps: Array<{ name: string; pid?: number }> = [];
    const { pid } = await client.restore({ imagesDir, notify: { any: (n) => void steps.push(n) } });
    cleanups.push(() => killGroup(pid));
    // CRIU makes the namespace, and says so with the new root's pid.
    expect(steps.find((n) => n.name === 'setup-namespaces')?.pid).toBe(pid);
    const levels = namespacePids(pid);
    expect(levels).toHaveLength(2);
    expect(levels[1]).toBe(1); // init of a pid namespace again
    expect(readlink(`/proc/${pid}/ns/pid`)).not.toBe(readlink('/proc/self/ns/pid'));
    await waitFor(() => lastCount(counter.log) >= atDump + 3, 'the restored counter to go on');
    const all = counts(counter.log);
    expect(all).toEqual(all.map((_, i) => i));
  });
});

function readlink(path: string): string {
  return readlinkSync(path);
}
