import { formatIp } from '../address-text.js';
import { type Attribute, AttributeList, attr, encodeAttributes } from './attributes.js';
import {
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_F_DADFAILED,
  IFA_F_PERMANENT,
  IFA_F_TENTATIVE,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
} from './constants.js';

/** struct ifaddrmsg: family, prefixlen, flags, scope, index. */
export const IFADDRMSG_LEN = 8;

/** What an RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR carries. */
export interface AddressRequest {
  family: number;
  prefixLength?: number;
  /** IFA_F_* flags; those above 0xff travel in IFA_FLAGS. */
  flags?: number;
  scope?: number;
  index?: number;
  /** IFA_LOCAL: the interface's own address. */
  local?: Uint8Array;
  /** IFA_ADDRESS: the same as local, or the peer on a point-to-point link. */
  address?: Uint8Array;
  broadcast?: Uint8Array;
  label?: string;
}

export function encodeAddressPayload(request: AddressRequest): Buffer {
  const header = Buffer.alloc(IFADDRMSG_LEN);
  const flags = request.flags ?? 0;
  header.writeUInt8(request.family, 0);
  header.writeUInt8(request.prefixLength ?? 0, 1);
  header.writeUInt8(flags & 0xff, 2);
  header.writeUInt8(request.scope ?? 0, 3);
  header.writeUInt32LE(request.index ?? 0, 4);
  const attributes: Attribute[] = [];
  if (request.local) attributes.push(attr.bytes(IFA_LOCAL, request.local));
  if (request.address) attributes.push(attr.bytes(IFA_ADDRESS, request.address));
  if (request.broadcast) attributes.push(attr.bytes(IFA_BROADCAST, request.broadcast));
  if (request.label !== undefined) attributes.push(attr.string(IFA_LABEL, request.label));
  if (flags > 0xff) attributes.push(attr.u32(IFA_FLAGS, flags));
  return Buffer.concat([header, encodeAttributes(attributes)]);
}

/** An address as the kernel describes it in RTM_NEWADDR. */
export interface InterfaceAddress {
  family: number;
  index: number;
  prefixLength: number;
  flags: number;
  scope: number;
  /** The interface's own address (IFA_LOCAL, else IFA_ADDRESS). */
  address: string;
  /** `address/prefixLength`. */
  cidr: string;
  /** IFA_ADDRESS when it differs from the local address (a point-to-point peer). */
  peer?: string;
  broadcast?: string;
  label?: string;
  /** Still in duplicate address detection (IPv6). */
  tentative: boolean;
  dadFailed: boolean;
  permanent: boolean;
}

export function decodeAddress(payload: Buffer): InterfaceAddress {
  if (payload.length < IFADDRMSG_LEN) throw new RangeError('truncated ifaddrmsg');
  const attributes = AttributeList.decode(payload.subarray(IFADDRMSG_LEN));
  const flags = attributes.u32(IFA_FLAGS) ?? payload.readUInt8(2);
  const local = attributes.get(IFA_LOCAL);
  const remote = attributes.get(IFA_ADDRESS);
  const own = local ?? remote;
  if (!own) throw new RangeError('address message without IFA_LOCAL or IFA_ADDRESS');
  const prefixLength = payload.readUInt8(1);
  const result: InterfaceAddress = {
    family: payload.readUInt8(0),
    index: payload.readUInt32LE(4),
    prefixLength,
    flags,
    scope: payload.readUInt8(3),
    address: formatIp(own),
    cidr: `${formatIp(own)}/${prefixLength}`,
    tentative: (flags & IFA_F_TENTATIVE) !== 0,
    dadFailed: (flags & IFA_F_DADFAILED) !== 0,
    permanent: (flags & IFA_F_PERMANENT) !== 0,
  };
  if (local && remote && !local.equals(remote)) result.peer = formatIp(remote);
  const broadcast = attributes.get(IFA_BROADCAST);
  if (broadcast) result.broadcast = formatIp(broadcast);
  const label = attributes.string(IFA_LABEL);
  if (label !== undefined) result.label = label;
  return result;
}
