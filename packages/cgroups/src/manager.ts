import { HybridCgroupManager } from './hybrid.js';
import {
  type CgroupMounts,
  cgroupModeOf,
  cgroupMounts,
  V1_CONTROLLERS,
  type V1Controller,
} from './mounts.js';
import {
  type CgroupDirectories,
  type CgroupPathOptions,
  cgroupDirectories,
  resolveCgroupPath,
} from './paths.js';
import { annotationProperties } from './systemd/annotations.js';
import { requireSystemd, SystemdCgroupManager } from './systemd/manager.js';
import { systemdUnitFor } from './systemd/unit.js';
import { systemdUserConnection } from './systemd-user.js';
import type { CgroupManager, LinuxResources } from './types.js';
import { CgroupV1Manager } from './v1/manager.js';
import { CgroupV2Manager } from './v2/manager.js';

export interface CgroupManagerOptions extends CgroupPathOptions {
  /** The config's annotations: `org.systemd.property.*` ones become unit properties (systemd driver). */
  annotations?: Readonly<Record<string, string>> | undefined;
  /** The config's resources, for what a systemd unit must know when it starts. */
  resources?: LinuxResources | undefined;
}

/** The cgroupfs driver for one cgroup's directories, as the host's mounts make it v1, v2 or hybrid. */
function filesManager(dirs: CgroupDirectories, mounts: CgroupMounts): CgroupManager {
  const mode = cgroupModeOf(mounts);
  if (mode === 'unified' && dirs.v2 && mounts.v2) return new CgroupV2Manager(dirs.v2, mounts.v2.mountpoint);
  const v1 = new CgroupV1Manager(dirs.v1);
  if (mode === 'hybrid' && dirs.v2 && mounts.v2)
    return new HybridCgroupManager(v1, new CgroupV2Manager(dirs.v2, mounts.v2.mountpoint));
  return v1;
}

/**
 * The manager for a container's cgroup on this host: v1, v2 or hybrid as the mounts say, at the
 * path runc would use for the same cgroupsPath; with `systemdCgroup`, runc's systemd driver (a
 * transient scope, cgroupsPath read as `slice:prefix:name`). Nothing is created until apply().
 */
export function createCgroupManager(options: CgroupManagerOptions): CgroupManager {
  const mounts = cgroupMounts();
  if (options.systemdCgroup) {
    requireSystemd();
    const unit = systemdUnitFor(options.cgroupsPath, options.containerId);
    const annotations = annotationProperties(options.annotations);
    const dirs = cgroupDirectories({ path: unit.cgroup, relative: false }, mounts);
    return new SystemdCgroupManager({
      unit,
      files: filesManager(dirs, mounts),
      annotations,
      resources: options.resources,
    });
  }
  return filesManager(cgroupDirectories(resolveCgroupPath(options), mounts), mounts);
}

/**
 * The manager of a cgroup that already exists, from the paths its manager reported
 * (`getPaths()`, and `systemdUnit` for the systemd driver): what a runtime records so that a
 * later command, run from another cgroup, finds the same directories and unit.
 */
export function cgroupManagerFromPaths(
  paths: Readonly<Record<string, string>>,
  options: { systemdUnit?: string | undefined; systemdUser?: boolean | undefined } = {},
): CgroupManager {
  const mounts = cgroupMounts();
  const v1 = new Map<V1Controller, string>();
  for (const [controller, dir] of Object.entries(paths)) {
    if (controller !== '' && (V1_CONTROLLERS as readonly string[]).includes(controller)) {
      v1.set(controller as V1Controller, dir);
    }
  }
  const v2Dir = paths[''];
  const v2 = v2Dir && mounts.v2 ? new CgroupV2Manager(v2Dir, mounts.v2.mountpoint) : undefined;
  const v1Manager = new CgroupV1Manager(v1);
  const files = v1.size === 0 && v2 ? v2 : v2 ? new HybridCgroupManager(v1Manager, v2) : v1Manager;
  if (!options.systemdUnit) return files;
  const name = options.systemdUnit;
  return new SystemdCgroupManager({
    unit: { name, kind: name.endsWith('.slice') ? 'slice' : 'scope', slice: '', cgroup: '', description: '' },
    files,
    // A unit of the user's own systemd instance (runc's systemdUser) is reached on the user's bus.
    ...(options.systemdUser ? systemdUserConnection() : {}),
  });
}
