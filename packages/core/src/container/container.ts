import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmSync,
  unlinkSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

import { type CgroupStats, type LinuxResources, type OomEvent, validateResources } from '@corral/cgroups';
import { type ExitStatus, Pidfd, waitReadable } from '@corral/native';

import { CorralError } from '../errors.js';
import { hookState, runHooksWarning, seccompListenerState } from '../hooks.js';
import { compileExecPlan } from '../plan/compile.js';
import { loadBundle } from '../spec/load.js';
import type { Spec, SpecProcess } from '../spec/types.js';
import { validateSpec } from '../spec/validate.js';
import { processStartTime, setOomScoreAdj } from '../state/proc.js';
import { ContainerDir, type ContainerStateFile, DEFAULT_STATE_ROOT } from '../state/state-dir.js';
import { asCorralError, recordedCgroup, subCgroupPaths } from './cgroup.js';
import { type CheckpointOptions, dumpContainer } from './checkpoint.js';
import { validateContainerId } from './id.js';
import { InitProcess, type InitStdio } from './init-process.js';
import { type LaunchOptions, launch, requireConsoleSocket, sendPidfd } from './launch.js';
import { returnNetDevices } from './net-devices.js';
import { forwardUntilExit, NotifySocket, notifyDir } from './notify-socket.js';
import { type ContainerStatus, can, deriveStatus } from './status.js';

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

const SIGKILL = 9;

/** A process started in a container by `exec`. */
export interface ExecOptions {
  /** stdin, stdout, stderr of the process; the runtime's own by default. */
  stdio?: InitStdio;
  consoleSocket?: string;
  pidfdSocket?: string;
  preserveFds?: number;
  /** Exec into a paused container too (runc's --ignore-paused); the process waits for resume. */
  ignorePaused?: boolean;
  /** Sub-cgroups to run the process in (runc's exec --cgroup: `SUB` or `CONTROLLERS:SUB`). */
  subCgroups?: string[];
}

export interface RunningProcess {
  pid: number;
  signal(signal: number): void;
  /** Waits for the process to exit and reaps it. */
  wait(): Promise<ExitStatus>;
  /** Lets go of the process without waiting for it (a detached exec). */
  release(): void;
  /** The pty master of its terminal (process.terminal without a console socket); the caller closes it. */
  console?: number;
}

/**
 * A container under a state root. Every operation follows the same steps: take the lock,
 * derive the status, check that the operation is allowed in it, act, record.
 */
export class Container {
  readonly id: string;
  readonly #dir: ContainerDir;

  private constructor(dir: ContainerDir) {
    this.id = dir.id;
    this.#dir = dir;
  }

  /** `create`: the container stands ready at its exec FIFO until `start`. */
  static async create(options: LaunchOptions): Promise<Container> {
    const { dir, pidfd } = await launch(options, 'create');
    pidfd.close();
    return new Container(dir);
  }

  /** An existing container; CONTAINER_NOT_FOUND when there is none by that id. */
  static load(root: string | undefined, id: string): Container {
    validateContainerId(id);
    return new Container(ContainerDir.open(resolve(root ?? DEFAULT_STATE_ROOT), id));
  }

  /**
   * Removes what a `create` killed before it recorded its state left behind: a directory with
   * no state.json. Its half-made container process dies by itself once corral-init's channel
   * closes, so there is no process to kill. Returns whether there was such a directory.
   */
  static removeLeftover(root: string | undefined, id: string): boolean {
    validateContainerId(id);
    const path = join(resolve(root ?? DEFAULT_STATE_ROOT), id);
    if (!existsSync(path) || existsSync(join(path, 'state.json'))) return false;
    rmSync(path, { recursive: true, force: true });
    return true;
  }

