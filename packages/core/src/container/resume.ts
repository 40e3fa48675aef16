import type { ContainerDir } from '../state/state-dir.js';
import { cgroupOf } from './cgroup.js';
import { underLock } from './operation.js';

/** `resume`: thaws a paused container. */
export async function resumeContainer(dir: ContainerDir): Promise<void> {
  await underLock(dir, 'resume', ({ state }) => cgroupOf(state, 'thaw its processes').freeze('thawed'));
}
