import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  bundleMaker,
  cgroupPaths,
  corralBin,
  corralSync,
  disposeBundles,
  runDetached,
  type TestBundle,
} from '../../../core/test/system/bundle.js';

// `update`'s flags and `events`' output, in runc's form.
const made: TestBundle[] = [];
afterEach(() => {
  disposeBundles(made);
});

const bundleFor = bundleMaker(made);

const corral = corralSync;

describe('update and events', () => {
  it('update changes the limits of a running container; refused values change nothing', () => {
    const bundle = bundleFor(['sleep', '60'], (spec) => {
      spec.linux!.resources = { memory: { limit: 64 * 1024 * 1024 } };
    });
    runDetached(bundle);
    const paths = cgroupPaths(bundle);
    expect(corral(bundle, 'update', '--memory', '32m', '--pids-limit', '20', bundle.id).status).toBe(0);
    expect(readFileSync(join(paths.memory!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(
      String(32 * 1024 * 1024),
    );
    expect(readFileSync(join(paths.pids!, 'pids.max'), 'utf8').trim()).toBe('20');
    const refused = spawnSync(corralBin, ['--root', bundle.stateRoot, 'update', '-r', '-', bundle.id], {
      input: '{"pids":{"limit":-5}}',
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/linux\.resources\.pids\.limit/);
    expect(readFileSync(join(paths.pids!, 'pids.max'), 'utf8').trim()).toBe('20');
  });

  it('events --stats prints one stats event in runc form', () => {
    const bundle = bundleFor(['sleep', '60'], (spec) => {
      spec.linux!.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 10 } };
    });
    runDetached(bundle);
    const event = JSON.parse(corral(bundle, 'events', '--stats', bundle.id).stdout);
    expect(event).toMatchObject({ type: 'stats', id: bundle.id });
    expect(event.data.memory.usage.limit).toBe(64 * 1024 * 1024);
    expect(event.data.pids).toEqual({ current: 1, limit: 10 });
    expect(event.data.cpu.usage.total).toBeGreaterThan(0);
  });
});
