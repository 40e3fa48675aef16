import { existsSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { InvalidConfigError, runContainer, type Spec } from '../../src/index.js';
import {
  baseConfig,
  bundleMaker,
  makeBundle,
  type ProbeReport,
  processesRootedIn,
  runInProcess,
  type TestBundle,
} from './bundle.js';

const made: TestBundle[] = [];
afterEach(() => {
  for (const bundle of made.splice(0)) bundle.remove();
});

const bundleFor = bundleMaker(made);

/** runContainer of the probe, with the config edited by `edit`: what its process sees. */
async function probe(edit?: (spec: Spec) => void): Promise<ProbeReport> {
  const result = await runInProcess(bundleFor(['/bin/probe'], edit));
  expect({ status: result.status, stderr: result.stderr }).toEqual({
    status: { code: 0, signal: null },
    stderr: '',
  });
  return JSON.parse(result.stdout) as ProbeReport;
}

/** runContainer of `args`; its output. */
async function run(args: string[], edit?: (spec: Spec) => void) {
  return runInProcess(bundleFor(args, edit));
}

describe('runContainer: what the container sees', () => {
  it('runs the process as pid 1 of new namespaces, in a session of its own', async () => {
    const report = await probe();
    expect(report).toMatchObject({ pid: 1, ppid: 0, sid: 1 });
    for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net'])
      expect(report.namespaces[ns]).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
  });

  it('shows only the container processes in /proc', async () => {
    expect((await run(['sh', '-c', 'set -- /proc/[0-9]*; echo "$@"'])).stdout).toBe('/proc/1\n');
  });

  it("sets the config's hostname", async () => {
    const report = await probe((spec) => {
      spec.hostname = 'box-42';
    });
    expect(report.hostname).toBe('box-42');
  });

  it('has the rootfs as /', async () => {
    const bundle = bundleFor(['cat', '/marker']);
    writeFileSync(join(bundle.rootfs, 'marker'), `rootfs of ${bundle.id}\n`);
    expect((await runInProcess(bundle)).stdout).toBe(`rootfs of ${bundle.id}\n`);
  });

  it('has only lo in its network namespace', async () => {
    expect((await run(['ls', '/sys/class/net'])).stdout.trim().split(/\s+/)).toEqual(['lo']);
  });

  it('refuses writes to a read-only root', async () => {
    const result = await run(
      ['sh', '-c', 'touch /newfile && echo wrote; touch /tmp/x 2>&1; echo done'],
      (spec) => {
        spec.root!.readonly = true;
      },
    );
    expect(result.stdout).toContain('Read-only file system');
    expect(result.stdout).not.toContain('wrote');
    expect(result.stdout).toContain('done');
  });

  it('applies uid, gid and additionalGids', async () => {
    const report = await probe((spec) => {
      spec.process!.user = { uid: 1000, gid: 1001, additionalGids: [20, 30] };
    });
    expect(report).toMatchObject({ uid: [1000, 1000, 1000], gid: [1001, 1001, 1001], groups: [20, 30] });
  });

  it('passes env, cwd and args through', async () => {
    const report = await probe((spec) => {
      spec.process!.args = ['/bin/probe', 'first', 'second'];
      spec.process!.env = ['PATH=/bin', 'GREETING=hello'];
      spec.process!.cwd = '/tmp';
    });
    expect(report).toMatchObject({
      args: ['/bin/probe', 'first', 'second'],
      // HOME from the container's /etc/passwd, as runc adds it when the config leaves it unset.
      env: ['PATH=/bin', 'GREETING=hello', 'HOME=/root'],
      cwd: '/tmp',
    });
  });

  it('gives the process stdio and nothing else of the runtime', async () => {
    const report = await probe();
    expect(Object.keys(report.fds)).toEqual(['0', '1', '2']);
  });

  it('sets up /dev with the default devices, pts, shm and mqueue', async () => {
    const result = await run([
      'sh',
      '-c',
      'ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | cut -c1; head -c 4 /dev/zero | wc -c; readlink /dev/ptmx; readlink /dev/fd',
    ]);
    expect(result.stdout).toBe('c\nc\nc\nc\nc\nc\n4\npts/ptmx\n/proc/self/fd\n');
    const mounts = (await probe()).mountinfo.map((line) => line.split(' '));
    const typeOf = (point: string) => mounts.find((fields) => fields[4] === point)?.at(-3);
    expect(['/dev/pts', '/dev/shm', '/dev/mqueue'].map(typeOf)).toEqual(['devpts', 'tmpfs', 'mqueue']);
  });

  it('masks and write-protects the configured paths', async () => {
    // /proc/timer_list (a file) and /sys/firmware (a directory) exist on every kernel here.
    const result = await run([
      'sh',
      '-c',
      'wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; touch /sys/firmware/x 2>&1; echo 1 > /proc/sys/vm/drop_caches 2>&1',
    ]);
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
    const result = await runInProcess(bundle);
    expect(result.stdout).toBe('from the host\ntouch: /data/new: Read-only file system\nfrom the host\n');
    expect(existsSync(join(bundle.path, 'shared/new'))).toBe(false);
  });

  it('gives the exit status, and with keep leaves the stopped container', async () => {
    expect((await run(['sh', '-c', 'exit 3'])).status).toEqual({ code: 3, signal: null });
    const bundle = bundleFor(['true']);
    await runInProcess(bundle, { keep: true });
    expect(readdirSync(bundle.stateRoot)).toEqual([bundle.id]);
  });
});

describe('runContainer: bad input leaves nothing behind', () => {
  async function expectRefused(bundle: TestBundle, field: string, message: RegExp): Promise<void> {
    const running = runContainer({
      id: bundle.id,
      bundle: bundle.path,
      root: bundle.stateRoot,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    await expect(running).rejects.toThrow(InvalidConfigError);
    await expect(running).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      field,
      message: expect.stringMatching(message),
    });
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
    expect(processesRootedIn(bundle.rootfs)).toEqual([]);
  }

  it('a config that is not there, not JSON, or has a field of the wrong type', async () => {
    const missing = makeBundle();
    made.push(missing);
    await expectRefused(missing, '', /JSON specification file config\.json not found in /);
    const garbled = makeBundle();
    made.push(garbled);
    garbled.writeConfig('{"ociVersion": "1.2.0", "process": ');
    await expectRefused(garbled, '', /config\.json is not valid JSON/);
    const wrong = makeBundle();
    made.push(wrong);
    const spec = baseConfig(['true']) as unknown as { process: { user: { uid: unknown } } };
    spec.process.user.uid = 'root';
    wrong.writeConfig(spec);
    await expectRefused(wrong, 'process.user.uid', /must be an integer/);
  });

  it('a missing rootfs, or no process to run', async () => {
    await expectRefused(
      bundleFor(['true'], (spec) => {
        spec.root!.path = 'no-such-rootfs';
      }),
      'root.path',
      /rootfs .*no-such-rootfs does not exist/,
    );
    await expectRefused(bundleFor([]), 'process.args', /args must not be empty/);
  });

  it('a mount the kernel refuses, named by its place in the config', async () => {
    const bundle = bundleFor(['true'], (spec) => {
      spec.mounts!.push({ destination: '/bad', type: 'tmpfs', source: 'tmpfs', options: ['size=lots'] });
    });
    const running = runContainer({
      id: bundle.id,
      bundle: bundle.path,
      root: bundle.stateRoot,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    await expect(running).rejects.toMatchObject({
      code: 'SYSTEM',
      syscall: 'fsconfig',
      errnoCode: 'EINVAL',
      message: expect.stringMatching(/^mount tmpfs on \/bad \(mounts\[\d+\]\): fsconfig: EINVAL/),
    });
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
    expect(processesRootedIn(bundle.rootfs)).toEqual([]);
  });
});
