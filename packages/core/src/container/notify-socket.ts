import { closeSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { bindDatagramSocket, type Pidfd, SeqpacketSocket, sendDatagram, waitReadable } from '@corral/native';

import { SystemError } from '../errors.js';
import type { Spec } from '../spec/types.js';

/**
 * NOTIFY_SOCKET, as runc proxies it: a service manager that started the runtime with
 * NOTIFY_SOCKET (systemd's Type=notify, podman --sdnotify=container) hears from the
 * container's process, not from the runtime. The container gets a socket of its own in the
 * state directory, bind-mounted read-only at /run/notify; what arrives there is passed on to
 * the manager's socket up to READY=1, announced with the container's MAINPID.
 */
const DIR_IN_CONTAINER = '/run/notify';
const SOCKET_NAME = 'notify.sock';

/** Where the container's socket lives: the container's state directory. */
export function notifyDir(containerDir: string): string {
  return join(containerDir, 'notify');
}

/** Gives the config the bind mount and the NOTIFY_SOCKET variable of the container's socket. */
export function addNotifySocket(spec: Spec, containerDir: string): void {
  spec.mounts = [
    ...(spec.mounts ?? []),
    {
      destination: DIR_IN_CONTAINER,
      type: 'bind',
      source: notifyDir(containerDir),
      options: ['bind', 'nosuid', 'noexec', 'nodev', 'ro'],
    },
  ];
  spec.process!.env = [...(spec.process!.env ?? []), `NOTIFY_SOCKET=${DIR_IN_CONTAINER}/${SOCKET_NAME}`];
}

/** The runtime's end of the container's socket, bound in the state directory. */
export class NotifySocket {
  readonly #socket: SeqpacketSocket;
  readonly #host: string;

  private constructor(socket: SeqpacketSocket, host: string) {
    this.#socket = socket;
    this.#host = host;
  }

  /**
   * Binds the container's socket (again, for `start` after `create`), so that nothing the
   * process sends once it runs is lost. `host` is the manager's NOTIFY_SOCKET.
   */
  static bind(containerDir: string, host: string): NotifySocket {
    const dir = notifyDir(containerDir);
    const path = join(dir, SOCKET_NAME);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    rmSync(path, { force: true });
    try {
      return new NotifySocket(new SeqpacketSocket(bindDatagramSocket(path)), host);
    } catch (error) {
      throw SystemError.from(`bind the notify socket ${path}`, error, path);
    }
  }

  /**
   * Passes messages on to the manager until READY=1, which goes after MAINPID=`mainPid` (when
   * given); resolves then, or when `stop` aborts first (the container has exited).
   */
  async forwardUntilReady(mainPid: number | undefined, stop: AbortSignal): Promise<void> {
    const stopped = new Promise<null>((resolve) => {
      if (stop.aborted) resolve(null);
      stop.addEventListener('abort', () => resolve(null), { once: true });
    });
    for (;;) {
      // An empty datagram reads as the end: the container has only itself to blame.
      const message = await Promise.race([this.#socket.receive(), stopped]);
      if (message === null) return;
      for (const fd of message.fds) closeSync(fd);
      const ready = message.data.toString('utf8').split('\n').includes('READY=1');
      try {
        if (ready && mainPid !== undefined) sendDatagram(this.#host, Buffer.from(`MAINPID=${mainPid}\n`));
        sendDatagram(this.#host, message.data);
      } catch (error) {
        throw SystemError.from(`notify ${this.#host}`, error, this.#host);
      }
      if (ready) return;
    }
  }

  close(): void {
    this.#socket.close();
  }
}

/** Forwards up to READY=1 with the init as MAINPID, or until the init exits. */
export async function forwardUntilExit(notify: NotifySocket, init: Pidfd): Promise<void> {
  const exited = new AbortController();
  const watching = new AbortController();
  void waitReadable(init.fd, { signal: watching.signal }).then((readable) => {
    if (readable) exited.abort();
  });
  try {
    await notify.forwardUntilReady(init.pid, exited.signal);
  } finally {
    watching.abort();
  }
}
