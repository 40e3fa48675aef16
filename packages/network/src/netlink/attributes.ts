import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';

/**
 * One netlink attribute (struct nlattr / rtattr): a type and either raw bytes or nested
 * attributes. Encoding pads each attribute to 4 bytes, as NLA_ALIGN does.
 */
export interface Attribute {
  type: number;
  value: Uint8Array | Attribute[];
  /** Sets NLA_F_NESTED on the type; older attributes (IFLA_LINKINFO) go without it, as `ip` sends them. */
  nestedFlag?: boolean;
}

export const NLA_HDRLEN = 4;

export function align4(length: number): number {
  return (length + 3) & ~3;
}

export function encodedLength(attributes: Attribute[]): number {
  let total = 0;
  for (const attribute of attributes) total += align4(NLA_HDRLEN + valueLength(attribute.value));
  return total;
}

function valueLength(value: Uint8Array | Attribute[]): number {
  return value instanceof Uint8Array ? value.length : encodedLength(value);
}

/** Writes attributes into `target` at `offset`; returns the offset after them. */
export function writeAttributes(target: Buffer, offset: number, attributes: Attribute[]): number {
  for (const attribute of attributes) {
    const length = NLA_HDRLEN + valueLength(attribute.value);
    target.writeUInt16LE(length, offset);
    target.writeUInt16LE(attribute.type | (attribute.nestedFlag ? NLA_F_NESTED : 0), offset + 2);
    if (attribute.value instanceof Uint8Array) target.set(attribute.value, offset + NLA_HDRLEN);
    else writeAttributes(target, offset + NLA_HDRLEN, attribute.value);
    offset += align4(length);
  }
  return offset;
}

export function encodeAttributes(attributes: Attribute[]): Buffer {
  const buffer = Buffer.alloc(encodedLength(attributes));
  writeAttributes(buffer, 0, attributes);
  return buffer;
}

/** Decoded attributes in wire order; the same type may appear more than once. */
export class AttributeList {
  readonly entries: ReadonlyArray<{ type: number; value: Buffer }>;

  constructor(entries: Array<{ type: number; value: Buffer }>) {
    this.entries = entries;
  }

  /** Splits a run of attributes. A truncated or malformed one ends the run with an error. */
  static decode(bytes: Buffer): AttributeList {
    const entries: Array<{ type: number; value: Buffer }> = [];
    let offset = 0;
    while (offset + NLA_HDRLEN <= bytes.length) {
      const length = bytes.readUInt16LE(offset);
      const type = bytes.readUInt16LE(offset + 2) & NLA_TYPE_MASK;
      if (length < NLA_HDRLEN || offset + length > bytes.length) {
        throw new RangeError(`netlink attribute ${type} at offset ${offset} has a bad length ${length}`);
      }
      entries.push({ type, value: bytes.subarray(offset + NLA_HDRLEN, offset + length) });
      offset += align4(length);
    }
    return new AttributeList(entries);
  }

  get(type: number): Buffer | undefined {
    return this.entries.find((entry) => entry.type === type)?.value;
  }

  nested(type: number): AttributeList | undefined {
    const value = this.get(type);
    return value ? AttributeList.decode(value) : undefined;
  }

  u8(type: number): number | undefined {
    const value = this.get(type);
    return value && value.length >= 1 ? value.readUInt8(0) : undefined;
  }

  u32(type: number): number | undefined {
    const value = this.get(type);
    return value && value.length >= 4 ? value.readUInt32LE(0) : undefined;
  }

  s32(type: number): number | undefined {
    const value = this.get(type);
    return value && value.length >= 4 ? value.readInt32LE(0) : undefined;
  }

  /** A string attribute, with or without its terminating NUL. */
  string(type: number): string | undefined {
    const value = this.get(type);
    if (!value) return undefined;
    const end = value.indexOf(0);
    return value.toString('utf8', 0, end === -1 ? value.length : end);
  }
}

/** Attribute builders for the value shapes rtnetlink uses. */
export const attr = {
  bytes: (type: number, value: Uint8Array): Attribute => ({ type, value }),
  u8: (type: number, value: number): Attribute => ({ type, value: Uint8Array.of(value) }),
  u32(type: number, value: number): Attribute {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value >>> 0);
    return { type, value: buffer };
  },
  s32(type: number, value: number): Attribute {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(value);
    return { type, value: buffer };
  },
  /** A NUL-terminated string (NLA_NUL_STRING / IFLA_IFNAME). */
  string: (type: number, value: string): Attribute => ({ type, value: Buffer.from(`${value}\0`, 'utf8') }),
  /** A string without terminator, as `ip` sends IFLA_INFO_KIND. */
  bareString: (type: number, value: string): Attribute => ({ type, value: Buffer.from(value, 'utf8') }),
  nested: (type: number, value: Attribute[], nestedFlag = false): Attribute => ({ type, value, nestedFlag }),
};
