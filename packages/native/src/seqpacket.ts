import { closeSync } from 'node:fs';

import { binding, type NativeFdWatcher } from './binding.js';

/** One whole message, and any descriptors that came with it (the receiver owns them). */
export interface SeqpacketMessage {
  data: Buffer;
  fds: number[];
}

/**
 * One end of a SOCK_SEQPACKET socket: message boundaries are kept and descriptors travel with
 * SCM_RIGHTS. Reads and writes never block the event loop; they wait for readiness instead.
 */
export class SeqpacketSocket {
  #fd: number;
  #watcher: NativeFdWatcher;
  #readers: Array<{ resolve: (m: SeqpacketMessage | null) => void; reject: (e: Error) => void }> = [];
  #writers: Array<() => void> = [];
  #eof = false;
  #closed = false;

  constructor(fd: number) {
    this.#fd = fd;
    this.#watcher = new (binding().FdWatcher)(fd, (status, readable, writable) =>
      this.#onReady(status, readable, writable),
    );
  }

  get fd(): number {
    return this.#fd;
  }

  /** Sends one message; resolves once the kernel has taken it. */
  async send(data: Uint8Array, fds: number[] = []): Promise<void> {
    this.#assertOpen();
    while (!binding().seqpacketSend(this.#fd, data, fds)) {
      await new Promise<void>((resolve) => {
        this.#writers.push(resolve);
        this.#watch();
      });
      this.#assertOpen();
    }
  }

  /** The next message, or null once the peer has closed its end. */
  receive(): Promise<SeqpacketMessage | null> {
    this.#assertOpen();
    const message = this.#tryReceive();
    if (message !== undefined && this.#readers.length === 0) return Promise.resolve(message);
    if (message !== undefined) throw new Error('seqpacket: receive() called while another is waiting');
    return new Promise((resolve, reject) => {
      this.#readers.push({ resolve, reject });
      this.#watch();
    });
  }

  /** Closes the descriptor; waiting receives resolve with null. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    closeSync(this.#fd);
    for (const reader of this.#readers.splice(0)) reader.resolve(null);
    for (const writer of this.#writers.splice(0)) writer();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('seqpacket: socket is closed');
  }

  /** A message, null at end of stream, undefined when nothing is waiting. */
  #tryReceive(): SeqpacketMessage | null | undefined {
    if (this.#eof) return null;
    const message = binding().seqpacketReceive(this.#fd);
    if (message === null) return undefined;
    if (message.data.length === 0 && message.fds.length === 0) {
      this.#eof = true;
      return null;
    }
    return message;
  }

  #watch(): void {
    this.#watcher.start(this.#readers.length > 0, this.#writers.length > 0);
  }

  #onReady(status: number, readable: boolean, writable: boolean): void {
    if (status < 0) {
      const error = new Error(`seqpacket: poll failed (${status})`);
      for (const reader of this.#readers.splice(0)) reader.reject(error);
    }
    if (writable) for (const writer of this.#writers.splice(0)) writer();
    if (readable) {
      while (this.#readers.length > 0) {
        let message: SeqpacketMessage | null | undefined;
        try {
          message = this.#tryReceive();
        } catch (error) {
          this.#readers.shift()?.reject(error as Error);
          continue;
        }
        if (message === undefined) break;
        this.#readers.shift()?.resolve(message);
      }
    }
    if (this.#closed) return;
    if (this.#readers.length === 0 && this.#writers.length === 0) this.#watcher.stop();
    else this.#watch();
  }
}

/** A connected pair of SOCK_SEQPACKET descriptors, both close-on-exec. */
export function seqpacketPair(): [number, number] {
  return binding().socketpairSeqpacket();
}
