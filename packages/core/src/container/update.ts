import { type LinuxResources, validateResources } from '@corral/cgroups';

import type { ContainerDir } from '../state/state-dir.js';
import { cgroupOf } from './cgroup.js';
import { underLock } from './operation.js';

/** `update`: changes the resources of a live container; refused values change nothing. */
export async function updateContainer(dir: ContainerDir, resources: LinuxResources): Promise<void> {
  await underLock(dir, 'update', async ({ state }) => {
    validateResources(resources);
    await cgroupOf(state, 'set limits').set(resources);
  });
}
