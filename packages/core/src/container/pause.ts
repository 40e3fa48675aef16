import type { ContainerDir } from '../state/state-dir.js';
import { cgroupOf } from './cgroup.js';
import { underLock } from './operation.js';

/** `pause`: freezes every process of the container; returns once they really are frozen. */
export async function pauseContainer(dir: ContainerDir): Promise<void> {
  await underLock(dir, 'pause', ({ state }) => cgroupOf(state, 'freeze its processes').freeze('frozen'));
}
