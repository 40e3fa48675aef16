// Two container namespaces and a host namespace, all made by this test: veth pairs from the host
// namespace into each container, joined by a bridge, checked with ping and with `ip`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  BridgeStrategy,
  LoopbackStrategy,
  type NetworkNamespace,
  type NetworkState,
  type VethConfig,
  VethStrategy,
} from '../../src/index.js';
import { eventually, ipJson, linkExists, ping, TestNamespaces, tag } from './helpers.js';

const namespaces = new TestNamespaces('veth');
const loopback = new LoopbackStrategy();
const veth = new VethStrategy();
const bridge = new BridgeStrategy();

// 10.200.N.0/24 and fd00:c0de:N::/64 with N from the pid, so parallel runs differ.
const subnet = 1 + (process.pid % 250);
const t = tag();
const bridgeConfig = {
  type: 'bridge' as const,
  name: `cbr${t}`,
  addresses: [`10.200.${subnet}.1/24`, `fd00:c0de:${subnet.toString(16)}::1/64`],
};
let host: { netns: NetworkNamespace; name: string };
let a: { netns: NetworkNamespace; name: string };
let b: { netns: NetworkNamespace; name: string };
let configA: VethConfig;
let configB: VethConfig;
let bridgeState: NetworkState;

function containerConfig(hostName: string, last: number): VethConfig {
  return {
    type: 'veth',
    name: 'eth0',
    hostInterfaceName: hostName,
    macAddress: `02:42:0a:c8:${subnet.toString(16).padStart(2, '0')}:${last.toString(16).padStart(2, '0')}`,
    mtu: 1400,
    addresses: [`10.200.${subnet}.${last}/24`, `fd00:c0de:${subnet.toString(16)}::${last}/64`],
    gateway: `10.200.${subnet}.1`,
    ipv6Gateway: `fd00:c0de:${subnet.toString(16)}::1`,
    bridge: bridgeConfig.name,
  };
}

beforeAll(async () => {
  host = namespaces.create();
  a = namespaces.create();
  b = namespaces.create();
  configA = containerConfig(`cva${t}`, 2);
  configB = containerConfig(`cvb${t}`, 3);
  bridgeState = await bridge.create(bridgeConfig, { netns: host.netns, hostNetns: host.netns });
  for (const side of [a, b]) await loopback.create({ type: 'loopback' }, { netns: side.netns });
  await veth.create(configA, { netns: a.netns, hostNetns: host.netns });
  await veth.create(configB, { netns: b.netns, hostNetns: host.netns });
});

afterAll(() => namespaces.removeAll());

