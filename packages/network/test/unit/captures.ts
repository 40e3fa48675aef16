// The netlink traffic of iproute2's `ip`, recorded by test/fixtures/capture-ip.mjs.
import { readFileSync } from 'node:fs';

import { decodeMessages, type NetlinkMessage, type NetlinkTransport } from '../../src/index.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from '../../src/netlink/constants.js';

interface Capture {
  command: string;
  exitCode: number;
  stderr: string;
  messages: Array<{ direction: 'send' | 'receive'; hex: string }>;
}

const file = JSON.parse(readFileSync(new URL('../fixtures/ip-captures.json', import.meta.url), 'utf8')) as {
  fixtures: Record<string, Capture>;
};

export function capture(name: string): Capture {
  const found = file.fixtures[name];
  if (!found) throw new Error(`no capture named ${name}`);
  return found;
}

/** Every message `ip` sent, in order. */
export function sent(name: string): NetlinkMessage[] {
  return capture(name)
    .messages.filter((m) => m.direction === 'send')
    .flatMap((m) => decodeMessages(Buffer.from(m.hex, 'hex')));
}

/** Every message the kernel sent back, in order. */
export function received(name: string): NetlinkMessage[] {
  return capture(name)
    .messages.filter((m) => m.direction === 'receive')
    .flatMap((m) => decodeMessages(Buffer.from(m.hex, 'hex')));
}

/** The last request `ip` made: the one that did the work (earlier ones look names up). */
export function lastRequest(name: string): NetlinkMessage {
  const messages = sent(name);
  return messages[messages.length - 1] as NetlinkMessage;
}

/** The replies the kernel sent to one request (matched by sequence number). */
export function repliesTo(name: string, request: NetlinkMessage): NetlinkMessage[] {
  return received(name).filter((m) => m.seq === request.seq);
}

/** What a request looks like on the wire, minus the sequence number. */
export interface RecordedRequest {
  type: number;
  flags: number;
  payload: string;
}

/**
 * A transport that records what Rtnetlink asks for (with the flags NetlinkSocket would add) and
 * answers dumps with the replies `ip` received.
 */
export class RecordingTransport implements NetlinkTransport {
  readonly requests: RecordedRequest[] = [];
  readonly #dumpReplies: Buffer[];

  constructor(dumpReplies: Buffer[] = []) {
    this.#dumpReplies = dumpReplies;
  }

  async request(type: number, flags: number, payload: Uint8Array): Promise<void> {
    this.#record(type, flags | NLM_F_REQUEST | NLM_F_ACK, payload);
  }

  async get(type: number, payload: Uint8Array): Promise<Buffer> {
    this.#record(type, NLM_F_REQUEST, payload);
    throw new Error('RecordingTransport answers no single GET');
  }

  async dump(type: number, payload: Uint8Array): Promise<Buffer[]> {
    this.#record(type, NLM_F_REQUEST | NLM_F_DUMP, payload);
    return this.#dumpReplies;
  }

  close(): void {}

  #record(type: number, flags: number, payload: Uint8Array): void {
    this.requests.push({ type, flags, payload: Buffer.from(payload).toString('hex') });
  }
}

export function asRecorded(message: NetlinkMessage): RecordedRequest {
  return { type: message.type, flags: message.flags, payload: message.payload.toString('hex') };
}
