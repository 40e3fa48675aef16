import { closeSync } from 'node:fs';

import { NETLINK_ROUTE, openNetlinkSocket, SeqpacketSocket } from '@corral/native';

import { NetlinkError, type NetlinkRequestContext } from '../errors.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
} from './constants.js';
import { decodeAck, decodeMessages, encodeMessage, messageTypeName, type NetlinkMessage } from './message.js';

/** How often a dump that the kernel marks inconsistent (NLM_F_DUMP_INTR) is started again. */
const DUMP_ATTEMPTS = 3;

/** What Rtnetlink needs from a socket: one acked request, one reply, or a whole dump. */
export interface NetlinkTransport {
  request(type: number, flags: number, payload: Uint8Array, context: RequestContext): Promise<void>;
  get(type: number, payload: Uint8Array, context: RequestContext): Promise<Buffer>;
  dump(type: number, payload: Uint8Array, context?: RequestContext): Promise<Buffer[]>;
  close(): void;
}

type RequestContext = Omit<NetlinkRequestContext, 'request'>;

/**
 * A NETLINK_ROUTE socket: requests are answered in order, each awaited through the event loop.
 * The socket stays in the namespace it was opened in, whatever thread later uses it.
 */
export class NetlinkSocket implements NetlinkTransport {
  readonly #socket: SeqpacketSocket;
  #seq = Math.floor(Math.random() * 0x7fffffff);
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(fd: number) {
    try {
      this.#socket = new SeqpacketSocket(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * Wraps a datagram socket the caller made (it is closed with this object). Any socket that
   * keeps message boundaries works, which is how the request logic is tested without a kernel.
   */
  static fromDescriptor(fd: number): NetlinkSocket {
    return new NetlinkSocket(fd);
  }

  /** Opens a socket in the caller's namespace, or in the namespace open on `netnsFd`. */
  static open(netnsFd?: number): NetlinkSocket {
    return new NetlinkSocket(openNetlinkSocket(NETLINK_ROUTE, netnsFd));
  }

  get fd(): number {
    return this.#socket.fd;
  }

  /** Sends a request and waits for its ack; a refusal becomes a NetlinkError. */
  async request(type: number, flags: number, payload: Uint8Array, context: RequestContext) {
    await this.#exchange(type, flags | NLM_F_ACK, payload, context);
  }

  /** Sends a GET request for one object and returns the reply's payload. */
  async get(type: number, payload: Uint8Array, context: RequestContext): Promise<Buffer> {
    const [reply] = (await this.#exchange(type, 0, payload, context)).replies;
    if (!reply) throw new Error(`${messageTypeName(type)}: the kernel sent no reply`);
    return reply.payload;
  }

  /** Sends a dump request and returns the payload of every message of the multipart answer. */
  async dump(type: number, payload: Uint8Array, context: RequestContext = {}) {
    for (let attempt = 1; ; attempt++) {
      const { replies, interrupted } = await this.#exchange(type, NLM_F_DUMP, payload, context);
      if (!interrupted || attempt === DUMP_ATTEMPTS) return replies.map((reply) => reply.payload);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }

  #exchange(type: number, flags: number, payload: Uint8Array, context: RequestContext) {
    const run = this.#queue.then(() => this.#send(type, flags, payload, context));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #send(
    type: number,
    flags: number,
    payload: Uint8Array,
    context: RequestContext,
  ): Promise<{ replies: NetlinkMessage[]; interrupted: boolean }> {
    if (this.#closed) throw new Error('netlink socket is closed');
    this.#seq = (this.#seq + 1) >>> 0;
    const seq = this.#seq;
    await this.#socket.send(encodeMessage({ type, flags: flags | NLM_F_REQUEST, seq, pid: 0 }, payload));
    const replies: NetlinkMessage[] = [];
    // The kernel marks any message of a dump, NLMSG_DONE included, when the dump raced a change.
    let interrupted = false;
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    for (;;) {
      const datagram = await this.#socket.receive();
      if (datagram === null) throw new Error('netlink socket closed while waiting for a reply');
      for (const message of decodeMessages(datagram.data)) {
        // Replies to an earlier request that gave up (or notifications) are not ours.
        if (message.seq !== seq) continue;
        if (message.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (message.type === NLMSG_ERROR) {
          const ack = decodeAck(message);
          if (ack.errno !== 0) {
            throw new NetlinkError(ack.errno, { request: messageTypeName(type), ...context }, ack.message);
          }
          return { replies, interrupted };
        }
        if (message.type === NLMSG_DONE) {
          const status = message.payload.length >= 4 ? message.payload.readInt32LE(0) : 0;
          if (status < 0) throw new NetlinkError(-status, { request: messageTypeName(type), ...context });
          return { replies, interrupted };
        }
        replies.push(message);
        // A plain GET without NLM_F_ACK is answered by one message and nothing else.
        if (!dump && !(flags & NLM_F_ACK)) return { replies, interrupted };
      }
    }
  }
}