describe('veth strategy through a bridge', () => {
  it('sets up what ip reports: name, MAC, MTU, addresses, default routes, bridge port', () => {
    const [link] = ipJson(a.name, '-d', 'link', 'show', 'eth0') as Array<Record<string, unknown>>;
    expect(link).toMatchObject({ ifname: 'eth0', mtu: 1400, address: configA.macAddress, operstate: 'UP' });
    const [addresses] = ipJson(a.name, 'addr', 'show', 'eth0') as Array<{
      addr_info: Array<Record<string, unknown>>;
    }>;
    const cidrs = addresses?.addr_info.map((i) => `${i.local}/${i.prefixlen}`);
    expect(cidrs).toEqual(expect.arrayContaining(configA.addresses ?? []));
    expect(ipJson(a.name, '-4', 'route', 'show', 'default')).toEqual([
      expect.objectContaining({ dst: 'default', gateway: configA.gateway, dev: 'eth0' }),
    ]);
    expect(ipJson(a.name, '-6', 'route', 'show', 'default')).toEqual([
      expect.objectContaining({ dst: 'default', gateway: configA.ipv6Gateway, dev: 'eth0' }),
    ]);
    const [hostEnd] = ipJson(host.name, 'link', 'show', configA.hostInterfaceName) as Array<
      Record<string, unknown>
    >;
    expect(hostEnd).toMatchObject({ master: bridgeConfig.name, mtu: 1400, operstate: 'UP' });
    // Nothing was left under a temporary name in the host namespace.
    const hostLinks = (ipJson(host.name, 'link', 'show') as Array<{ ifname: string }>)
      .map((l) => l.ifname)
      .sort();
    expect(hostLinks).toEqual(
      ['lo', bridgeConfig.name, configA.hostInterfaceName, configB.hostInterfaceName].sort(),
    );
  });

  it('lets the two containers ping each other and the bridge, over IPv4 and IPv6', async () => {
    expect(await eventually(() => ping(a.name, `10.200.${subnet}.3`))).toBe(true);
    expect(ping(b.name, `10.200.${subnet}.2`)).toBe(true);
    expect(ping(a.name, `10.200.${subnet}.1`)).toBe(true);
    expect(await eventually(() => ping(a.name, `fd00:c0de:${subnet.toString(16)}::3`))).toBe(true);
    expect(ping(b.name, `fd00:c0de:${subnet.toString(16)}::1`)).toBe(true);
  });

  it('reports statistics from the container side that move with traffic', async () => {
    const before = await veth.statistics(configA, { netns: a.netns, hostNetns: host.netns });
    expect(ping(a.name, `10.200.${subnet}.3`, 3)).toBe(true);
    const after = await veth.statistics(configA, { netns: a.netns, hostNetns: host.netns });
    expect(after?.name).toBe(configA.hostInterfaceName);
    // Three echo requests out of the container and three replies in, at least.
    expect((after?.txPackets ?? 0) - (before?.txPackets ?? 0)).toBeGreaterThanOrEqual(3);
    expect((after?.rxPackets ?? 0) - (before?.rxPackets ?? 0)).toBeGreaterThanOrEqual(3);
    expect((after?.txBytes ?? 0) - (before?.txBytes ?? 0)).toBeGreaterThanOrEqual(3 * 84);
    expect(after).toMatchObject({ rxErrors: 0, txErrors: 0 });
    // The same counters as the container's own end reports, seen from inside: read between two
    // readings of ip's, since a stray packet (IPv6 neighbour discovery) may come at any time.
    const inside = () =>
      (
        ipJson(a.name, '-s', 'link', 'show', 'eth0') as Array<{
          stats64: { rx: { packets: number }; tx: { packets: number } };
        }>
      )[0]!.stats64;
    const first = inside();
    const ours = await veth.statistics(configA, { netns: a.netns, hostNetns: host.netns });
    const last = inside();
    for (const [counter, direction] of [
      ['txPackets', 'tx'],
      ['rxPackets', 'rx'],
    ] as const) {
      expect(ours?.[counter]).toBeGreaterThanOrEqual(first[direction].packets);
      expect(ours?.[counter]).toBeLessThanOrEqual(last[direction].packets);
    }
    const bridgeStats = await bridge.statistics(bridgeConfig, { netns: host.netns, hostNetns: host.netns });
    expect(bridgeStats?.rxPackets).toBeGreaterThan(0);
  });

  it('detach cuts the traffic and attach restores it (network-lock and network-unlock)', async () => {
    await veth.detach(configA, { netns: a.netns, hostNetns: host.netns });
    const [hostEnd] = ipJson(host.name, 'link', 'show', configA.hostInterfaceName) as Array<
      Record<string, unknown>
    >;
    expect(hostEnd?.master).toBeUndefined();
    expect(ping(a.name, `10.200.${subnet}.3`)).toBe(false);
    await veth.attach(configA, { netns: a.netns, hostNetns: host.netns });
    expect(await eventually(() => ping(a.name, `10.200.${subnet}.3`))).toBe(true);
  });

  it('destroy removes both ends, and then the bridge it made', async () => {
    for (const [config, side] of [
      [configA, a],
      [configB, b],
    ] as const) {
      await veth.destroy(config, { netns: side.netns, hostNetns: host.netns });
      expect(linkExists(host.name, config.hostInterfaceName)).toBe(false);
      expect(linkExists(side.name, 'eth0')).toBe(false);
      // Destroying again finds nothing and says nothing.
      await veth.destroy(config, { netns: side.netns, hostNetns: host.netns });
    }
    await bridge.destroy(bridgeConfig, { netns: host.netns, hostNetns: host.netns }, bridgeState);
    expect(linkExists(host.name, bridgeConfig.name)).toBe(false);
  });
});
