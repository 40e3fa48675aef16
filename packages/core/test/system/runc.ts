import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { TestBundle } from './bundle.js';

// Debian's runc (1.1.5) on the same bundle, for tests that show corral does what runc does.

/** runc on a state root of the bundle's own. */
export function runc(bundle: TestBundle, ...args: string[]) {
  const result = spawnSync('runc', ['--root', join(bundle.path, 'runc-state'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return result;
}

/**
 * A command whose output goes to a file rather than a pipe: what it leaves running (a created
 * container) keeps the file, and the test does not wait for it. Returns its status and output.
 */
export function detachedSync(file: string, args: string[], out: string) {
  const result = spawnSync(
    'sh',
    ['-c', 'out="$1"; shift; exec "$@" >"$out" 2>&1', 'sh', out, file, ...args],
    {
      stdio: 'ignore',
      timeout: 60_000,
    },
  );
  if (result.error) throw result.error;
  return { status: result.status, output: readFileSync(out, 'utf8') };
}

/** The container id runc uses for a bundle (never the one corral uses). */
export const runcId = (bundle: TestBundle) => `${bundle.id}-runc`;

/** `runc run` of the bundle in the foreground, then its container deleted. */
export function runcRun(bundle: TestBundle) {
  try {
    return runc(bundle, 'run', '--bundle', bundle.path, runcId(bundle));
  } finally {
    runc(bundle, 'delete', '--force', runcId(bundle));
  }
}

/** What runc's error line says after its own prefix, as a tool parsing it would read it. */
export function runcError(stderr: string): string {
  const msg = /msg="(.*)"\s*$/m.exec(stderr)?.[1] ?? stderr;
  return JSON.parse(`"${msg}"`).replace(/^runc \w+ failed: (unable to start container process: )?/, '');
}
