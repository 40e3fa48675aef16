// What checkpoint and restore share: the files corral keeps beside CRIU's images, the options
// both take, and CRIU's client and failures in corral's terms.
import { chmodSync, chownSync } from 'node:fs';

import { type CgroupMode, CriuClient, CriuError, CriuOptionError } from '@corral/criu';

import { CorralError, InvalidConfigError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { imagesGroupOf } from './dump-basis.js';

/** What fds 0-2 of the init were, as restore needs them back; the file runc also writes. */
export const DESCRIPTORS_FILE = 'descriptors.json';

/** The veth pairs of the lent devices (inside and host names), which CRIU remakes on restore. */
export const VETH_PAIRS_FILE = 'veth-pairs.json';

/** Every checkpoint has CRIU's inventory; a directory without one is not a checkpoint. */
export const INVENTORY_FILE = 'inventory.img';

/**
 * Who may reach the images of a container with a user namespace of its own. A restore reads
 * some of them from inside it: CRIU's restored root opens timens-0.img as soon as it is cloned,
 * with the runtime's host ids still and before CRIU has written its id maps (so with no
 * capability over any file), and the rest once it is the container's root. The directory is
 * the runtime's, its group the container root's, mode 0750: both reach the images (CRIU writes
 * them 0644), and no one else does. Owned by the container's root alone, the directory shut
 * out the just-cloned root whenever it got there before the maps, as it does on a loaded host.
 */
export function shareImagesWithContainerRoot(imagesDir: string, spec: Spec): void {
  const gid = imagesGroupOf(spec);
  if (gid === undefined) return;
  chownSync(imagesDir, process.getuid?.() ?? 0, gid);
  chmodSync(imagesDir, 0o750);
}

/** CRIU's cgroup handling (runc's --manage-cgroups-mode). */
export type ManageCgroupsMode = Extract<CgroupMode, 'soft' | 'full' | 'strict' | 'ignore'>;

export const MANAGE_CGROUPS_MODES: readonly ManageCgroupsMode[] = ['soft', 'full', 'strict', 'ignore'];

/** Options both checkpoint and restore take. */
export interface CriuCommonOptions {
  /** The directory of the images. */
  imagePath: string;
  /** Where CRIU writes its log and work files; the image directory by default. */
  workPath?: string;
  /** The criu binary; else CORRAL_CRIU, else `criu` on PATH. */
  criuPath?: string;
  /**
   * A file in which the binary's version is kept between processes (@corral/criu's
   * versionFile), so that a command line does not start criu once more just to ask it.
   */
  criuVersionFile?: string;
  tcpEstablished?: boolean;
  /** Allow connections to unix sockets outside the container. */
  extUnixSk?: boolean;
  /** Allow a process tree that is a shell job. */
  shellJob?: boolean;
  fileLocks?: boolean;
  /**
   * Punch pages out of the images: at a checkpoint those its parent images hold, at a restore
   * each one restored (the images are used up).
   */
  autoDedup?: boolean;
  /** How CRIU treats the container's cgroups; `soft` when omitted, as runc. */
  manageCgroupsMode?: ManageCgroupsMode;
  /**
   * The container's network as the caller set it up, cut while CRIU works on the container
   * (for @corral/network's strategies: lock is `detach`, unlock is `attach`).
   */
  network?: NetworkLock;
}

/**
 * CRIU locks the network before it dumps and unlocks it when the container runs on (a dump
 * that leaves it running, or failed) or has been restored; a dumped container stays locked.
 */
export interface NetworkLock {
  lock(): unknown;
  unlock(): unknown;
}

/** CRIU's failures in corral's error family; a CRIU that cannot run says how to point to one. */
export function criuFailure(operation: string, error: unknown): unknown {
  if (error instanceof CriuOptionError) {
    return new InvalidConfigError(
      error.option,
      `${operation}: ${error.message.slice(error.option.length + 2)}`,
      {
        cause: error,
      },
    );
  }
  if (!(error instanceof CriuError)) return error;
  if (
    error.code === 'CRIU_NOT_FOUND' ||
    error.code === 'CRIU_TOO_OLD' ||
    error.code === 'CRIU_CHECK_FAILED'
  ) {
    return new CorralError(
      'NOT_SUPPORTED',
      `${operation} needs CRIU: ${error.message} (point to it with --criu PATH or CORRAL_CRIU)`,
      { cause: error },
    );
  }
  if (error.code === 'CRIU_UNSUPPORTED') {
    return new CorralError('NOT_SUPPORTED', `${operation}: ${error.message}`, { cause: error });
  }
  return new CorralError('SYSTEM', `${operation} failed: ${error.message}`, { cause: error });
}

export function criuClient(options: CriuCommonOptions, operation: 'checkpoint' | 'restore'): CriuClient {
  try {
    // Level 4 as runc: a failed checkpoint is only explained by CRIU's debug log.
    return new CriuClient({
      criuPath: options.criuPath,
      logLevel: 4,
      ...(options.criuVersionFile ? { versionFile: options.criuVersionFile } : {}),
    });
  } catch (error) {
    throw criuFailure(operation, error);
  }
}

export function checkCgroupsMode(mode: string | undefined): void {
  if (mode !== undefined && !MANAGE_CGROUPS_MODES.includes(mode as ManageCgroupsMode)) {
    throw new InvalidConfigError(
      'manageCgroupsMode',
      `${JSON.stringify(mode)} is not a mode: expected ${MANAGE_CGROUPS_MODES.join(', ')}`,
    );
  }
}
