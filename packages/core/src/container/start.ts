import { closeSync, constants, existsSync, openSync, readSync, unlinkSync } from 'node:fs';

import { type Pidfd, waitReadable } from '@corral/native';

import { CorralError } from '../errors.js';
import { hookState, runHooksWarning } from '../hooks.js';
import type { ContainerDir, ContainerStateFile } from '../state/state-dir.js';
import { forwardUntilExit, NotifySocket, notifyDir } from './notify-socket.js';
import { defaultWarn, noDebug, openInit, underLock } from './operation.js';

export interface StartOptions {
  warn?: (message: string) => void;
  /** Where the steps are told (the command's --debug). */
  debug?: (message: string) => void;
  /** The service manager's NOTIFY_SOCKET: start returns once the process says READY=1 or exits. */
  notifySocket?: string;
}

/**
 * `start`: lets a created container's init through its exec FIFO, then runs the poststart
 * hooks. With a NOTIFY_SOCKET (and a container created with one), returns once the process
 * says READY=1 or exits.
 */
export async function startContainer(dir: ContainerDir, options: StartOptions = {}): Promise<void> {
  const warn = options.warn ?? defaultWarn;
  const debug = options.debug ?? noDebug;
  let init: Pidfd | undefined;
  let notify: NotifySocket | undefined;
  try {
    await underLock(dir, 'start', async ({ state }) => {
      init = openInit(state, 'start');
      if (options.notifySocket && existsSync(notifyDir(dir.path)))
        notify = NotifySocket.bind(dir.path, options.notifySocket);
      debug(`start ${dir.id}: opening the exec FIFO of the init (pid ${init.pid})`);
      await passExecFifo(dir, init);
      debug("the init has gone through its exec FIFO and exec's the process");
      await runPoststart(state, warn);
    });
    if (notify && init) await forwardUntilExit(notify, init);
  } finally {
    notify?.close();
    init?.close();
  }
}

/** The poststart hooks, with the container running; a failed one is only a warning. */
export async function runPoststart(
  state: ContainerStateFile,
  warn: (message: string) => void,
): Promise<void> {
  const running = hookState(state.config, {
    id: state.id,
    status: 'running',
    pid: state.pid,
    bundle: state.bundle,
  });
  await runHooksWarning(state.config, 'poststart', running, warn);
}

/**
 * Opening the FIFO lets the init's open return; it writes one byte and goes on to exec. If
 * the init dies instead, its pidfd says so and start does not hang.
 */
async function passExecFifo(dir: ContainerDir, init: Pidfd): Promise<void> {
  const fifo = openSync(dir.execFifoPath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    const done = new AbortController();
    await Promise.race([
      waitReadable(fifo, { signal: done.signal }),
      waitReadable(init.fd, { signal: done.signal }),
    ]).finally(() => done.abort());
    if (!readOneByte(fifo))
      throw new CorralError('SYSTEM', `container ${dir.id}'s init exited before it was started`);
  } finally {
    closeSync(fifo);
  }
  unlinkSync(dir.execFifoPath);
}

function readOneByte(fd: number): boolean {
  try {
    return readSync(fd, Buffer.alloc(1)) === 1;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return false;
    throw error;
  }
}
