import { closeSync, lstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';

import type { InheritedFd } from '@corral/criu';
import { type ExitStatus, Pidfd, sendDescriptor } from '@corral/native';

import { loadBundle } from '../spec/load.js';
import type { Spec } from '../spec/types.js';
import { processStartTime } from '../state/proc.js';
import { ContainerDir, DEFAULT_STATE_ROOT } from '../state/state-dir.js';
import { asCorralError, planCgroup } from './cgroup.js';
import {
  type CriuCommonOptions,
  cgroupRootsFor,
  checkCgroupsMode,
  criuClient,
  criuConfig,
  criuFailure,
  readCheckpoint,
} from './checkpoint.js';
import { bindMounts, externalMountsAtRestore, openJoinedNamespaces } from './checkpoint-externals.js';
import { validateContainerId } from './id.js';
import { discardContainer } from './launch.js';
import { planNetDevices } from './net-devices.js';
import type { RunningContainer } from './run.js';

export interface RestoreOptions extends CriuCommonOptions {
  /** The new container's id: the checkpointed one's or another. */
  id: string;
  /** The bundle whose config and rootfs the container is restored with. */
  bundle: string;
  /** The state root (runc's --root). */
  root?: string;
  /**
   * Descriptors of this process that become the restored init's 0, 1, 2 where they were pipes
   * or host files at the checkpoint; this process's own stdio by default.
   */
  stdio?: [number, number, number];
  /**
   * Post-copy: restore before the memory is here; a `criu lazy-pages` daemon listening in
   * workPath (else imagePath) fetches each page as the container touches it.
   */
  lazyPages?: boolean;
  /**
   * Where the master of a new terminal goes (runc's --console-socket), for a checkpoint of a
   * container with one: CRIU restores its side into a new pty.
   */
  consoleSocket?: string;
  /** Namespaces to create empty instead of restoring their contents (runc's --empty-ns network). */
  emptyNamespaces?: Array<'network'>;
  /**
   * Leave the restored container to run on its own (runc's --detach). Otherwise it is restored
   * as a child of this process, and `exited` resolves when it ends and it is deleted.
   */
  detach?: boolean;
  /** Where warnings go; process.emitWarning by default. */
  warn?: (message: string) => void;
}

export interface RestoredContainer {
  id: string;
  pid: number;
  signal(signal: number): void;
  /** Only without `detach`: resolves when the restored init ends and the container is deleted. */
  exited?: Promise<ExitStatus>;
}

const SIGKILL = 9;

/**
 * Makes the mount points of the config that the rootfs lacks, as create does: CRIU mounts onto
 * what is there, and a rootfs the checkpoint was not taken in (podman's import of an exported
 * checkpoint) has no /etc/resolv.conf for its bind mount. Mount points under a tmpfs of the
 * config are left to CRIU, which restores the tmpfs with its contents, and so is a path through
 * a symlink, which is not followed out of the rootfs: CRIU then names the mount point it lacks.
 */
function makeMountPoints(spec: Spec, rootfs: string, bundlePath: string): void {
  const mounts = spec.mounts ?? [];
  const binds = new Set(bindMounts(spec));
  const tmpfs = mounts.filter((m) => m.type === 'tmpfs').map((m) => posix.normalize(`/${m.destination}`));
  for (const mount of mounts) {
    const destination = posix.normalize(`/${mount.destination}`);
    if (tmpfs.some((t) => destination.startsWith(`${t}/`))) continue;
    let file = false;
    if (binds.has(mount)) {
      try {
        file = !statSync(resolve(bundlePath, mount.source ?? '')).isDirectory();
      } catch {
        continue; // a source that is gone: CRIU says so
      }
    }
    const parts = destination.split('/').filter(Boolean);
    let path = rootfs;
    for (const [i, part] of parts.entries()) {
      path = join(path, part);
      const last = i === parts.length - 1;
      let existing: ReturnType<typeof lstatSync> | undefined;
      try {
        existing = lstatSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') break;
      }
      if (existing && (last || !existing.isDirectory())) break;
      if (existing) continue;
      try {
        // Neither follows a symlink in the last component (mkdir and O_EXCL fail on one), and
        // nothing of the container runs yet to swap an earlier component for one.
        if (last && file) closeSync(openSync(path, 'wx', 0o644));
        else mkdirSync(path, 0o755);
      } catch {
        break; // a read-only rootfs, say: CRIU names what it lacks
      }
    }
  }
}

/**
 * Restores a checkpoint into a new container: its state directory and cgroup are made first,
 * CRIU restores the tree into the bundle's rootfs and that cgroup, and state.json records the
 * restored init so that state, kill and delete work on it. A failure removes all of it.
 */
export async function restoreContainer(options: RestoreOptions): Promise<RestoredContainer> {
  validateContainerId(options.id);
  checkCgroupsMode(options.manageCgroupsMode);
  const bundle = loadBundle(options.bundle);
  const { imagesDir, descriptors, vethPairs } = readCheckpoint(options.imagePath);
  const client = criuClient(options);
  const root = resolve(options.root ?? DEFAULT_STATE_ROOT);
  const cgroup = planCgroup(bundle.spec, options.id);
  const stdio = options.stdio ?? [0, 1, 2];
  const { consoleSocket } = options;
  // Pipes and host files come back as the given descriptors; what lived inside the container
  // (its /dev/null, a file in its rootfs) CRIU reopens itself.
  // One entry per key: stdout and stderr that were one file are one resource to CRIU.
  const inheritFds: InheritedFd[] = [];
  descriptors.forEach((key, fd) => {
    const handedBack = key.startsWith('pipe:') || key.startsWith('file[');
    if (handedBack && !inheritFds.some((inherited) => inherited.key === key)) {
      inheritFds.push({ key, fd: stdio[fd]! });
    }
  });
  makeMountPoints(bundle.spec, bundle.rootfs, bundle.path);
  const dir = ContainerDir.create(root, options.id);

  let pid: number | undefined;
  let joined: InheritedFd[] = [];
  try {
    joined = openJoinedNamespaces(bundle.spec);
    try {
      await cgroup.manager.apply(-1);
      await cgroup.manager.set(cgroup.resources);
    } catch (error) {
      throw asCorralError(error);
    }
    try {
      ({ pid } = await client.restore({
        imagesDir,
        ...(options.workPath !== undefined ? { workDir: resolve(options.workPath) } : {}),
        logFile: 'restore.log',
        ...criuConfig(bundle.spec),
        root: bundle.rootfs,
        manageCgroups: options.manageCgroupsMode ?? 'soft',
        cgroupRoots: cgroupRootsFor(cgroup.manager.getPaths()),
        externalMounts: externalMountsAtRestore(bundle.spec, bundle.path, cgroup.manager.getPaths()),
        inheritFds: [...inheritFds, ...joined],
        vethPairs,
        tcpEstablished: options.tcpEstablished ?? false,
        extUnixSk: options.extUnixSk ?? false,
        shellJob: options.shellJob ?? false,
        fileLocks: options.fileLocks ?? false,
        autoDedup: options.autoDedup ?? false,
        ...(options.emptyNamespaces?.length ? { emptyNamespaces: ['net' as const] } : {}),
        restoreSibling: !options.detach,
        lazyPages: options.lazyPages ?? false,
        // CRIU makes a new pty for a terminal whose master was outside the tree, and hands
        // over its master, which goes where runc's --console-socket sends a terminal.
        orphanPtsMaster: consoleSocket !== undefined,
        notify: {
          ...(options.network ? { networkUnlock: () => options.network!.unlock() } : {}),
          orphanPtsMaster: (notification) => {
            if (notification.fd === undefined) return;
            try {
              if (consoleSocket !== undefined) sendDescriptor(consoleSocket, notification.fd, 'console');
            } finally {
              closeSync(notification.fd);
            }
          },
          // Only the root exists yet, in its new namespaces: what it forks next is born in the
          // container's cgroup, whatever CRIU itself does with cgroups (even `ignore`).
          setupNamespaces: async (step) => {
            if (step.pid) await cgroup.manager.apply(step.pid);
          },
        },
      }));
    } catch (error) {
      throw criuFailure('restore', error);
    }
    dir.writeState({
      ociVersion: bundle.spec.ociVersion,
      id: options.id,
      pid,
      pidStartTime: processStartTime(pid) ?? '',
      bundle: bundle.path,
      rootfs: bundle.rootfs,
      created: new Date().toISOString(),
      annotations: bundle.spec.annotations,
      cgroupPaths: cgroup.manager.getPaths(),
      // Lent again: CRIU made the pairs anew, and delete gives the inside ends back.
      ...(vethPairs.length
        ? {
            netDevices: planNetDevices(bundle.spec).filter((d) => vethPairs.some((p) => p.inside === d.name)),
          }
        : {}),
    });
  } catch (error) {
    const cleanupErrors: unknown[] = [];
    if (pid !== undefined) {
      try {
        process.kill(pid, SIGKILL);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') cleanupErrors.push(e);
      }
    }
    // The cgroup takes whatever CRIU had restored into it with it.
    throw await discardContainer(error, cgroup.manager, dir, cleanupErrors);
  } finally {
    for (const { fd } of joined) closeSync(fd);
  }

  const restoredPid = pid;
  if (options.detach) {
    return { id: options.id, pid: restoredPid, signal: (signal) => process.kill(restoredPid, signal) };
  }
  // Restored as our child: wait for it, then delete the container as a foreground run does.
  const init = Pidfd.open(restoredPid);
  const warn = options.warn ?? ((message: string) => process.emitWarning(message));
  const exited = init.exited().finally(async () => {
    init.close();
    await cgroup.manager.destroy().catch((error: Error) => warn(`removing the cgroup: ${error.message}`));
    dir.remove();
  });
  return {
    id: options.id,
    pid: restoredPid,
    signal: (signal) => init.signal(signal),
    exited,
  } satisfies RestoredContainer & Partial<RunningContainer>;
}
