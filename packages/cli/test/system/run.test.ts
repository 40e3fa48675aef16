import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { tempDir } from '@corral/tooling/test-env';

import { afterEach, describe, expect, it } from 'vitest';

import {
  baseConfig,
  bundleMaker,
  corralBin,
  makeBundle,
  processesRootedIn,
  runBundle,
  type TestBundle,
} from '../../../core/test/system/bundle.js';

// What `corral run` prints and exits with; what the container sees is core's (its run.test.ts).

const made: TestBundle[] = [];
afterEach(() => {
  for (const bundle of made.splice(0)) bundle.remove();
});

const bundleFor = bundleMaker(made);

describe('corral run: exit status', () => {
  it('exits 0 and 3 as the process does', async () => {
    expect((await runBundle(bundleFor(['true']))).status).toBe(0);
    expect((await runBundle(bundleFor(['sh', '-c', 'exit 3']))).status).toBe(3);
  });

  it('exits 128+n when the process is killed by signal n', async () => {
    // Outside a pid namespace the process is not an init, so it can die of its own signal.
    const bundle = bundleFor(['sh', '-c', 'kill -USR1 $$; sleep 5'], (spec) => {
      spec.linux = {
        ...spec.linux,
        namespaces: (spec.linux?.namespaces ?? []).filter((ns) => ns.type !== 'pid'),
        maskedPaths: [],
        readonlyPaths: [],
      };
      spec.mounts = (spec.mounts ?? []).filter((m) => m.type !== 'proc');
    });
    expect((await runBundle(bundle)).status).toBe(128 + 10);
  });

  it('forwards signals to the container process', async () => {
    const bundle = bundleFor(['sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
    const result = await runBundle(bundle, (child) => {
      child.stdout?.once('data', () => child.kill('SIGTERM'));
    });
    expect(result.status).toBe(7);
  });
});

describe('corral run: bad input leaves nothing behind', () => {
  async function expectFailure(bundle: TestBundle, message: RegExp): Promise<void> {
    const result = await runBundle(bundle);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
    expect(processesRootedIn(bundle.rootfs)).toEqual([]);
  }

  it('no config.json', async () => {
    const bundle = makeBundle();
    made.push(bundle);
    await expectFailure(bundle, /JSON specification file config\.json not found in /);
  });

  it('invalid JSON', async () => {
    const bundle = makeBundle();
    made.push(bundle);
    bundle.writeConfig('{"ociVersion": "1.2.0", "process": ');
    await expectFailure(bundle, /config\.json is not valid JSON/);
  });

  it('a field of the wrong type', async () => {
    const bundle = makeBundle();
    made.push(bundle);
    const spec = baseConfig(['true']) as unknown as { process: { user: { uid: unknown } } };
    spec.process.user.uid = 'root';
    bundle.writeConfig(spec);
    await expectFailure(bundle, /process\.user\.uid: must be an integer/);
  });

  it('missing rootfs', async () => {
    await expectFailure(
      bundleFor(['true'], (spec) => {
        spec.root!.path = 'no-such-rootfs';
      }),
      /root\.path: rootfs .*no-such-rootfs does not exist/,
    );
  });

  it('empty process.args', async () => {
    await expectFailure(bundleFor([]), /args must not be empty \(process\.args\)/);
  });

  it('an invalid id', async () => {
    const bundle = bundleFor(['true']);
    bundle.id = '../escape';
    await expectFailure(bundle, /invalid container id "\.\.\/escape"/);
  });

  it('an args[0] that does not exist in the rootfs', async () => {
    await expectFailure(
      bundleFor(['/no/such/program']),
      /exec: "\/no\/such\/program": stat \/no\/such\/program: no such file or directory/,
    );
    await expectFailure(bundleFor(['no-such-program']), /executable file not found in \$PATH/);
  });

  it('a mount the kernel refuses, named by its place in the config', async () => {
    await expectFailure(
      bundleFor(['true'], (spec) => {
        spec.mounts!.push({ destination: '/bad', type: 'tmpfs', source: 'tmpfs', options: ['size=lots'] });
      }),
      /mount tmpfs on \/bad \(mounts\[\d+\]\): fsconfig: EINVAL/,
    );
  });

  it('an id already in use', async () => {
    const first = bundleFor(['sh', '-c', 'trap "exit 0" TERM; echo up; while :; do sleep 0.05; done']);
    const second = bundleFor(['true']);
    second.id = first.id;
    // Both use the first bundle's state root, so the id collides.
    const { stateRoot } = first;
    let stop: (() => void) | undefined;
    const running = runBundle(first, (child) => {
      stop = () => child.kill('SIGTERM');
      child.stdout?.once('data', async () => {
        const result = await runBundle({ ...second, stateRoot });
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(/container "t-.*" already exists/);
        expect(processesRootedIn(second.rootfs)).toEqual([]);
        stop?.();
      });
    });
    await running;
  });
});

describe('corral run: compiled seccomp programs are kept', () => {
  it('compiles a profile once, and the kept program denies what the profile denies', () => {
    const cache = tempDir('cache');
    try {
      const bundle = bundleFor(['sh', '-c', 'mkdir /tmp/denied 2>/dev/null; echo $?'], (spec) => {
        spec.linux!.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
        };
      });
      const run = () =>
        spawnSync(corralBin, ['--root', bundle.stateRoot, 'run', '--bundle', bundle.path, bundle.id], {
          encoding: 'utf8',
          env: { ...process.env, CORRAL_CACHE_DIR: cache.path },
          timeout: 60_000,
        });
      expect(run().stdout).toBe('1\n');
      const kept = readdirSync(join(cache.path, 'seccomp'));
      expect(kept).toHaveLength(1);
      const written = statSync(join(cache.path, 'seccomp', kept[0]!)).mtimeMs;
      // From the kept program, which is not written again.
      expect(run().stdout).toBe('1\n');
      expect(readdirSync(join(cache.path, 'seccomp'))).toEqual(kept);
      expect(statSync(join(cache.path, 'seccomp', kept[0]!)).mtimeMs).toBe(written);
    } finally {
      cache.remove();
    }
  });
});
