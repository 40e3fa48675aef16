import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriuClient } from '@corral/criu';
import { NetworkNamespace, Rtnetlink, type VethConfig, VethStrategy } from '@corral/network';
import { repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { Container, restoreContainer } from '../../src/index.js';
import { baseConfig, corralBin, makeBundle, processesRootedIn, type TestBundle } from './bundle.js';

/** The CRIU that tooling/setup.d/20-criu.sh unpacks into the repository, found as users would: CORRAL_CRIU. */
const env = { ...process.env, CORRAL_CRIU: join(repoRoot, 'tooling/criu/criu') };

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A container counting into /data/count, a directory of the bundle bind-mounted in. */
function counterBundle(): TestBundle {
  const spec = baseConfig([
    'sh',
    '-c',
    'i=0; while :; do echo $i >> /data/count; i=$((i+1)); sleep 0.05; done',
  ]);
  spec.mounts!.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'rw'] });
  const bundle = makeBundle(spec);
  cleanups.push(() => {
    spawnSync(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', bundle.id], { timeout: 60_000 });
    bundle.remove();
  });
  mkdirSync(join(bundle.path, 'data'));
  mkdirSync(join(bundle.rootfs, 'data'), { recursive: true });
  return bundle;
}

/** corral with pipes for its output: only for commands that leave no process holding them. */
function corral(stateRoot: string, ...args: string[]) {
  return spawnSync(corralBin, ['--root', stateRoot, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
    env,
  });
}

/** Succeeded, and said nothing: the whole result in one assertion, so a failure shows why. */
function expectSuccess(result: ReturnType<typeof corral>): void {
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
}

/** A command that leaves a container running: its stdio is /dev/null and a file, never a pipe of ours. */
function detached(bundle: TestBundle, ...args: string[]): void {
  execFileSync(
    'sh',
    [
      '-c',
      'out="$1"; shift; exec "$@" </dev/null >>"$out" 2>&1',
      'sh',
      join(bundle.path, 'out'),
      corralBin,
      ...args,
    ],
    { timeout: 60_000, env },
  );
}

/** `restore --detach` of `images` into the bundle's own container, its stdio as `detached` gives it. */
function restoreDetached(bundle: TestBundle, images: string, ...flags: string[]): void {
  detached(
    bundle,
    ...['--root', bundle.stateRoot, 'restore', '--detach', ...flags],
    ...['--image-path', images, '--bundle', bundle.path, bundle.id],
  );
}

/** A detached container running `args` in the network namespace at `netnsPath`, deleted after the test. */
function runJoining(netnsPath: string, args: string[]): TestBundle {
  const spec = baseConfig(args);
  spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
    ns.type === 'network' ? { type: 'network', path: netnsPath } : ns,
  );
  const bundle = makeBundle(spec);
  cleanups.push(() => {
    spawnSync(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', bundle.id], { timeout: 60_000 });
    bundle.remove();
  });
  detached(bundle, '--root', bundle.stateRoot, 'run', '-d', '--bundle', bundle.path, bundle.id);
  return bundle;
}

function counts(bundlePath: string): number[] {
  const file = join(bundlePath, 'data', 'count');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (let i = 0; i < timeoutMs / 10 && !predicate(); i++) await sleep(10);
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
}

function state(stateRoot: string, id: string) {
  const result = corral(stateRoot, 'state', id);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as { status: string; pid: number; bundle: string };
}

/** The container's cgroup directories as its state.json records them. */
function cgroupPaths(stateRoot: string, id: string): string[] {
  return Object.values(JSON.parse(readFileSync(join(stateRoot, id, 'state.json'), 'utf8')).cgroupPaths ?? {});
}

/** Nothing of a container left: no state directory, no cgroup directory named after it, no process. */
function expectNothingLeft(stateRoot: string, id: string, rootfs?: string): void {
  expect(existsSync(join(stateRoot, id))).toBe(false);
  for (const hierarchy of ['pids', 'freezer', 'unified', '']) {
    const dir = join('/sys/fs/cgroup', hierarchy);
    if (existsSync(join(dir, 'cgroup.procs')) || existsSync(join(dir, 'tasks'))) {
      expect(readdirSync(dir)).not.toContain(id);
    }
  }
  if (rootfs) expect(processesRootedIn(rootfs)).toEqual([]);
}

async function startCounter(bundle: TestBundle): Promise<void> {
  detached(bundle, '--root', bundle.stateRoot, 'run', '--detach', '--bundle', bundle.path, bundle.id);
  await waitFor(() => counts(bundle.path).length >= 5, 'the counter to count');
}

function described(pids: number[]): string[] {
  return pids.map((pid) => {
    try {
      return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')} ${readlinkSync(`/proc/${pid}/root`)} ${statSync(`/proc/${pid}/root`).ino}`;
    } catch {
      return `${pid} gone`;
    }
  });
}

