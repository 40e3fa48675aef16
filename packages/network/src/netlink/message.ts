import { AttributeList } from './attributes.js';
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  RTM_NAMES,
} from './constants.js';

export const NLMSG_HDRLEN = 16;

/** The fields of struct nlmsghdr, and what follows it. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** One message: header, then the payload padded to 4 bytes. */
export function encodeMessage(header: Omit<NetlinkMessage, 'payload'>, payload: Uint8Array): Buffer {
  const buffer = Buffer.alloc(NLMSG_HDRLEN + payload.length);
  buffer.writeUInt32LE(buffer.length, 0);
  buffer.writeUInt16LE(header.type, 4);
  buffer.writeUInt16LE(header.flags, 6);
  buffer.writeUInt32LE(header.seq >>> 0, 8);
  buffer.writeUInt32LE(header.pid >>> 0, 12);
  buffer.set(payload, NLMSG_HDRLEN);
  return buffer;
}

/** Splits one datagram into its messages (a multipart dump puts many in one datagram). */
export function decodeMessages(datagram: Buffer): NetlinkMessage[] {
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const length = datagram.readUInt32LE(offset);
    // Like the kernel, stop at a header too short to be one: senders may pad their buffer.
    if (length < NLMSG_HDRLEN) break;
    if (offset + length > datagram.length) {
      throw new RangeError(`netlink message at offset ${offset} has a bad length ${length}`);
    }
    messages.push({
      type: datagram.readUInt16LE(offset + 4),
      flags: datagram.readUInt16LE(offset + 6),
      seq: datagram.readUInt32LE(offset + 8),
      pid: datagram.readUInt32LE(offset + 12),
      payload: datagram.subarray(offset + NLMSG_HDRLEN, offset + length),
    });
    offset += (length + 3) & ~3;
  }
  return messages;
}

/** An NLMSG_ERROR: errno 0 is an ack. With extended acks the kernel adds a message and an offset. */
export interface NetlinkAck {
  /** A positive errno, or 0 for success. */
  errno: number;
  /** The header of the request this answers. */
  request: { type: number; flags: number; seq: number; pid: number; length: number };
  /** The kernel's explanation (NETLINK_EXT_ACK), when it gave one. */
  message?: string;
  /** The byte offset in the request of the attribute at fault, when the kernel named one. */
  offset?: number;
}

export function decodeAck(message: NetlinkMessage): NetlinkAck {
  if (message.type !== NLMSG_ERROR) throw new TypeError(`not an NLMSG_ERROR: type ${message.type}`);
  const { payload } = message;
  if (payload.length < 4 + NLMSG_HDRLEN) throw new RangeError('truncated NLMSG_ERROR');
  const error = payload.readInt32LE(0);
  const request = {
    length: payload.readUInt32LE(4),
    type: payload.readUInt16LE(8),
    flags: payload.readUInt16LE(10),
    seq: payload.readUInt32LE(12),
    pid: payload.readUInt32LE(16),
  };
  const ack: NetlinkAck = { errno: error === 0 ? 0 : -error, request };
  if (message.flags & NLM_F_ACK_TLVS) {
    // Without NLM_F_CAPPED the whole request is echoed before the TLVs.
    const echoed = message.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : (request.length + 3) & ~3;
    const tlvs = AttributeList.decode(payload.subarray(Math.min(4 + echoed, payload.length)));
    const text = tlvs.string(NLMSGERR_ATTR_MSG);
    if (text) ack.message = text;
    const offset = tlvs.u32(NLMSGERR_ATTR_OFFS);
    if (offset !== undefined) ack.offset = offset;
  }
  return ack;
}

export function messageTypeName(type: number): string {
  return RTM_NAMES[type] ?? `type ${type}`;
}
