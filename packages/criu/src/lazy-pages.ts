import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

import { CriuError } from './errors.js';
import { lastErrorLine, readLogTail } from './log.js';
import { type CriuBinary, type CriuExit, notFound } from './swrk.js';

/** How much of the daemon's stderr is kept for error messages (it logs to its file). */
const STDERR_KEEP = 8192;

export interface LazyPagesStart {
  binary: CriuBinary;
  args: string[];
  /** The daemon's log, quoted in errors. */
  logPath: string;
  /** The socket the daemon listens on for the restore. */
  socketPath: string;
  signal?: AbortSignal | undefined;
}

/**
 * A running `criu lazy-pages` daemon: it hands memory to a restore made with `lazyPages: true`
 * as the restored tasks fault on it, fetching pages from the lazy dump's page server (or from
 * the images), and exits by itself once every page has been delivered.
 */
export class CriuLazyPages {
  readonly pid: number;
  /** The socket the restore connects to: `lazy-pages.socket` in the daemon's workDir. */
  readonly socketPath: string;
  readonly logFile: string;
  /**
   * Settles when the daemon has exited: resolves after it delivered every page (exit code 0)
   * or was stopped by close() or the AbortSignal; rejects with a CriuError (and the end of
   * its log) when it failed on its own.
   */
  readonly stopped: Promise<CriuExit>;
  readonly #child: ChildProcess;
  readonly #exit: Promise<CriuExit>;
  #stopRequested = false;
  #stderr = '';

  private constructor(child: ChildProcess, start: LazyPagesStart) {
    this.#child = child;
    this.pid = child.pid!;
    this.socketPath = start.socketPath;
    this.logFile = start.logPath;
    this.#exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEEP);
    });
    this.stopped = this.#exit.then((exit) => {
      if (this.#stopRequested || (exit.code === 0 && exit.signal === null)) return exit;
      throw this.#failure(`the daemon exited (${describeExit(exit)})`);
    });
    // Whoever never looks at `stopped` must not get an unhandled rejection from it.
    this.stopped.catch(() => {});
  }

  /**
   * Spawns the daemon and resolves once it listens for the restore: CRIU writes one byte to
   * its status descriptor right after binding `lazy-pages.socket`, which makes that byte the
   * only signal that no restore can race ahead of (the socket file alone may be stale).
   */
  static async start(start: LazyPagesStart): Promise<CriuLazyPages> {
    const { signal } = start;
    if (signal?.aborted) throw aborted(signal);
    let child: ChildProcess;
    try {
      // child_process only here, where its pipes serve: loaded with the module, it would cost
      // every checkpoint and restore 2 to 3 ms.
      child = process.getBuiltinModule('node:child_process').spawn(start.binary.path, start.args, {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      throw notFound(start.binary, 'lazy-pages', error);
    }
    const spawnError = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (error) => resolve(error));
    });
    if (spawnError) throw notFound(start.binary, 'lazy-pages', spawnError);
    const daemon = new CriuLazyPages(child, start);
    const status = child.stdio[3] as Readable;
    const onAbort = () => void daemon.close();
    try {
      await new Promise<void>((resolve, reject) => {
        status.once('data', () => resolve());
        daemon.#exit.then((exit) => {
          reject(
            signal?.aborted
              ? aborted(signal)
              : daemon.#failure(`the daemon exited (${describeExit(exit)}) before it was ready`),
          );
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    } catch (error) {
      signal?.removeEventListener('abort', onAbort);
      status.destroy();
      await daemon.close();
      throw error;
    }
    status.destroy();
    // From here the signal stops a running daemon; drop the listener once it is gone anyway.
    daemon.#exit.then(() => signal?.removeEventListener('abort', onAbort));
    return daemon;
  }

  /**
   * Kills the daemon and waits for it. Any page it has not delivered yet is lost to the
   * restored tree, so close it only after `stopped` or when giving up on that restore.
   */
  async close(): Promise<void> {
    this.#stopRequested = true;
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exit;
  }

  #failure(message: string): CriuError {
    const logTail = readLogTail(this.logFile);
    const reason = logTail && lastErrorLine(logTail);
    return new CriuError('CRIU_FAILED', reason ? `${message}: ${reason}` : message, {
      request: 'lazy-pages',
      ...(logTail ? { logFile: this.logFile } : {}),
      logTail: logTail ?? stderrTail(this.#stderr),
    });
  }
}

function stderrTail(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-20);
}

function describeExit(exit: CriuExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function aborted(signal: AbortSignal): CriuError {
  return new CriuError('CRIU_ABORTED', 'stopped by the caller', {
    request: 'lazy-pages',
    cause: signal.reason,
  });
}
