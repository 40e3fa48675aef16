import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';

import { cgroupMounts } from '@corral/cgroups';
import type { CgroupRootMapping, InheritedFd, VethPair } from '@corral/criu';
import { type ExitStatus, Pidfd, sendDescriptor } from '@corral/native';

import { InvalidConfigError, withCleanupErrors } from '../errors.js';
import { loadBundle } from '../spec/load.js';
import type { Spec } from '../spec/types.js';
import { processStartTime } from '../state/proc.js';
import { ContainerDir, type ContainerStateFile, stateRootPath } from '../state/state-dir.js';
import { timingMark } from '../timing.js';
import { asCorralError, cgroupRecord, planCgroup, refuseUsedCgroup } from './cgroup.js';
import { bindMounts, externalMountsAtRestore, openJoinedNamespaces } from './checkpoint-externals.js';
import {
  type CriuCommonOptions,
  checkCgroupsMode,
  criuClient,
  criuFailure,
  DESCRIPTORS_FILE,
  INVENTORY_FILE,
  shareImagesWithContainerRoot,
  VETH_PAIRS_FILE,
} from './criu.js';
import { criuConfig, dumpPlanLines } from './dump-basis.js';
import { validateContainerId } from './id.js';
import { planNetDevices } from './net-devices.js';
import { defaultWarn } from './operation.js';
import type { RunningContainer } from './run.js';
import { teardown, teardownExited } from './teardown.js';

export interface RestoreOptions extends CriuCommonOptions {
  /** The new container's id: the checkpointed one's or another. */
  id: string;
  /** The bundle whose config and rootfs the container is restored with. */
  bundle: string;
  /** The state root (runc's --root). */
  root?: string;
  /** runc's --systemd-cgroup: the restored container's cgroup is a transient systemd scope. */
  systemdCgroup?: boolean;
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
  /** A signal to the restored init, by pidfd. */
  signal(signal: number): void;
  /** Lets go of the init's pidfd (a detached restore, once the caller is done with it). */
  release(): void;
  /** Only without `detach`: resolves when the restored init ends and the container is deleted. */
  exited?: Promise<ExitStatus>;
}

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

/** Refuses a directory that holds no checkpoint before anything is made for the restore. */
function readCheckpoint(imagePath: string): {
  imagesDir: string;
  descriptors: string[];
  vethPairs: VethPair[];
} {
  const imagesDir = resolve(imagePath);
  if (!existsSync(join(imagesDir, INVENTORY_FILE))) {
    throw new InvalidConfigError(
      'imagePath',
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
    throw new InvalidConfigError('imagePath', `${imagesDir}/${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!Array.isArray(items) || !items.every(valid)) {
    throw new InvalidConfigError('imagePath', `${imagesDir}/${file}: expected an array of ${what}`);
  }
  return items as T[];
}

/**
 * Where CRIU puts the restored tree in each hierarchy: the new container's cgroup, as a path
 * from the hierarchy's root (what /proc/PID/cgroup shows), not from where it is mounted.
 */
function cgroupRootsFor(paths: Record<string, string>): CgroupRootMapping[] {
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

/**
 * `restore`: a checkpoint into a new container. The state is recorded first, with the
 * cgroup it will have and no process yet, then the cgroup is made and CRIU restores the tree
 * into the bundle's rootfs and that cgroup; the restored init is held by pidfd at once and
 * recorded. A crash at any point leaves what `delete --force` cleans; a failure tears it all
 * down.
 */
export async function restoreContainer(options: RestoreOptions): Promise<RestoredContainer> {
  validateContainerId(options.id);
  checkCgroupsMode(options.manageCgroupsMode);
  const bundle = loadBundle(options.bundle);
  const { imagesDir, descriptors, vethPairs } = readCheckpoint(options.imagePath);
  // This bundle's ids, which may not be the checkpointed container's, and images made before
  // the directory was shared so.
  shareImagesWithContainerRoot(imagesDir, bundle.spec);
  const client = criuClient(options, 'restore');
  const root = stateRootPath(options.root);
  const cgroup = planCgroup(bundle.spec, options.id, options.systemdCgroup);
  const warn = options.warn ?? defaultWarn;
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
  const release = await dir.lock({ create: true });
  // Once the id is known to be free, as runc checks them, and before the state names the
  // cgroup: a failed restore destroys its cgroup, and one that holds processes is not its own.
  await refuseUsedCgroup(cgroup.manager).catch((error: unknown) => {
    dir.remove();
    release();
    throw error;
  });

  let state: ContainerStateFile = {
    ociVersion: bundle.spec.ociVersion,
    id: options.id,
    pid: 0,
    pidStartTime: '',
    bundle: bundle.path,
    rootfs: bundle.rootfs,
    created: new Date().toISOString(),
    ...(bundle.spec.annotations ? { annotations: bundle.spec.annotations } : {}),
    ...cgroupRecord(cgroup.manager),
    // Lent again: CRIU made the pairs anew, and delete gives the inside ends back.
    ...(vethPairs.length
      ? { netDevices: planNetDevices(bundle.spec).filter((d) => vethPairs.some((p) => p.inside === d.name)) }
      : {}),
    config: bundle.spec,
    creating: true,
  };
  let restored: Pidfd | undefined;
  let joined: InheritedFd[] = [];
  try {
    dir.writeState(state);
    joined = openJoinedNamespaces(bundle.spec);
    try {
      await cgroup.manager.apply(-1);
      await cgroup.manager.set(cgroup.resources);
    } catch (error) {
      throw asCorralError(error);
    }
    let pid: number;
    try {
      timingMark('criu called');
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
    timingMark('criu done');
    // Held from the moment CRIU names it. Restored as our child (not detached) its pid cannot
    // be reused before we reap it; detached, its start time is what tells it apart.
    restored = Pidfd.open(pid);
    const { creating: _, ...whole } = state;
    state = { ...whole, pid, pidStartTime: processStartTime(pid) ?? '' };
    dir.writeState(state, () => dumpPlanLines(state));
  } catch (error) {
    const cleanupErrors: unknown[] = [];
    // The cgroup takes whatever CRIU had restored into it with it.
    await teardown({ dir, state, init: restored, warn }).catch((e: unknown) => cleanupErrors.push(e));
    restored?.close();
    throw withCleanupErrors(error, cleanupErrors);
  } finally {
    for (const { fd } of joined) closeSync(fd);
    release();
  }

  const init = restored!;
  if (options.detach) {
    return {
      id: options.id,
      pid: init.pid,
      signal: (signal) => init.signal(signal),
      release: () => init.close(),
    };
  }
  // Restored as our child: wait for it, then tear the container down as a foreground run does.
  const exited = init.exited().finally(async () => {
    init.close();
    await teardownExited(dir, warn);
  });
  return {
    id: options.id,
    pid: init.pid,
    signal: (signal) => init.signal(signal),
    release: () => init.close(),
    exited,
  } satisfies RestoredContainer & Partial<RunningContainer>;
}
