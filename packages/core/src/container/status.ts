import { freezerStateOf } from '@corral/cgroups';

import { processStartTime } from '../state/proc.js';
import type { ContainerDir, ContainerStateFile } from '../state/state-dir.js';

/** The OCI statuses. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

type Allowed = (status: ContainerStatus) => boolean;

const live: Allowed = (status) => status === 'created' || status === 'running' || status === 'paused';

/**
 * What each operation needs of the status, in one place (the OCI runtime spec's rules, and
 * runc's where the spec says nothing). `creating` allows nothing: a create or restore still at
 * work holds the container's lock, so it is only ever seen once that create has died, and only a
 * forced delete cleans it.
 */
export const can = {
  start: (status: ContainerStatus) => status === 'created',
  kill: live,
  /**
   * kill --all, and a SIGKILL to a container without a pid namespace of its own: a stopped
   * container's cgroup may still hold what its init left.
   */
  killAll: (status: ContainerStatus) => status !== 'creating',
  delete: (status: ContainerStatus) => status === 'stopped' || status === 'created',
  /** delete --force: whatever the status, and whatever is left. */
  forceDelete: (_status: ContainerStatus) => true,
  pause: (status: ContainerStatus) => status === 'running',
  resume: (status: ContainerStatus) => status === 'paused',
  exec: (status: ContainerStatus) => status === 'running',
  /** exec --ignore-paused: the process joins the frozen container and runs once it is resumed. */
  execIgnoringPause: (status: ContainerStatus) => status === 'running' || status === 'paused',
  update: live,
  checkpoint: (status: ContainerStatus) => status === 'running' || status === 'paused',
  stats: live,
} satisfies Record<string, Allowed>;

export type Operation = keyof typeof can;

/** Is the recorded init still the same live process? */
export function initIsAlive(state: ContainerStateFile): boolean {
  return state.pid > 0 && processStartTime(state.pid) === state.pidStartTime;
}

/**
 * Derives the status: the init's pid and start time, then whether its create (or restore) got
 * to the end, then the exec FIFO, then the freezer.
 */
export async function deriveStatus(dir: ContainerDir, state: ContainerStateFile): Promise<ContainerStatus> {
  if (!initIsAlive(state)) return 'stopped';
  if (state.creating) return 'creating';
  if (dir.hasExecFifo()) return 'created';
  // Read from the recorded paths: a status needs no cgroup manager.
  if (state.cgroupPaths && Object.keys(state.cgroupPaths).length > 0) {
    try {
      if (freezerStateOf(state.cgroupPaths) !== 'thawed') return 'paused';
    } catch {
      // No freezer to ask (the cgroup is gone with its processes): not paused.
    }
  }
  return 'running';
}
