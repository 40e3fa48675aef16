import { posix } from 'node:path';

import type { CgroupMounts } from '@corral/cgroups';
import type { InitOp } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import { MountAttr, type ParsedMountOptions } from './mount-options.js';

/** The container's cgroup as a cgroup mount inside it shows it. */
export interface ContainerCgroups {
  /** Controller (or '' for the v2 hierarchy) -> the container's directory on the host. */
  paths: Readonly<Record<string, string>>;
  /** The host's cgroup mounts, as the runtime sees them. */
  mounts: CgroupMounts;
}

/** One hierarchy as the container sees it: where, from which host directory, mounted how. */
export interface CgroupHierarchyMount {
  /** Inside the cgroup mount's destination ('' for the destination itself). */
  name: string;
  hostDir: string;
  /** cgroup2, or cgroup with these superblock options ("cpu", "cpuacct", "name=systemd"). */
  fstype: 'cgroup' | 'cgroup2';
  fsOptions: string[];
  /** Links for co-mounted controllers: "cpu" -> "cpu,cpuacct", as the host has them. */
  links: string[];
}

/**
 * What the container's /sys/fs/cgroup holds, as runc lays it out: on a unified host the
 * container's own cgroup2 directory; on a v1 or hybrid host one directory per v1 hierarchy
 * (systemd's named one included) with the container's own cgroup of it. Never the host's root.
 */
export function cgroupHierarchies(cgroups: ContainerCgroups): CgroupHierarchyMount[] {
  const { paths, mounts } = cgroups;
  const v1 = [...mounts.v1].filter(([controller]) => paths[controller] !== undefined);
  if (v1.length === 0) {
    const dir = paths[''];
    return dir ? [{ name: '', hostDir: dir, fstype: 'cgroup2', fsOptions: [], links: [] }] : [];
  }
  const byMountpoint = new Map<string, CgroupHierarchyMount>();
  for (const [controller, mount] of v1) {
    let hierarchy = byMountpoint.get(mount.mountpoint);
    if (!hierarchy) {
      const name = posix.basename(mount.mountpoint);
      hierarchy = { name, hostDir: paths[controller]!, fstype: 'cgroup', fsOptions: [], links: [] };
      byMountpoint.set(mount.mountpoint, hierarchy);
    }
    hierarchy.fsOptions.push(controller);
  }
  for (const hierarchy of byMountpoint.values()) {
    if (hierarchy.name.includes(',')) hierarchy.links = hierarchy.name.split(',').filter(Boolean);
  }
  return [...byMountpoint.values()];
}

/**
 * The cgroup mount points inside the container, each with the host directory it shows: what
 * CRIU is told are external mounts at a checkpoint (keyed by mount point) and binds again at a
 * restore, from the restored container's own cgroup.
 */
export function cgroupMountPoints(destination: string, cgroups: ContainerCgroups): Array<[string, string]> {
  const base = posix.normalize(`/${destination}`);
  return cgroupHierarchies(cgroups).map((h) => [h.name ? posix.join(base, h.name) : base, h.hostDir]);
}

// runc's flags for the tmpfs that holds v1 hierarchies.
const TMPFS_ATTRS = MountAttr.nosuid | MountAttr.nodev | MountAttr.noexec;

/**
 * The ops of a `cgroup` mount (config mounts[index] on `target`). With a cgroup namespace of its
 * own, made once the process is in its cgroup, each hierarchy is mounted afresh and its root is
 * the container's cgroup; without one, the container's cgroup directories are bound in.
 */
export function cgroupMountOps(
  target: string,
  field: string,
  options: ParsedMountOptions,
  source: string,
  cgroups: ContainerCgroups | undefined,
  ownCgroupNamespace: boolean,
): Array<[InitOp, string]> {
  if (!cgroups) {
    throw new InvalidConfigError(
      `${field}.type`,
      'a cgroup mount needs the container cgroup (CompileOptions.cgroups)',
    );
  }
  const hierarchies = cgroupHierarchies(cgroups);
  if (hierarchies.length === 0) {
    throw new InvalidConfigError(`${field}.type`, 'the container has no cgroup to mount');
  }
  const ops: Array<[InitOp, string]> = [
    [{ op: 'mkdir', path: target, mode: 0o755 }, `create ${target} (${field})`],
  ];
  const unified = hierarchies.length === 1 && hierarchies[0]!.fstype === 'cgroup2';
  if (!unified) {
    ops.push([
      {
        op: 'mountFs',
        fstype: 'tmpfs',
        source: 'tmpfs',
        target,
        attrSet: TMPFS_ATTRS,
        propagation: options.propagation,
        flags: 0,
        options: ['mode=755'],
        tryOptions: [],
      },
      `mount a tmpfs for the cgroup hierarchies on ${target} (${field})`,
    ]);
  }
  for (const hierarchy of hierarchies) {
    const path = hierarchy.name ? posix.join(target, hierarchy.name) : target;
    if (hierarchy.name) ops.push([{ op: 'mkdir', path, mode: 0o755 }, `create ${path} (${field})`]);
    const what = hierarchy.fstype === 'cgroup2' ? 'cgroup2' : `cgroup ${hierarchy.fsOptions.join(',')}`;
    if (ownCgroupNamespace) {
      ops.push([
        {
          op: 'mountFs',
          fstype: hierarchy.fstype,
          source: hierarchy.fsOptions.includes('name=systemd') ? 'systemd' : source || 'cgroup',
          target: path,
          attrSet: options.attrSet,
          propagation: options.propagation,
          flags: 0,
          options: hierarchy.fsOptions,
          tryOptions: [],
        },
        `mount ${what} on ${path} (${field})`,
      ]);
    } else {
      ops.push([
        {
          op: 'mountBind',
          source: hierarchy.hostDir,
          target: path,
          flags: 0,
          attrSet: options.attrSet,
          attrClear: options.attrClear,
          attrReset: 0n,
          recursiveSet: 0n,
          recursiveClear: 0n,
          propagation: options.propagation,
          userns: 0,
        },
        `bind the container's ${what} ${hierarchy.hostDir} on ${path} (${field})`,
      ]);
    }
    for (const link of hierarchy.links) {
      if (link === hierarchy.name) continue;
      const linkPath = posix.join(target, link);
      ops.push([
        { op: 'symlink', target: hierarchy.name, path: linkPath },
        `link ${linkPath} to ${hierarchy.name} (${field})`,
      ]);
    }
  }
  return ops;
}
