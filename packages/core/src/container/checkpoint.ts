import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

import { cgroupMounts } from '@corral/cgroups';
import {
  type CgroupMode,
  type CgroupRootMapping,
  CriuClient,
  type CriuDumpOptions,
  CriuError,
  type CriuOperationOptions,
  CriuOptionError,
  type VethPair,
} from '@corral/criu';

import { CorralError } from '../errors.js';
import { createsUserNamespace, mapToHost } from '../plan/namespaces.js';
import type { Spec } from '../spec/types.js';
import type { ContainerStateFile } from '../state/state-dir.js';
import { externalMountsAtDump, externalNamespaces } from './checkpoint-externals.js';
import { lentVethPairs } from './net-devices.js';

/** What fds 0-2 of the init were, as restore needs them back; the file runc also writes. */
export const DESCRIPTORS_FILE = 'descriptors.json';

/** The annotation that names a CRIU configuration file for one container, as runc reads it. */
export const CRIU_CONFIG_ANNOTATION = 'org.criu.config';

/** The CRIU configuration file of containers without the annotation; CRIU skips it if absent. */
export const DEFAULT_CRIU_CONFIG = '/etc/criu/corral.conf';

/** The veth pairs of the lent devices (inside and host names), which CRIU remakes on restore. */
export const VETH_PAIRS_FILE = 'veth-pairs.json';

/** Every checkpoint has CRIU's inventory; a directory without one is not a checkpoint. */
const INVENTORY_FILE = 'inventory.img';

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

export interface CheckpointOptions extends CriuCommonOptions {
  /** Keep the container running after the checkpoint. */
  leaveRunning?: boolean;
  /** Dump memory only, to shorten a later checkpoint with parentPath; the container keeps running. */
  preDump?: boolean;
  /** A pre-dump's image directory, relative to imagePath (`../pre`). */
  parentPath?: string;
  /** Namespaces whose contents are not dumped, to be restored empty (runc's --empty-ns network). */
  emptyNamespaces?: Array<'network'>;
  /** Leave out connections not yet accepted instead of refusing them (runc's --tcp-skip-in-flight). */
  tcpSkipInFlight?: boolean;
  /** Keep an open file whose name was removed by linking it back, not copying it (--link-remap). */
  linkRemap?: boolean;
  /**
   * Send the memory pages to this CRIU page server instead of imagePath (runc's --page-server);
   * with lazyPages, the address this side serves them on.
   */
  pageServer?: { address: string; port: number };
  /**
   * Post-copy migration: write everything but the memory, then serve the memory on pageServer
   * until a lazy restore elsewhere has taken all of it; the container stays frozen until then.
   */
  lazyPages?: boolean;
  /** Called once a lazy checkpoint serves the memory: the moment to restore on the other side. */
  onLazyServerReady?: () => void;
}

/** A descriptor of the init that CRIU needs handed back on restore, under the key it records it by. */
interface StdioDescriptor {
  key: string;
  /** A file of the host outside the container's mounts, that CRIU must treat as external. */
  external: boolean;
}

/**
 * A restore into a user namespace reads some images from inside it, as the container's root:
 * the images directory becomes that host id's, so that it, and no one else, can reach them.
 */
function openImagesToContainerRoot(imagesDir: string, spec: Spec): void {
  if (!createsUserNamespace(spec)) return;
  const uid = mapToHost(spec.linux?.uidMappings ?? [], 0);
  const gid = mapToHost(spec.linux?.gidMappings ?? [], 0);
  if (uid !== undefined && gid !== undefined) chownSync(imagesDir, uid, gid);
}

/** Mount ids of the init's mount namespace. */
function mountIdsOf(pid: number): Set<string> {
  const lines = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n');
  return new Set(lines.filter(Boolean).map((line) => line.split(' ')[0]!));
}

/**
 * What fds 0-2 of the init point to. A pipe is known to CRIU by its link (`pipe:[123]`); a host
 * file outside the container's mounts (a /dev/null or log file the runtime was started with)
 * can only be dumped as an external file, keyed by its mount id and inode.
 */
