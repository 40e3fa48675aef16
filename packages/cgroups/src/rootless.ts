import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { invalidConfig } from './errors.js';
import { HybridCgroupManager } from './hybrid.js';
import type { CgroupManagerOptions } from './manager.js';
import { cgroupModeOf, cgroupMounts, type V1Controller } from './mounts.js';
import { OverFilesCgroupManager } from './over-files.js';
import { cgroupDirectories, resolveCgroupPath } from './paths.js';
import { systemdUserManager } from './systemd-user.js';
import type { CgroupManager, LinuxResources } from './types.js';
import { CgroupV1Manager, V1_WRITERS } from './v1/manager.js';
import { CgroupV2Manager } from './v2/manager.js';
import { V2_WRITERS } from './v2/writers.js';

/** A container's cgroup when the runtime may not own one (runc's rootless cgroup manager). */
export interface RootlessCgroup {
  /** The cgroup, in the hierarchies the user may write; none when it may write none. */
  manager?: CgroupManager;
  /** Why the container has no cgroup in some (or all) hierarchies, to say when one is needed. */
  missing?: string;
}

/** Whether this process may make (or join) a cgroup at `dir`: the nearest directory that exists is writable. */
function mayMake(dir: string): boolean {
  let probe = dir;
  while (!existsSync(probe)) {
    const parent = dirname(probe);
    if (parent === probe) return false;
    probe = parent;
  }
  try {
    accessSync(
      probe === dir ? join(dir, 'cgroup.procs') : probe,
      constants.W_OK | (probe === dir ? 0 : constants.X_OK),
    );
    return true;
  } catch {
    return false;
  }
}

/** The first field of `resources` each hierarchy's writers would act on, device rules left out. */
function wantedHierarchies(resources: LinuxResources, unified: boolean): Map<string, string> {
  const limits = { ...resources, devices: undefined };
  const wanted = new Map<string, string>();
  const want = (hierarchy: string, field: string | undefined) => {
    if (field && !wanted.has(hierarchy)) wanted.set(hierarchy, field);
  };
  if (unified) {
    for (const [, writer] of V2_WRITERS) want('', writer.wants(limits));
  } else {
    for (const [controller, writer] of V1_WRITERS) want(controller, writer.wants(limits));
    for (const key of Object.keys(resources.unified ?? {})) want('', `linux.resources.unified["${key}"]`);
  }
  return wanted;
}

/**
 * The container's cgroup for a runtime that may not own one, decided as runc's rootless cgroup
 * manager decides it, but before anything exists: a cgroup in every hierarchy where the user may
 * make it (a delegated cgroup: systemd's user slice on cgroup v2), none where it may not. A
 * cgroupsPath the user may not make, or a limit that needs a hierarchy it may not write, is
 * refused naming the field; without either the container simply goes without (those) cgroups.
 * With `systemdCgroup`, runc's systemdUser: a scope of the user's own systemd instance.
 */
export function planRootlessCgroup(options: CgroupManagerOptions, resources: LinuxResources): RootlessCgroup {
  if (options.systemdCgroup)
    return { manager: new RootlessCgroupManager(systemdUserManager(options, resources)) };
  const mounts = cgroupMounts();
  const mode = cgroupModeOf(mounts);
  const dirs = cgroupDirectories(resolveCgroupPath(options), mounts);
  const uid = process.geteuid?.() ?? 0;
  const denied: string[] = [];
  const v1 = new Map<V1Controller, string>();
  for (const [controller, dir] of dirs.v1) {
    if (mayMake(dir)) v1.set(controller, dir);
    else denied.push(dir);
  }
  const v2 = dirs.v2 && mounts.v2 && mayMake(dirs.v2) ? dirs.v2 : undefined;
  if (dirs.v2 && !v2) denied.push(dirs.v2);
  const why = (dir: string) => `uid ${uid} may not make ${dir}: no cgroup there is delegated to it`;
  if (denied.length && options.cgroupsPath) {
    throw invalidConfig(
      'linux.cgroupsPath',
      `${why(denied[0]!)}; a rootless container takes a cgroupsPath only inside a cgroup of its user's`,
    );
  }
  const unified = mode === 'unified';
  for (const [hierarchy, field] of wantedHierarchies(resources, unified)) {
    const dir = hierarchy === '' ? dirs.v2 : dirs.v1.get(hierarchy as V1Controller);
    const missing = hierarchy === '' ? !v2 : !v1.has(hierarchy as V1Controller);
    if (dir && missing) throw invalidConfig(field, `cannot be set: corral runs rootless and ${why(dir)}`);
  }
  const missing = denied.length ? why(denied[0]!) : undefined;
  const v2Manager = v2 ? new CgroupV2Manager(v2, mounts.v2!.mountpoint) : undefined;
  let files: CgroupManager | undefined;
  if (unified) files = v2Manager;
  else if (v1.size === 0) files = v2Manager;
  else
    files = v2Manager ? new HybridCgroupManager(new CgroupV1Manager(v1), v2Manager) : new CgroupV1Manager(v1);
  return { ...(files ? { manager: new RootlessCgroupManager(files) } : {}), ...(missing ? { missing } : {}) };
}

/**
 * A cgroup the runtime made without the host's root: everything as the driver below does it,
 * except device rules, which a user may not set (a cgroup v2 device program takes CAP_BPF, v1's
 * devices.allow CAP_SYS_ADMIN): they are tried, and left out when refused, as runc leaves them.
 */
export class RootlessCgroupManager extends OverFilesCgroupManager {
  apply(pid: number): Promise<void> {
    return this.files.apply(pid);
  }

  async set(resources: LinuxResources): Promise<void> {
    const { devices, ...limits } = resources;
    await this.files.set(limits);
    if (devices?.length) await this.files.set({ devices }).catch(() => undefined);
  }

  destroy(): Promise<void> {
    return this.files.destroy();
  }
}
