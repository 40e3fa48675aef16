import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { tempDir } from '../../../../tooling/test-env.js';
import { CriuClient, type CriuError } from '../../src/index.js';
import {
  criuPath,
  dumpStats,
  killGroup,
  lastCount,
  pageBytes,
  startCounter,
  waitFor,
  waitForPidFree,
} from './helpers.js';

describe('dumps on top of a parent image', () => {
  const client = new CriuClient({ criuPath, logLevel: 4 });
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  async function counterIn() {
    const dir = tempDir('criu-incr');
    cleanups.push(dir.remove);
    const counter = await startCounter(dir.path);
    cleanups.push(() => killGroup(counter.pid));
    return { dir: dir.path, ...counter };
  }

  async function restoreAndCount(imagesDir: string, log: string, after: number): Promise<void> {
    const { pid } = await client.restore({ imagesDir });
    cleanups.push(() => killGroup(pid));
    await waitFor(() => lastCount(log) >= after + 5, 'the restored counter to go on');
  }

  it('pre-dumps, dumps only what changed with parentImage, and restores', async (context) => {
    const { memTrack } = await client.featureCheck();
    // CRIU forces memory tracking on for a pre-dump and stops at an assertion without it.
    if (!memTrack) context.skip('no dirty memory tracking here (kernel without CONFIG_MEM_SOFT_DIRTY)');
    const counter = await counterIn();
    const preDir = join(counter.dir, 'pre');
    const finalDir = join(counter.dir, 'final');
    await client.preDump({ pid: counter.pid, imagesDir: preDir });
    await client.dump({ pid: counter.pid, imagesDir: finalDir, parentImage: '../pre', trackMem: true });
    await counter.exited;
    expect(readlinkSync(join(finalDir, 'parent'))).toBe('../pre');
    expect(dumpStats(finalDir).pagesSkippedParent).toBeGreaterThan(0);
    expect(pageBytes(finalDir)).toBeLessThan(pageBytes(preDir));
    await waitForPidFree(counter.pid);
    await restoreAndCount(finalDir, counter.log, lastCount(counter.log));
  });

  it("refuses a full dump as parent image, with CRIU's reason, and leaves the tree running", async () => {
    // Only a pre-dump records the uptime CRIU checks pid reuse against, so without pre-dumps
    // (no dirty tracking here) parentImage has nothing it can point at.
    const counter = await counterIn();
    const firstDir = join(counter.dir, 'first');
    await client.dump({ pid: counter.pid, imagesDir: firstDir, leaveRunning: true });
    expect(dumpStats(firstDir).pagesWritten).toBeGreaterThan(0);
    const secondDir = join(counter.dir, 'second');
    const error = await client
      .dump({ pid: counter.pid, imagesDir: secondDir, parentImage: '../first' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CRIU_FAILED', request: 'dump' });
    expect(readlinkSync(join(secondDir, 'parent'))).toBe('../first');
    const log = readFileSync(join(secondDir, 'dump.log'), 'utf8');
    expect(log).toContain('Parent pre-dump inventory has no uptime');
    expect((error as CriuError).logTail.join('\n')).toContain(
      'Pid-reuse detection failed: no parent inventory',
    );
    const before = lastCount(counter.log);
    await waitFor(() => lastCount(counter.log) >= before + 2, 'the tree to keep counting');
  });
});
