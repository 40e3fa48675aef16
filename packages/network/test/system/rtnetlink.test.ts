// The Rtnetlink client on the real kernel, checked with `ip`: two namespaces joined directly by
// one veth pair, addresses and routes added, listed and removed, a link moved and renamed.
import { spawn } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkError, Rtnetlink } from '../../src/index.js';
import { eventually, ipJson, linkExists, ping, TestNamespaces, tag } from './helpers.js';

const namespaces = new TestNamespaces('rtnl');
const subnet = 1 + ((process.pid + 97) % 250);
const hex = subnet.toString(16);
let left: ReturnType<typeof namespaces.create>;
let right: ReturnType<typeof namespaces.create>;
let rtLeft: Rtnetlink;
let rtRight: Rtnetlink;

beforeAll(() => {
  left = namespaces.create();
  right = namespaces.create();
  rtLeft = Rtnetlink.open(left.netns);
  rtRight = Rtnetlink.open(right.netns);
});

afterAll(() => {
  rtLeft?.close();
  rtRight?.close();
  namespaces.removeAll();
});

describe('Rtnetlink on the real kernel', () => {
  it('joins two namespaces with one veth pair that carries pings both ways', async () => {
    await rtLeft.createVeth('pl', { mtu: 1300, peer: { name: 'pr', netns: right.netns, mtu: 1300 } });
    expect(linkExists(left.name, 'pl')).toBe(true);
    expect(linkExists(left.name, 'pr')).toBe(false);
    expect(linkExists(right.name, 'pr')).toBe(true);
    await rtLeft.addAddress('pl', `10.201.${subnet}.1/30`);
    await rtRight.addAddress('pr', `10.201.${subnet}.2/30`);
    await rtLeft.addAddress('pl', `fd00:c0de:${hex}:1::1/64`, { noDad: true });
    await rtRight.addAddress('pr', `fd00:c0de:${hex}:1::2/64`, { noDad: true });
    await rtLeft.setLink('pl', { up: true });
    await rtRight.setLink('pr', { up: true });
    expect(await eventually(() => ping(left.name, `10.201.${subnet}.2`))).toBe(true);
    expect(ping(right.name, `10.201.${subnet}.1`)).toBe(true);
    expect(await eventually(() => ping(right.name, `fd00:c0de:${hex}:1::1`))).toBe(true);
    const peer = await rtLeft.getLink('pl');
    expect(peer).toMatchObject({ kind: 'veth', mtu: 1300, up: true, lowerUp: true, operState: 'up' });
  });

  it('lists addresses as ip shows them, and deletes one', async () => {
    const ours = (await rtRight.listAddresses({ link: 'pr' })).map((a) => a.cidr);
    const theirs = (
      ipJson(right.name, 'addr', 'show', 'pr') as Array<{
        addr_info: Array<{ local: string; prefixlen: number }>;
      }>
    )
      .flatMap((l) => l.addr_info)
      .map((i) => `${i.local}/${i.prefixlen}`);
    expect(ours.sort()).toEqual(theirs.sort());
    expect(ours).toContain(`fd00:c0de:${hex}:1::2/64`);
    await rtRight.deleteAddress('pr', `fd00:c0de:${hex}:1::2/64`);
    expect((await rtRight.listAddresses({ family: 'inet6', link: 'pr' })).map((a) => a.cidr)).not.toContain(
      `fd00:c0de:${hex}:1::2/64`,
    );
  });

  it('adds, lists and deletes routes, a default route among them', async () => {
    await rtRight.addRoute({ destination: 'default', gateway: `10.201.${subnet}.1` });
    await rtRight.addRoute({
      destination: '10.202.0.0/16',
      gateway: `10.201.${subnet}.1`,
      device: 'pr',
      priority: 7,
    });
    expect(ipJson(right.name, '-4', 'route', 'show')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: `10.201.${subnet}.1`, dev: 'pr' }),
        expect.objectContaining({ dst: '10.202.0.0/16', gateway: `10.201.${subnet}.1`, metric: 7 }),
      ]),
    );
    const routes = await rtRight.listRoutes({ family: 'inet' });
    expect(routes.map((r) => r.destination)).toEqual(
      expect.arrayContaining(['default', '10.202.0.0/16', `10.201.${subnet}.0/30`]),
    );
    await rtRight.deleteRoute({ destination: '10.202.0.0/16', gateway: `10.201.${subnet}.1`, priority: 7 });
    await rtRight.deleteRoute({ destination: 'default', gateway: `10.201.${subnet}.1` });
    expect(ipJson(right.name, '-4', 'route', 'show', 'default')).toEqual([]);
    expect((await rtRight.listRoutes({ family: 'inet' })).map((r) => r.destination)).toEqual([
      `10.201.${subnet}.0/30`,
    ]);
  });

  it('changes MTU and MAC, and moves a link into another namespace under a new name', async () => {
    await rtLeft.setLink('pl', { mtu: 1280, address: '02:00:00:00:12:34' });
    expect(ipJson(left.name, 'link', 'show', 'pl')).toEqual([
      expect.objectContaining({ mtu: 1280, address: '02:00:00:00:12:34' }),
    ]);
    const name = `mv${tag()}`;
    await rtLeft.createVeth(name, { peer: { name: `${name}p` } });
    await rtLeft.setLink(name, { netns: right.netns, name: 'moved0' });
    expect(linkExists(left.name, name)).toBe(false);
    expect(linkExists(right.name, 'moved0')).toBe(true);
    await rtRight.deleteLink('moved0');
    // Deleting one end of a pair deletes the other, in whichever namespace it is.
    expect(linkExists(left.name, `${name}p`)).toBe(false);
  });

  it('moves a link into the namespace of a process given by pid', async () => {
    const sleeper = spawn('ip', ['netns', 'exec', right.name, 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const name = `pid${tag()}`;
      await rtLeft.createVeth(name, { peer: { name: `${name}p` } });
      await rtLeft.setLink(name, { netnsPid: sleeper.pid as number });
      expect(linkExists(left.name, name)).toBe(false);
      expect(linkExists(right.name, name)).toBe(true);
      await rtRight.deleteLink(name);
    } finally {
      sleeper.kill();
    }
  });

  it('turns refusals into NetlinkErrors with the errno, the request and the interface', async () => {
    const missing = await rtLeft.deleteLink('nosuch0').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NetlinkError);
    expect(missing).toMatchObject({
      errno: 19,
      errnoName: 'ENODEV',
      request: 'RTM_DELLINK',
      interface: 'nosuch0',
    });
    const duplicate = await rtLeft.addAddress('pl', `10.201.${subnet}.1/30`).catch((e: unknown) => e);
    expect(duplicate).toMatchObject({ errnoName: 'EEXIST', request: 'RTM_NEWADDR', interface: 'pl' });
    const taken = await rtLeft.createVeth('pl', { peer: { name: 'other0' } }).catch((e: unknown) => e);
    expect(taken).toMatchObject({ errnoName: 'EEXIST', request: 'RTM_NEWLINK', interface: 'pl' });
    expect(String((taken as Error).message)).toMatch(/create veth pl.*EEXIST/);
    // An unreachable gateway: the kernel explains itself through the extended ack.
    const unreachable = await rtLeft
      .addRoute({ destination: 'default', gateway: '10.99.99.1' })
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ errnoName: 'ENETUNREACH', request: 'RTM_NEWROUTE' });
    expect((unreachable as NetlinkError).kernelMessage).toMatch(/gateway|nexthop/i);
  });
});
