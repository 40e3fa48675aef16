import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  type Pidfd,
  type SeqpacketMessage,
  SeqpacketSocket,
  seqpacketPair,
  spawnProcess,
} from '@corral/native';

import { CriuError, type CriuRequestName } from './errors.js';
import { executablePath } from './executable-path.js';

/** The descriptor number criu gets its end of the socket on (`criu swrk 3`). */
const SOCKET_FD_IN_CRIU = 3;
/** How much of criu's stderr is kept for error messages. */
const STDERR_KEEP = 8192;
/**
 * How long, once criu has exited, its stderr is still read: a daemon it left (a page server)
 * may hold it open for good.
 */
const STDERR_GRACE_MS = 50;

export interface CriuBinary {
  path: string;
  /** Where the path came from, for error messages: `criuPath`, `CORRAL_CRIU` or `PATH`. */
  source: string;
}

export interface CriuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One `criu swrk` process and our end of its SOCK_SEQPACKET socket. criu serves one request
 * (with its notifications) and exits; a new session is started for every request. criu is
 * started with posix_spawn from @corral/native (not child_process, whose module alone costs a
 * command line 2 to 4 ms), its stderr a socket of ours too.
 */
export class SwrkSession {
  readonly pid: number;
  readonly #child: Pidfd;
  readonly #socket: SeqpacketSocket;
  readonly #exit: Promise<CriuExit>;
  #stderr = '';
  #exited = false;

  private constructor(child: Pidfd, socket: SeqpacketSocket, stderr: SeqpacketSocket) {
    this.#child = child;
    this.#socket = socket;
    this.pid = child.pid;
    const stderrRead = this.#keepStderr(stderr);
    this.#exit = child.exited().then(async ({ code, signal }) => {
      this.#exited = true;
      child.close();
      await Promise.race([stderrRead, sleep(STDERR_GRACE_MS, undefined, { ref: false })]);
      stderr.close();
      return { code, signal: signal === null ? null : signalName(signal) };
    });
  }

  /**
   * Starts `criu swrk` with one end of a new socketpair as its descriptor 3 and `passFds` (of
   * this process) as its descriptors 4, 5, ... in that order.
   */
  static async start(
    binary: CriuBinary,
    request: CriuRequestName,
    passFds: number[] = [],
  ): Promise<SwrkSession> {
    const [ours, theirs] = seqpacketPair();
    const [stderrOurs, stderrTheirs] = seqpacketPair();
    const devNull = openSync('/dev/null', 'r+');
    let child: Pidfd;
    try {
      child = spawnProcess(
        executablePath(binary.path),
        [binary.path, 'swrk', String(SOCKET_FD_IN_CRIU)],
        [devNull, devNull, stderrTheirs, theirs, ...passFds],
        process.env,
      );
    } catch (error) {
      closeSync(ours);
      closeSync(stderrOurs);
      throw notFound(binary, request, error);
    } finally {
      // criu has its own copies now; ours would keep the sockets open after criu exits.
      closeSync(theirs);
      closeSync(stderrTheirs);
      closeSync(devNull);
    }
    return new SwrkSession(child, new SeqpacketSocket(ours), new SeqpacketSocket(stderrOurs));
  }

  /** The descriptor number that the `index`th of `passFds` has inside criu. */
  static passedFdNumber(index: number): number {
    return SOCKET_FD_IN_CRIU + 1 + index;
  }

  send(data: Uint8Array, fds: number[] = []): Promise<void> {
    return this.#socket.send(data, fds);
  }

  /** The next message from criu, or null once it has closed the socket (usually: exited). */
  receive(): Promise<SeqpacketMessage | null> {
    return this.#socket.receive();
  }

  /** The last lines criu wrote to stderr. */
  stderrTail(lines = 20): string[] {
    return this.#stderr
      .split('\n')
      .map((line) => line.trimEnd())
      .filter((line) => line.length > 0)
      .slice(-lines);
  }

  kill(): void {
    if (!this.#exited) this.#child.signal(constants.signals.SIGKILL);
  }

  /** Closes our end of the socket (criu sees end of stream) and waits for criu to exit. */
  async finish(): Promise<CriuExit> {
    this.#socket.close();
    return this.#exit;
  }

  exited(): Promise<CriuExit> {
    return this.#exit;
  }

  /** Keeps the end of what criu writes to stderr, until it closes it (or we do). */
  async #keepStderr(stderr: SeqpacketSocket): Promise<void> {
    for (;;) {
      const message = await stderr.receive().catch(() => null);
      if (message === null) return;
      for (const fd of message.fds) closeSync(fd);
      this.#stderr = (this.#stderr + message.data.toString('utf8')).slice(-STDERR_KEEP);
    }
  }
}

function signalName(signal: number): NodeJS.Signals | null {
  const found = Object.entries(constants.signals).find(([, number]) => number === signal);
  return found ? (found[0] as NodeJS.Signals) : null;
}

export function notFound(binary: CriuBinary, request: CriuRequestName, error: unknown): CriuError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  const hint =
    binary.source === 'PATH'
      ? 'install CRIU, or set the criuPath option or the CORRAL_CRIU environment variable'
      : `check the ${binary.source} setting`;
  return new CriuError(
    'CRIU_NOT_FOUND',
    `cannot run ${binary.path} (from ${binary.source}): ${code}; ${hint}`,
    {
      request,
      cause: error,
    },
  );
}
