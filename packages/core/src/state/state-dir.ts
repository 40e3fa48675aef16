import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

import { flock } from '@corral/native';

import { CorralError } from '../errors.js';

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
}

/**
 * One container's directory under the state root: state.json, the exec FIFO while the
 * container is created but not started, and the lock file every changing command takes.
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

  /** The directory of an existing container. */
  static open(root: string, id: string): ContainerDir {
    const dir = new ContainerDir(root, id);
    try {
      readFileSync(join(dir.path, 'state.json'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new CorralError('CONTAINER_NOT_FOUND', `container ${JSON.stringify(id)} does not exist`, {
          cause: error,
        });
      }
      throw error;
    }
    return dir;
  }

  get execFifoPath(): string {
    return join(this.path, 'exec.fifo');
  }

  /** Takes the container's lock; the returned function releases it. */
  async lock(): Promise<() => void> {
    const fd = openSync(join(this.path, 'lock'), 'a', 0o600);
    try {
      await flock(fd, { exclusive: true });
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return () => closeSync(fd);
  }

  readState(): ContainerStateFile {
    return JSON.parse(readFileSync(join(this.path, 'state.json'), 'utf8')) as ContainerStateFile;
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
    rmSync(this.path, { recursive: true, force: true });
  }
}
