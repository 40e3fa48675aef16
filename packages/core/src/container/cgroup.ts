import { readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';

import {
  type CgroupEntry,
  type CgroupEntryPaths,
  type CgroupManager,
  type CgroupMount,
  type CgroupMounts,
  cgroupManagerFromPaths,
  cgroupMounts,
  checkCgroupResources,
  createCgroupManager,
  DEFAULT_ALLOWED_DEVICES,
  DENY_ALL_DEVICES,
  type DeviceRule,
  type LinuxDeviceCgroup,
  type LinuxResources,
  openCgroupEntry,
  parseProcCgroup,
  planRootlessCgroup,
  RootlessCgroupManager,
  refuseCgroupInUse,
  validateResources,
} from '@corral/cgroups';

import { CorralError, InvalidConfigError, toCorralError } from '../errors.js';
import type { ContainerCgroups } from '../plan/cgroup-mount.js';
import type { Spec } from '../spec/types.js';
import type { ContainerStateFile } from '../state/state-dir.js';

/** What the state records of a container's cgroup. */
type CgroupState = Pick<ContainerStateFile, 'cgroupPaths' | 'systemdUnit' | 'rootless'>;

/** A cgroup failure in corral's error family, keeping the field or file at fault. */
export function asCorralError(error: unknown): unknown {
  return toCorralError(error, 'cgroup');
}

/** An OCI device rule from the library's normalised one (-1 is the wildcard). */
function ociRule(rule: DeviceRule): LinuxDeviceCgroup {
  return {
    allow: rule.allow,
    type: rule.type,
    ...(rule.major >= 0 ? { major: rule.major } : {}),
    ...(rule.minor >= 0 ? { minor: rule.minor } : {}),
    access: rule.access,
  };
}

/**
 * The device rules a container gets, as runc gives them: deny everything, then the config's
 * rules, then the devices every container may use, then the devices the config creates.
 */
function deviceRules(spec: Spec, configured: readonly LinuxDeviceCgroup[]): LinuxDeviceCgroup[] {
  const created = (spec.linux?.devices ?? [])
    .filter((device) => device.type !== 'p')
    .map((device) => ({
      allow: true,
      type: device.type === 'b' ? ('b' as const) : ('c' as const),
      major: device.major,
      minor: device.minor,
      access: 'rwm',
    }));
  return [ociRule(DENY_ALL_DEVICES), ...configured, ...DEFAULT_ALLOWED_DEVICES.map(ociRule), ...created];
}

/** linux.resources checked, with the device rules every container gets. */
function containerResources(spec: Spec): LinuxResources {
  const configured = (spec.linux?.resources ?? {}) as LinuxResources;
  validateResources(configured);
  return { ...configured, devices: deviceRules(spec, configured.devices ?? []) };
}

/** Checks linux.resources and resolves the container's cgroup; nothing is created yet. */
export function planCgroup(
  spec: Spec,
  id: string,
  systemdCgroup?: boolean,
): { manager: CgroupManager; resources: LinuxResources } {
  try {
    const resources = containerResources(spec);
    const manager = createCgroupManager({
      cgroupsPath: spec.linux?.cgroupsPath as string | undefined,
      containerId: id,
      systemdCgroup,
      annotations: spec.annotations,
      resources,
    });
    checkCgroupResources(manager, resources);
    return { manager, resources };
  } catch (error) {
    throw asCorralError(error);
  }
}

/**
 * The same for a runtime that may not own cgroups (runc's rootless cgroups): a cgroup only
 * where the user may make one, and `missing` saying why there is none elsewhere.
 */
export function planRootlessCgroupOf(
  spec: Spec,
  id: string,
  systemdCgroup?: boolean,
): { cgroup?: { manager: CgroupManager; resources: LinuxResources }; missing?: string } {
  try {
    const resources = containerResources(spec);
    const { manager, missing } = planRootlessCgroup(
      {
        cgroupsPath: spec.linux?.cgroupsPath as string | undefined,
        containerId: id,
        systemdCgroup,
        annotations: spec.annotations,
      },
      resources,
    );
    return { ...(manager ? { cgroup: { manager, resources } } : {}), ...(missing ? { missing } : {}) };
  } catch (error) {
    throw asCorralError(error);
  }
}

/**
 * The cgroup a container's cgroup mount shows: its own. A container made rootless stays in the
 * runtime's own cgroup in every hierarchy where its user may not make one (all of them, without
 * a delegated cgroup), so there it is shown that one, as runc shows what /proc/self/cgroup says.
 */
export function containerCgroups(
  manager: CgroupManager | undefined,
  rootless: boolean,
  mounts: CgroupMounts = cgroupMounts(),
  ownCgroups = () => parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')),
): ContainerCgroups {
  const paths = manager?.getPaths() ?? {};
  if (!rootless) return { paths, mounts };
  const own = ownCgroups();
  const runtime: Record<string, string> = {};
  const hierarchies: Array<[string, CgroupMount | undefined]> = [...mounts.v1, ['', mounts.v2]];
  for (const [key, mount] of hierarchies) {
    const path = own.get(key);
    if (!mount || path === undefined) continue;
    const inMount = posix.relative(mount.root, path);
    // Outside the runtime's cgroup namespace (/../x) or the mount's root: no directory to show.
    const outside = (p: string) => p === '..' || p.startsWith('../');
    if (outside(path.slice(1)) || outside(inMount)) continue;
    runtime[key] = posix.join(mount.mountpoint, inMount);
  }
  return { paths: { ...runtime, ...paths }, mounts };
}

/**
 * Refuses a cgroup that already holds processes or is frozen, as runc does. Called before the
 * cgroup counts as the container's: a failed create destroys its cgroup, and this one is not
 * its to destroy.
 */
export async function refuseUsedCgroup(manager: CgroupManager): Promise<void> {
  try {
    await refuseCgroupInUse(manager);
  } catch (error) {
    throw asCorralError(error);
  }
}

/**
 * Opens the entry of the cgroup, made first (`make`, a new container's) or there already (an
 * exec'd process's), for a process that is to be in it from its start; the descriptors go to
 * corral-init in this order, cgroup2 first.
 */
export async function openEntryOf(
  manager: CgroupManager,
  paths: CgroupEntryPaths,
  { make }: { make: boolean },
): Promise<{ entry: CgroupEntry; descriptors: number[] }> {
  try {
    if (make) await manager.apply(-1);
    const entry = openCgroupEntry(paths);
    const descriptors = [...(entry.startIn === undefined ? [] : [entry.startIn]), ...entry.tasksFiles];
    return { entry, descriptors };
  } catch (error) {
    throw asCorralError(error);
  }
}

/**
 * The cgroup paths of a process exec'd into a sub-cgroup of its container (runc's exec
 * --cgroup): each entry is `SUB` for every controller or `CONTROLLER[,CONTROLLER]:SUB`, SUB
 * relative to the container's cgroup and already made.
 */
export function subCgroupPaths(
  paths: Record<string, string>,
  entries: readonly string[],
): Record<string, string> {
  const chosen = { ...paths };
  const seen = new Set<string>();
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    const sub = colon < 0 ? entry : entry.slice(colon + 1);
    const controllers = colon < 0 ? Object.keys(paths) : entry.slice(0, colon).split(',');
    const parts = sub.split('/').filter((part) => part !== '' && part !== '.');
    if (sub.startsWith('/') || parts.length === 0 || parts.includes('..')) {
      throw new InvalidConfigError(
        `--cgroup ${JSON.stringify(entry)}`,
        "the sub-cgroup must be a path inside the container's cgroup",
      );
    }
    for (const controller of controllers) {
      if (!(controller in paths) || (colon >= 0 && controller === '')) {
        throw new InvalidConfigError(
          `--cgroup ${JSON.stringify(entry)}`,
          `the container has no ${JSON.stringify(controller)} cgroup`,
        );
      }
      if (seen.has(controller)) {
        throw new InvalidConfigError('--cgroup', `${controller || 'the unified hierarchy'} is given twice`);
      }
      seen.add(controller);
      const dir = join(paths[controller]!, ...parts);
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
        throw new InvalidConfigError(`--cgroup ${JSON.stringify(entry)}`, `${dir} does not exist`);
      }
      chosen[controller] = dir;
    }
  }
  return chosen;
}

