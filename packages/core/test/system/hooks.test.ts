import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import { baseConfig, makeBundle, processesRootedIn, runBundle, type TestBundle } from './bundle.js';

const made: TestBundle[] = [];
afterEach(() => {
  for (const bundle of made.splice(0)) bundle.remove();
});

/** A hook script that appends its name and the state it read to `log`. */
function writeHook(path: string, log: string, body = ''): string {
  writeFileSync(path, `#!/bin/sh\nstate=$(cat)\necho "$1 $state" >> ${log}\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function hookedBundle(args: string[], edit: (spec: Spec, bundle: TestBundle) => void): TestBundle {
  const bundle = makeBundle();
  made.push(bundle);
  const spec = baseConfig(args);
  edit(spec, bundle);
  bundle.writeConfig(spec);
  return bundle;
}

function logLines(path: string): Array<{ kind: string; state: Record<string, unknown> }> {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const space = line.indexOf(' ');
      return { kind: line.slice(0, space), state: JSON.parse(line.slice(space + 1)) };
    });
}

describe('hooks', () => {
  it('runs every kind in order, each with the container state on stdin', async () => {
    let log = '';
    const bundle = hookedBundle(['sh', '-c', 'echo "container ran"; cat /tmp/start.log'], (spec, b) => {
      log = join(b.path, 'hooks.log');
      const host = writeHook(join(b.path, 'hook.sh'), log);
      // startContainer runs in the container, so its script and its log live in the rootfs.
      writeHook(join(b.rootfs, 'start-hook.sh'), '/tmp/start.log');
      const hook = (kind: string) => ({ path: host, args: ['hook.sh', kind] });
      spec.hooks = {
        prestart: [hook('prestart')],
        createRuntime: [hook('createRuntime')],
        createContainer: [hook('createContainer')],
        startContainer: [{ path: '/start-hook.sh', args: ['start-hook.sh', 'startContainer'] }],
        poststart: [hook('poststart')],
        poststop: [hook('poststop')],
      };
    });
    const result = await runBundle(bundle);
    expect(result.status).toBe(0);
    const [ran, started = ''] = result.stdout.split('\n');
    expect(ran).toBe('container ran');
    expect(started.startsWith('startContainer {')).toBe(true);
    const lines = logLines(log);
    expect(lines.map((l) => l.kind)).toEqual([
      'prestart',
      'createRuntime',
      'createContainer',
      'poststart',
      'poststop',
    ]);
    const pid = lines[0]!.state.pid;
    expect(pid).toEqual(expect.any(Number));
    expect(lines.map((l) => l.state.status)).toEqual([
      'creating',
      'creating',
      'creating',
      'running',
      'stopped',
    ]);
    for (const { state } of lines)
      expect(state).toMatchObject({ id: bundle.id, bundle: bundle.path, ociVersion: '1.2.0' });
    expect(JSON.parse(started.slice('startContainer '.length))).toMatchObject({
      id: bundle.id,
      status: 'created',
      pid,
    });
  });

  it('a failing createRuntime hook fails the run and leaves nothing behind', async () => {
    const bundle = hookedBundle(['true'], (spec, b) => {
      spec.hooks = {
        createRuntime: [{ path: writeHook(join(b.path, 'fail.sh'), join(b.path, 'log'), 'exit 3') }],
      };
    });
    const result = await runBundle(bundle);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /error running createRuntime hook #0: error running hook: exit status 3, stdout: .*, stderr: /,
    );
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
    expect(processesRootedIn(bundle.rootfs)).toEqual([]);
  });

  it('a createContainer hook that fails or times out is reported by its place in the config', async () => {
    const failing = hookedBundle(['true'], (spec, b) => {
      spec.hooks = {
        createContainer: [{ path: writeHook(join(b.path, 'fail.sh'), join(b.path, 'log'), 'exit 4') }],
      };
    });
    expect((await runBundle(failing)).stderr).toMatch(
      /error running createContainer hook #0: error running hook: exit status 4, stdout: .*, stderr: /,
    );
    const slow = hookedBundle(['true'], (spec, b) => {
      spec.hooks = {
        createContainer: [
          { path: writeHook(join(b.path, 'slow.sh'), join(b.path, 'log'), 'sleep 30'), timeout: 1 },
        ],
      };
    });
    const result = await runBundle(slow);
    expect(result.stderr).toMatch(
      /error running createContainer hook #0: hook ran past specified timeout of 1\.0s/,
    );
    expect(readdirSync(slow.stateRoot)).toEqual([]);
    expect(processesRootedIn(slow.rootfs)).toEqual([]);
  });

  it('refuses a hook with a relative path before anything runs', async () => {
    const bundle = hookedBundle(['true'], (spec) => {
      spec.hooks = { prestart: [{ path: 'hook.sh' }] };
    });
    expect((await runBundle(bundle)).stderr).toMatch(/hooks\.prestart\[0\]\.path: must be an absolute path/);
  });
});
