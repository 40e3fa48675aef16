import { describe, expect, it } from 'vitest';

import {
  AttributeList,
  attr,
  checkInterfaceName,
  constants,
  decodeAck,
  decodeMessages,
  encodeAttributes,
  encodeMessage,
  formatIp,
  NetlinkError,
  NetworkConfigError,
  parseCidr,
  parseIp,
  parseMac,
} from '../../src/index.js';
import { lastRequest, received, repliesTo, sent } from './captures.js';

describe('netlink messages', () => {
  it('round-trips a header and splits a datagram of several messages', () => {
    const one = encodeMessage(
      { type: constants.RTM_GETLINK, flags: 1, seq: 7, pid: 0 },
      Buffer.from([1, 2, 3]),
    );
    const two = encodeMessage({ type: constants.NLMSG_DONE, flags: 2, seq: 7, pid: 9 }, Buffer.alloc(4));
    // The first message is 19 bytes long and padded to 20 before the next begins.
    const datagram = Buffer.concat([one, Buffer.alloc(1), two]);
    const messages = decodeMessages(datagram);
    expect(messages.map((m) => [m.type, m.flags, m.seq, m.pid, m.payload.length])).toEqual([
      [constants.RTM_GETLINK, 1, 7, 0, 3],
      [constants.NLMSG_DONE, 2, 7, 9, 4],
    ]);
  });

  it('refuses a message that claims more bytes than the datagram holds', () => {
    const message = encodeMessage({ type: 16, flags: 0, seq: 1, pid: 0 }, Buffer.alloc(8));
    expect(() => decodeMessages(message.subarray(0, 20))).toThrow(/bad length 24/);
  });

  it('decodes the multipart dump of `ip link show`, ending in NLMSG_DONE', () => {
    const dump = sent('link-show').find((m) => (m.flags & constants.NLM_F_DUMP) === constants.NLM_F_DUMP);
    const replies = repliesTo('link-show', dump!);
    expect(replies.length).toBeGreaterThan(2);
    expect(
      replies.slice(0, -1).every((m) => m.type === constants.RTM_NEWLINK && m.flags & constants.NLM_F_MULTI),
    ).toBe(true);
    expect(replies.at(-1)?.type).toBe(constants.NLMSG_DONE);
  });
});

describe('acks and errors captured from the kernel', () => {
  it('reads a capped ack of a successful RTM_NEWLINK', () => {
    const request = lastRequest('link-add-veth');
    const [reply] = repliesTo('link-add-veth', request);
    expect(reply?.flags).toBe(constants.NLM_F_CAPPED);
    const ack = decodeAck(reply!);
    expect(ack.errno).toBe(0);
    expect(ack.request).toMatchObject({ type: constants.RTM_NEWLINK, seq: request.seq, length: 92 });
  });

  it('reads EEXIST for a link name in use, with the whole request echoed', () => {
    const request = lastRequest('link-add-exists');
    const [reply] = repliesTo('link-add-exists', request);
    const ack = decodeAck(reply!);
    expect(ack.errno).toBe(17);
    expect(ack.request.length).toBe(request.payload.length + 16);
    const error = new NetlinkError(ack.errno, {
      request: 'RTM_NEWLINK',
      interface: 'vcapA',
      operation: 'create veth',
    });
    expect(error).toMatchObject({
      code: 'SYSTEM',
      errnoName: 'EEXIST',
      interface: 'vcapA',
      request: 'RTM_NEWLINK',
    });
    expect(error.message).toBe('create veth on vcapA: EEXIST [RTM_NEWLINK]');
  });

  it('reads ENODEV for a lookup of a missing link', () => {
    const replies = received('link-del-missing').filter((m) => m.type === constants.NLMSG_ERROR);
    expect(decodeAck(replies.at(-1)!)).toMatchObject({ errno: 19, request: { type: constants.RTM_GETLINK } });
  });

  it('reads the kernel message and offset of an extended ack', () => {
    const request = encodeMessage(
      { type: constants.RTM_NEWLINK, flags: 5, seq: 3, pid: 0 },
      Buffer.alloc(16),
    );
    const tlvs = encodeAttributes([
      attr.string(constants.NLMSGERR_ATTR_MSG, 'Unknown device type'),
      attr.u32(constants.NLMSGERR_ATTR_OFFS, 36),
    ]);
    const errno = Buffer.alloc(4);
    errno.writeInt32LE(-95);
    const flags = constants.NLM_F_CAPPED | constants.NLM_F_ACK_TLVS;
    const reply = encodeMessage(
      { type: constants.NLMSG_ERROR, flags, seq: 3, pid: 0 },
      Buffer.concat([errno, request.subarray(0, 16), tlvs]),
    );
    const [message] = decodeMessages(reply);
    expect(decodeAck(message!)).toEqual({
      errno: 95,
      request: { type: constants.RTM_NEWLINK, flags: 5, seq: 3, pid: 0, length: 32 },
      message: 'Unknown device type',
      offset: 36,
    });
  });
});

