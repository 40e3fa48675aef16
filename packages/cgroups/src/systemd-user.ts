import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

import { notSupported } from './errors.js';
import { cgroupModeOf, cgroupMounts } from './mounts.js';
import { annotationProperties } from './systemd/annotations.js';
import { requireSystemd, SystemdCgroupManager } from './systemd/manager.js';
import type { Systemd1 } from './systemd/systemd1.js';
import { DEFAULT_SCOPE_PREFIX, systemdUnitFor } from './systemd/unit.js';
import type { CgroupManager, LinuxResources } from './types.js';
import { CgroupV2Manager } from './v2/manager.js';

/** Where a user's container goes when its cgroupsPath names no slice, as with runc rootless. */
export const USER_SLICE = 'user.slice';

const NO_BUS =
  "no session bus to reach the user's systemd instance (DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus is missing): log in, or enable lingering (loginctl enable-linger)";

/**
 * The user's session bus, where its systemd instance listens (runc's
 * DetectUserDbusSessionBusAddress): DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus.
 */
export function userBusAddress(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.DBUS_SESSION_BUS_ADDRESS) return env.DBUS_SESSION_BUS_ADDRESS;
  const bus = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'bus') : undefined;
  return bus && existsSync(bus) ? `unix:path=${bus}` : undefined;
}

/**
 * The uid that `uidMap` (a /proc/PID/uid_map) gives `uid` outside its user namespace: the
 * host's own map gives every id itself, and root of a user namespace is the user who made it.
 */
export function hostUidOf(uid: number, uidMap: string): number {
  for (const line of uidMap.split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || outside === undefined || count === undefined) continue;
    if (uid >= inside && uid < inside + count) return outside + (uid - inside);
  }
  return uid;
}

/** This process's uid as the host sees it, which the user's bus and systemd know it by. */
function hostUid(): number {
  const uid = process.geteuid?.() ?? 0;
  try {
    return hostUidOf(uid, readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    // No user namespaces: the uid is the host's.
    return uid;
  }
}

/**
 * How a manager reaches the user's systemd instance: on its session bus, as the host's uid of
 * this process, with its transient units under the instance's runtime directory.
 */
export function systemdUserConnection(env: NodeJS.ProcessEnv = process.env): {
  connect: () => Promise<Systemd1>;
  transientDir: string;
} {
  const address = userBusAddress(env);
  const uid = hostUid();
  return {
    connect: async () => {
      // The manager names --systemd-cgroup for what goes wrong on the way to systemd.
      if (!address) throw new Error(NO_BUS);
      return (await import('./systemd/systemd1.js')).Systemd1.connect(address, uid);
    },
    transientDir: `/run/user/${uid}/systemd/transient`,
  };
}

/** `slice:prefix:name` with an empty slice made the user's own slice. */
function inUserSlice(cgroupsPath: string | undefined, containerId: string | undefined): string {
  const path = cgroupsPath || `:${DEFAULT_SCOPE_PREFIX}:${containerId ?? ''}`;
  const parts = path.split(':');
  if (parts.length === 3 && parts[0] === '') parts[0] = USER_SLICE;
  return parts.join(':');
}

/**
 * runc's systemdUser: `--systemd-cgroup` for a runtime that may not own cgroups places the
 * container in a transient scope of the user's own systemd instance (its session bus), under
 * that instance's cgroup, which systemd delegates to the user. cgroup v2 only, as with runc: v1
 * delegates nothing to a user. Refused before anything is made where it cannot work.
 */
export function systemdUserManager(
  options: {
    cgroupsPath?: string | undefined;
    containerId?: string | undefined;
    annotations?: Readonly<Record<string, string>> | undefined;
  },
  resources: LinuxResources,
): CgroupManager {
  requireSystemd();
  const mounts = cgroupMounts();
  if (cgroupModeOf(mounts) !== 'unified' || !mounts.v2) {
    throw notSupported(
      "a rootless container's systemd cgroup needs a unified cgroup v2 hierarchy: systemd delegates none to a user on v1 or hybrid hosts",
      '--systemd-cgroup',
    );
  }
  if (!userBusAddress()) throw notSupported(NO_BUS, '--systemd-cgroup');
  const uid = hostUid();
  // Where logind starts every user's instance (runc asks the instance for it, to the same answer).
  const instance = `/user.slice/user-${uid}.slice/user@${uid}.service`;
  if (!existsSync(posix.join(mounts.v2.mountpoint, instance))) {
    throw notSupported(
      `uid ${uid} has no systemd instance of its own (no ${instance} cgroup): log in, or enable lingering (loginctl enable-linger)`,
      '--systemd-cgroup',
    );
  }
  const unit = systemdUnitFor(inUserSlice(options.cgroupsPath, options.containerId), options.containerId);
  const cgroup = posix.join(instance, unit.cgroup);
  const { devices: _devices, ...limits } = resources;
  return new SystemdCgroupManager({
    unit: { ...unit, cgroup },
    files: new CgroupV2Manager(posix.join(mounts.v2.mountpoint, cgroup), mounts.v2.mountpoint),
    annotations: annotationProperties(options.annotations),
    // Device rules are not the user's to set: left out of the unit, tried later and skipped.
    resources: limits,
    ...systemdUserConnection(),
  });
}
