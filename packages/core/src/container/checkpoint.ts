import { mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { CriuDumpOptions, CriuOperationOptions } from '@corral/criu';

import type { ContainerDir, ContainerStateFile } from '../state/state-dir.js';
import { timingMark } from '../timing.js';
import {
  type CriuCommonOptions,
  checkCgroupsMode,
  criuClient,
  criuFailure,
  DESCRIPTORS_FILE,
  shareImagesWithContainerRoot,
  VETH_PAIRS_FILE,
} from './criu.js';
import { dumpBasis } from './dump-basis.js';
import { lentVethPairs } from './net-devices.js';
import { defaultWarn, underLock } from './operation.js';
import { teardown } from './teardown.js';

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
 * Dumps a live container's init tree into options.imagePath, with its stdio recorded beside the
 * images in descriptors.json. The caller holds the container's lock.
 */
async function dumpContainer(state: ContainerStateFile, options: CheckpointOptions): Promise<void> {
  const spec = state.config;
  const imagesDir = resolve(options.imagePath);
  const workDir = options.workPath === undefined ? undefined : resolve(options.workPath);
  const client = criuClient(options, 'checkpoint');
  mkdirSync(imagesDir, { recursive: true, mode: 0o700 });
  shareImagesWithContainerRoot(imagesDir, spec);
  if (workDir) mkdirSync(workDir, { recursive: true, mode: 0o700 });

  const stdio = stdioDescriptors(state.pid);
  writeFileSync(join(imagesDir, DESCRIPTORS_FILE), JSON.stringify(stdio.map((d) => d.key)));
  const vethPairs = await lentVethPairs(state.netDevices ?? [], state.pid);
  if (vethPairs.length) writeFileSync(join(imagesDir, VETH_PAIRS_FILE), JSON.stringify(vethPairs));
  const basis = dumpBasis(state);
  const dump: CriuDumpOptions & CriuOperationOptions = {
    pid: state.pid,
    imagesDir,
    ...(workDir ? { workDir } : {}),
    logFile: options.preDump ? 'pre-dump.log' : 'dump.log',
    ...basis,
    manageCgroups: options.manageCgroupsMode ?? 'soft',
    external: [...stdio.filter((d) => d.external).map((d) => d.key), ...basis.external],
    leaveRunning: options.leaveRunning ?? false,
    tcpEstablished: options.tcpEstablished ?? false,
    tcpSkipInFlight: options.tcpSkipInFlight ?? false,
    linkRemap: options.linkRemap ?? false,
    ...(options.emptyNamespaces?.length ? { emptyNamespaces: ['net' as const] } : {}),
    extUnixSk: options.extUnixSk ?? false,
    shellJob: options.shellJob ?? false,
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
    timingMark('criu called');
    if (options.preDump) await client.preDump(dump);
    else await client.dump(dump);
    timingMark('criu done');
  } catch (error) {
    throw criuFailure(options.preDump ? 'pre-dump' : 'checkpoint', error);
  }
}

/**
 * `checkpoint`: dumps the container's processes with CRIU into options.imagePath. Unless it
 * leaves the container running (leaveRunning, preDump), CRIU ends the processes and the
 * container is torn down under the same lock, as runc deletes it: the images and the bundle are
 * all that a restore needs.
 */
export async function checkpointContainer(
  dir: ContainerDir,
  options: CheckpointOptions & { warn?: (message: string) => void },
): Promise<void> {
  checkCgroupsMode(options.manageCgroupsMode);
  await underLock(dir, 'checkpoint', async ({ state }) => {
    await dumpContainer(state, options);
    if (!options.leaveRunning && !options.preDump)
      await teardown({ dir, state, warn: options.warn ?? defaultWarn });
    timingMark('torn down');
  });
}
