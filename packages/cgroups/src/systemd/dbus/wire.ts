// The D-Bus wire format (little-endian), as the D-Bus specification defines it: signatures,
// alignment, and the encoding of every basic and container type. Values are plain data:
// numbers (bigint for the 64-bit types), strings, booleans, arrays (Uint8Array for `ay`),
// arrays of [key, value] pairs for dicts, arrays for structs, and Variant for `v`.

import { Variant } from './variant.js';

export { Variant };

/** One complete type of a signature, as a tree. */
export type DBusType =
  | { kind: 'basic'; code: string }
  | { kind: 'array'; element: DBusType }
  | { kind: 'dict'; key: DBusType; value: DBusType }
  | { kind: 'struct'; fields: DBusType[] }
  | { kind: 'variant' };

const BASIC = 'ybnqiuxtdsogh';
const ALIGN: Record<string, number> = {
  y: 1,
  b: 4,
  n: 2,
  q: 2,
  i: 4,
  u: 4,
  x: 8,
  t: 8,
  d: 8,
  s: 4,
  o: 4,
  g: 1,
  h: 4,
};

function alignOf(type: DBusType): number {
  switch (type.kind) {
    case 'basic':
      return ALIGN[type.code]!;
    case 'array':
    case 'dict':
      return 4;
    case 'struct':
      return 8;
    case 'variant':
      return 1;
  }
}

/** Parses a signature into its complete types; throws on anything the specification forbids. */
export function parseSignature(signature: string): DBusType[] {
  if (signature.length > 255) throw new Error(`D-Bus signature longer than 255: ${signature}`);
  let at = 0;
  const one = (depth: number): DBusType => {
    if (depth > 64) throw new Error(`D-Bus signature nests too deep: ${signature}`);
    const code = signature[at++];
    if (code === undefined) throw new Error(`D-Bus signature ends early: ${signature}`);
    if (BASIC.includes(code)) return { kind: 'basic', code };
    if (code === 'v') return { kind: 'variant' };
    if (code === 'a') {
      if (signature[at] === '{') {
        at++;
        const key = one(depth + 1);
        if (key.kind !== 'basic') throw new Error(`D-Bus dict key must be basic: ${signature}`);
        const value = one(depth + 1);
        if (signature[at++] !== '}') throw new Error(`D-Bus dict entry not closed: ${signature}`);
        return { kind: 'dict', key, value };
      }
      return { kind: 'array', element: one(depth + 1) };
    }
    if (code === '(') {
      const fields: DBusType[] = [];
      while (signature[at] !== ')') {
        if (at >= signature.length) throw new Error(`D-Bus struct not closed: ${signature}`);
        fields.push(one(depth + 1));
      }
      at++;
      if (fields.length === 0) throw new Error(`D-Bus struct is empty: ${signature}`);
      return { kind: 'struct', fields };
    }
    throw new Error(`D-Bus signature has an unknown type code "${code}": ${signature}`);
  };
  const types: DBusType[] = [];
  while (at < signature.length) types.push(one(0));
  return types;
}

const INTEGER_RANGE: Record<string, [bigint, bigint]> = {
  y: [0n, 0xffn],
  n: [-0x8000n, 0x7fffn],
  q: [0n, 0xffffn],
  i: [-0x80000000n, 0x7fffffffn],
  u: [0n, 0xffffffffn],
  h: [0n, 0xffffffffn],
  x: [-(2n ** 63n), 2n ** 63n - 1n],
  t: [0n, 2n ** 64n - 1n],
};

