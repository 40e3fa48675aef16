import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { CorralError } from '../errors.js';

export const DEFAULT_STATE_ROOT = '/run/corral';

/** What `state.json` records; the status is derived from it, never stored. */
export interface ContainerStateFile {
  ociVersion: string;
  id: string;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
}

/** One container's directory under the state root. */
export class ContainerDir {
  readonly path: string;

  private constructor(path: string) {
    this.path = path;
  }

  /** Creates the directory; only one caller can win for an id. */
  static create(root: string, id: string): ContainerDir {
    mkdirSync(root, { recursive: true, mode: 0o711 });
    const path = join(root, id);
    try {
      mkdirSync(path, { mode: 0o711 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CorralError('CONTAINER_EXISTS', `container ${JSON.stringify(id)} already exists`, {
          cause: error,
        });
      }
      throw error;
    }
    return new ContainerDir(path);
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
