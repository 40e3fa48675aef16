import { closeSync, readSync } from 'node:fs';

import { binding, type NativeFdWatcher } from './binding.js';
import { isSystemCallError } from './errors.js';

/**
 * A non-blocking eventfd (for example the one cgroup v1's cgroup.event_control signals on OOM).
 * `read()` waits on the event loop until the counter is non-zero, then returns and resets it.
 */
export class Eventfd {
  #fd: number;
  #watcher: NativeFdWatcher;
  #waiting: Array<{ resolve: (count: bigint | null) => void; reject: (e: Error) => void }> = [];
  #closed = false;

  constructor() {
    this.#fd = binding().eventfdCreate();
    this.#watcher = new (binding().FdWatcher)(this.#fd, (status, readable) =>
      this.#onReady(status, readable),
    );
  }

  get fd(): number {
    return this.#fd;
  }

  /** The counter's value once it is non-zero (the counter is then reset), or null after close(). */
  read(): Promise<bigint | null> {
    if (this.#closed) return Promise.resolve(null);
    const now = this.#tryRead();
    if (now !== null && this.#waiting.length === 0) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#watcher.start(true, false);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    closeSync(this.#fd);
    for (const waiter of this.#waiting.splice(0)) waiter.resolve(null);
  }

  #tryRead(): bigint | null {
    const buffer = Buffer.alloc(8);
    try {
      readSync(this.#fd, buffer, 0, 8, null);
    } catch (error) {
      if (isSystemCallError(error, 'EAGAIN')) return null;
      throw error;
    }
    return buffer.readBigUInt64LE(0);
  }

  #onReady(status: number, readable: boolean): void {
    if (status < 0) {
      const error = new Error(`eventfd: poll failed (${status})`);
      for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
    } else if (readable && this.#waiting.length > 0) {
      try {
        const count = this.#tryRead();
        if (count !== null) this.#waiting.shift()?.resolve(count);
      } catch (error) {
        this.#waiting.shift()?.reject(error as Error);
      }
    }
    if (this.#closed) return;
    if (this.#waiting.length === 0) this.#watcher.stop();
  }
}
