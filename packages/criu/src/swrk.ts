import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';

import { type SeqpacketMessage, SeqpacketSocket, seqpacketPair } from '@corral/native';

import { CriuError, type CriuRequestName } from './errors.js';

/** The descriptor number criu gets its end of the socket on (`criu swrk 3`). */
const SOCKET_FD_IN_CRIU = 3;
/** How much of criu's stderr is kept for error messages. */
const STDERR_KEEP = 8192;

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
 * (with its notifications) and exits; a new session is started for every request.
 */
export class SwrkSession {
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #socket: SeqpacketSocket;
  readonly #exit: Promise<CriuExit>;
  #stderr = '';

  private constructor(child: ChildProcess, socket: SeqpacketSocket) {
    this.#child = child;
    this.#socket = socket;
    this.pid = child.pid!;
    this.#exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        // A daemon criu leaves behind (a page server) may hold the pipe: do not wait for it.
        child.stderr?.destroy();
        resolve({ code, signal });
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEEP);
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
    let child: ChildProcess;
    try {
      child = spawn(binary.path, ['swrk', String(SOCKET_FD_IN_CRIU)], {
        stdio: ['ignore', 'ignore', 'pipe', theirs, ...passFds],
      });
    } catch (error) {
      closeSync(ours);
      closeSync(theirs);
      throw notFound(binary, request, error);
    }
    // criu has its own copy now; ours would keep the socket open after criu exits.
    closeSync(theirs);
    const started = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (error) => resolve(error));
    });
    if (started) {
      closeSync(ours);
      throw notFound(binary, request, started);
    }
    return new SwrkSession(child, new SeqpacketSocket(ours));
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
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  /** Closes our end of the socket (criu sees end of stream) and waits for criu to exit. */
  async finish(): Promise<CriuExit> {
    this.#socket.close();
    return this.#exit;
  }

  exited(): Promise<CriuExit> {
    return this.#exit;
  }
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
