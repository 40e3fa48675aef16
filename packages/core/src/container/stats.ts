import type { CgroupStats, OomEvent } from '@corral/cgroups';

import { toCorralError } from '../errors.js';
import type { ContainerDir } from '../state/state-dir.js';
import { cgroupOf } from './cgroup.js';
import { check } from './operation.js';
import { deriveStatus } from './status.js';

/** The container's cgroup statistics (libcontainer's shape), for `events`. */
export async function containerStats(dir: ContainerDir): Promise<CgroupStats> {
  const state = dir.readState();
  check('stats', dir.id, await deriveStatus(dir, state));
  try {
    return await cgroupOf(state, 'read statistics').getStats();
  } catch (error) {
    throw toCorralError(error, `read stats of container ${dir.id}`);
  }
}

/** OOM kills in the container, until it is gone. */
export function containerOomEvents(dir: ContainerDir): AsyncIterableIterator<OomEvent> {
  return cgroupOf(dir.readState(), 'watch for OOM kills').oomEvents();
}
