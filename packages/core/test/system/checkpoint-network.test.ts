import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkNamespace, Rtnetlink, type VethConfig, VethStrategy } from '@corral/network';
import { repoRoot, uniqueName } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it } from 'vitest';

import { Container, restoreContainer } from '../../src/index.js';
import { processesRootedIn } from './bundle.js';
import {
  cleanups,
  connectWhenListening,
  corral,
  counterBundle,
  counts,
  expectSuccess,
  expectUnbroken,
  netns,
  restoreDetached,
  runCleanups,
  runJoining,
  startCounter,
  state,
  takeTurnsWithCriu,
  waitFor,
} from './checkpoint-harness.js';

// Network namespaces across checkpoint and restore: left out, joined, lent devices, TCP.
afterEach(runCleanups);
takeTurnsWithCriu();

describe('checkpoint and restore of a container and its network', () => {
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
    // The pair dies with the container's namespace, which the kernel takes apart after its last
    // process is gone, asynchronously.
    const hostLink = (name: string) => spawnSync('ip', ['-o', 'link', 'show', name], { encoding: 'utf8' });
    await waitFor(() => hostLink(peer).status !== 0, 'the veth pair to go with the namespace');

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
});
