import { closeSync, constants, fstatSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { makeSharedMount, mountNewNetns, unmountNetns } from '@corral/native';

import { NetworkConfigError } from './errors.js';

/** Where persistent namespaces are mounted unless told otherwise. */
export const DEFAULT_NETNS_RUN_DIR = '/run/corral/netns';

/** A namespace file known to be on nsfs: every namespace file shares its device. */
const KNOWN_NSFS_FILE = '/proc/self/ns/net';

export interface CreateNetnsOptions {
  /** Directory that holds the mount (default /run/corral/netns). */
  runDir?: string;
}

/**
 * A network namespace held open by a descriptor: from a pid, from a path (a bind mount such as
 * /run/netns/NAME, or /proc/PID/ns/net), or a new persistent one bind-mounted under a run
 * directory. Holding the descriptor keeps the namespace alive until `close()`.
 */
export class NetworkNamespace {
  readonly fd: number;
  /** The path it was opened from. */
  readonly path: string;
  /** True for a namespace this handle created with `create()` and that `remove()` may delete. */
  readonly persistent: boolean;
  #closed = false;

  private constructor(fd: number, path: string, persistent: boolean) {
    this.fd = fd;
    this.path = path;
    this.persistent = persistent;
  }

  /** The namespace of this process (Node's threads all stay in it). */
  static current(): NetworkNamespace {
    return NetworkNamespace.fromPath('/proc/self/ns/net');
  }

  /** The namespace of a running process. */
  static fromPid(pid: number): NetworkNamespace {
    if (!Number.isInteger(pid) || pid <= 0)
      throw new NetworkConfigError('pid', pid, 'must be a positive integer');
    return NetworkNamespace.fromPath(`/proc/${pid}/ns/net`);
  }

  /** A namespace file: a bind mount such as /run/netns/NAME, or /proc/PID/ns/net. */
  static fromPath(path: string): NetworkNamespace {
    // Node opens every file close-on-exec.
    const fd = openSync(path, constants.O_RDONLY);
    try {
      assertNetnsFile(fd, path);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return new NetworkNamespace(fd, path, false);
  }

  /**
   * A new namespace that outlives this process: bind-mounted at RUN_DIR/NAME (the run directory
   * is made a shared mount point first, as `ip netns add` does, so removing it reaches every
   * mount namespace). A name in use is refused.
   */
  static create(name: string, options: CreateNetnsOptions = {}): NetworkNamespace {
    validateNetnsName(name);
    const runDir = options.runDir ?? DEFAULT_NETNS_RUN_DIR;
    mkdirSync(runDir, { recursive: true, mode: 0o755 });
    makeSharedMount(runDir);
    const path = join(runDir, name);
    let placeholder: number;
    try {
      placeholder = openSync(path, constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL, 0o444);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new NetworkConfigError('name', name, `a network namespace already exists at ${path}`);
      }
      throw error;
    }
    closeSync(placeholder);
    try {
      mountNewNetns(path);
      return new NetworkNamespace(openSync(path, constants.O_RDONLY), path, true);
    } catch (error) {
      removeMount(path);
      throw error;
    }
  }

  /** Unmounts and unlinks a persistent namespace by path; a missing one is not an error. */
  static removePath(path: string): void {
    removeMount(path);
  }

  /** Device and inode of the namespace: equal for two handles on the same namespace. */
  id(): string {
    const stat = fstatSync(this.fd);
    return `${stat.dev}:${stat.ino}`;
  }

  /** Closes the descriptor and, for a namespace made by `create()`, removes its mount. */
  remove(): void {
    if (!this.persistent) throw new Error(`${this.path} was not created by this handle; close() it instead`);
    this.close();
    removeMount(this.path);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.fd);
  }
}

function validateNetnsName(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name === '.' || name === '..') {
    throw new NetworkConfigError('name', name, 'a namespace name is 1-64 characters of A-Z a-z 0-9 _ . -');
  }
}

/** Refuses a file that is not a network namespace (nsfs, same device as our own ns files). */
function assertNetnsFile(fd: number, path: string): void {
  const stat = fstatSync(fd);
  const reference = statSync(KNOWN_NSFS_FILE);
  if (stat.dev !== reference.dev) {
    throw new NetworkConfigError('path', path, 'is not a namespace file (not on nsfs)');
  }
}

function removeMount(path: string): void {
  try {
    unmountNetns(path);
  } catch (error) {
    // EINVAL: not a mount point (never mounted, or already detached); ENOENT: already gone.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOENT') throw error;
  }
  rmSync(path, { force: true });
}
