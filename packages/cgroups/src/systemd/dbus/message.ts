import { Variant, WireReader, WireWriter } from './wire.js';

export const MESSAGE_TYPE = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;
export type MessageType = (typeof MESSAGE_TYPE)[keyof typeof MESSAGE_TYPE];

/** Header flag: the caller does not want a reply. */
export const NO_REPLY_EXPECTED = 0x1;

/** One D-Bus message, header fields by name. */
export interface Message {
  type: MessageType;
  flags?: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body?: unknown[];
}

// Header field codes and the type each carries.
const FIELDS = [
  [1, 'path', 'o'],
  [2, 'interface', 's'],
  [3, 'member', 's'],
  [4, 'errorName', 's'],
  [5, 'replySerial', 'u'],
  [6, 'destination', 's'],
  [7, 'sender', 's'],
  [8, 'signature', 'g'],
] as const;

const PROTOCOL_VERSION = 1;
/** The fixed part of a header: endianness, type, flags, version, body length, serial, fields length. */
const FIXED_HEADER = 16;
const MAX_MESSAGE = 128 * 1024 * 1024;

export function encodeMessage(message: Message): Buffer {
  const body = new WireWriter();
  const signature = message.signature ?? '';
  if (signature || message.body?.length) body.write(signature, message.body ?? []);
  const fields: Array<[number, Variant]> = [];
  for (const [code, name, type] of FIELDS) {
    const value = name === 'signature' ? signature || undefined : message[name];
    if (value !== undefined) fields.push([code, new Variant(type, value)]);
  }
  const header = new WireWriter();
  header.write('yyyyuua(yv)', [
    'l'.charCodeAt(0),
    message.type,
    message.flags ?? 0,
    PROTOCOL_VERSION,
    body.length,
    message.serial,
    fields,
  ]);
  header.align(8);
  return Buffer.concat([header.bytes(), body.bytes()]);
}

/** How many bytes the message at the start of `buffer` takes, or undefined until its header is in. */
export function messageLength(buffer: Buffer): number | undefined {
  if (buffer.length < FIXED_HEADER) return undefined;
  if (buffer[0] !== 'l'.charCodeAt(0)) throw new Error('only little-endian D-Bus messages are understood');
  const bodyLength = buffer.readUInt32LE(4);
  const fieldsLength = buffer.readUInt32LE(12);
  const headerLength = FIXED_HEADER + fieldsLength + ((8 - (fieldsLength % 8)) % 8);
  const total = headerLength + bodyLength;
  if (total > MAX_MESSAGE) throw new Error(`a D-Bus message of ${total} bytes is over the limit`);
  return total;
}

export function decodeMessage(buffer: Buffer): Message {
  const reader = new WireReader(buffer);
  const [, type, flags, version, bodyLength, serial, fields] = reader.read('yyyyuua(yv)') as [
    number,
    MessageType,
    number,
    number,
    number,
    number,
    Array<[number, Variant]>,
  ];
  if (version !== PROTOCOL_VERSION) throw new Error(`D-Bus protocol version ${version} is not understood`);
  reader.align(8);
  const message: Message = { type, flags, serial };
  for (const [code, value] of fields) {
    const field = FIELDS.find(([known]) => known === code);
    if (field) (message as unknown as Record<string, unknown>)[field[1]] = value.value;
  }
  const bodyStart = reader.offset;
  if (message.signature) {
    // Offsets in the body count from the body's start, which is 8-aligned like the message.
    const body = new WireReader(buffer.subarray(bodyStart, bodyStart + bodyLength));
    message.body = body.read(message.signature);
  } else {
    message.body = [];
  }
  return message;
}
