import { existsSync } from 'node:fs';

import { processStartTime } from '../state/proc.js';
import type { ContainerDir, ContainerStateFile } from '../state/state-dir.js';
import { recordedCgroup } from './cgroup.js';

/** The OCI statuses. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** What each operation needs of the status, in one place (the OCI runtime spec's rules). */
export const can = {
  start: (status: ContainerStatus) => status === 'created',
  kill: (status: ContainerStatus) => status === 'created' || status === 'running' || status === 'paused',
  delete: (status: ContainerStatus) => status === 'stopped' || status === 'created',
  pause: (status: ContainerStatus) => status === 'running',
  resume: (status: ContainerStatus) => status === 'paused',
};

/** Is the recorded init still the same live process? */
export function initIsAlive(state: ContainerStateFile): boolean {
  return state.pid > 0 && processStartTime(state.pid) === state.pidStartTime;
}

/** Derives the status: the init's pid and start time, then the exec FIFO, then the freezer. */
export async function deriveStatus(dir: ContainerDir, state: ContainerStateFile): Promise<ContainerStatus> {
  if (!initIsAlive(state)) return 'stopped';
  if (existsSync(dir.execFifoPath)) return 'created';
  const cgroup = recordedCgroup(state.cgroupPaths);
  if (cgroup) {
    try {
      if ((await cgroup.getFreezerState()) !== 'thawed') return 'paused';
    } catch {
      // No freezer to ask (the cgroup is gone with its processes): not paused.
    }
  }
  return 'running';
}