/**
 * The cgroup of a container recorded in its state, if it has one: with its systemd unit, the
 * systemd driver (to update or remove it through systemd), else the files alone; made rootless,
 * without the device rules its user may not set, as at create.
 */
export function recordedCgroup(
  paths: Record<string, string> | undefined,
  options: { systemdUnit?: string; rootless?: boolean } = {},
): CgroupManager | undefined {
  if (!paths || Object.keys(paths).length === 0) return undefined;
  const files = cgroupManagerFromPaths(paths, {
    systemdUnit: options.systemdUnit,
    systemdUser: options.rootless,
  });
  return options.rootless ? new RootlessCgroupManager(files) : files;
}

/** What state.json records of a container's cgroup. */
export function cgroupRecord(manager: CgroupManager): {
  cgroupPaths: Record<string, string>;
  systemdUnit?: string;
} {
  return {
    cgroupPaths: manager.getPaths(),
    ...(manager.systemdUnit ? { systemdUnit: manager.systemdUnit } : {}),
  };
}

/**
 * The cgroup of a container, for an operation that needs one (`what` it does with it: `freeze
 * its processes`); without one, why there is none: a container made rootless with no cgroup
 * delegated to its user cannot be paused, listed from its cgroup or measured, as with runc.
 */
export function cgroupOf(state: CgroupState & { id: string }, what = 'do that'): CgroupManager {
  const cgroup = recordedCgroup(state.cgroupPaths, {
    systemdUnit: state.systemdUnit,
    rootless: state.rootless !== undefined,
  });
  if (cgroup) return cgroup;
  const why = state.rootless?.cgroupMissing
    ? `it was made rootless and ${state.rootless.cgroupMissing}`
    : 'it was made without one';
  throw new CorralError(
    'NOT_SUPPORTED',
    `container ${state.id} has no cgroup to ${what} with: ${why} (on cgroup v2 a user's systemd session delegates one)`,
  );
}
