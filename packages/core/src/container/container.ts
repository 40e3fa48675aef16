import type { CgroupStats, LinuxResources, OomEvent } from '@corral/cgroups';

import type { Spec, SpecProcess } from '../spec/types.js';
import type { ContainerDir } from '../state/state-dir.js';
import { type CheckpointOptions, checkpointContainer } from './checkpoint.js';
import { createWaitingContainer } from './create.js';
import { type DeleteOptions, deleteContainer, deleteLeftover } from './delete.js';
import { execInContainer, type RunningProcess } from './exec.js';
import { type KillOptions, killContainer } from './kill.js';
import { pauseContainer } from './pause.js';
import type { CreateOptions, ExecOptions } from './process/builders.js';
import { containerProcesses } from './processes.js';
import { resumeContainer } from './resume.js';
import { type StartOptions, startContainer } from './start.js';
import {
  containerConfig,
  containerState,
  containerStatus,
  listContainers,
  type OciState,
  openContainer,
} from './state.js';
import { containerOomEvents, containerStats } from './stats.js';
import type { ContainerStatus } from './status.js';
import { updateContainer } from './update.js';

export type { OciState } from './state.js';

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
    return new Container(await createWaitingContainer(options));
  }

  /** An existing container; CONTAINER_NOT_FOUND when there is none by that id. */
  static load(root: string | undefined, id: string): Container {
    return new Container(openContainer(root, id));
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
    return deleteLeftover(root, id, options);
  }

  /** Every container under the root, in id order; directories that are not containers are skipped. */
  static list(root: string | undefined): Container[] {
    return listContainers(root).map((dir) => new Container(dir));
  }

  status(): Promise<ContainerStatus> {
    return containerStatus(this.#dir);
  }

  state(): Promise<OciState> {
    return containerState(this.#dir);
  }

  /** Who made the container: the owner of its directory, by name (`#UID` without one), as runc's list shows it. */
  owner(): string {
    return this.#dir.ownerName();
  }

  /** The config the container was created from, as create accepted it (not the bundle's file now). */
  spec(): Spec {
    return containerConfig(this.#dir);
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
  stats(): Promise<CgroupStats> {
    return containerStats(this.#dir);
  }

  /** OOM kills in the container, until it is gone. */
  oomEvents(): AsyncIterableIterator<OomEvent> {
    return containerOomEvents(this.#dir);
  }

  /**
   * The pids of the container's processes: every process in its cgroup, or without one, in its
   * init's pid namespace (or, without one of its own, the init alone).
   */
  processes(): Promise<number[]> {
    return containerProcesses(this.#dir);
  }
}
