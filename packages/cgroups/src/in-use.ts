import { CgroupError, invalidConfig } from './errors.js';
import type { CgroupManager, FreezerState } from './types.js';

/**
 * Refuses a container's cgroup that already holds processes (in it or below it) or is frozen,
 * with runc's words: a container must not share its cgroup (its limits, its freezer, its
 * destruction) with anything else, and a process joining a frozen cgroup would stop before it
 * ran. Nothing is created; a cgroup that does not exist yet passes.
 */
export async function refuseCgroupInUse(manager: CgroupManager): Promise<void> {
  if (!manager.exists()) return;
  const pids = await manager.getPids({ recursive: true });
  if (pids.length > 0) {
    throw invalidConfig(
      'linux.cgroupsPath',
      `container's cgroup is not empty: ${pids.length} process(es) found`,
    );
  }
  if ((await freezerState(manager)) === 'frozen') {
    throw invalidConfig('linux.cgroupsPath', "container's cgroup unexpectedly frozen");
  }
}

/** The freezer's state, thawed where a hierarchy of the cgroup does not exist (yet). */
async function freezerState(manager: CgroupManager): Promise<FreezerState | 'freezing'> {
  try {
    return await manager.getFreezerState();
  } catch (error) {
    const missing = error instanceof CgroupError && (error.cause as { code?: string })?.code === 'ENOENT';
    if (missing || (error instanceof CgroupError && error.code === 'NOT_SUPPORTED')) return 'thawed';
    throw error;
  }
}
