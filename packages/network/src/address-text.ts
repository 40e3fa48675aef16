import { AF_INET, AF_INET6 } from './netlink/constants.js';

/** An IP address in binary form (4 or 16 bytes) with its family. */
export interface IpAddress {
  family: typeof AF_INET | typeof AF_INET6;
  bytes: Buffer;
}

/** An interface address: the address and the length of its network prefix. */
export interface Cidr extends IpAddress {
  prefixLength: number;
}

/** Parses an IPv4 or IPv6 address; undefined when the text is not one. */
export function parseIp(text: string): IpAddress | undefined {
  // node:net on first use, not at load: a command that parses no address should not pay ~2 ms.
  const { isIPv4, isIPv6 } = process.getBuiltinModule('node:net');
  if (isIPv4(text)) return { family: AF_INET, bytes: Buffer.from(text.split('.').map(Number)) };
  // Zone indexes (fe80::1%eth0) name an interface, which netlink carries separately.
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const bytes = Buffer.alloc(16);
  let tail = text;
  let v4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    v4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    tail = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = tail.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const front = groups(head);
  const back = rest === undefined ? [] : groups(rest);
  const all = [...front, ...Array(8 - front.length - back.length).fill(0), ...back];
  for (const [i, group] of all.entries()) bytes.writeUInt16BE(group, i * 2);
  if (v4.length === 4) bytes.set(v4, 12);
  return { family: AF_INET6, bytes };
}

/** Parses `ADDRESS/PREFIX`; undefined when either part is malformed or out of range. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const ip = parseIp(match[1] as string);
  const prefixLength = Number(match[2]);
  if (!ip || prefixLength > ip.bytes.length * 8) return undefined;
  return { ...ip, prefixLength };
}

/** The usual text form: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as ::). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const groups = Array.from(
    { length: 8 },
    (_, i) => ((bytes[i * 2] as number) << 8) | (bytes[i * 2 + 1] as number),
  );
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The network address of a CIDR (host bits cleared). */
export function networkOf(cidr: Cidr): Buffer {
  const network = Buffer.from(cidr.bytes);
  for (let bit = cidr.prefixLength; bit < network.length * 8; bit++) {
    network[bit >> 3] = (network[bit >> 3] as number) & ~(0x80 >> (bit & 7));
  }
  return network;
}

/** True when `address` lies inside the network of `cidr`. */
export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.family !== address.family) return false;
  return networkOf(cidr).equals(networkOf({ ...address, prefixLength: cidr.prefixLength }));
}

/** Parses a MAC address `aa:bb:cc:dd:ee:ff` (or with dashes); undefined when malformed. */
export function parseMac(text: string): Buffer | undefined {
  if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(text)) return undefined;
  return Buffer.from(text.split(/[:-]/).map((part) => Number.parseInt(part, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}
