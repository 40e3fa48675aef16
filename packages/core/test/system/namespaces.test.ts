import { execFileSync, spawnSync } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';

import { tempDir, uniqueName } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import {
  baseConfig,
  bundleMaker,
  corralBin,
  corralSync,
  disposeBundles,
  expectNothingLeft,
  makeBundle,
  runBundle,
  type TestBundle,
} from './bundle.js';

const made: TestBundle[] = [];
const cleanups: Array<() => void> = [];
afterEach(() => {
  disposeBundles(made);
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const bundleFor = bundleMaker(made);

const corral = corralSync;

/** `corral create`: the container stands at its exec FIFO, its namespaces made. */
function create(bundle: TestBundle): void {
  // The container keeps its stdio: a file, not a pipe that the call would wait on.
  const out = openSync(join(bundle.path, 'container.out'), 'w');
  try {
    const result = spawnSync(
      corralBin,
      ['--root', bundle.stateRoot, 'create', '--bundle', bundle.path, bundle.id],
      {
        stdio: ['ignore', out, out],
        timeout: 60_000,
      },
    );
    expect(readFileSync(join(bundle.path, 'container.out'), 'utf8')).toBe('');
    expect(result.status).toBe(0);
  } finally {
    closeSync(out);
  }
}

function initPid(bundle: TestBundle): number {
  return JSON.parse(corral(bundle, 'state', bundle.id).stdout).pid;
}

/** A network namespace of `ip netns add`, with a veth pair in it, removed after the test. */
function netnsWithVeth(): string {
  const name = uniqueName('ns');
  execFileSync('ip', ['netns', 'add', name], { timeout: 60_000 });
  cleanups.push(() => spawnSync('ip', ['netns', 'delete', name], { timeout: 60_000 }));
  execFileSync('ip', ['-n', name, 'link', 'add', 'cx0', 'type', 'veth', 'peer', 'name', 'cx1'], {
    timeout: 60_000,
  });
  return name;
}

function uptime(text: string): number {
  return Number(text.trim().split(/\s+/)[0]);
}

describe('cgroup and time namespaces', () => {
  it('gives the process its own cgroup and time namespaces', async () => {
    const result = await runBundle(
      bundleFor(['sh', '-c', 'readlink /proc/self/ns/cgroup; readlink /proc/self/ns/time'], (spec) => {
        spec.linux!.namespaces!.push({ type: 'cgroup' }, { type: 'time' });
      }),
    );
    expect(result.stderr).toBe('');
    const [cgroup, time] = result.stdout.trim().split('\n');
    expect(cgroup).toMatch(/^cgroup:\[\d+\]$/);
    expect(time).toMatch(/^time:\[\d+\]$/);
    expect(cgroup).not.toBe(readlinkSync('/proc/self/ns/cgroup'));
    expect(time).not.toBe(readlinkSync('/proc/self/ns/time'));
  });

  it("shifts the clocks of the exec'd process by linux.timeOffsets", async () => {
    const days = 10 * 86400;
    const before = uptime(readFileSync('/proc/uptime', 'utf8'));
    const result = await runBundle(
      bundleFor(['sh', '-c', 'cat /proc/uptime; cat /proc/self/timens_offsets'], (spec) => {
        spec.linux!.namespaces!.push({ type: 'time' });
        spec.linux!.timeOffsets = { boottime: { secs: days }, monotonic: { secs: -7 } };
      }),
    );
    const after = uptime(readFileSync('/proc/uptime', 'utf8'));
    const [inside, ...offsets] = result.stdout.trim().split('\n');
    expect(uptime(inside!)).toBeGreaterThanOrEqual(before + days);
    expect(uptime(inside!)).toBeLessThanOrEqual(after + days);
    expect(offsets.map((line) => line.trim().split(/\s+/))).toEqual([
      ['monotonic', '-7', '0'],
      ['boottime', String(days), '0'],
    ]);
  });
  it('reports an offset that would turn the clock back past zero, and leaves nothing', async () => {
    const bundle = bundleFor(['true'], (spec) => {
      spec.linux!.namespaces!.push({ type: 'time' });
      spec.linux!.timeOffsets = {
        monotonic: { secs: -Math.ceil(uptime(readFileSync('/proc/uptime', 'utf8')) + 1e6) },
      };
    });
    const result = await runBundle(bundle);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/set the clock offsets \(linux\.timeOffsets\): write: ERANGE/);
    // It failed before the process existed, with its cgroup made already for it to start in.
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });
});

describe('joining namespaces by path', () => {
  it('joins the network namespace of `ip netns add` and sees its interfaces', async () => {
    const name = netnsWithVeth();
    const result = await runBundle(
      bundleFor(['ls', '/sys/class/net'], (spec) => {
        spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
          ns.type === 'network' ? { type: 'network', path: `/run/netns/${name}` } : ns,
        );
      }),
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split(/\s+/).sort()).toEqual(['cx0', 'cx1', 'lo']);
  });

  it('joins the uts namespace of another running container', async () => {
    const first = bundleFor(['sleep', '60'], (spec) => {
      spec.hostname = 'first-box';
    });
    create(first);
    const second = bundleFor(['hostname'], (spec) => {
      delete spec.hostname;
      spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
        ns.type === 'uts' ? { type: 'uts', path: `/proc/${initPid(first)}/ns/uts` } : ns,
      );
    });
    const result = await runBundle(second);
    expect(result).toMatchObject({ status: 0, stdout: 'first-box\n', stderr: '' });
  });

  it.each([
    [
      'a missing file',
      () => '/no/such/ns',
      /linux\.namespaces\[1\]\.path: cannot open \/no\/such\/ns: ENOENT/,
    ],
    [
      'a file that is no namespace',
      (bundle: TestBundle) => join(bundle.path, 'config.json'),
      /linux\.namespaces\[1\]\.path: .* is not a namespace file/,
    ],
    [
      'a namespace of another type',
      () => '/proc/self/ns/uts',
      /linux\.namespaces\[1\]\.path: \/proc\/self\/ns\/uts is a uts namespace, not a network namespace/,
    ],
  ])('refuses %s before anything exists, naming the field', async (_, pathFor, message) => {
    const bundle = bundleFor(['true']);
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8')) as Spec;
    expect(spec.linux!.namespaces![1]!.type).toBe('network');
    spec.linux!.namespaces![1]!.path = pathFor(bundle);
    bundle.writeConfig(spec);
    const result = await runBundle(bundle);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
  });
});