  /** Every container under the root, in id order; directories that are not containers are skipped. */
  static list(root: string | undefined): Container[] {
    const path = resolve(root ?? DEFAULT_STATE_ROOT);
    let ids: string[];
    try {
      ids = readdirSync(path).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const containers: Container[] = [];
    for (const id of ids) {
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
      ociVersion: file.ociVersion,
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

  /**
   * Lets a created container exec its process. With `notifySocket` (the service manager's
   * NOTIFY_SOCKET) and a container created with one, returns once the process says READY=1
   * or exits.
   */
  async start(options: { warn?: (message: string) => void; notifySocket?: string } = {}): Promise<void> {
    const warn = options.warn ?? ((message: string) => process.emitWarning(message));
    let init: Pidfd | undefined;
    let notify: NotifySocket | undefined;
    try {
      await this.#locked('start', can.start, async (state) => {
        init = this.#openInit(state);
        if (options.notifySocket && existsSync(notifyDir(this.#dir.path)))
          notify = NotifySocket.bind(this.#dir.path, options.notifySocket);
        await this.#letGo(state, init, warn);
      });
      if (notify && init) await forwardUntilExit(notify, init);
    } finally {
      notify?.close();
      init?.close();
    }
  }

  /** start's work under the lock: through the exec FIFO, then poststart. */
  async #letGo(state: ContainerStateFile, init: Pidfd, warn: (message: string) => void): Promise<void> {
    const fifo = openSync(this.#dir.execFifoPath, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      // Opening the FIFO lets the init's open return; it writes one byte and execs. If the
      // init dies instead, its pidfd says so and start does not hang.
      const done = new AbortController();
      await Promise.race([
        waitReadable(fifo, { signal: done.signal }),
        waitReadable(init.fd, { signal: done.signal }),
      ]).finally(() => done.abort());
      const read = readOneByte(fifo);
      if (!read) throw new CorralError('SYSTEM', `container ${this.id}'s init exited before it was started`);
    } finally {
      closeSync(fifo);
    }
    unlinkSync(this.#dir.execFifoPath);
    const spec = loadBundle(state.bundle).spec;
    const running = hookState(spec, {
      id: this.id,
      status: 'running',
      pid: state.pid,
      bundle: state.bundle,
    });
    await runHooksWarning(spec, 'poststart', running, warn);
  }

  /**
   * Starts another process in the running container: it joins the init's namespaces and
   * runs `process` (the config's process with the caller's changes). Resolves once it has
   * exec'd; `wait()` gives its exit status.
   */
  async exec(process: SpecProcess, options: ExecOptions = {}): Promise<RunningProcess> {
    requireConsoleSocket(process.terminal, options.consoleSocket, true);
    const state = this.#dir.readState();
    // A paused container takes the process frozen, so exec returns only after resume.
    const allowed = (status: ContainerStatus) =>
      status === 'running' || (status === 'paused' && options.ignorePaused === true);
    const status = await deriveStatus(this.#dir, state);
    if (status === 'paused' && !options.ignorePaused) {
      throw new CorralError(
        'INVALID_STATE',
        `cannot exec into container ${this.id}: it is paused (use --ignore-paused to override)`,
      );
    }
    this.#check('exec into', allowed, status);
    const cgroupPaths =
      options.subCgroups?.length && state.cgroupPaths
        ? subCgroupPaths(state.cgroupPaths, options.subCgroups)
        : state.cgroupPaths;
    const { spec } = loadBundle(state.bundle);
    const execSpec = validateSpec({ ...spec, process });
    const plan = compileExecPlan(execSpec, process, state.pid, options.preserveFds, !options.consoleSocket);
    const init = await InitProcess.start(
      plan,
      options.stdio ?? ['inherit', 'inherit', 'inherit'],
      options.preserveFds,
    );
    let child: Pidfd | undefined;
    let console: number | undefined;
    try {
      child = await init.childStarted();
      setOomScoreAdj(child.pid, process.oomScoreAdj);
      if (options.pidfdSocket) sendPidfd(options.pidfdSocket, child);
      // The exec'd process counts against the container's limits, like its init.
      await recordedCgroup(cgroupPaths)
        ?.apply(child.pid)
        .catch((error: unknown) => {
          throw asCorralError(error);
        });
      await init.go();
      if (options.consoleSocket) await init.consoleTo(options.consoleSocket);
      else if (process.terminal) console = await init.console();
      if (plan.seccompListener) {
        const { path, metadata } = plan.seccompListener;
        const container = hookState(execSpec, {
          id: this.id,
          status: 'running',
          pid: state.pid,
          bundle: state.bundle,
        });
        await init.seccompListenerTo(path, seccompListenerState(execSpec, metadata, container, child.pid));
      }
      await init.execDone();
    } catch (error) {
      if (console !== undefined) closeSync(console);
      if (child) {
        try {
          child.signal(SIGKILL);
        } catch {
          // Already gone.
        }
        await child.exited().catch(() => undefined);
        child.close();
      }
      throw error;
    } finally {
      init.close();
    }
    const running = child;
    return {
      pid: running.pid,
      signal: (signal) => running.signal(signal),
      // Watching (and so reaping) starts only when asked: a detached exec leaves the process
      // to whoever adopts it, as runc does, so that its parent can collect the status.
      wait: () => running.exited().finally(() => running.close()),
      release: () => running.close(),
      console,
    };
  }

  /**
   * The pids of the container's processes: every process in its init's pid namespace (or,
   * without one of its own, the init alone).
   */
  async processes(): Promise<number[]> {
    const state = this.#dir.readState();
    if ((await deriveStatus(this.#dir, state)) === 'stopped') return [];
    const cgroup = recordedCgroup(state.cgroupPaths);
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

  /** The container's config as its bundle holds it. */
  spec(): Spec {
    return loadBundle(this.#dir.readState().bundle).spec;
  }

  /** Freezes every process of the container; returns once they really are frozen. */
  async pause(): Promise<void> {
    await this.#locked('pause', can.pause, async (state) => {
      await this.#cgroupOf(state).freeze('frozen');
    });
  }

  async resume(): Promise<void> {
    await this.#locked('resume', can.resume, async (state) => {
      await this.#cgroupOf(state).freeze('thawed');
    });
  }

  #cgroupOf(state: ContainerStateFile) {
    const cgroup = recordedCgroup(state.cgroupPaths);
    if (!cgroup) throw new CorralError('NOT_SUPPORTED', `container ${this.id} has no cgroup`);
    return cgroup;
  }

  /** Changes the resources of a live container (`update`); refused values change nothing. */
  async update(resources: LinuxResources): Promise<void> {
    const alive = (status: ContainerStatus) =>
      status === 'created' || status === 'running' || status === 'paused';
    await this.#locked('update', alive, async (state) => {
      try {
        validateResources(resources);
        await this.#cgroupOf(state).set(resources);
      } catch (error) {
        throw asCorralError(error);
      }
    });
  }

  /** The container's cgroup statistics (libcontainer's shape). */
  async stats(): Promise<CgroupStats> {
    const state = this.#dir.readState();
    this.#check('read stats of', (status) => status !== 'stopped', await deriveStatus(this.#dir, state));
    return this.#cgroupOf(state).getStats();
  }

  /** OOM kills in the container, until it is gone. */
  oomEvents(): AsyncIterableIterator<OomEvent> {
    return this.#cgroupOf(this.#dir.readState()).oomEvents();
  }

  /**
   * Dumps the container's processes with CRIU into options.imagePath. Unless it leaves the
   * container running (leaveRunning, preDump), CRIU ends the processes and the container is
   * deleted as runc does: the images and the bundle are all that `restoreContainer` needs.
   */
  async checkpoint(options: CheckpointOptions & { warn?: (message: string) => void }): Promise<void> {
    const alive = (status: ContainerStatus) => status === 'running' || status === 'paused';
    await this.#locked('checkpoint', alive, async (state) => {
      await dumpContainer(state, loadBundle(state.bundle).spec, options);
    });
    if (!options.leaveRunning && !options.preDump) await this.delete({ force: true, warn: options.warn });
  }

  /** Sends a signal to the container's init process. */
  async signal(signal: number): Promise<void> {
    const state = this.#dir.readState();
    this.#check('kill', can.kill, await deriveStatus(this.#dir, state));
    const init = this.#openInit(state);
    try {
      init.signal(signal);
    } finally {
      init.close();
    }
  }

  /** Removes the container; `force` kills a running one first. */
  async delete(options: { force?: boolean; warn?: (message: string) => void } = {}): Promise<void> {
    const state = this.#dir.readState();
    const status = await deriveStatus(this.#dir, state);
    if (!options.force) this.#check('delete', can.delete, status);
    const cgroup = recordedCgroup(state.cgroupPaths);
    if (status !== 'stopped') {
      const init = this.#openInit(state);
      try {
        // While its namespace still holds them: virtual devices would go with it.
        await returnNetDevices(state.netDevices ?? [], state.pid).catch((error: Error) =>
          (options.warn ?? ((message: string) => process.emitWarning(message)))(error.message),
        );
        init.signal(SIGKILL);
        // A frozen process takes its SIGKILL only once thawed.
        if (status === 'paused') await cgroup?.freeze('thawed');
        await waitReadable(init.fd);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      } finally {
        init.close();
      }
    }
    // Kills whatever is left (a container without its own pid namespace) and removes it.
    if (cgroup?.exists()) {
      try {
        await cgroup.destroy();
      } catch (error) {
        throw asCorralError(error);
      }
    }
    this.#dir.remove();
    // The bundle may be gone by now; poststop hooks then have nothing to run from.
    let spec: Spec | undefined;
    try {
      spec = loadBundle(state.bundle).spec;
    } catch {
      spec = undefined;
    }
    if (spec?.hooks?.poststop?.length) {
      const stopped = hookState(spec, { id: this.id, status: 'stopped', bundle: state.bundle });
      await runHooksWarning(
        spec,
        'poststop',
        stopped,
        options.warn ?? ((message: string) => process.emitWarning(message)),
      );
    }
  }

  #check(operation: string, allowed: (s: ContainerStatus) => boolean, status: ContainerStatus): void {
    if (!allowed(status)) {
      throw new CorralError('INVALID_STATE', `cannot ${operation} container ${this.id}: it is ${status}`);
    }
  }

  async #locked(
    operation: string,
    allowed: (s: ContainerStatus) => boolean,
    act: (state: ContainerStateFile) => Promise<void>,
  ): Promise<void> {
    const release = await this.#dir.lock();
    try {
      const state = this.#dir.readState();
      this.#check(operation, allowed, await deriveStatus(this.#dir, state));
      await act(state);
    } finally {
      release();
    }
  }

  /** A pidfd for the init, checked to be the recorded process and not a later one on its pid. */
  #openInit(state: ContainerStateFile): Pidfd {
    const init = Pidfd.open(state.pid);
    if (processStartTime(state.pid) !== state.pidStartTime) {
      init.close();
      throw new CorralError('INVALID_STATE', `container ${this.id} is stopped`);
    }
    return init;
  }
}

function readOneByte(fd: number): boolean {
  try {
    return readSync(fd, Buffer.alloc(1)) === 1;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return false;
    throw error;
  }
}
