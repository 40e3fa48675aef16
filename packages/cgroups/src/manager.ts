import { HybridCgroupManager } from './hybrid.js';
import { cgroupModeOf, cgroupMounts, V1_CONTROLLERS, type V1Controller } from './mounts.js';
import { type CgroupPathOptions, cgroupDirectories, resolveCgroupPath } from './paths.js';
import type { CgroupManager } from './types.js';
import { CgroupV1Manager } from './v1/manager.js';
import { CgroupV2Manager } from './v2/manager.js';

/**
 * The manager for a container's cgroup on this host: v1, v2 or hybrid as the mounts say, at the
 * path runc would use for the same cgroupsPath. Nothing is created until apply().
 */
export function createCgroupManager(options: CgroupPathOptions): CgroupManager {
  const mounts = cgroupMounts();
  const mode = cgroupModeOf(mounts);
  const dirs = cgroupDirectories(resolveCgroupPath(options), mounts);
  if (mode === 'unified' && dirs.v2 && mounts.v2) return new CgroupV2Manager(dirs.v2, mounts.v2.mountpoint);
  const v1 = new CgroupV1Manager(dirs.v1);
  if (mode === 'hybrid' && dirs.v2 && mounts.v2)
    return new HybridCgroupManager(v1, new CgroupV2Manager(dirs.v2, mounts.v2.mountpoint));
  return v1;
}

/**
 * The manager of a cgroup that already exists, from the paths its manager reported
 * (`getPaths()`): what a runtime records so that a later command, run from another cgroup,
 * finds the same directories.
 */
export function cgroupManagerFromPaths(paths: Readonly<Record<string, string>>): CgroupManager {
  const mounts = cgroupMounts();
  const v1 = new Map<V1Controller, string>();
  for (const [controller, dir] of Object.entries(paths)) {
    if (controller !== '' && (V1_CONTROLLERS as readonly string[]).includes(controller)) {
      v1.set(controller as V1Controller, dir);
    }
  }
  const v2Dir = paths[''];
  const v2 = v2Dir && mounts.v2 ? new CgroupV2Manager(v2Dir, mounts.v2.mountpoint) : undefined;
  if (v1.size === 0 && v2) return v2;
  const v1Manager = new CgroupV1Manager(v1);
  return v2 ? new HybridCgroupManager(v1Manager, v2) : v1Manager;
}
