// Rtnetlink must ask the kernel for the same things, in the same bytes, as iproute2's `ip`.
import { describe, expect, it } from 'vitest';

import { decodeRoute, type NetworkNamespace, Rtnetlink } from '../../src/index.js';
import { asRecorded, capture, lastRequest, RecordingTransport, repliesTo, sent } from './captures.js';

// Interface indexes in the capture namespace: lo 1, vcapB 2, vcapA 3, brcap 4.
const VCAP_B = 2;
const VCAP_A = 3;
const BRCAP = 4;

async function encoded(action: (rt: Rtnetlink) => Promise<unknown>, dumpReplies: Buffer[] = []) {
  const transport = new RecordingTransport(dumpReplies);
  await action(new Rtnetlink(transport));
  return transport.requests;
}

describe('requests match what ip sends', () => {
  const cases: Array<[string, (rt: Rtnetlink) => Promise<unknown>]> = [
    ['link-add-veth', (rt) => rt.createVeth('vcapA', { peer: { name: 'vcapB' } })],
    ['link-add-bridge', (rt) => rt.createBridge('brcap')],
    ['link-set-address-mtu', (rt) => rt.setLink(VCAP_A, { address: '02:00:0a:c8:01:02', mtu: 1400 })],
    ['link-set-master', (rt) => rt.setLink(VCAP_A, { master: BRCAP })],
    ['link-set-nomaster', (rt) => rt.setLink(VCAP_A, { master: null })],
    ['link-set-up', (rt) => rt.setLink(VCAP_A, { up: true })],
    ['link-set-down', (rt) => rt.setLink(VCAP_A, { up: false })],
    // ip opened the target namespace on descriptor 4.
    ['link-set-netns-fd', (rt) => rt.setLink(VCAP_B, { netns: { fd: 4, path: 'x' } as NetworkNamespace })],
    // vcapQ was index 5; the pid was that of a process in the other namespace.
    ['link-set-netns-pid', (rt) => rt.setLink(5, { netnsPid: capturedPid('link-set-netns-pid') })],
    ['link-del', (rt) => rt.deleteLink(VCAP_A)],
    ['addr-add-ipv4', (rt) => rt.addAddress(VCAP_B, '10.200.1.2/24')],
    ['addr-add-ipv6', (rt) => rt.addAddress(VCAP_B, 'fd00:c0de::2/64', { noDad: true })],
    ['addr-del-ipv4', (rt) => rt.deleteAddress(VCAP_B, '10.200.1.2/24')],
    [
      'route-add-default-ipv4',
      (rt) => rt.addRoute({ destination: 'default', gateway: '10.200.1.1', device: VCAP_B }),
    ],
    [
      'route-del-default-ipv4',
      (rt) => rt.deleteRoute({ destination: 'default', gateway: '10.200.1.1', device: VCAP_B }),
    ],
    ['link-show', (rt) => rt.listLinks()],
    ['addr-show-ipv4', (rt) => rt.listAddresses({ family: 'inet', link: VCAP_B })],
    ['route-show-ipv4', (rt) => rt.listRoutes({ family: 'inet' })],
  ];

  it.each(cases)('%s', async (name, action) => {
    const requests = await encoded(action);
    // Lookups ip made first (names to indexes) are not part of the comparison: the last request is.
    const ipRequest = name.includes('-show') ? findDump(name) : asRecorded(lastRequest(name));
    expect(requests.at(-1)).toEqual(ipRequest);
  });
});

function capturedPid(name: string): number {
  return Number(capture(name).command.split(' ').at(-1));
}

/** The dump request in a `show` capture (ip also looks up names and probes first). */
function findDump(name: string) {
  const dump = sent(name).find((m) => (m.flags & 0x300) === 0x300);
  if (!dump) throw new Error(`no dump request in ${name}`);
  return asRecorded(dump);
}

it('asks for an IPv6 default route as ip does (ip adds an explicit ::/0 RTA_DST; the kernel reads both alike)', async () => {
  const [request] = await encoded((rt) =>
    rt.addRoute({ destination: 'default', gateway: 'fd00:c0de::1', device: VCAP_B }),
  );
  const ip = lastRequest('route-add-default-ipv6');
  expect(request).toMatchObject({ type: ip.type, flags: ip.flags });
  expect(decodeRoute(Buffer.from(request?.payload ?? '', 'hex'))).toEqual(decodeRoute(ip.payload));
  expect(decodeRoute(ip.payload)).toMatchObject({ destination: 'default', gateway: 'fd00:c0de::1' });
});

describe('dump answers from the kernel decode', () => {
  it('lists the links of `ip link show`', async () => {
    const request = sent('link-show').find((m) => (m.flags & 0x300) === 0x300);
    const replies = repliesTo('link-show', request!).filter((m) => m.type === 16);
    const transport = new RecordingTransport(replies.map((m) => m.payload));
    const links = await new Rtnetlink(transport).listLinks();
    const byName = Object.fromEntries(links.map((link) => [link.name, link]));
    expect(Object.keys(byName).sort()).toEqual(['brcap', 'lo', 'vcapA', 'vcapB']);
    expect(byName.lo).toMatchObject({ index: 1, up: false, mtu: 65536 });
    // By then vcapA had been released from brcap and set down again.
    expect(byName.vcapA).toMatchObject({
      index: VCAP_A,
      kind: 'veth',
      up: false,
      mtu: 1400,
      address: '02:00:0a:c8:01:02',
      peerIndex: VCAP_B,
    });
    expect(byName.vcapB).toMatchObject({ kind: 'veth', up: true, peerIndex: VCAP_A });
    expect(byName.brcap).toMatchObject({ kind: 'bridge', index: BRCAP });
    expect(byName.vcapA?.master).toBeUndefined();
    expect(byName.vcapB?.statistics).toMatchObject({ rxErrors: 0, txErrors: 0 });
  });

  it('lists the addresses of `ip -4 addr show` and `ip -6 addr show`', async () => {
    for (const [name, family, expected] of [
      ['addr-show-ipv4', 'inet', ['10.200.1.2/24']],
      // vcapB had no carrier (its peer was down), so it had no link-local address yet.
      ['addr-show-ipv6', 'inet6', ['fd00:c0de::2/64']],
    ] as const) {
      const request = sent(name).find((m) => (m.flags & 0x300) === 0x300);
      const replies = repliesTo(name, request!).filter((m) => m.type === 20);
      const addresses = await new Rtnetlink(
        new RecordingTransport(replies.map((m) => m.payload)),
      ).listAddresses({
        family,
        link: VCAP_B,
      });
      expect(addresses.map((a) => a.cidr)).toEqual(expected);
      expect(addresses.every((a) => a.index === VCAP_B)).toBe(true);
    }
  });

  it('lists the routes of `ip -4 route show`, the default route among them', async () => {
    const request = sent('route-show-ipv4').find((m) => (m.flags & 0x300) === 0x300);
    const replies = repliesTo('route-show-ipv4', request!).filter((m) => m.type === 24);
    const routes = await new Rtnetlink(new RecordingTransport(replies.map((m) => m.payload))).listRoutes({
      family: 'inet',
    });
    expect(routes).toEqual([
      expect.objectContaining({ destination: 'default', gateway: '10.200.1.1', outputInterface: VCAP_B }),
      expect.objectContaining({ destination: '10.200.1.0/24', preferredSource: '10.200.1.2', scope: 253 }),
    ]);
  });
});
