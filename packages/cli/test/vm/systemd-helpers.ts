import { spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defaultSpec, type Spec } from '@corral/core';
import { busyboxRootfs, repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';

export const corral = join(repoRoot, 'bin/corral');

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function exec(command: string, args: string[], env?: NodeJS.ProcessEnv): Result {
  return spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, ...(env ? { env } : {}) });
}

/**
 * For `create` and `run -d`: the container keeps the runtime's stdio, so its output goes to a
 * file rather than a pipe that would stay open as long as the container runs.
 */
export function execLeavingContainer(command: string, args: string[]): Result {
  const dir = mkdtempSync(join(tmpdir(), 'corral-out-'));
  const fd = openSync(join(dir, 'out'), 'w+');
  try {
    const result = spawnSync(command, args, { stdio: ['ignore', fd, fd], timeout: 300_000 });
    return { status: result.status, stdout: '', stderr: readFileSync(join(dir, 'out'), 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A bundle of busybox whose process sleeps, with the config the test gives. */
export function sleeperBundle(configure: (spec: Spec) => void = () => {}) {
  const dir = tempDir('systemd');
  cpSync(busyboxRootfs, join(dir.path, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = ['/bin/sleep', '1000'];
  spec.root = { path: 'rootfs', readonly: false };
  configure(spec);
  writeFileSync(join(dir.path, 'config.json'), JSON.stringify(spec, null, 2));
  const state = join(dir.path, 'state');
  mkdirSync(state);
  return { path: dir.path, state, spec, remove: dir.remove };
}

/** `systemctl show` of a unit, as name -> value. */
export function unitProperties(unit: string, names: readonly string[]): Record<string, string> {
  const shown = exec('systemctl', ['show', unit, `--property=${names.join(',')}`]).stdout;
  const properties: Record<string, string> = {};
  for (const line of shown.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) properties[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return properties;
}

/** Whether systemd has the unit loaded at all. */
export function unitLoaded(unit: string): boolean {
  return unitProperties(unit, ['LoadState']).LoadState === 'loaded';
}

export const newId = (prefix: string) => uniqueName(prefix).replace(/[^a-zA-Z0-9-]/g, '');