describe('user namespaces', () => {
  // Host root is not mapped: the container's root is host 231072, its groups start at 331072.
  const HOST_UID = 231072;
  const HOST_GID = 331072;
  function withUserNamespace(spec: Spec): void {
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: HOST_UID, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: HOST_GID, size: 65536 }];
  }

  /**
   * A host directory the container's root may write to, bind-mounted at /data. It sits in a
   * directory only host root may enter (as podman's per-container data does): the runtime
   * opens it before the process becomes the namespace's root.
   */
  function sharedDir(bundle: TestBundle, spec: Spec): string {
    const dir = tempDir('shared');
    cleanups.push(dir.remove);
    expect(statSync(dir.path).mode & 0o777).toBe(0o700);
    const shared = join(dir.path, 'inner');
    mkdirSync(shared);
    chownSync(shared, HOST_UID, HOST_GID);
    mkdirSync(join(bundle.rootfs, 'data'), { recursive: true });
    spec.mounts!.push({ destination: '/data', type: 'bind', source: shared, options: ['rbind'] });
    bundle.writeConfig(spec);
    return shared;
  }

  it('is root inside, a mapped host id outside', async () => {
    const script = [
      'id -u; id -g',
      'cat /proc/self/uid_map /proc/self/gid_map',
      'touch /data/made-inside',
      'echo discarded > /dev/null && echo null-works',
      'head -c 3 /dev/zero | wc -c',
      // The rootfs belongs to host root, which is not mapped: readable, not writable.
      'cat /etc/passwd >/dev/null && echo etc-readable',
      'touch /etc/by-container 2>/dev/null || echo etc-not-writable',
    ].join('; ');
    const spec = baseConfig(['sh', '-c', script]);
    withUserNamespace(spec);
    const bundle = makeBundle(spec);
    made.push(bundle);
    const shared = sharedDir(bundle, spec);
    const result = await runBundle(bundle);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n').map((line) => line.trim().replace(/\s+/g, ' '))).toEqual([
      '0',
      '0',
      `0 ${HOST_UID} 65536`,
      `0 ${HOST_GID} 65536`,
      'null-works',
      '3',
      'etc-readable',
      'etc-not-writable',
      '',
    ]);
    const created = statSync(join(shared, 'made-inside'));
    expect([created.uid, created.gid]).toEqual([HOST_UID, HOST_GID]);
    expect(existsSync(join(bundle.rootfs, 'etc/by-container'))).toBe(false);
  });

  it('maps process.user to its host ids, and hands the cgroup to the container root', async () => {
    const spec = baseConfig(['sh', '-c', 'id -u; touch /data/by-1000; sleep 60']);
    withUserNamespace(spec);
    spec.process!.user = { uid: 1000, gid: 1000 };
    const bundle = makeBundle(spec);
    made.push(bundle);
    const shared = sharedDir(bundle, spec);
    chownSync(shared, HOST_UID + 1000, HOST_GID + 1000);
    create(bundle);
    const cgroupDir = JSON.parse(readFileSync(join(bundle.stateRoot, bundle.id, 'state.json'), 'utf8'))
      .cgroupPaths[''] as string | undefined;
    if (cgroupDir) {
      for (const path of [cgroupDir, join(cgroupDir, 'cgroup.procs')]) {
        expect([statSync(path).uid, statSync(path).gid]).toEqual([HOST_UID, HOST_GID]);
      }
    }
    expect(corral(bundle, 'start', bundle.id).status).toBe(0);
    // An exec joins the user namespace too, as process.user by default.
    const inside = corral(bundle, 'exec', bundle.id, 'sh', '-c', 'id -u; cat /proc/self/uid_map');
    expect(inside.stdout.replace(/\s+/g, ' ').trim()).toBe(`1000 0 ${HOST_UID} 65536`);
    const deadline = Date.now() + 10_000;
    while (!existsSync(join(shared, 'by-1000')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const file = statSync(join(shared, 'by-1000'));
    expect([file.uid, file.gid]).toEqual([HOST_UID + 1000, HOST_GID + 1000]);
  });

  it('goes with a new time namespace, and an exec joins both', async () => {
    const bundle = bundleFor(['sleep', '60'], (spec) => {
      withUserNamespace(spec);
      spec.linux!.namespaces!.push({ type: 'time' });
      spec.linux!.timeOffsets = { boottime: { secs: 5 * 86400 } };
    });
    create(bundle);
    expect(corral(bundle, 'start', bundle.id).status).toBe(0);
    const before = uptime(readFileSync('/proc/uptime', 'utf8'));
    const inside = corral(
      bundle,
      'exec',
      bundle.id,
      'sh',
      '-c',
      'cat /proc/uptime; id -u; cat /proc/self/uid_map',
    );
    expect(inside.stderr).toBe('');
    const [clock, uid, map] = inside.stdout.trim().split('\n');
    expect(uptime(clock!)).toBeGreaterThanOrEqual(before + 5 * 86400);
    expect(uid).toBe('0');
    expect(map!.trim().split(/\s+/)).toEqual(['0', String(HOST_UID), '65536']);
  });

  it("joins another container's user namespace by path, beside a host-owned network namespace", async () => {
    const first = bundleFor(['sleep', '60'], withUserNamespace);
    create(first);
    const pid = initPid(first);
    const netns = netnsWithVeth();
    const script =
      'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; tail -n +3 /proc/net/dev | cut -d: -f1';
    const second = bundleFor(['sh', '-c', script], (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
        ns.type === 'network' ? { type: 'network', path: `/run/netns/${netns}` } : ns,
      );
      spec.linux!.namespaces.push({ type: 'user', path: `/proc/${pid}/ns/user` });
      // sysfs shows a network namespace only to the user namespace that owns it (the host's).
      spec.mounts = spec.mounts!.filter((m) => m.destination !== '/sys');
    });
    const result = await runBundle(second);
    expect(result.stderr).toBe('');
    const [uid, map, ns, ...interfaces] = result.stdout.trim().split('\n');
    expect(uid).toBe('0');
    expect(map!.trim().split(/\s+/)).toEqual(['0', String(HOST_UID), '65536']);
    expect(ns).toBe(readlinkSync(`/proc/${pid}/ns/user`));
    expect(interfaces.map((name) => name.trim()).sort()).toEqual(['cx0', 'cx1', 'lo']);
  });

  it('refuses a user namespace without mappings before anything exists', async () => {
    const bundle = bundleFor(['true'], (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
    });
    const result = await runBundle(bundle);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/linux\.uidMappings: a new user namespace needs uid mappings/);
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
  });
});
