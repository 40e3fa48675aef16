import { statSync } from 'node:fs';
import { join } from 'node:path';

import {
  type CgroupManager,
  cgroupManagerFromPaths,
  checkCgroupResources,
  createCgroupManager,
  DEFAULT_ALLOWED_DEVICES,
  DENY_ALL_DEVICES,
  type DeviceRule,
  type LinuxDeviceCgroup,
  type LinuxResources,
  refuseCgroupInUse,
  validateResources,
} from '@corral/cgroups';

import { CorralError, InvalidConfigError, toCorralError } from '../errors.js';
import type { Spec } from '../spec/types.js';

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

/** Checks linux.resources and resolves the container's cgroup; nothing is created yet. */
export function planCgroup(
  spec: Spec,
  id: string,
  systemdCgroup?: boolean,
): { manager: CgroupManager; resources: LinuxResources } {
  const configured = (spec.linux?.resources ?? {}) as LinuxResources;
  try {
    validateResources(configured);
    const resources = { ...configured, devices: deviceRules(spec, configured.devices ?? []) };
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
 * systemd driver (to update or remove it through systemd), else the files alone.
 */
export function recordedCgroup(
  paths: Record<string, string> | undefined,
  systemdUnit?: string,
): CgroupManager | undefined {
  return paths && Object.keys(paths).length > 0 ? cgroupManagerFromPaths(paths, { systemdUnit }) : undefined;
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

/** The cgroup of a container, for the operations that need one. */
export function cgroupOf(state: {
  id: string;
  cgroupPaths?: Record<string, string>;
  systemdUnit?: string;
}): CgroupManager {
  const cgroup = recordedCgroup(state.cgroupPaths, state.systemdUnit);
  if (!cgroup) throw new CorralError('NOT_SUPPORTED', `container ${state.id} has no cgroup`);
  return cgroup;
}
