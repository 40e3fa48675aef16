import { closeSync, existsSync, type FSWatcher, openSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Eventfd } from '@corral/native';

import { notSupported, systemError } from './errors.js';
import { parseKeyValues, readCgroupFile } from './files.js';
import type { OomEvent } from './types.js';

/** A push-fed async iterator; `return()` (or `break` in for-await) stops it at once and cleans up. */
class EventStream<T> implements AsyncIterableIterator<T> {
  #queue: T[] = [];
  #waiting: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  #done = false;
  #error: unknown;
  #cleanup: () => void;

  constructor(cleanup: () => void) {
    this.#cleanup = cleanup;
  }

  push(value: T): void {
    if (this.#done) return;
    const waiter = this.#waiting.shift();
    if (waiter) waiter.resolve({ value, done: false });
    else this.#queue.push(value);
  }

  end(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#cleanup();
    for (const waiter of this.#waiting.splice(0)) {
      if (error === undefined) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.#queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.#done) {
      return this.#error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.#error);
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.#queue = [];
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/**
 * cgroup v1: an eventfd registered with cgroup.event_control against memory.oom_control. The
 * kernel signals it on every OOM in the cgroup, and once more when the cgroup is removed.
 */
export function oomEventsV1(memoryDir: string): AsyncIterableIterator<OomEvent> {
  const eventfd = new Eventfd();
  let controlFd: number | undefined;
  const stream = new EventStream<OomEvent>(() => {
    eventfd.close();
    if (controlFd !== undefined) closeSync(controlFd);
    controlFd = undefined;
  });
  try {
    controlFd = openSync(join(memoryDir, 'memory.oom_control'), 'r');
    writeFileSync(join(memoryDir, 'cgroup.event_control'), `${eventfd.fd} ${controlFd}`);
  } catch (error) {
    stream.end();
    throw systemError('register an OOM eventfd for', memoryDir, error);
  }
  const pump = async () => {
    for (;;) {
      const count = await eventfd.read();
      if (count === null) return;
      // The same eventfd fires when the cgroup goes away: that is the end, not an OOM.
      if (!existsSync(join(memoryDir, 'cgroup.event_control'))) return stream.end();
      stream.push({ count: Number(count) });
    }
  };
  pump().catch((error) => stream.end(error));
  return stream;
}

/**
 * The counters of a v2 memory.events text: `oom` counts the times the cgroup ran out of memory,
 * `oomKill` the processes the OOM killer killed (each member of a memory.oom.group kill counts).
 */
export function parseMemoryEvents(text: string): { oom: number; oomKill: number; max: number } {
  const events = parseKeyValues(text);
  return { oom: events.oom ?? 0, oomKill: events.oom_kill ?? 0, max: events.max ?? 0 };
}

/**
 * cgroup v2: memory.events changes (the kernel notifies inotify watchers of it) and its oom_kill
 * counter grows with each process the OOM killer kills, which is what runc reports; the stream
 * ends when the cgroup is removed.
 */
export function oomEventsV2(dir: string): AsyncIterableIterator<OomEvent> {
  const file = join(dir, 'memory.events');
  if (!existsSync(file)) {
    throw notSupported(
      `the memory controller is not enabled in ${dir} (no memory.events): no OOM events to watch`,
    );
  }
  let watcher: FSWatcher | undefined;
  const stream = new EventStream<OomEvent>(() => watcher?.close());
  let seen = parseMemoryEvents(readCgroupFile(dir, 'memory.events')).oomKill;
  const check = () => {
    let now: number;
    try {
      now = parseMemoryEvents(readCgroupFile(dir, 'memory.events')).oomKill;
    } catch {
      return stream.end();
    }
    if (now > seen) stream.push({ count: now - seen });
    seen = now;
  };
  watcher = watch(file, { persistent: true }, check);
  watcher.on('error', () => stream.end());
  return stream;
}
