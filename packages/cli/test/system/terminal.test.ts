import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  baseConfig,
  corralBin,
  disposeBundles,
  makeBundle,
  type TestBundle,
} from '../../../core/test/system/bundle.js';

// process.terminal without --console-socket: corral itself relays the container's pty, as
// runc does for a foreground `run -t` and `exec -t`.
const made: TestBundle[] = [];
afterEach(() => {
  disposeBundles(made);
});

function terminalBundle(args: string[], consoleSize?: { height: number; width: number }): TestBundle {
  const spec = baseConfig(args);
  spec.process!.terminal = true;
  if (consoleSize) spec.process!.consoleSize = consoleSize;
  const bundle = makeBundle(spec);
  made.push(bundle);
  return bundle;
}

function corral(bundle: TestBundle, args: string[], input = '') {
  return spawnSync(corralBin, ['--root', bundle.stateRoot, ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** A detached container without a terminal keeps no pipe of ours open. */
function runDetached(bundle: TestBundle): void {
  execFileSync(
    corralBin,
    ['--root', bundle.stateRoot, 'run', '--detach', '--bundle', bundle.path, bundle.id],
    {
      stdio: 'ignore',
      timeout: 60_000,
    },
  );
}

/** Runs a shell command line under script(1), so corral's stdio is a real terminal. */
function onTerminal(command: string, input: string) {
  return spawnSync('script', ['-qec', command, '/dev/null'], { input, encoding: 'utf8', timeout: 60_000 });
}

describe('a terminal relayed by corral', () => {
  it('gives a foreground run a pty of the configured size, and its exit status', () => {
    const bundle = terminalBundle(['sh', '-c', 'tty; test -t 0 && echo stdin-is-a-tty; stty size; exit 3'], {
      height: 30,
      width: 90,
    });
    const result = corral(bundle, ['run', '--bundle', bundle.path, bundle.id]);
    expect(result.status).toBe(3);
    // A relayed pty leaves newlines to the terminal it is relayed to, as runc's does (no ONLCR).
    expect(result.stdout).toBe('/dev/pts/0\nstdin-is-a-tty\n30 90\n');
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
  });

  it('follows the size of the terminal it runs on and passes keystrokes in', () => {
    const bundle = terminalBundle(['sh']);
    const run = `stty rows 33 cols 101; exec ${corralBin} --root ${bundle.stateRoot} run --bundle ${bundle.path} ${bundle.id}`;
    const result = onTerminal(run, 'stty size; echo "typed $((6 * 7))"; exit 4\n');
    expect(result.status).toBe(4);
    expect(result.stdout).toContain('33 101');
    expect(result.stdout).toContain('typed 42');
  });

  it('gives exec -t a pty of its own', () => {
    const bundle = terminalBundle(['sleep', '60']);
    bundle.writeConfig(baseConfig(['sleep', '60']));
    runDetached(bundle);
    const result = corral(bundle, ['exec', '-t', bundle.id, 'sh', '-c', 'tty; exit 5']);
    expect(result.status).toBe(5);
    expect(result.stdout).toMatch(/^\/dev\/pts\/\d+\n$/);
  });

  it('refuses a terminal that would have no one to show it, leaving nothing', () => {
    const bundle = terminalBundle(['true']);
    const created = corral(bundle, ['create', '--bundle', bundle.path, bundle.id]);
    expect(created.status).toBe(1);
    expect(created.stderr).toMatch(/process\.terminal.*--console-socket/);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);

    bundle.writeConfig(baseConfig(['sleep', '60']));
    runDetached(bundle);
    const detached = corral(bundle, ['exec', '-t', '-d', bundle.id, 'true']);
    expect(detached.status).not.toBe(0);
    expect(detached.stderr).toMatch(/--console-socket/);
  });

  it('refuses a console size out of range, naming the field', () => {
    const bundle = terminalBundle(['true'], { height: 70_000, width: 80 });
    const result = corral(bundle, ['run', '--bundle', bundle.path, bundle.id]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/process\.consoleSize\.height/);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
  });
});
