import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

import { invalidConfig, notSupported } from './errors.js';
import { type CgroupMount, type CgroupMounts, parseProcCgroup, type V1Controller } from './mounts.js';

export interface CgroupPathOptions {
  /** OCI `linux.cgroupsPath`. */
  cgroupsPath?: string | undefined;
  /** The container's id: the default path when cgroupsPath is empty, as runc does. */
  containerId?: string | undefined;
  /** runc's `--systemd-cgroup`: the systemd driver, which reads cgroupsPath as `slice:prefix:name`. */
  systemdCgroup?: boolean | undefined;
}

/** A cgroupsPath as runc reads it: absolute (from each hierarchy's root) or relative to our own cgroup. */
export interface CgroupPath {
  path: string;
  relative: boolean;
}

/** Makes a path lexically clean; a relative path cannot climb above its starting point. */
function cleanPath(path: string): string {
  const absolute = posix.normalize(`/${path}`);
  return path.startsWith('/') ? absolute : absolute.slice(1);
}

/**
 * Reads cgroupsPath the way runc's fs driver does: an absolute path is taken from the root of each
 * hierarchy; a relative one is joined to the cgroup this process is in; none means the container id
 * relative to that cgroup. A systemd path (`slice:prefix:name`) is refused: it needs the systemd driver.
 */
export function resolveCgroupPath(options: CgroupPathOptions): CgroupPath {
  const { cgroupsPath = '', containerId } = options;
  if (/^[^/:]*:[^/:]*:[^/:]*$/.test(cgroupsPath)) {
    throw notSupported(
      `"${cgroupsPath}" is a systemd path (slice:prefix:name): run with --systemd-cgroup, or give a cgroupfs path`,
      'linux.cgroupsPath',
    );
  }
  if (cgroupsPath.includes('\0')) throw invalidConfig('linux.cgroupsPath', 'contains a NUL byte');
  if (cgroupsPath === '') {
    if (!containerId) throw invalidConfig('linux.cgroupsPath', 'is empty and no container id was given');
    if (containerId.includes('/') || containerId === '.' || containerId === '..') {
      throw invalidConfig('containerId', `"${containerId}" cannot name a cgroup`);
    }
    return { path: containerId, relative: true };
  }
  const path = cleanPath(cgroupsPath);
  if (path === '/' || path === '' || path === '.') {
    throw invalidConfig(
      'linux.cgroupsPath',
      `"${cgroupsPath}" names the root cgroup, which a container cannot own`,
    );
  }
  return { path, relative: !path.startsWith('/') };
}

/**
 * Where a cgroup path lands in one hierarchy, given this process's own cgroup there. On cgroup v2
 * (`v2`) a relative path goes beside our own cgroup, under its parent, as runc does: our own has
 * processes in it, and a cgroup with processes cannot give controllers to children.
 */
export function directoryIn(
  mount: CgroupMount,
  cgroup: CgroupPath,
  ownCgroup: string | undefined,
  v2 = false,
): string {
  if (!cgroup.relative) return posix.join(mount.mountpoint, cgroup.path);
  // Our own cgroup is given from the hierarchy's root, which inside a cgroup namespace is not the mount's root.
  const own = ownCgroup ?? '/';
  const inMount = own.startsWith(mount.root) ? own.slice(mount.root === '/' ? 0 : mount.root.length) : own;
  const base = v2 ? posix.dirname(posix.join('/', inMount)) : inMount;
  const dir = posix.join(mount.mountpoint, base, cgroup.path);
  const escapes = own === '/..' || own.startsWith('/../');
  if (escapes || (dir !== mount.mountpoint && !dir.startsWith(`${mount.mountpoint}/`))) {
    // Our own cgroup lies outside our cgroup namespace ("/../x"): there is nothing to join it to.
    throw invalidConfig(
      'linux.cgroupsPath',
      `"${cgroup.path}" is relative to this process's cgroup ${own}, which is outside the cgroup hierarchy mounted at ${mount.mountpoint}; give an absolute path`,
    );
  }
  return dir;
}

export interface CgroupDirectories {
  v1: Map<V1Controller, string>;
  v2: string | undefined;
}

/** The directories of one cgroup in every mounted hierarchy. */
export function cgroupDirectories(
  cgroup: CgroupPath,
  mounts: CgroupMounts,
  ownCgroups: Map<string, string> = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')),
): CgroupDirectories {
  const v1 = new Map<V1Controller, string>();
  for (const [controller, mount] of mounts.v1)
    v1.set(controller, directoryIn(mount, cgroup, ownCgroups.get(controller)));
  // On a hybrid host the v1 hierarchies decide where processes go; only a unified one is runc's v2 layout.
  const v2 = mounts.v2 ? directoryIn(mounts.v2, cgroup, ownCgroups.get(''), mounts.v1.size === 0) : undefined;
  return { v1, v2 };
}
