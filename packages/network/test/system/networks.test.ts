// A container's whole list of networks: made in order, undone when one fails, measured, removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createNetworks,
  destroyNetworks,
  type NetworkConfig,
  NetworkSetupError,
  networkStatistics,
  Rtnetlink,
} from '../../src/index.js';
import { eventually, linkExists, TestNamespaces, tag } from './helpers.js';

const namespaces = new TestNamespaces('networks');
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

function networks(): NetworkConfig[] {
  const t = tag();
  return [
    { type: 'loopback' },
    {
      type: 'veth',
      name: 'eth0',
      hostInterfaceName: `cn${t}0`,
      addresses: ['10.205.0.2/24'],
      gateway: '10.205.0.1',
    },
    { type: 'veth', name: 'eth1', hostInterfaceName: `cn${t}1`, addresses: ['10.206.0.2/24'] },
  ];
}

describe('createNetworks', () => {
  it('undoes the networks already made when a later one fails', async () => {
    const configs = networks();
    // A bridge that does not exist: refused, but only once the first veth has been made.
    configs[2] = { ...(configs[2] as NetworkConfig & { type: 'veth' }), bridge: 'nobridge0' };
    const before = await linkNames(host);
    const error = await createNetworks(configs, { netns: container.netns, hostNetns: host.netns }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(NetworkSetupError);
    expect((error as Error).message).toMatch(/^networks\[2\] \(veth\): bridge: no such bridge/);
    expect((error as NetworkSetupError).cleanupErrors).toEqual([]);
    expect(await linkNames(host)).toEqual(before);
    expect(await linkNames(container)).toEqual(['lo']);
  });

  it('makes them all, reports their statistics and removes them', async () => {
    const configs = networks();
    const target = { netns: container.netns, hostNetns: host.netns };
    const states = await createNetworks(configs, target);
    expect(states.map((s) => s.type)).toEqual(['loopback', 'veth', 'veth']);
    expect(await linkNames(container)).toEqual(['eth0', 'eth1', 'lo']);
    const statistics = await networkStatistics(configs, target);
    expect(statistics.map((s) => s.name)).toEqual(
      configs.flatMap((c) => (c.type === 'veth' ? [c.hostInterfaceName] : [])),
    );
    await destroyNetworks(configs, target, states);
    expect(await linkNames(container)).toEqual(['lo']);
    expect(await linkNames(host)).toEqual(['lo']);
  });

  it('destroys quietly when the container namespace died and took the pair with it', async () => {
    const doomed = namespaces.create();
    const configs = networks().slice(0, 2);
    const target = { netns: doomed.netns, hostNetns: host.netns };
    const states = await createNetworks(configs, target);
    const hostName = (configs[1] as { hostInterfaceName: string }).hostInterfaceName;
    expect(await linkNames(host)).toContain(hostName);
    doomed.netns.remove();
    // The kernel dismantles a dead namespace from a work queue, and the pair with it.
    expect(await eventually(() => !linkExists(host.name, hostName))).toBe(true);
    await destroyNetworks(configs, target, states);
  });
});