/** One unbroken sequence 0, 1, 2, ...: no restart from 0 and no gap. */
function expectUnbroken(all: number[]): void {
  expect(all).toEqual(all.map((_, i) => i));
}

/** A network namespace of `ip netns add`, removed after the test; returns its path. */
function netns(): string {
  const name = uniqueName('ns');
  execFileSync('ip', ['netns', 'add', name], { timeout: 60_000 });
  cleanups.push(() => spawnSync('ip', ['netns', 'delete', name], { timeout: 60_000 }));
  return `/run/netns/${name}`;
}

describe('checkpoint and restore of a container', () => {
  it('checkpoints a counting container, which stops and is deleted, and restores it counting on', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const paths = cgroupPaths(bundle.stateRoot, bundle.id);
    const images = join(bundle.path, 'images');

    const dumped = corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id);
    expect(dumped.stderr).toBe('');
    expect(dumped.status).toBe(0);
    // Gone as runc leaves it: no state, no cgroup, no process; the images are what is left.
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
    for (const path of paths) expect(existsSync(path)).toBe(false);
    expect(existsSync(join(images, 'inventory.img'))).toBe(true);
    const descriptors = JSON.parse(readFileSync(join(images, 'descriptors.json'), 'utf8'));
    expect(descriptors).toHaveLength(3);
    const atCheckpoint = counts(bundle.path).length;
    await sleep(300);
    expect(counts(bundle.path)).toHaveLength(atCheckpoint); // nothing counts while checkpointed

    const pageBlocks = () =>
      readdirSync(images)
        .filter((f) => /^pages-\d+\.img$/.test(f))
        .reduce((sum, f) => sum + statSync(join(images, f)).blocks, 0);
    expect(pageBlocks()).toBeGreaterThan(0);
    restoreDetached(bundle, images, '--auto-dedup');
    const restored = state(bundle.stateRoot, bundle.id);
    expect(restored.status).toBe('running');
    // --auto-dedup punched the restored pages out of the images.
    expect(pageBlocks()).toBe(0);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 5, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
    // The restored init is in the container's cgroup, and state/kill/delete work on it.
    const restoredPaths = cgroupPaths(bundle.stateRoot, bundle.id);
    const pidsCgroup = restoredPaths.find((p) => p.includes('/pids/')) ?? restoredPaths[0]!;
    expect(readFileSync(join(pidsCgroup, 'cgroup.procs'), 'utf8').split('\n')).toContain(
      String(restored.pid),
    );
    expectSuccess(corral(bundle.stateRoot, 'kill', bundle.id, 'KILL'));
    await waitFor(
      () => state(bundle.stateRoot, bundle.id).status === 'stopped',
      'the restored container to stop',
    );
    expectSuccess(corral(bundle.stateRoot, 'delete', bundle.id));
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });

  it("puts the restored processes in the container's cgroup even when CRIU ignores cgroups", async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(
      corral(
        bundle.stateRoot,
        'checkpoint',
        '--manage-cgroups-mode',
        'ignore',
        '--image-path',
        images,
        bundle.id,
      ),
    );
    restoreDetached(bundle, images, '--manage-cgroups-mode', 'ignore');
    const before = counts(bundle.path).length;
    await waitFor(() => counts(bundle.path).length >= before + 3, 'the restored counter to go on');
    const pidsCgroup = cgroupPaths(bundle.stateRoot, bundle.id).find((p) => p.includes('/pids/'))!;
    const inCgroup = readFileSync(join(pidsCgroup, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
    const rooted = processesRootedIn(bundle.rootfs);
    expect(rooted.length).toBeGreaterThan(0);
    for (const pid of rooted) expect(inCgroup).toContain(pid);
  });

  it('leaves the container running with --leave-running, and restores it under a new id from a copied bundle', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');

    const dumped = corral(
      bundle.stateRoot,
      'checkpoint',
      '--leave-running',
      '--image-path',
      images,
      bundle.id,
    );
    expect(dumped.stderr).toBe('');
    expect(dumped.status).toBe(0);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');
    const afterDump = counts(bundle.path).length;
    await waitFor(() => counts(bundle.path).length >= afterDump + 5, 'the original to keep counting');

    // Stop the original first: the restored tree needs its files back as they were at the dump.
    expectSuccess(corral(bundle.stateRoot, 'delete', '--force', bundle.id));
    const copy = tempDir('bundle-copy');
    cleanups.push(copy.remove);
    const copyId = uniqueName('t');
    cleanups.push(() => {
      spawnSync(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', copyId], { timeout: 60_000 });
      for (const pid of processesRootedIn(join(copy.path, 'rootfs'))) process.kill(pid, 'SIGKILL');
    });
    cpSync(bundle.path, copy.path, { recursive: true, verbatimSymlinks: true });
    const before = counts(copy.path).length;

    const images2 = join(copy.path, 'images');
    const copyBundle = { ...bundle, path: copy.path };
    detached(
      copyBundle,
      '--root',
      bundle.stateRoot,
      'restore',
      '-d',
      '--image-path',
      images2,
      '-b',
      copy.path,
      copyId,
    );
    const restored = state(bundle.stateRoot, copyId);
    expect(restored).toMatchObject({ status: 'running', bundle: copy.path });
    await waitFor(() => counts(copy.path).length >= before + 5, 'the restored copy to count');
    // The copy goes on from the number it had reached at the dump (at least 5, at most what had
    // been written when the checkpoint returned), not from 0, one step at a time.
    const resumed = counts(copy.path).slice(before);
    expect(resumed[0]).toBeGreaterThanOrEqual(5);
    expect(resumed[0]).toBeLessThanOrEqual(afterDump);
    expect(resumed).toEqual(resumed.map((_, i) => resumed[0]! + i));
    const restoredPids = processesRootedIn(join(copy.path, 'rootfs'));
    expect(restoredPids.length).toBeGreaterThan(0);
    expect(described(processesRootedIn(bundle.rootfs))).toEqual([]);
    // In every hierarchy, v1 and v2, the tree is in the new container's cgroup, and CRIU made
    // no cgroup under the old id.
    for (const dir of cgroupPaths(bundle.stateRoot, copyId)) {
      const members = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      expect({ dir, members }).toEqual({ dir, members: expect.arrayContaining(restoredPids) });
    }
    expectNothingLeft(bundle.stateRoot, bundle.id);
  });

  it('leaves the network namespace out of the images with --empty-ns network, and restores it empty', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const ip = (...args: string[]) =>
      corral(bundle.stateRoot, 'exec', '--cap', 'CAP_NET_ADMIN', bundle.id, 'ip', ...args);
    expectSuccess(ip('addr', 'add', '10.251.0.1/32', 'dev', 'lo'));
    const addresses = () => ip('-o', 'addr').stdout;

    // By default the namespace's devices and addresses are part of the checkpoint.
    const full = join(bundle.path, 'full');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', full, bundle.id));
    restoreDetached(bundle, full);
    expect(addresses()).toContain('10.251.0.1');

    const empty = join(bundle.path, 'empty');
    expectSuccess(
      corral(bundle.stateRoot, 'checkpoint', '--empty-ns', 'network', '--image-path', empty, bundle.id),
    );
    const atCheckpoint = counts(bundle.path).length;
    restoreDetached(bundle, empty, '--empty-ns', 'network');
    expect(addresses()).not.toContain('10.251.0.1');
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 3, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
  });

  it('remakes a veth pair lent with linux.netDevices, its host end under its old name, and gives it back on delete', async () => {
    const lent = `cv${Math.random().toString(36).slice(2, 8)}`;
    const peer = `${lent}p`;
    execFileSync('ip', ['link', 'add', lent, 'type', 'veth', 'peer', 'name', peer], { timeout: 60_000 });
    cleanups.push(() => {
      for (const link of [lent, peer])
        spawnSync('ip', ['link', 'del', link], { stdio: 'ignore', timeout: 60_000 });
    });
    const bundle = counterBundle();
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.linux.netDevices = { [lent]: { name: 'eth1' } };
    bundle.writeConfig(spec);
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    // The pair died with the container's namespace.
    const hostLink = (name: string) => spawnSync('ip', ['-o', 'link', 'show', name], { encoding: 'utf8' });
    expect(hostLink(peer).status).not.toBe(0);

    restoreDetached(bundle, images);
    const inside = corral(
      bundle.stateRoot,
      'exec',
      bundle.id,
      'cat',
      '/sys/class/net/eth1/ifindex',
      '/sys/class/net/eth1/iflink',
    );
    const [index, peerIndex] = inside.stdout.trim().split('\n');
    // The host end is back under its name, and the two ends are each other's peers.
    expect(hostLink(peer).stdout).toMatch(new RegExp(`^${peerIndex}: ${peer}@if${index}:`));

    expectSuccess(corral(bundle.stateRoot, 'delete', '--force', bundle.id));
    expect(hostLink(lent).stdout).toMatch(new RegExp(`${lent}@${peer}`));
  });

  it('checkpoints and restores a container in a user namespace of its own, with the host cgroups mounted', async () => {
    const bundle = counterBundle();
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.linux.namespaces.push({ type: 'user' });
    spec.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] });
    bundle.writeConfig(spec);
    // The container's root is host id 100000: its files, its data, and the log its stdout is.
    // CRIU reopens the bind mounts' sources and the stdout file from inside the namespace.
    chmodSync(bundle.path, 0o711);
    writeFileSync(join(bundle.path, 'out'), '');
    execFileSync(
      'chown',
      ['-R', '-h', '100000:100000', bundle.rootfs, join(bundle.path, 'data'), join(bundle.path, 'out')],
      {
        timeout: 60_000,
      },
    );
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    // Readable by the container's root, which reads some of them during the restore, and no one else.
    expect(statSync(images)).toMatchObject({ uid: 100000, gid: 100000, mode: 0o40700 });
    const atCheckpoint = counts(bundle.path).length;

    restoreDetached(bundle, images);
    const restored = state(bundle.stateRoot, bundle.id);
    expect(readFileSync(`/proc/${restored.pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual([
      '0',
      '100000',
      '65536',
    ]);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 5, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
    const cgroups = corral(bundle.stateRoot, 'exec', bundle.id, 'ls', '/sys/fs/cgroup/pids');
    expect(cgroups.stdout).toContain('cgroup.procs');
    expectSuccess(corral(bundle.stateRoot, 'delete', '--force', bundle.id));
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });

  it('leaves a network namespace the container joined out of the dump, and restores into the one the config names then', async () => {
    const bundle = counterBundle();
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    const joining = (path: string) => ({
      ...spec,
      linux: {
        ...spec.linux,
        namespaces: spec.linux.namespaces.map((ns: { type: string }) =>
          ns.type === 'network' ? { type: 'network', path } : ns,
        ),
      },
    });
    // As podman does: a namespace of its own per start, named in the config.
    bundle.writeConfig(joining(netns()));
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));

    const second = netns();
    bundle.writeConfig(joining(second));
    const before = counts(bundle.path).length;
    restoreDetached(bundle, images);
    const restored = state(bundle.stateRoot, bundle.id);
    expect(statSync(`/proc/${restored.pid}/ns/net`).ino).toBe(statSync(second).ino);
    await waitFor(() => counts(bundle.path).length >= before + 3, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
  });

  it('makes the mount points that the rootfs lacks at restore, for a directory and a file', async () => {
    const bundle = counterBundle();
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.mounts.push({ destination: '/etc/marker', type: 'bind', source: 'marker', options: ['bind'] });
    bundle.writeConfig(spec);
    writeFileSync(join(bundle.path, 'marker'), 'marked\n');
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));

    // As a rootfs made afresh for the restore has them: neither mount point there.
    rmSync(join(bundle.rootfs, 'etc/marker'));
    rmSync(join(bundle.rootfs, 'data'), { recursive: true });
    const before = counts(bundle.path).length;
    restoreDetached(bundle, images);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');
    await waitFor(() => counts(bundle.path).length >= before + 3, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
    expect(statSync(join(bundle.rootfs, 'etc/marker')).isFile()).toBe(true);
    expect(statSync(join(bundle.rootfs, 'data')).isDirectory()).toBe(true);
  });
});

/**
 * corral with its stdout a real pipe (Node's own 'pipe' is a socket) read by cat into `out`; the
 * exit status goes to `out.status`, stderr to `out.err`. Not waited for: a container keeps the pipe.
 */
function corralIntoPipe(out: string, ...args: string[]): void {
  const child = spawn(
    'sh',
    [
      '-c',
      'out="$1"; shift; { "$@" 2>"$out.err" </dev/null; echo $? >"$out.status"; } | cat >"$out"',
      'sh',
      out,
      corralBin,
      ...args,
    ],
    { stdio: 'ignore', env, detached: true },
  );
  child.unref();
}

function linesOf(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

describe('a CRIU configuration file of the container', () => {
  it('is read from the org.criu.config annotation at checkpoint and restore, its settings winning', async () => {
    const bundle = counterBundle();
    const config = join(bundle.path, 'criu.conf');
    writeFileSync(config, 'log-file custom.log\n');
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.annotations = { 'org.criu.config': config };
    writeFileSync(join(bundle.path, 'config.json'), JSON.stringify(spec));
    await startCounter(bundle);
    const images = join(bundle.path, 'images');

    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    expect(readdirSync(images).filter((f) => f.endsWith('.log'))).toEqual(['custom.log']);
    expect(readFileSync(join(images, 'custom.log'), 'utf8')).toContain('Dumping finished successfully');

    const atCheckpoint = counts(bundle.path).length;
    restoreDetached(bundle, images);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 3, 'the restored counter to go on');
    expect(readdirSync(images).filter((f) => f.endsWith('.log'))).toEqual(['custom.log']);
    expect(readFileSync(join(images, 'custom.log'), 'utf8')).toContain('Restore finished successfully');
  });
});

describe('a container serving TCP on its own network namespace', () => {
  it('keeps an established connection across checkpoint and restore with --tcp-established', async () => {
    // A namespace of its own, joined by path, wired to the host by a veth pair: CRIU leaves it
    // out of the dump, so its address and the peer's route stay while the container is away.
    const netns = NetworkNamespace.create(uniqueName('ckpt'));
    cleanups.push(() => netns.remove());
    const subnet = `10.231.${Math.floor(Math.random() * 256)}`;
    const veth: VethConfig = {
      type: 'veth',
      name: 'eth0',
      hostInterfaceName: `ck${Math.random().toString(36).slice(2, 8)}`,
      addresses: [`${subnet}.2/30`],
    };
    await new VethStrategy().create(veth, { netns });
    const host = Rtnetlink.open();
    try {
      await host.addAddress(veth.hostInterfaceName, `${subnet}.1/30`);
    } finally {
      host.close();
    }

    const bundle = runJoining(netns.path, ['nc', '-l', '-p', '5000', '-e', 'cat']);

    const client = await connectWhenListening(`${subnet}.2`, 5000);
    cleanups.push(() => client.socket.destroy());
    client.socket.write('before\n');
    await client.received('before\n');

    // Without the flag CRIU refuses the connected socket, and the container runs on.
    const refused = corral(
      bundle.stateRoot,
      'checkpoint',
      '--image-path',
      join(bundle.path, 'no'),
      bundle.id,
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/tcp-established/);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');

    const images = join(bundle.path, 'images');
    expectSuccess(
      corral(
        ...[bundle.stateRoot, 'checkpoint', '--tcp-established', '--tcp-skip-in-flight', '--link-remap'],
        ...['--image-path', images, bundle.id],
      ),
    );
    // The flags reached CRIU, which says what it will do with them.
    const dumpLog = readFileSync(join(images, 'dump.log'), 'utf8');
    for (const line of [
      'Will dump/restore TCP connections',
      'Will skip in-flight TCP connections',
      'Will allow link remaps on FS',
    ]) {
      expect(dumpLog).toContain(line);
    }
    expect(processesRootedIn(bundle.rootfs)).toEqual([]);
    // Sent while nothing in the container exists: the kernel keeps it and retransmits it.
    client.socket.write('while away\n');
    await sleep(300);
    restoreDetached(bundle, images, '--tcp-established');
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');
    await client.received('before\nwhile away\n');
    client.socket.write('after\n');
    await client.received('before\nwhile away\nafter\n');
    expect(client.closed()).toBe(false);
  });
});

/** A TCP client that keeps everything it receives; retries the connection until the server listens. */
async function connectWhenListening(address: string, port: number) {
  for (let attempt = 0; ; attempt++) {
    try {
      const socket = await new Promise<Socket>((resolveSocket, reject) => {
        const s = connect(port, address, () => resolveSocket(s));
        s.once('error', reject);
      });
      let data = '';
      let closed = false;
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString();
      });
      socket.on('close', () => {
        closed = true;
      });
      return {
        socket,
        closed: () => closed,
        received: (expected: string) =>
          waitFor(() => data === expected, `the echo of ${JSON.stringify(expected)}`, 30_000),
      };
    } catch (error) {
      if (attempt >= 100) throw error;
      await sleep(50);
    }
  }
}

/** A TCP port of 127.0.0.1 that nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('post-copy migration', () => {
  it('restores a container under another state root while its checkpoint still serves the memory', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    const port = await freePort();

    const refused = corral(bundle.stateRoot, 'checkpoint', '--lazy-pages', '--image-path', images, bundle.id);
    expect(refused.stderr).toMatch(/--lazy-pages serves the memory on --page-server ADDRESS:PORT/);

    // The checkpoint writes all but the memory, says so on --status-fd, and then serves the
    // memory until the other side has all of it.
    const checkpoint = spawn(
      corralBin,
      [
        ...['--root', bundle.stateRoot, 'checkpoint', '--lazy-pages'],
        ...['--page-server', `127.0.0.1:${port}`, '--status-fd', '3', '--image-path', images, bundle.id],
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env },
    );
    cleanups.push(() => checkpoint.kill('SIGKILL'));
    let stderr = '';
    checkpoint.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const finished = new Promise<number | null>((resolve) => checkpoint.once('exit', resolve));
    const status = await new Promise<Buffer>((resolve, reject) => {
      checkpoint.stdio[3]!.once('data', resolve);
      finished.then(() => reject(new Error(`checkpoint ended before serving: ${stderr}`)));
    });
    expect([...status]).toEqual([0]);
    const atCheckpoint = counts(bundle.path).length;

    // The other side: its own copy of the images, its own state root and id, and a lazy-pages
    // daemon that fetches each page from the checkpoint as the restored container touches it.
    const there = tempDir('lazy-target');
    cleanups.push(there.remove);
    const target = join(there.path, 'images');
    cpSync(images, target, { recursive: true });
    const daemon = await new CriuClient({ criuPath: env.CORRAL_CRIU, logLevel: 4 }).startLazyPages({
      imagesDir: target,
      pageServer: { address: '127.0.0.1', port },
    });
    cleanups.push(() => void daemon.close());
    const otherRoot = join(there.path, 'state');
    const otherId = uniqueName('t');
    cleanups.push(() => {
      spawnSync(corralBin, ['--root', otherRoot, 'delete', '--force', otherId], { timeout: 60_000 });
    });
    detached(
      bundle,
      ...['--root', otherRoot, 'restore', '-d', '--lazy-pages'],
      ...['--image-path', target, '--bundle', bundle.path, otherId],
    );
    expect(state(otherRoot, otherId).status).toBe('running');

    expect(await finished).toBe(0);
    expect(stderr).toBe('');
    await expect(daemon.stopped).resolves.toEqual({ code: 0, signal: null });
    // The restored container faulted on memory that was still on the checkpoint's side.
    expect(readFileSync(daemon.logFile, 'utf8')).toMatch(/#PF at/);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 5, 'the migrated counter to go on');
    expectUnbroken(counts(bundle.path));
  });
});

describe('restore in the foreground', () => {
  it('sends the memory to a page server with --page-server, and restores from what it received', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    const pages = join(bundle.path, 'pages');
    const port = await freePort();
    const pageServer = await new CriuClient({ criuPath: env.CORRAL_CRIU }).startPageServer({
      imagesDir: pages,
      address: '127.0.0.1',
      port,
    });
    cleanups.push(() => {
      try {
        process.kill(pageServer.pid, 'SIGKILL');
      } catch {
        // It exits by itself once the dump is done.
      }
    });
    const bad = corral(
      bundle.stateRoot,
      'checkpoint',
      '--page-server',
      'nowhere',
      '--image-path',
      images,
      bundle.id,
    );
    expect(bad.stderr).toMatch(/--page-server must be ADDRESS:PORT/);

    const dumped = corral(
      bundle.stateRoot,
      'checkpoint',
      '--page-server',
      `127.0.0.1:${port}`,
      '--image-path',
      images,
      bundle.id,
    );
    expectSuccess(dumped);
    // The pages went to the server's directory, the rest to --image-path.
    const pageImages = (dir: string) => readdirSync(dir).filter((f) => /^pages-\d+\.img$/.test(f));
    expect(pageImages(images)).toEqual([]);
    expect(pageImages(pages).length).toBeGreaterThan(0);
    const atCheckpoint = counts(bundle.path).length;
    cpSync(pages, images, { recursive: true, force: false, errorOnExist: false });
    restoreDetached(bundle, images);
    await waitFor(() => counts(bundle.path).length >= atCheckpoint + 5, 'the restored counter to go on');
    expectUnbroken(counts(bundle.path));
  });

  it("hands the container's stdio pipe back as the restoring corral's own, and waits for it", async () => {
    const bundle = makeBundle(
      baseConfig(['sh', '-c', 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done']),
    );
    cleanups.push(() => {
      spawnSync(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', bundle.id], { timeout: 60_000 });
      bundle.remove();
    });
    const first = join(bundle.path, 'first');
    corralIntoPipe(first, '--root', bundle.stateRoot, 'run', '-d', '--bundle', bundle.path, bundle.id);
    await waitFor(() => linesOf(first).length >= 5, 'the container to write to its pipe');
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    expect(JSON.parse(readFileSync(join(images, 'descriptors.json'), 'utf8'))[1]).toMatch(/^pipe:\[\d+\]$/);
    await sleep(200);
    const written = linesOf(first);

    const second = join(bundle.path, 'second');
    corralIntoPipe(
      second,
      '--root',
      bundle.stateRoot,
      'restore',
      '--image-path',
      images,
      '--bundle',
      bundle.path,
      bundle.id,
    );
    await waitFor(() => linesOf(second).length >= 5, 'the restored container to write to the new pipe');
    // It goes on in the new pipe from the number after the last one the old pipe got.
    const resumed = linesOf(second);
    expect(resumed[0]).toBe(written[written.length - 1]! + 1);
    expect(resumed).toEqual(resumed.map((_, i) => resumed[0]! + i));
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');
    expect(existsSync(`${second}.status`)).toBe(false); // the restore is still waiting

    // The foreground restore ends with the container, with its status, and deletes it.
    expectSuccess(corral(bundle.stateRoot, 'kill', bundle.id, 'KILL'));
    await waitFor(() => existsSync(`${second}.status`), 'the foreground restore to return');
    await waitFor(() => readFileSync(`${second}.status`, 'utf8') !== '', 'the status to be written');
    expect(readFileSync(`${second}.status`, 'utf8').trim()).toBe('137');
    expect(readFileSync(`${second}.err`, 'utf8')).toBe('');
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });
});

describe('checkpoint and restore as a library', () => {
  const criuPath = join(repoRoot, 'tooling/criu/criu');

  it("cuts the container's veth while CRIU works on it, through the strategy's detach and attach", async () => {
    const netns = NetworkNamespace.create(uniqueName('lock'));
    cleanups.push(() => netns.remove());
    const veth: VethConfig = {
      type: 'veth',
      name: 'eth0',
      hostInterfaceName: `cl${Math.random().toString(36).slice(2, 8)}`,
      addresses: ['10.232.0.2/30'],
    };
    const strategy = new VethStrategy();
    await strategy.create(veth, { netns });
    const hostEndUp = () =>
      (Number(readFileSync(`/sys/class/net/${veth.hostInterfaceName}/flags`, 'utf8')) & 1) === 1;
    const steps: string[] = [];
    const network = {
      lock: async () => {
        await strategy.detach(veth, { netns });
        steps.push(`lock: up ${hostEndUp()}`);
      },
      unlock: async () => {
        await strategy.attach(veth, { netns });
        steps.push(`unlock: up ${hostEndUp()}`);
      },
    };

    const bundle = runJoining(netns.path, ['sleep', '1000']);
    const container = Container.load(bundle.stateRoot, bundle.id);
    const images = join(bundle.path, 'images');

    // Left running: locked for the dump, then unlocked.
    await container.checkpoint({ imagePath: join(images, 'kept'), leaveRunning: true, criuPath, network });
    expect(steps.splice(0)).toEqual(['lock: up false', 'unlock: up true']);

    // Dumped and gone: it stays locked until the restore unlocks it.
    const devNull = openSync('/dev/null', 'r');
    const out = openSync(join(bundle.path, 'out'), 'a');
    cleanups.push(() => {
      closeSync(devNull);
      closeSync(out);
    });
    await container.checkpoint({ imagePath: join(images, 'moved'), criuPath, network });
    expect(steps.splice(0)).toEqual(['lock: up false']);
    expect(hostEndUp()).toBe(false);
    const restored = await restoreContainer({
      id: bundle.id,
      bundle: bundle.path,
      root: bundle.stateRoot,
      imagePath: join(images, 'moved'),
      criuPath,
      stdio: [devNull, out, out],
      detach: true,
      network,
    });
    expect(steps).toEqual(['unlock: up true']);
    expect(statSync(`/proc/${restored.pid}/ns/net`).ino).toBe(statSync(netns.path).ino);
  });

  it('restores with the stdio it is given, after a pre-dump where the kernel can track memory', async () => {
    const bundle = makeBundle(
      baseConfig(['sh', '-c', 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done']),
    );
    cleanups.push(() => {
      spawnSync(corralBin, ['--root', bundle.stateRoot, 'delete', '--force', bundle.id], { timeout: 60_000 });
      bundle.remove();
    });
    const firstOut = join(bundle.path, 'first.out');
    const secondOut = join(bundle.path, 'second.out');
    const fds = [openSync('/dev/null', 'r'), openSync(firstOut, 'a'), openSync(secondOut, 'a')];
    cleanups.push(() => {
      for (const fd of fds) closeSync(fd);
    });
    const container = await Container.create({
      id: bundle.id,
      bundle: bundle.path,
      root: bundle.stateRoot,
      stdio: [fds[0]!, fds[1]!, fds[1]!],
    });
    await container.start();
    await waitFor(() => linesOf(firstOut).length >= 5, 'the container to write');

    const images = join(bundle.path, 'images');
    // A pre-dump needs the kernel's dirty-page tracking; without it, it is refused and changes nothing.
    const { memTrack } = await new CriuClient({ criuPath }).featureCheck();
    const preDump = container.checkpoint({ imagePath: join(images, 'pre'), preDump: true, criuPath });
    if (memTrack) {
      await preDump;
    } else {
      await expect(preDump).rejects.toMatchObject({
        code: 'NOT_SUPPORTED',
        message: expect.stringMatching(/^pre-dump: .*dirty memory tracking/),
      });
    }
    expect(await container.status()).toBe('running'); // a pre-dump leaves it running
    await container.checkpoint({
      imagePath: join(images, 'final'),
      ...(memTrack ? { parentPath: '../pre' } : {}),
      criuPath,
    });
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
    // After a pre-dump the final images hold only what changed, and point at the parent's.
    if (memTrack) expect(readlinkSync(join(images, 'final', 'parent'))).toBe('../pre');
    await sleep(200);
    const written = linesOf(firstOut);

    const restored = await restoreContainer({
      id: bundle.id,
      bundle: bundle.path,
      root: bundle.stateRoot,
      imagePath: join(images, 'final'),
      criuPath,
      stdio: [fds[0]!, fds[2]!, fds[2]!],
      detach: true,
    });
    expect(restored.pid).toBeGreaterThan(0);
    await waitFor(() => linesOf(secondOut).length >= 5, 'the restored container to write to its new stdout');
    const resumed = linesOf(secondOut);
    expect(resumed[0]).toBe(written[written.length - 1]! + 1);
    expect(linesOf(firstOut)).toEqual(written); // nothing more went to the old file
    const again = Container.load(bundle.stateRoot, bundle.id);
    expect(await again.status()).toBe('running');
    await again.delete({ force: true });
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });
});

describe('checkpoint and restore errors', () => {
  it('refuses a directory that is not a checkpoint, and leaves nothing behind', () => {
    const bundle = counterBundle();
    const notImages = join(bundle.path, 'not-images');
    mkdirSync(notImages);
    const result = corral(
      bundle.stateRoot,
      'restore',
      '-d',
      '--image-path',
      notImages,
      '-b',
      bundle.path,
      bundle.id,
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/is not a checkpoint: it has no inventory\.img/);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });

  it('removes the state, the cgroup and any restored process when CRIU fails part way', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    // The bind mount's source is gone: CRIU has made namespaces and processes when it finds out.
    renameSync(join(bundle.path, 'data'), join(bundle.path, 'data-moved'));
    const result = corral(
      bundle.stateRoot,
      'restore',
      '-d',
      '--image-path',
      images,
      '-b',
      bundle.path,
      bundle.id,
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^corral: restore failed: criu restore: /);
    expect(result.stderr).toContain(join(images, 'restore.log'));
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });

  it('refuses to checkpoint a container that is not running, and to restore over an existing id', async () => {
    const bundle = counterBundle();
    detached(bundle, '--root', bundle.stateRoot, 'create', '--bundle', bundle.path, bundle.id);
    const images = join(bundle.path, 'images');
    const created = corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id);
    expect(created.status).toBe(1);
    expect(created.stderr).toMatch(new RegExp(`cannot checkpoint container ${bundle.id}: it is created`));
    expect(state(bundle.stateRoot, bundle.id).status).toBe('created');

    // A real checkpoint of another container, restored onto the id that exists.
    const other = counterBundle();
    await startCounter(other);
    const otherImages = join(other.path, 'images');
    expectSuccess(corral(other.stateRoot, 'checkpoint', '--image-path', otherImages, other.id));
    const clash = corral(
      bundle.stateRoot,
      'restore',
      '-d',
      '--image-path',
      otherImages,
      '-b',
      other.path,
      bundle.id,
    );
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(/already exists/);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('created'); // untouched
    expect(described(processesRootedIn(other.rootfs))).toEqual([]);

    const missing = corral(other.stateRoot, 'checkpoint', '--image-path', images, 'no-such-container');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('says clearly when CRIU cannot be found, and when a flag is not supported, leaving nothing', async () => {
    const bundle = counterBundle();
    await startCounter(bundle);
    const images = join(bundle.path, 'images');
    const noCriu = spawnSync(
      corralBin,
      [
        '--root',
        bundle.stateRoot,
        '--criu',
        '/nonexistent/criu',
        'checkpoint',
        '--image-path',
        images,
        bundle.id,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(noCriu.status).toBe(1);
    expect(noCriu.stderr).toMatch(/checkpoint needs CRIU: .*\/nonexistent\/criu/);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');

    const badNs = corral(
      bundle.stateRoot,
      'checkpoint',
      '--empty-ns',
      'uts',
      '--image-path',
      images,
      bundle.id,
    );
    expect(badNs.status).toBe(1);
    expect(badNs.stderr.trim().split('\n')).toHaveLength(1);
    expect(badNs.stderr).toMatch(/--empty-ns can only be network, got "uts"/);
    expect(state(bundle.stateRoot, bundle.id).status).toBe('running');

    // A checkpoint to restore from, then a restore with no CRIU: no state, no cgroup left.
    expectSuccess(corral(bundle.stateRoot, 'checkpoint', '--image-path', images, bundle.id));
    const restore = spawnSync(
      corralBin,
      [
        '--root',
        bundle.stateRoot,
        '--criu',
        '/nonexistent/criu',
        'restore',
        '-d',
        '--image-path',
        images,
        '-b',
        bundle.path,
        bundle.id,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(restore.status).toBe(1);
    expect(restore.stderr).toMatch(/restore needs CRIU/);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);

    const lsm = corral(
      ...[bundle.stateRoot, 'restore', '-d', '--lsm-profile', 'apparmor:unconfined'],
      ...['--image-path', images, '-b', bundle.path, bundle.id],
    );
    expect(lsm.status).toBe(1);
    expect(lsm.stderr.trim().split('\n')).toHaveLength(1);
    expect(lsm.stderr).toMatch(/--lsm-profile is not supported yet/);
    expectNothingLeft(bundle.stateRoot, bundle.id, bundle.rootfs);
  });
});
