import { type Pidfd, waitReadable } from '@corral/native';

import { hookState, runHooksWarning } from '../hooks.js';
import type { ContainerDir, ContainerStateFile } from '../state/state-dir.js';
import { timingMark } from '../timing.js';
import { asCorralError, recordedCgroup } from './cgroup.js';
import { returnNetDevices } from './net-devices.js';
import { openInitIfAlive, underLock } from './operation.js';

const SIGKILL = 9;

export interface TeardownTarget {
  dir: ContainerDir;
  /**
   * What the container's state recorded. Without one (a create that failed before its process
   * existed) there is only the directory to remove, and no hook runs.
   */
  state?: ContainerStateFile;
  /** The init, when the caller holds it; otherwise it is opened here if it still runs. */
  init?: Pidfd;
  /** The container is frozen: its processes take their SIGKILL only once thawed. */
  paused?: boolean;
  warn: (message: string) => void;
  /** Where the steps are told (the command's --debug). */
  debug?: (message: string) => void;
}

/**
 * How a container goes, whatever ends it (a failed create or restore, the end of `run`,
 * `delete`, a checkpoint that stops it), always in this order: the lent network devices go back
 * while the container's network namespace still holds them; the init is killed and waited for;
 * the cgroup goes with whatever is left in it; the state directory is removed; then the
 * poststop hooks run, as the runtime spec and runc run them for every container that was made.
 * A failure to kill or to remove the cgroup stops here and keeps the state, so that
 * `delete --force` can finish the job; a failed hook is only a warning.
 */
export async function teardown(target: TeardownTarget): Promise<void> {
  const { dir, state, warn } = target;
  const debug = target.debug ?? (() => {});
  const cgroup = recordedCgroup(state?.cgroupPaths, {
    systemdUnit: state?.systemdUnit,
    rootless: state?.rootless !== undefined,
  });
  const init = target.init ?? (state ? openInitIfAlive(state) : undefined);
  try {
    if (init && state?.netDevices?.length) {
      await returnNetDevices(state.netDevices, init.pid).catch((error: Error) => warn(error.message));
      debug('network devices given back');
    }
    if (init) {
      debug(`SIGKILL to the init (pid ${init.pid})`);
      await killAndWait(init, target.paused ? cgroup : undefined);
      timingMark('init gone');
    }
  } finally {
    if (init !== target.init) init?.close();
  }
  // Kills whatever is left (a container without its own pid namespace) and removes it.
  if (cgroup?.exists()) {
    try {
      await cgroup.destroy();
    } catch (error) {
      throw asCorralError(error);
    }
    debug(`cgroup ${Object.values(cgroup.getPaths()).join(' ')} removed, with whatever was left in it`);
    timingMark('cgroup removed');
  }
  dir.remove();
  debug(`state ${dir.path} removed`);
  if (state?.config.hooks?.poststop?.length) {
    debug('poststop hooks');
    const stopped = hookState(state.config, { id: state.id, status: 'stopped', bundle: state.bundle });
    await runHooksWarning(state.config, 'poststop', stopped, warn);
  }
}

async function killAndWait(init: Pidfd, frozen: ReturnType<typeof recordedCgroup>): Promise<void> {
  try {
    init.signal(SIGKILL);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
    throw error;
  }
  if (frozen)
    await frozen.freeze('thawed').catch((error: unknown) => {
      throw asCorralError(error);
    });
  await waitReadable(init.fd);
}

/**
 * The end of a container whose init has exited while the runtime waited on it (`run`, a
 * foreground restore): torn down under its lock, unless a `delete` got there first. A failure
 * is only a warning: the process's exit status is what the caller waits for.
 */
export async function teardownExited(
  dir: ContainerDir,
  warn: (message: string) => void,
  debug?: (message: string) => void,
): Promise<void> {
  try {
    await underLock(dir, 'forceDelete', ({ state }) => teardown({ dir, state, warn, debug }));
  } catch (error) {
    if ((error as { code?: string }).code !== 'CONTAINER_NOT_FOUND') warn((error as Error).message);
  }
}
