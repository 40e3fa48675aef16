import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  baseConfig,
  bundleMaker,
  makeBundle,
  processesRootedIn,
  runBundle,
  type TestBundle,
} from './bundle.js';

const made: TestBundle[] = [];
afterEach(() => {
  for (const bundle of made.splice(0)) bundle.remove();
});

const bundleFor = bundleMaker(made);

describe('corral run: what the container sees', () => {
  it('runs the process as pid 1 of a new pid namespace', async () => {
    const result = await runBundle(bundleFor(['sh', '-c', 'echo $$']));
    expect(result).toMatchObject({ status: 0, stdout: '1\n', stderr: '' });
  });

  it('shows only the container processes in /proc', async () => {
    const result = await runBundle(bundleFor(['ls', '/proc']));
    expect(result.stdout.split('\n').filter((name) => /^\d+$/.test(name))).toEqual(['1']);
  });

  it("sets the config's hostname", async () => {
    const result = await runBundle(
      bundleFor(['hostname'], (spec) => {
        spec.hostname = 'box-42';
      }),
    );
    expect(result.stdout).toBe('box-42\n');
  });

  it('has the rootfs as /', async () => {
    const bundle = bundleFor(['cat', '/marker']);
    writeFileSync(join(bundle.rootfs, 'marker'), `rootfs of ${bundle.id}\n`);
    const result = await runBundle(bundle);
    expect(result.stdout).toBe(`rootfs of ${bundle.id}\n`);
  });

  it('has only lo in its network namespace', async () => {
    const result = await runBundle(bundleFor(['ls', '/sys/class/net']));
    expect(result.stdout.trim().split(/\s+/)).toEqual(['lo']);
  });

  it('refuses writes to a read-only root', async () => {
    const result = await runBundle(
      bundleFor(['sh', '-c', 'touch /newfile && echo wrote; touch /tmp/x 2>&1; echo done'], (spec) => {
        spec.root!.readonly = true;
      }),
    );
    expect(result.stdout).toContain('Read-only file system');
    expect(result.stdout).not.toContain('wrote');
    expect(result.stdout).toContain('done');
  });

  it('applies uid, gid and additionalGids', async () => {
    const result = await runBundle(
      bundleFor(['sh', '-c', 'grep -E "^(Uid|Gid|Groups):" /proc/self/status'], (spec) => {
        spec.process!.user = { uid: 1000, gid: 1001, additionalGids: [20, 30] };
      }),
    );
    expect(result.stdout.replace(/[ \t]+/g, ' ')).toBe(
      'Uid: 1000 1000 1000 1000\nGid: 1001 1001 1001 1001\nGroups: 20 30 \n',
    );
  });

  it('passes env, cwd and args through', async () => {
    const result = await runBundle(
      bundleFor(['sh', '-c', 'echo "$GREETING $0 $1"; pwd', 'first', 'second'], (spec) => {
        spec.process!.env = ['PATH=/bin', 'GREETING=hello'];
        spec.process!.cwd = '/tmp';
      }),
    );
    expect(result.stdout).toBe('hello first second\n/tmp\n');
  });

  it('sets up /dev with the default devices, pts, shm and mqueue', async () => {
    const result = await runBundle(
      bundleFor([
        'sh',
        '-c',
        'ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | cut -c1; head -c 4 /dev/zero | wc -c; readlink /dev/ptmx; readlink /dev/fd; grep -E " /dev/(pts|shm|mqueue) " /proc/mounts | cut -d" " -f2,3',
      ]),
    );
    expect(result.stdout).toBe(
      'c\nc\nc\nc\nc\nc\n4\npts/ptmx\n/proc/self/fd\n/dev/pts devpts\n/dev/shm tmpfs\n/dev/mqueue mqueue\n',
    );
  });

  it('masks and write-protects the configured paths', async () => {
    const result = await runBundle(
      // /proc/timer_list (a file) and /sys/firmware (a directory) exist on every kernel here.
      bundleFor([
        'sh',
        '-c',
        'wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; touch /sys/firmware/x 2>&1; echo 1 > /proc/sys/vm/drop_caches 2>&1',
      ]),
    );
    expect(result.stdout).toBe('0\n0\ntouch: /sys/firmware/x: Read-only file system\n');
    expect(result.stderr).toContain("can't create /proc/sys/vm/drop_caches: Read-only file system");
  });

  it('binds host paths with their options', async () => {
    const bundle = bundleFor(
      ['sh', '-c', 'cat /data/hello; touch /data/new 2>&1 || true; cat /etc/hostname-copy'],
      (spec) => {
        spec.mounts!.push({ destination: '/data', type: 'bind', source: 'shared', options: ['rbind', 'ro'] });
        spec.mounts!.push({
          destination: '/etc/hostname-copy',
          type: 'bind',
          source: 'shared/hello',
          options: ['bind'],
        });
      },
    );
    mkdirSync(join(bundle.path, 'shared'));
    writeFileSync(join(bundle.path, 'shared/hello'), 'from the host\n');
    const result = await runBundle(bundle);
    expect(result.stdout).toBe('from the host\ntouch: /data/new: Read-only file system\nfrom the host\n');
    expect(existsSync(join(bundle.path, 'shared/new'))).toBe(false);
  });
});

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
    await expectFailure(bundle, /no config\.json in bundle/);
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
    await expectFailure(bundleFor([]), /process\.args: must name the program to run/);
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
