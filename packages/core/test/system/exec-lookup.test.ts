import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import { bundleMaker, corralBin, corralSync, disposeBundles, type TestBundle } from './bundle.js';
import { detachedSync, runc, runcError, runcId } from './runc.js';

// process.args[0] is looked up in the container before `create` reports it created, as runc
// does: a missing or non-executable program fails `create` with runc's own words (podman and
// containerd turn them into exit 127 and 126) and leaves nothing behind.
const made: TestBundle[] = [];
afterEach(() => disposeBundles(made));
const bundleFor = bundleMaker(made);

function createBoth(args: string[], edit?: (spec: Spec) => void) {
  const cgroup = `/corral-test-exec-${Math.random().toString(36).slice(2)}`;
  const bundle = bundleFor(args, (spec) => {
    spec.linux!.cgroupsPath = cgroup;
    edit?.(spec);
  });
  writeFileSync(join(bundle.rootfs, 'not-executable'), '#!/bin/sh\n');
  chmodSync(join(bundle.rootfs, 'not-executable'), 0o644);
  writeFileSync(join(bundle.rootfs, 'root-only'), '#!/bin/sh\n');
  chmodSync(join(bundle.rootfs, 'root-only'), 0o700);
  const runcArgs = [
    '--root',
    join(bundle.path, 'runc-state'),
    'create',
    '--bundle',
    bundle.path,
    runcId(bundle),
  ];
  const ofRunc = detachedSync('runc', runcArgs, join(bundle.path, 'runc.out'));
  runc(bundle, 'delete', '--force', runcId(bundle));
  const corralArgs = ['--root', bundle.stateRoot, 'create', '--bundle', bundle.path, bundle.id];
  const ofCorral = detachedSync(corralBin, corralArgs, join(bundle.path, 'corral.out'));
  return { bundle, cgroup, runc: ofRunc, corral: ofCorral };
}

/** corral's error line without its prefix. */
const corralError = (stderr: string) => stderr.replace(/^corral: /, '').trim();

describe('a process.args[0] that cannot be run fails create as runc does', () => {
  it.each([
    [['/nope'], {}, 'exec: "/nope": stat /nope: no such file or directory'],
    [['nope'], {}, 'exec: "nope": executable file not found in $PATH'],
    [['/not-executable'], {}, 'exec: "/not-executable": permission denied'],
    // The process's own PATH is searched, and without one a bare name is found nowhere.
    [['sh'], { env: [] }, 'exec: "sh": executable file not found in $PATH'],
    [['sh'], { env: ['PATH=/etc:/home'] }, 'exec: "sh": executable file not found in $PATH'],
  ] as const)('%j %j: %s', (args, change, text) => {
    const { bundle, cgroup, runc, corral } = createBoth([...args], (spec) => {
      if ('env' in change) spec.process!.env = [...change.env];
    });
    expect(runc.status).toBe(1);
    expect(runcError(runc.output)).toBe(text);
    expect(corralError(corral.output)).toBe(text);
    expect(corral.status).toBe(1);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/memory${cgroup}`)).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/pids${cgroup}`)).toBe(false);
  });

  // Where Debian's runc 1.1.5 (built with Go 1.19) differs, current runc's words: it looks the
  // program up as the process's user, after the switch, and Go 1.20 names a directory.
  it.each([
    [['/tmp'], undefined, 'exec: "/tmp": is a directory'],
    [['/root-only'], 1000, 'exec: "/root-only": permission denied'],
  ] as const)('%j as uid %s: %s, as current runc says', (args, uid, text) => {
    const { corral } = createBoth([...args], (spec) => {
      if (uid !== undefined) spec.process!.user.uid = uid;
    });
    expect(corralError(corral.output)).toBe(text);
    expect(corral.status).toBe(1);
  });

  it('still finds what PATH has, and a relative name in the working directory', () => {
    const { bundle, runc, corral } = createBoth(['./bin/true'], (spec) => {
      spec.process!.env = ['PATH=/nowhere:/bin'];
    });
    expect(runc.output).toBe('');
    expect(runc.status).toBe(0);
    expect(corral.output).toBe('');
    expect(corral.status).toBe(0);
    expect(corralSync(bundle, 'start', bundle.id).status).toBe(0);
  });
});

describe('podman with corral as its runtime', () => {
  it.each([
    ['/nope', 127],
    ['nope', 127],
    ['/not-executable', 126],
  ])('turns %s into exit %i, as with runc', (program, status) => {
    const bundle = bundleFor(['true']);
    writeFileSync(join(bundle.rootfs, 'not-executable'), '#!/bin/sh\n');
    chmodSync(join(bundle.rootfs, 'not-executable'), 0o644);
    // The machine's hard RLIMIT_NOFILE is below podman's default request.
    const conf = join(bundle.path, 'containers.conf');
    writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]\n');
    const env = { ...process.env, CONTAINERS_CONF: conf };
    for (const runtime of [corralBin, 'runc']) {
      const name = `corral-lookup-${bundle.id}`;
      try {
        const args = [
          '--runtime',
          runtime,
          'run',
          '--rm',
          '--name',
          name,
          '--rootfs',
          bundle.rootfs,
          program,
        ];
        expect(spawnSync('podman', args, { encoding: 'utf8', env, timeout: 60_000 }).status).toBe(status);
      } finally {
        spawnSync('podman', ['--runtime', runtime, 'rm', '--force', '--time', '0', name], {
          env,
          timeout: 60_000,
        });
      }
    }
  });
});
