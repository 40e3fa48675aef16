import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

import { flock } from '@corral/native';

import { CorralError } from '../errors.js';
import type { Spec } from '../spec/types.js';

export const DEFAULT_STATE_ROOT = '/run/corral';

/** What `state.json` records; the status is derived from it, never stored. */
export interface ContainerStateFile {
  ociVersion: string;
  id: string;
  /** The container's init process, and its start time to tell it from a later reuse of the pid. */
  pid: number;
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  /** The container's cgroup directories (controller, or '' for v2 -> path). */
  cgroupPaths?: Record<string, string>;
  /** The transient unit of a container made with the systemd cgroup driver. */
  systemdUnit?: string;
  /** Host interfaces lent to the container (linux.netDevices), given back on delete. */
  netDevices?: Array<{ host: string; name: string }>;
  /**
   * The config that create accepted, with the notify socket's mount when the runtime added one
   * (its process as the bundle gave it). Every later command reads it here: the bundle's
   * config.json may change or go once the container exists.
   */
  config: Spec;
  /** Set until create or restore has finished: the container is not yet whole. */
  creating?: true;
}

/** CONTAINER_NOT_FOUND for `id`. */
export function containerNotFound(id: string, cause?: unknown): CorralError {
  return new CorralError(
    'CONTAINER_NOT_FOUND',
    `container ${JSON.stringify(id)} does not exist`,
    cause === undefined ? undefined : { cause },
  );
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * One container's directory under the state root: state.json, the exec FIFO while the
 * container is created but not started, and the lock file every command that acts on the
 * container takes.
 */
export class ContainerDir {
  readonly id: string;
  readonly path: string;

  private constructor(root: string, id: string) {
    this.id = id;
    this.path = join(root, id);
  }

  /** Creates the directory; only one caller can win for an id. */
  static create(root: string, id: string): ContainerDir {
    mkdirSync(root, { recursive: true, mode: 0o711 });
    const dir = new ContainerDir(root, id);
    try {
      mkdirSync(dir.path, { mode: 0o711 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CorralError('CONTAINER_EXISTS', `container ${JSON.stringify(id)} already exists`, {
          cause: error,
        });
      }
      throw error;
    }
    return dir;
  }

  /** The directory of an existing container (one with a state.json). */
  static open(root: string, id: string): ContainerDir {
    const dir = new ContainerDir(root, id);
    if (!dir.hasState()) throw containerNotFound(id);
    return dir;
  }

  /** The directory by that id, whether or not it holds a container yet. */
  static at(root: string, id: string): ContainerDir {
    return new ContainerDir(root, id);
  }

  get execFifoPath(): string {
    return join(this.path, 'exec.fifo');
  }

  get #lockPath(): string {
    return join(this.path, 'lock');
  }

  hasState(): boolean {
    return statSync(join(this.path, 'state.json'), { throwIfNoEntry: false }) !== undefined;
  }

  /**
   * Takes the container's lock; the returned function releases it. CONTAINER_NOT_FOUND when
   * the directory went (or was made anew) while waiting: whoever held the lock removed it.
   * Only the container's maker (`create`, `restore`, or the remover of what a killed one left)
   * makes the lock file: a waiter that made it again would put it back into a directory being
   * removed.
   */
  async lock(options: { create?: boolean } = {}): Promise<() => void> {
    let fd: number;
    try {
      fd = openSync(this.#lockPath, options.create ? 'a' : 'r+', 0o600);
    } catch (error) {
      if (!isGone(error)) throw error;
      // A directory from before lock files were made at create has its state and no lock yet.
      if (options.create || !this.hasState()) throw containerNotFound(this.id, error);
      return this.lock({ create: true });
    }
    try {
      await flock(fd, { exclusive: true });
      // A lock on a file that is no longer the directory's own guards nothing.
      const held = fstatSync(fd);
      const current = statSync(this.#lockPath, { throwIfNoEntry: false });
      if (!current || current.ino !== held.ino || current.dev !== held.dev) throw containerNotFound(this.id);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return () => closeSync(fd);
  }

  readState(): ContainerStateFile {
    try {
      return JSON.parse(readFileSync(join(this.path, 'state.json'), 'utf8')) as ContainerStateFile;
    } catch (error) {
      if (isGone(error)) throw containerNotFound(this.id, error);
      throw error;
    }
  }

  /** Writes state.json so that a crash at any moment leaves the old or the new file whole. */
  writeState(state: ContainerStateFile): void {
    const file = join(this.path, 'state.json');
    const temporary = `${file}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true, maxRetries: 3 });
  }
}
