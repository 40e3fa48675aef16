import { readdirSync, readlinkSync } from 'node:fs';

import type { CgroupStats, LinuxResources, OomEvent } from '@corral/cgroups';

import { CorralError, toCorralError } from '../errors.js';
import { OCI_VERSION } from '../features.js';
import type { Spec, SpecProcess } from '../spec/types.js';
import { ContainerDir, stateRootPath } from '../state/state-dir.js';
import { cgroupOf, recordedCgroup } from './cgroup.js';
import { type CheckpointOptions, checkpointContainer } from './checkpoint.js';
import { createContainer } from './create.js';
import { type DeleteOptions, deleteContainer, deleteLeftover } from './delete.js';
import { execInContainer, type RunningProcess } from './exec.js';
import { validateContainerId } from './id.js';
import { type KillOptions, killContainer } from './kill.js';
import { check, withConfig } from './operation.js';
import { pauseContainer } from './pause.js';
import type { CreateOptions, ExecOptions } from './process/builders.js';
import { resumeContainer } from './resume.js';
import { type StartOptions, startContainer } from './start.js';
import { type ContainerStatus, deriveStatus } from './status.js';
import { updateContainer } from './update.js';

/** The OCI state of a container, as `corral state` prints it (runc's fields). */
export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/**
 * A container under a state root: a small facade over one file per operation
 * (create.ts, start.ts, exec.ts, kill.ts, delete.ts, pause.ts, resume.ts, update.ts,
 * checkpoint.ts). Every operation that acts on the container takes
 * its lock, derives its status, checks that the operation is allowed in it, acts and records;
 * the ones that only read (state, stats, processes) check the status without the lock.
 */
export class Container {
  readonly id: string;
  readonly #dir: ContainerDir;

  private constructor(dir: ContainerDir) {
    this.id = dir.id;
    this.#dir = dir;
  }

  /** `create`: the container stands ready at its exec FIFO until `start`. */
  static async create(options: CreateOptions): Promise<Container> {
    const { dir, init } = await createContainer(options, 'create');
    init.close();
    return new Container(dir);
  }

  /** An existing container; CONTAINER_NOT_FOUND when there is none by that id. */
  static load(root: string | undefined, id: string): Container {
    validateContainerId(id);
    return new Container(ContainerDir.open(stateRootPath(root), id));
  }

  /**
   * Removes what a `create` killed before it recorded its state left behind (a directory with
   * no state.json), or, if that create has since finished, deletes the container it made.
   * Returns whether there was anything by that id.
   */
  static async removeLeftover(
    root: string | undefined,
    id: string,
    options: DeleteOptions = {},
  ): Promise<boolean> {
    validateContainerId(id);
    return deleteLeftover(ContainerDir.at(stateRootPath(root), id), options);
  }

  /** Every container under the root, in id order; directories that are not containers are skipped. */
  static list(root: string | undefined): Container[] {
    const path = stateRootPath(root);
    const containers: Container[] = [];
    for (const id of ContainerDir.ids(path)) {
      try {
        containers.push(Container.load(path, id));
      } catch (error) {
        if (!(error instanceof CorralError)) throw error;
      }
    }
    return containers;
  }

  status(): Promise<ContainerStatus> {
    return deriveStatus(this.#dir, this.#dir.readState());
  }

  async state(): Promise<OciState> {
    const file = this.#dir.readState();
    const status = await deriveStatus(this.#dir, file);
    return {
      // The version corral implements, whatever the config was written for, as runc's state.
      ociVersion: OCI_VERSION,
      id: file.id,
      pid: status === 'stopped' ? 0 : file.pid,
      status,
      bundle: file.bundle,
      rootfs: file.rootfs,
      created: file.created,
      owner: '',
      ...(file.annotations ? { annotations: file.annotations } : {}),
    };
  }

  /** Who made the container: the owner of its directory, by name (`#UID` without one), as runc's list shows it. */
  owner(): string {
    return this.#dir.ownerName();
  }

  /** The config the container was created from, as create accepted it (not the bundle's file now). */
  spec(): Spec {
    return withConfig(this.#dir.readState()).config;
  }

  /** Lets a created container exec its process (see start.ts). */
  async start(options: StartOptions = {}): Promise<void> {
    await startContainer(this.#dir, options);
  }

  /**
   * Starts another process in the running container: it joins the init's namespaces and runs
   * `process` (the config's process with the caller's changes). Resolves once it has exec'd;
   * `wait()` gives its exit status.
   */
  async exec(process: SpecProcess, options: ExecOptions = {}): Promise<RunningProcess> {
    return execInContainer(this.#dir, process, options);
  }

  /**
   * Sends a signal to the container's init process; with `all`, to every process of its cgroup
   * (see kill.ts for when a SIGKILL goes to all of them anyway).
   */
  async signal(signal: number, options: KillOptions = {}): Promise<void> {
    await killContainer(this.#dir, signal, options);
  }

  /** Removes the container; `force` kills a live one first. */
  async delete(options: DeleteOptions = {}): Promise<void> {
    await deleteContainer(this.#dir, options);
  }

  /** Freezes every process of the container; returns once they really are frozen. */
  async pause(): Promise<void> {
    await pauseContainer(this.#dir);
  }

  async resume(): Promise<void> {
    await resumeContainer(this.#dir);
  }

  /** Changes the resources of a live container (`update`); refused values change nothing. */
  async update(resources: LinuxResources): Promise<void> {
    await updateContainer(this.#dir, resources);
  }

  /**
   * Dumps the container's processes with CRIU into options.imagePath; unless it is left
   * running, the container is then deleted (see checkpoint.ts).
   */
  async checkpoint(options: CheckpointOptions & { warn?: (message: string) => void }): Promise<void> {
    await checkpointContainer(this.#dir, options);
  }

  /** The container's cgroup statistics (libcontainer's shape). */
  async stats(): Promise<CgroupStats> {
    const state = this.#dir.readState();
    check('stats', this.id, await deriveStatus(this.#dir, state));
    try {
      return await cgroupOf(state, 'read statistics').getStats();
    } catch (error) {
      throw toCorralError(error, `read stats of container ${this.id}`);
    }
  }

  /** OOM kills in the container, until it is gone. */
  oomEvents(): AsyncIterableIterator<OomEvent> {
    return cgroupOf(this.#dir.readState(), 'watch for OOM kills').oomEvents();
  }

  /**
   * The pids of the container's processes: every process in its cgroup, or without one, in its
   * init's pid namespace (or, without one of its own, the init alone). A container made rootless
   * without a cgroup has no such list: a user cannot see which pid namespace the processes of its
   * other ids are in.
   */
  async processes(): Promise<number[]> {
    const state = this.#dir.readState();
    if ((await deriveStatus(this.#dir, state)) === 'stopped') return [];
    const cgroup = state.rootless ? cgroupOf(state, 'list its processes') : recordedCgroup(state.cgroupPaths);
    if (cgroup?.exists()) return (await cgroup.getPids({ recursive: true })).sort((a, b) => a - b);
    const nsOf = (pid: number | string) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/pid`);
      } catch {
        return undefined;
      }
    };
    const initNs = nsOf(state.pid);
    const ownsNamespace = initNs !== undefined && initNs !== nsOf('self');
    if (!ownsNamespace) return [state.pid];
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry) && nsOf(entry) === initNs)
      .map(Number)
      .sort((a, b) => a - b);
  }
}
