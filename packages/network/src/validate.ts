import { type Cidr, type IpAddress, parseCidr, parseIp, parseMac } from './address-text.js';
import { NetworkConfigError } from './errors.js';

/** IFNAMSIZ is 16 bytes including the terminating NUL. */
export const MAX_INTERFACE_NAME_BYTES = 15;

/** Refuses a name the kernel would refuse (dev_valid_name), naming the field at fault. */
export function checkInterfaceName(field: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new NetworkConfigError(field, name, 'an interface name must be a non-empty string');
  }
  if (Buffer.byteLength(name) > MAX_INTERFACE_NAME_BYTES) {
    throw new NetworkConfigError(
      field,
      name,
      `an interface name has at most ${MAX_INTERFACE_NAME_BYTES} bytes`,
    );
  }
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw new NetworkConfigError(
      field,
      name,
      'an interface name cannot be . or .. or hold /, : or white space',
    );
  }
  return name;
}

export function checkCidr(field: string, text: unknown): Cidr {
  const cidr = typeof text === 'string' ? parseCidr(text) : undefined;
  if (!cidr)
    throw new NetworkConfigError(field, text, 'expected ADDRESS/PREFIX, e.g. 10.0.0.2/24 or fd00::2/64');
  return cidr;
}

export function checkIp(field: string, text: unknown): IpAddress {
  const ip = typeof text === 'string' ? parseIp(text) : undefined;
  if (!ip) throw new NetworkConfigError(field, text, 'expected an IPv4 or IPv6 address');
  return ip;
}

export function checkMac(field: string, text: unknown): Buffer {
  const mac = typeof text === 'string' ? parseMac(text) : undefined;
  if (!mac) throw new NetworkConfigError(field, text, 'expected a MAC address like 02:42:ac:11:00:02');
  if ((mac[0] as number) & 1)
    throw new NetworkConfigError(field, text, 'a multicast MAC cannot name an interface');
  if (mac.every((byte) => byte === 0))
    throw new NetworkConfigError(field, text, 'the zero MAC cannot name an interface');
  return mac;
}

/** IPv4 needs at least 68 bytes; 65535 is the most a link can carry. */
export function checkMtu(field: string, mtu: unknown): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new NetworkConfigError(field, mtu, 'an MTU is an integer from 68 to 65535');
  }
  return mtu;
}
