import { HybridCgroupManager } from './hybrid.js';
import { cgroupModeOf, cgroupMounts } from './mounts.js';
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
