import { closeSync } from 'node:fs';

import { binding } from './binding.js';

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: number | null;
}

/** The shell convention runc follows: the exit code, or 128 + the signal number. */
export function exitStatusCode(status: ExitStatus): number {
  return status.signal !== null ? 128 + status.signal : (status.code ?? 255);
}

/**
 * A process held by a pidfd, so that signals always reach the process it was opened for, never
 * one that later reused its pid. `exited()` reaps it when it is our child.
 */
export class Pidfd {
  readonly pid: number;
  #fd: number;
  #exit: Promise<ExitStatus> | undefined;
  #closed = false;

  constructor(pid: number, fd: number) {
    this.pid = pid;
    this.#fd = fd;
  }

  static open(pid: number): Pidfd {
    return new Pidfd(pid, binding().pidfdOpen(pid));
  }

  get fd(): number {
    return this.#fd;
  }

  /** Sends a signal; throws ESRCH once the process has exited. */
  signal(signal: number): void {
    binding().pidfdSendSignal(this.#fd, signal);
  }

  /** Resolves when the process (which must be our child) exits, and reaps it. */
  exited(): Promise<ExitStatus> {
    this.#exit ??= new Promise((resolve, reject) => {
      const watcher = new (binding().FdWatcher)(this.#fd, (status) => {
        try {
          if (status < 0) throw new Error(`pidfd: poll failed (${status})`);
          const result = binding().pidfdWait(this.#fd);
          if (result === null) return;
          watcher.close();
          resolve(result);
        } catch (error) {
          watcher.close();
          reject(error);
        }
      });
      watcher.start(true, false);
    });
    return this.#exit;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

/**
 * Starts `path` with `argv` (its argv[0] first) and the environment `env` (none by default), its
 * descriptors 0, 1, 2, ... being `fds` in that order (of the others it inherits, as from
 * child_process, only what is not close-on-exec). By posix_spawn, which copies nothing of this
 * process and runs none of its code before exec: the cheapest start Node can make, with no
 * child_process module to load. `path` is not looked up on PATH. The process is held by pidfd;
 * `exited()` reaps it.
 */
export function spawnProcess(
  path: string,
  argv: readonly string[],
  fds: readonly number[],
  env: NodeJS.ProcessEnv = {},
): Pidfd {
  const vars = Object.entries(env).flatMap(([name, value]) =>
    value === undefined ? [] : [`${name}=${value}`],
  );
  const [pid, fd] = binding().spawnProcess(path, [...argv], [...fds], vars);
  return new Pidfd(pid, fd);
}

/** Makes this process the reaper of orphaned descendants (for detached containers). */
export function setChildSubreaper(on: boolean): void {
  binding().setChildSubreaper(on);
}
