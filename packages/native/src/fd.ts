import { closeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { binding } from './binding.js';

/**
 * Takes an flock(2) on an open descriptor, waiting on the event loop (never blocking it) while
 * another process holds it. The lock goes when the descriptor is closed.
 */
export async function flock(
  fd: number,
  options: { exclusive?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  let delay = 1;
  while (!binding().tryFlock(fd, options.exclusive ?? true)) {
    options.signal?.throwIfAborted();
    await sleep(delay, undefined, { signal: options.signal });
    delay = Math.min(delay * 2, 50);
  }
}

/**
 * Resolves with true once the descriptor is readable (or its peer has hung up), or with false
 * when the signal aborts first: a lost race leaves nothing polling a descriptor about to close.
 */
export function waitReadable(fd: number, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      watcher.close();
      resolve(false);
    };
    const watcher = new (binding().FdWatcher)(fd, (status) => {
      watcher.close();
      signal?.removeEventListener('abort', onAbort);
      if (status < 0) reject(new Error(`poll failed on descriptor ${fd} (${status})`));
      else resolve(true);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    watcher.start(true, false);
  });
}

/** Makes a FIFO (named pipe); the mode is subject to the umask, as mkfifo(3)'s is. */
export function mkfifo(path: string, mode: number): void {
  binding().mkfifo(path, mode);
}

/**
 * Connects to a unix socket and sends one descriptor with SCM_RIGHTS, as runc's
 * --console-socket protocol does (the message body names what is sent).
 */
export function sendDescriptor(socketPath: string, fd: number, name: string): void {
  const socket = binding().unixConnect(socketPath);
  try {
    if (!binding().seqpacketSend(socket, Buffer.from(name), [fd])) {
      throw Object.assign(new Error(`sendmsg: the socket ${socketPath} is full`), { code: 'EAGAIN' });
    }
  } finally {
    closeSync(socket);
  }
}

/** Sets a terminal's window size (TIOCSWINSZ): a relayed pty follows the terminal it is shown on. */
export function setWindowSize(fd: number, rows: number, columns: number): void {
  binding().setWindowSize(fd, rows, columns);
}

/**
 * The window size of the terminal on `fd` (TIOCGWINSZ), or undefined when it is not one: what
 * `process.stdout.rows` tells, without making process.stdout (and loading the stream modules).
 */
export function windowSize(fd: number): { rows: number; columns: number } | undefined {
  const size = binding().windowSize(fd);
  return size ? { rows: size[0], columns: size[1] } : undefined;
}

/**
 * A bound AF_UNIX datagram socket (non-blocking); read it with SeqpacketSocket, which keeps
 * message boundaries the same way. "@name" binds an abstract address.
 */
export function bindDatagramSocket(path: string): number {
  return binding().unixDatagramBind(path);
}

/** Sends one datagram to the AF_UNIX socket at path ("@name": abstract), without waiting. */
export function sendDatagram(path: string, data: Uint8Array): void {
  binding().unixDatagramSend(path, data);
}
