import { formatMac } from '../address-text.js';
import { type Attribute, AttributeList, attr, encodeAttributes } from './attributes.js';
import {
  AF_UNSPEC,
  IFF_LOWER_UP,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_NET_NS_PID,
  IFLA_OPERSTATE,
  IFLA_STATS64,
  IFLA_TXQLEN,
  OPERSTATES,
  VETH_INFO_PEER,
} from './constants.js';

/** struct ifinfomsg: family, pad, type, index, flags, change. */
export const IFINFOMSG_LEN = 16;

/** What an RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK / RTM_GETLINK carries. */
export interface LinkRequest {
  family?: number;
  index?: number;
  /** ifi_flags and the mask of flags to change (IFF_UP with change IFF_UP brings a link up). */
  flags?: number;
  change?: number;
  name?: string;
  /** Hardware address (6 bytes for Ethernet). */
  address?: Uint8Array;
  mtu?: number;
  txQueueLength?: number;
  /** Index of the master (a bridge); 0 removes the link from its master. */
  master?: number;
  /** Moves the link into the network namespace of this pid. */
  netnsPid?: number;
  /** Moves the link into the network namespace open on this descriptor. */
  netnsFd?: number;
  /** IFLA_EXT_MASK for dumps. */
  extMask?: number;
  /** IFLA_INFO_KIND: `veth`, `bridge`. */
  kind?: string;
  /** For a veth pair: the other end. */
  peer?: LinkRequest;
}

function encodeIfinfo(request: LinkRequest): Buffer {
  const header = Buffer.alloc(IFINFOMSG_LEN);
  header.writeUInt8(request.family ?? AF_UNSPEC, 0);
  header.writeInt32LE(request.index ?? 0, 4);
  header.writeUInt32LE((request.flags ?? 0) >>> 0, 8);
  header.writeUInt32LE((request.change ?? 0) >>> 0, 12);
  return header;
}

function linkAttributes(request: LinkRequest): Attribute[] {
  const attributes: Attribute[] = [];
  if (request.name !== undefined) attributes.push(attr.string(IFLA_IFNAME, request.name));
  if (request.address !== undefined) attributes.push(attr.bytes(IFLA_ADDRESS, request.address));
  if (request.mtu !== undefined) attributes.push(attr.u32(IFLA_MTU, request.mtu));
  if (request.txQueueLength !== undefined) attributes.push(attr.u32(IFLA_TXQLEN, request.txQueueLength));
  if (request.master !== undefined) attributes.push(attr.u32(IFLA_MASTER, request.master));
  if (request.netnsPid !== undefined) attributes.push(attr.u32(IFLA_NET_NS_PID, request.netnsPid));
  if (request.netnsFd !== undefined) attributes.push(attr.u32(IFLA_NET_NS_FD, request.netnsFd));
  if (request.extMask !== undefined) attributes.push(attr.u32(IFLA_EXT_MASK, request.extMask));
  if (request.kind !== undefined) {
    const info: Attribute[] = [attr.bareString(IFLA_INFO_KIND, request.kind)];
    if (request.peer) {
      // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's own attributes.
      const peer = Buffer.concat([
        encodeIfinfo(request.peer),
        encodeAttributes(linkAttributes(request.peer)),
      ]);
      info.push(attr.nested(IFLA_INFO_DATA, [attr.bytes(VETH_INFO_PEER, peer)]));
    }
    attributes.push(attr.nested(IFLA_LINKINFO, info));
  }
  return attributes;
}

/** The payload (ifinfomsg and attributes) of a link request. */
export function encodeLinkPayload(request: LinkRequest): Buffer {
  return Buffer.concat([encodeIfinfo(request), encodeAttributes(linkAttributes(request))]);
}

/** Interface counters, from IFLA_STATS64 (struct rtnl_link_stats64, first eight fields). */
export interface LinkStatistics {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

/** A link as the kernel describes it in RTM_NEWLINK. */
export interface Link {
  index: number;
  name: string;
  /** ARPHRD_* hardware type. */
  type: number;
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  mtu?: number;
  /** Hardware address as aa:bb:cc:dd:ee:ff. */
  address?: string;
  master?: number;
  kind?: string;
  slaveKind?: string;
  operState?: (typeof OPERSTATES)[number];
  txQueueLength?: number;
  /** IFLA_LINK: for a veth, the index of its peer (in the peer's namespace). */
  peerIndex?: number;
  /** The namespace id, as seen from here, of the namespace the peer is in. */
  peerNetnsId?: number;
  statistics?: LinkStatistics;
}

function decodeStatistics(bytes: Buffer): LinkStatistics {
  const field = (i: number) => Number(bytes.readBigUInt64LE(i * 8));
  return {
    rxPackets: field(0),
    txPackets: field(1),
    rxBytes: field(2),
    txBytes: field(3),
    rxErrors: field(4),
    txErrors: field(5),
    rxDropped: field(6),
    txDropped: field(7),
  };
}

export function decodeLink(payload: Buffer): Link {
  if (payload.length < IFINFOMSG_LEN) throw new RangeError('truncated ifinfomsg');
  const flags = payload.readUInt32LE(8);
  const attributes = AttributeList.decode(payload.subarray(IFINFOMSG_LEN));
  const link: Link = {
    index: payload.readInt32LE(4),
    name: attributes.string(IFLA_IFNAME) ?? '',
    type: payload.readUInt16LE(2),
    flags,
    up: (flags & IFF_UP) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
  };
  const mtu = attributes.u32(IFLA_MTU);
  if (mtu !== undefined) link.mtu = mtu;
  const address = attributes.get(IFLA_ADDRESS);
  if (address) link.address = formatMac(address);
  const master = attributes.u32(IFLA_MASTER);
  if (master !== undefined) link.master = master;
  const operState = attributes.u8(IFLA_OPERSTATE);
  if (operState !== undefined) link.operState = OPERSTATES[operState] ?? 'unknown';
  const txQueueLength = attributes.u32(IFLA_TXQLEN);
  if (txQueueLength !== undefined) link.txQueueLength = txQueueLength;
  const peerIndex = attributes.u32(IFLA_LINK);
  if (peerIndex !== undefined) link.peerIndex = peerIndex;
  const peerNetnsId = attributes.s32(IFLA_LINK_NETNSID);
  if (peerNetnsId !== undefined) link.peerNetnsId = peerNetnsId;
  const info = attributes.nested(IFLA_LINKINFO);
  const kind = info?.string(IFLA_INFO_KIND);
  if (kind) link.kind = kind;
  const slaveKind = info?.string(IFLA_INFO_SLAVE_KIND);
  if (slaveKind) link.slaveKind = slaveKind;
  const stats = attributes.get(IFLA_STATS64);
  if (stats && stats.length >= 64) link.statistics = decodeStatistics(stats);
  return link;
}
