// Bad input is refused before anything changes; a strategy that fails half way removes what it
// made. Checked by listing every link of the namespaces involved before and after.
import { execFileSync } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  BridgeStrategy,
  NetlinkError,
  NetworkConfigError,
  NetworkSetupError,
  Rtnetlink,
  type VethConfig,
  VethStrategy,
} from '../../src/index.js';
import { TestNamespaces, tag } from './helpers.js';

const namespaces = new TestNamespaces('errors');
const veth = new VethStrategy();
let host: ReturnType<typeof namespaces.create>;
let container: ReturnType<typeof namespaces.create>;

beforeAll(() => {
  host = namespaces.create();
  container = namespaces.create();
});
afterAll(() => namespaces.removeAll());

async function linkNames(netns: typeof host): Promise<string[]> {
  const rt = Rtnetlink.open(netns.netns);
  try {
    return (await rt.listLinks()).map((link) => link.name).sort();
  } finally {
    rt.close();
  }
}

function goodConfig(): VethConfig {
  return {
    type: 'veth',
    name: 'eth0',
    hostInterfaceName: `ce${tag()}`,
    addresses: ['10.203.0.2/24', 'fd00:c0de:203::2/64'],
    gateway: '10.203.0.1',
  };
}

describe('refused before any change', () => {
  const cases: Array<[string, Partial<VethConfig>, RegExp]> = [
    ['a host name over 15 bytes', { hostInterfaceName: 'x'.repeat(16) }, /^hostInterfaceName: .*15 bytes/],
    ['a container name over 15 bytes', { name: 'eth0-much-too-long' }, /^name: /],
    [
      'a bad CIDR',
      { addresses: ['10.203.0.2/24', '10.203.0.300/24'] },
      /^addresses\[1\]: expected ADDRESS\/PREFIX/,
    ],
    ['a prefix too long', { addresses: ['fd00::2/129'] }, /^addresses\[0\]: /],
    ['a bad MAC', { macAddress: '02:00:00:00:00' }, /^macAddress: /],
    ['a multicast MAC', { macAddress: '01:00:5e:00:00:01' }, /^macAddress: a multicast MAC/],
    ['an MTU too small', { mtu: 40 }, /^mtu: /],
    ['a gateway outside the addresses', { gateway: '10.9.9.1' }, /^gateway: the gateway is not inside/],
    ['an IPv6 gateway that is IPv4', { ipv6Gateway: '10.203.0.1' }, /^ipv6Gateway: expected an IPv6/],
    ['a missing bridge', { bridge: 'nobridge0' }, /^bridge: no such bridge/],
  ];

  it.each(cases)('%s', async (_, change, message) => {
    const before = [await linkNames(host), await linkNames(container)];
    const error = await veth
      .create({ ...goodConfig(), ...change }, { netns: container.netns, hostNetns: host.netns })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkConfigError);
    expect((error as Error).message).toMatch(message);
    expect([await linkNames(host), await linkNames(container)]).toEqual(before);
  });

  it('a name already in use, on either side', async () => {
    const config = goodConfig();
    const rt = Rtnetlink.open(container.netns);
    await rt.createVeth('eth0', { peer: { name: 'eth0peer' } });
    try {
      const before = await linkNames(host);
      const inContainer = await veth
        .create(config, { netns: container.netns, hostNetns: host.netns })
        .catch((e) => e);
      expect(inContainer).toMatchObject({ code: 'INVALID_CONFIG', field: 'name', value: 'eth0' });
      expect(await linkNames(host)).toEqual(before);
      const onHost = await veth
        .create(
          { ...config, name: 'eth1', hostInterfaceName: 'lo' },
          { netns: container.netns, hostNetns: host.netns },
        )
        .catch((e) => e);
      expect(onHost).toMatchObject({ code: 'INVALID_CONFIG', field: 'hostInterfaceName', value: 'lo' });
      expect(await linkNames(container)).toEqual(['eth0', 'eth0peer', 'lo']);
    } finally {
      await rt.deleteLink('eth0');
      rt.close();
    }
  });

  it('a bridge name taken by another kind of link, or reuse refused', async () => {
    const bridges = new BridgeStrategy();
    const target = { netns: host.netns, hostNetns: host.netns };
    const taken = await bridges.create({ type: 'bridge', name: 'lo' }, target).catch((e) => e);
    expect(taken).toMatchObject({ code: 'INVALID_CONFIG', field: 'name' });
    const name = `cb${tag()}`;
    const state = await bridges.create({ type: 'bridge', name }, target);
    expect(state.created).toBe(true);
    const reused = await bridges.create({ type: 'bridge', name }, target);
    expect(reused.created).toBe(false);
    const refused = await bridges.create({ type: 'bridge', name, reuse: false }, target).catch((e) => e);
    expect(refused).toMatchObject({ code: 'INVALID_CONFIG', field: 'name' });
    // The reuser's destroy leaves it; the creator's removes it.
    await bridges.destroy({ type: 'bridge', name }, target, reused);
    expect(await linkNames(host)).toContain(name);
    await bridges.destroy({ type: 'bridge', name }, target, state);
    expect(await linkNames(host)).not.toContain(name);
  });
});

/** Switches IPv6 off in a namespace while `body` runs: an IPv6 address is then refused (EACCES). */
async function withoutIpv6(netns: string, body: () => Promise<void>): Promise<void> {
  // /proc/sys/net shows the namespace of the process that opens it, hence the shell inside.
  const set = (value: number) =>
    execFileSync('ip', [
      'netns',
      'exec',
      netns,
      'sh',
      '-c',
      `for s in all default; do echo ${value} > /proc/sys/net/ipv6/conf/$s/disable_ipv6; done`,
    ]);
  set(1);
  try {
    await body();
  } finally {
    set(0);
  }
}

describe('rollback', () => {
  it('removes the pair when a step after its creation fails', async () => {
    // The container's IPv6 address is refused after the pair exists.
    await withoutIpv6(container.name, async () => {
      const before = [await linkNames(host), await linkNames(container)];
      const config = goodConfig();
      const error = await veth
        .create(config, { netns: container.netns, hostNetns: host.netns })
        .catch((e) => e);
      expect(error).toBeInstanceOf(NetworkSetupError);
      expect((error as NetworkSetupError).cleanupErrors).toEqual([]);
      const cause = (error as NetworkSetupError).cause;
      expect(cause).toBeInstanceOf(NetlinkError);
      expect(cause).toMatchObject({ request: 'RTM_NEWADDR', interface: 'eth0' });
      expect((error as Error).message).toMatch(
        new RegExp(`veth ${config.hostInterfaceName}: add address fd00:c0de:203::2/64`),
      );
      expect([await linkNames(host), await linkNames(container)]).toEqual(before);
    });
  });

  it('removes a bridge it made when a step after its creation fails', async () => {
    await withoutIpv6(host.name, async () => {
      const before = await linkNames(host);
      const name = `cb${tag()}`;
      const config = { type: 'bridge' as const, name, addresses: ['10.204.0.1/24', 'fd00:c0de:204::1/64'] };
      const error = await new BridgeStrategy()
        .create(config, { netns: host.netns, hostNetns: host.netns })
        .catch((e) => e);
      expect(error).toBeInstanceOf(NetworkSetupError);
      expect((error as NetworkSetupError).cause).toMatchObject({ errnoName: 'EACCES', interface: name });
      expect(await linkNames(host)).toEqual(before);
    });
  });
});
