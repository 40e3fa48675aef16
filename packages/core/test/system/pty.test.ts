import { spawnSync } from 'node:child_process';

import { afterEach, describe, expect, it } from 'vitest';

import { bundleMaker, corralBin, disposeBundles, type TestBundle } from './bundle.js';
import { runc, runcId } from './runc.js';

// The container's pty as runc sets it up when it relays it: no ONLCR (the terminal it is
// relayed to translates newlines), and the peer belongs to the process's user.
const made: TestBundle[] = [];
afterEach(() => disposeBundles(made));
const bundleFor = bundleMaker(made);

const SCRIPT =
  'stty -a 2>/dev/null | grep -o -- "-*onlcr" | head -1; stat -L -c %u /proc/self/fd/0 /dev/console';

/** `run` of a terminal bundle by each runtime, under script(1): runc wants a terminal of its own. */
function runOnTerminal(file: string, args: string[]) {
  const line = [file, ...args].map((a) => `'${a}'`).join(' ');
  const result = spawnSync('script', ['-qec', line, '/dev/null'], {
    input: '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  // script's own pty adds \r to what comes through it (runc's pty no longer does), and echoes
  // the end of its empty input as ^@.
  return result.stdout.replace(/\r|\0|\^@/g, '');
}

describe('the pty of a relayed terminal', () => {
  it.each([0, 1000])('has no ONLCR and belongs to the process user, uid %i', (uid) => {
    const [ofCorral, ofRunc] = [0, 1].map(() =>
      bundleFor(['sh', '-c', SCRIPT], (spec) => {
        spec.process!.terminal = true;
        spec.process!.user = { uid, gid: uid };
      }),
    ) as [TestBundle, TestBundle];
    const corral = runOnTerminal(corralBin, [
      '--root',
      ofCorral.stateRoot,
      'run',
      '--bundle',
      ofCorral.path,
      ofCorral.id,
    ]);
    const ofRuncOut = runOnTerminal('runc', [
      '--root',
      `${ofRunc.path}/runc-state`,
      'run',
      '--bundle',
      ofRunc.path,
      runcId(ofRunc),
    ]);
    runc(ofRunc, 'delete', '--force', runcId(ofRunc));
    expect(corral).toBe(`-onlcr\n${uid}\n${uid}\n`);
    expect(ofRuncOut).toBe(corral);
  });
});