describe('attributes', () => {
  it('pads values to 4 bytes and nests', () => {
    const bytes = encodeAttributes([
      attr.string(3, 'eth0'),
      attr.nested(18, [attr.bareString(1, 'veth'), attr.u32(2, 0x01020304)]),
    ]);
    expect(bytes.toString('hex')).toBe('0900030065746830000000001400120008000100766574680800020004030201');
    const list = AttributeList.decode(bytes);
    expect(list.string(3)).toBe('eth0');
    expect(list.nested(18)?.string(1)).toBe('veth');
    expect(list.nested(18)?.u32(2)).toBe(0x01020304);
  });

  it('ignores the NLA_F_NESTED bit when reading a type', () => {
    const bytes = encodeAttributes([attr.nested(18, [attr.u8(1, 9)], true)]);
    expect(bytes.readUInt16LE(2)).toBe(18 | constants.NLA_F_NESTED);
    expect(AttributeList.decode(bytes).nested(18)?.u8(1)).toBe(9);
  });

  it('refuses an attribute longer than what holds it', () => {
    const bytes = Buffer.from('0c000300aabbccdd', 'hex');
    expect(() => AttributeList.decode(bytes)).toThrow(/bad length 12/);
  });
});

describe('addresses as text', () => {
  it.each([
    ['10.200.1.2', '10.200.1.2'],
    ['fd00:c0de::2', 'fd00:c0de::2'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['::', '::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
  ])('%s reads and prints as %s', (text, canonical) => {
    const ip = parseIp(text);
    expect(ip).toBeDefined();
    expect(formatIp(ip!.bytes)).toBe(canonical);
  });

  it('reads CIDRs and refuses bad ones', () => {
    expect(parseCidr('10.200.1.2/24')).toMatchObject({ family: 2, prefixLength: 24 });
    expect(parseCidr('fd00::2/64')).toMatchObject({ family: 10, prefixLength: 64 });
    for (const bad of [
      '10.0.0.1',
      '10.0.0.1/33',
      'fe80::1%eth0/64',
      '10.0.0.256/24',
      'fd00::/129',
      'fd00:corral::1/64',
      '/24',
      '',
    ]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('reads MAC addresses and refuses bad ones', () => {
    expect(parseMac('02:00:0a:C8:01:02')?.toString('hex')).toBe('02000ac80102');
    for (const bad of ['02:00:0a:c8:01', '02:00:0a:c8:01:02:03', 'zz:00:00:00:00:00', '0200.0ac8.0102']) {
      expect(parseMac(bad), bad).toBeUndefined();
    }
  });
});

describe('interface names', () => {
  it('accepts 15 bytes and refuses 16, counting bytes not characters', () => {
    expect(checkInterfaceName('name', 'abcdefghijklmno')).toBe('abcdefghijklmno');
    expect(() => checkInterfaceName('name', 'abcdefghijklmnop')).toThrow(NetworkConfigError);
    // Eight characters, sixteen bytes.
    expect(() => checkInterfaceName('peer.name', 'éééééééé')).toThrow(
      /peer\.name: an interface name has at most 15/,
    );
  });

  it('refuses names the kernel refuses', () => {
    for (const bad of ['', '.', '..', 'a/b', 'a b', 'a:b']) {
      expect(() => checkInterfaceName('name', bad), bad).toThrow(NetworkConfigError);
    }
  });
});