function stdioDescriptors(pid: number): StdioDescriptor[] {
  const mounts = mountIdsOf(pid);
  return [0, 1, 2].map((fd) => {
    const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    if (!link.startsWith('/')) return { key: link, external: false };
    const mountId = /^mnt_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
    if (mountId === undefined || mounts.has(mountId)) return { key: link, external: false };
    const inode = statSync(`/proc/${pid}/fd/${fd}`).ino;
    return { key: `file[${Number(mountId).toString(16)}:${inode.toString(16)}]`, external: true };
  });
}

/**
 * The configuration file CRIU reads on top of corral's options (its settings win): the
 * annotation's path, none when the annotation is empty, else corral's default one.
 */
function criuConfig(spec: Spec): { configFile?: string } {
  const configured = spec.annotations?.[CRIU_CONFIG_ANNOTATION];
  if (configured === undefined) return { configFile: DEFAULT_CRIU_CONFIG };
  return configured === '' ? {} : { configFile: configured };
}

/** CRIU's failures in corral's error family; a CRIU that cannot run says how to point to one. */
export function criuFailure(operation: string, error: unknown): unknown {
  if (error instanceof CriuOptionError) {
    return new CorralError('INVALID_CONFIG', `${operation}: ${error.message}`, { cause: error });
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

function criuClient(options: CriuCommonOptions): CriuClient {
  try {
    // Level 4 as runc: a failed checkpoint is only explained by CRIU's debug log.
    return new CriuClient({ criuPath: options.criuPath, logLevel: 4 });
  } catch (error) {
    throw criuFailure('checkpoint', error);
  }
}

function checkCgroupsMode(mode: string | undefined): void {
  if (mode !== undefined && !MANAGE_CGROUPS_MODES.includes(mode as ManageCgroupsMode)) {
    throw new CorralError(
      'INVALID_CONFIG',
      `invalid manage-cgroups mode ${JSON.stringify(mode)}: expected ${MANAGE_CGROUPS_MODES.join(', ')}`,
    );
  }
}

/**
 * Dumps a live container's init tree into options.imagePath, with its stdio recorded beside the
 * images in descriptors.json. The caller holds the container's lock.
 */
export async function dumpContainer(
  state: ContainerStateFile,
  spec: Spec,
  options: CheckpointOptions,
): Promise<void> {
  checkCgroupsMode(options.manageCgroupsMode);
  const imagesDir = resolve(options.imagePath);
  const workDir = options.workPath === undefined ? undefined : resolve(options.workPath);
  const client = criuClient(options);
  mkdirSync(imagesDir, { recursive: true, mode: 0o700 });
  openImagesToContainerRoot(imagesDir, spec);
  if (workDir) mkdirSync(workDir, { recursive: true, mode: 0o700 });

  const stdio = stdioDescriptors(state.pid);
  writeFileSync(join(imagesDir, DESCRIPTORS_FILE), JSON.stringify(stdio.map((d) => d.key)));
  const vethPairs = await lentVethPairs(state.netDevices ?? [], state.pid);
  if (vethPairs.length) writeFileSync(join(imagesDir, VETH_PAIRS_FILE), JSON.stringify(vethPairs));
  const paths = state.cgroupPaths ?? {};
  // The freezer stops the whole tree at once; without one CRIU falls back to ptrace.
  const freezeCgroup = paths.freezer ?? paths[''];
  const dump: CriuDumpOptions & CriuOperationOptions = {
    pid: state.pid,
    imagesDir,
    ...(workDir ? { workDir } : {}),
    logFile: options.preDump ? 'pre-dump.log' : 'dump.log',
    ...criuConfig(spec),
    root: state.rootfs,
    manageCgroups: options.manageCgroupsMode ?? 'soft',
    ...(freezeCgroup ? { freezeCgroup } : {}),
    externalMounts: externalMountsAtDump(spec, state.pid, paths),
    external: [...stdio.filter((d) => d.external).map((d) => d.key), ...externalNamespaces(state.pid, spec)],
    leaveRunning: options.leaveRunning ?? false,
    tcpEstablished: options.tcpEstablished ?? false,
    tcpSkipInFlight: options.tcpSkipInFlight ?? false,
    linkRemap: options.linkRemap ?? false,
    ...(options.emptyNamespaces?.length ? { emptyNamespaces: ['net' as const] } : {}),
    extUnixSk: options.extUnixSk ?? false,
    shellJob: options.shellJob ?? false,
    // The master of the container's terminal is its console socket's receiver's, not the tree's.
    orphanPtsMaster: spec.process?.terminal === true,
    fileLocks: options.fileLocks ?? false,
    autoDedup: options.autoDedup ?? false,
    ...(options.parentPath !== undefined ? { parentImage: options.parentPath } : {}),
    ...(options.pageServer ? { pageServer: options.pageServer } : {}),
    ...(options.lazyPages ? { lazyPages: true } : {}),
    notify: {
      ...(options.lazyPages ? { statusReady: async () => options.onLazyServerReady?.() } : {}),
      ...(options.network
        ? { networkLock: () => options.network!.lock(), networkUnlock: () => options.network!.unlock() }
        : {}),
    },
  };
  try {
    if (options.preDump) await client.preDump(dump);
    else await client.dump(dump);
  } catch (error) {
    throw criuFailure(options.preDump ? 'pre-dump' : 'checkpoint', error);
  }
}

/** Refuses a directory that holds no checkpoint before anything is made for the restore. */
export function readCheckpoint(imagePath: string): {
  imagesDir: string;
  descriptors: string[];
  vethPairs: VethPair[];
} {
  const imagesDir = resolve(imagePath);
  if (!existsSync(join(imagesDir, INVENTORY_FILE))) {
    throw new CorralError(
      'INVALID_CONFIG',
      `${imagesDir} is not a checkpoint: it has no ${INVENTORY_FILE} (see corral checkpoint --image-path)`,
    );
  }
  const descriptors = readRecord<string>(
    imagesDir,
    DESCRIPTORS_FILE,
    (d) => typeof d === 'string',
    'strings',
  );
  const vethPairs = readRecord<VethPair>(
    imagesDir,
    VETH_PAIRS_FILE,
    (p) => typeof p?.inside === 'string' && typeof p?.outside === 'string',
    '{ inside, outside } names',
  );
  return { imagesDir, descriptors, vethPairs };
}

/** One of corral's own files beside the images: an array, empty when the file is absent. */
function readRecord<T>(
  imagesDir: string,
  file: string,
  valid: (item: Partial<T> | null) => boolean,
  what: string,
): T[] {
  let items: unknown;
  try {
    items = JSON.parse(readFileSync(join(imagesDir, file), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CorralError('INVALID_CONFIG', `${imagesDir}/${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!Array.isArray(items) || !items.every(valid)) {
    throw new CorralError('INVALID_CONFIG', `${imagesDir}/${file}: expected an array of ${what}`);
  }
  return items as T[];
}

/**
 * Where CRIU puts the restored tree in each hierarchy: the new container's cgroup, as a path
 * from the hierarchy's root (what /proc/PID/cgroup shows), not from where it is mounted.
 */
export function cgroupRootsFor(paths: Record<string, string>): CgroupRootMapping[] {
  const mounts = cgroupMounts();
  const relative = (mount: { mountpoint: string; root: string }, dir: string) =>
    join(mount.root, dir.slice(mount.mountpoint.length)) || '/';
  const roots: CgroupRootMapping[] = [];
  for (const [controller, dir] of Object.entries(paths)) {
    if (controller === '') {
      // CRIU names the v2 hierarchy by the empty string; alone, it is every controller.
      if (mounts.v2) {
        const path = relative(mounts.v2, dir);
        roots.push(mounts.v1.size === 0 ? { path } : { controller: '', path });
      }
      continue;
    }
    const mount = mounts.v1.get(controller as never);
    if (mount) roots.push({ controller, path: relative(mount, dir) });
  }
  return roots;
}

export { checkCgroupsMode, criuClient, criuConfig };