/** Appends D-Bus-encoded values to a growing buffer, aligned from the message's start. */
export class WireWriter {
  #buffer = Buffer.alloc(256);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  #reserve(size: number): number {
    if (this.#length + size > this.#buffer.length) {
      const grown = Buffer.alloc(Math.max(this.#buffer.length * 2, this.#length + size));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    const at = this.#length;
    this.#length += size;
    return at;
  }

  /** Makes room for `size` more bytes and returns the buffer to write them in (it may have grown). */
  #put(size: number): Buffer {
    this.#reserve(size);
    return this.#buffer;
  }

  align(boundary: number): void {
    const pad = (boundary - (this.#length % boundary)) % boundary;
    const at = this.#reserve(pad);
    this.#buffer.fill(0, at, this.#length);
  }

  write(signature: string, values: readonly unknown[]): void {
    const types = parseSignature(signature);
    if (types.length !== values.length) {
      throw new Error(`D-Bus signature "${signature}" has ${types.length} types for ${values.length} values`);
    }
    types.forEach((type, index) => {
      this.#value(type, values[index]);
    });
  }

  #value(type: DBusType, value: unknown): void {
    this.align(alignOf(type));
    switch (type.kind) {
      case 'basic':
        this.#basic(type.code, value);
        return;
      case 'variant': {
        if (!(value instanceof Variant)) throw new Error('a D-Bus variant needs a Variant value');
        this.#basic('g', value.signature);
        const inner = parseSignature(value.signature);
        if (inner.length !== 1) throw new Error(`a variant holds one type, not "${value.signature}"`);
        this.#value(inner[0]!, value.value);
        return;
      }
      case 'struct': {
        if (!Array.isArray(value) || value.length !== type.fields.length) {
          throw new Error(`a D-Bus struct needs an array of ${type.fields.length} fields`);
        }
        type.fields.forEach((field, index) => {
          this.#value(field, value[index]);
        });
        return;
      }
      case 'array':
      case 'dict': {
        const lengthAt = this.#reserve(4);
        const element = type.kind === 'array' ? type.element : undefined;
        this.align(element ? alignOf(element) : 8);
        const start = this.#length;
        if (element?.kind === 'basic' && element.code === 'y' && value instanceof Uint8Array) {
          const at = this.#reserve(value.length);
          Buffer.from(value).copy(this.#buffer, at);
        } else {
          if (!Array.isArray(value)) throw new Error('a D-Bus array needs an array value');
          for (const item of value) {
            if (type.kind === 'array') {
              this.#value(type.element, item);
            } else {
              if (!Array.isArray(item) || item.length !== 2)
                throw new Error('a D-Bus dict entry is [key, value]');
              this.align(8);
              this.#value(type.key, item[0]);
              this.#value(type.value, item[1]);
            }
          }
        }
        const size = this.#length - start;
        if (size > 64 * 1024 * 1024) throw new Error('a D-Bus array may hold at most 64 MiB');
        this.#buffer.writeUInt32LE(size, lengthAt);
        return;
      }
    }
  }

  #basic(code: string, value: unknown): void {
    if (code === 's' || code === 'o' || code === 'g') {
      if (typeof value !== 'string') throw new Error(`D-Bus type "${code}" needs a string`);
      const bytes = Buffer.from(value, 'utf8');
      if (bytes.includes(0)) throw new Error('a D-Bus string cannot contain a NUL byte');
      if (code === 'g') {
        parseSignature(value);
        this.#put(1).writeUInt8(bytes.length, this.#length - 1);
      } else {
        if (code === 'o' && !/^\/$|^(\/[A-Za-z0-9_]+)+$/.test(value))
          throw new Error(`"${value}" is not a D-Bus object path`);
        this.#put(4).writeUInt32LE(bytes.length, this.#length - 4);
      }
      bytes.copy(this.#put(bytes.length), this.#length - bytes.length);
      this.#put(1).writeUInt8(0, this.#length - 1);
      return;
    }
    if (code === 'b') {
      if (typeof value !== 'boolean') throw new Error('D-Bus type "b" needs a boolean');
      this.#put(4).writeUInt32LE(value ? 1 : 0, this.#length - 4);
      return;
    }
    if (code === 'd') {
      if (typeof value !== 'number') throw new Error('D-Bus type "d" needs a number');
      this.#put(8).writeDoubleLE(value, this.#length - 8);
      return;
    }
    if (typeof value !== 'number' && typeof value !== 'bigint')
      throw new Error(`D-Bus type "${code}" needs an integer`);
    if (typeof value === 'number' && !Number.isSafeInteger(value))
      throw new Error(`D-Bus type "${code}" needs an integer, got ${value}`);
    const big = BigInt(value);
    const [min, max] = INTEGER_RANGE[code]!;
    if (big < min || big > max) throw new Error(`${value} does not fit D-Bus type "${code}"`);
    const at = this.#reserve(ALIGN[code]!);
    switch (code) {
      case 'y':
        this.#buffer.writeUInt8(Number(big), at);
        break;
      case 'n':
        this.#buffer.writeInt16LE(Number(big), at);
        break;
      case 'q':
        this.#buffer.writeUInt16LE(Number(big), at);
        break;
      case 'i':
        this.#buffer.writeInt32LE(Number(big), at);
        break;
      case 'u':
      case 'h':
        this.#buffer.writeUInt32LE(Number(big), at);
        break;
      case 'x':
        this.#buffer.writeBigInt64LE(big, at);
        break;
      case 't':
        this.#buffer.writeBigUInt64LE(big, at);
        break;
    }
  }
}

/** Reads D-Bus-encoded values from a buffer; offsets count from the message's start. */
export class WireReader {
  readonly buffer: Buffer;
  offset: number;

  constructor(buffer: Buffer, offset = 0) {
    this.buffer = buffer;
    this.offset = offset;
  }

  align(boundary: number): void {
    this.offset += (boundary - (this.offset % boundary)) % boundary;
  }

  #take(size: number): number {
    if (this.offset + size > this.buffer.length) throw new Error('D-Bus message is truncated');
    const at = this.offset;
    this.offset += size;
    return at;
  }

  read(signature: string): unknown[] {
    return parseSignature(signature).map((type) => this.#value(type));
  }

  #value(type: DBusType): unknown {
    this.align(alignOf(type));
    switch (type.kind) {
      case 'basic':
        return this.#basic(type.code);
      case 'variant': {
        const signature = this.#basic('g') as string;
        const inner = parseSignature(signature);
        if (inner.length !== 1) throw new Error(`a variant holds one type, not "${signature}"`);
        return new Variant(signature, this.#value(inner[0]!));
      }
      case 'struct':
        return type.fields.map((field) => this.#value(field));
      case 'array':
      case 'dict': {
        const size = this.buffer.readUInt32LE(this.#take(4));
        const element = type.kind === 'array' ? type.element : undefined;
        this.align(element ? alignOf(element) : 8);
        const end = this.offset + size;
        if (end > this.buffer.length) throw new Error('D-Bus array runs past the message');
        if (element?.kind === 'basic' && element.code === 'y') {
          return Buffer.from(this.buffer.subarray(this.#take(size), end));
        }
        const items: unknown[] = [];
        while (this.offset < end) {
          if (type.kind === 'array') items.push(this.#value(type.element));
          else {
            this.align(8);
            items.push([this.#value(type.key), this.#value(type.value)]);
          }
        }
        if (this.offset !== end) throw new Error('D-Bus array length does not match its elements');
        return items;
      }
    }
  }

  #basic(code: string): unknown {
    const b = this.buffer;
    switch (code) {
      case 'y':
        return b.readUInt8(this.#take(1));
      case 'b':
        return b.readUInt32LE(this.#take(4)) !== 0;
      case 'n':
        return b.readInt16LE(this.#take(2));
      case 'q':
        return b.readUInt16LE(this.#take(2));
      case 'i':
        return b.readInt32LE(this.#take(4));
      case 'u':
      case 'h':
        return b.readUInt32LE(this.#take(4));
      case 'x':
        return b.readBigInt64LE(this.#take(8));
      case 't':
        return b.readBigUInt64LE(this.#take(8));
      case 'd':
        return b.readDoubleLE(this.#take(8));
      default: {
        const size = code === 'g' ? b.readUInt8(this.#take(1)) : b.readUInt32LE(this.#take(4));
        const at = this.#take(size + 1);
        return b.toString('utf8', at, at + size);
      }
    }
  }
}
