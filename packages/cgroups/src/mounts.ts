import { readFileSync } from 'node:fs';

import { CgroupError } from './errors.js';
import type { CgroupMode } from './types.js';

/** The v1 controllers this package manages, in the order it applies them. */
export const V1_CONTROLLERS = [
  'cpuset',
  'cpu',
  'cpuacct',
  'memory',
  'pids',
  'blkio',
  'devices',
  'freezer',
  'hugetlb',
  'net_cls',
  'net_prio',
  'rdma',
  'perf_event',
  // systemd's named hierarchy has no controller, but a container joins it too, as with runc.
  'name=systemd',
] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/** A cgroup filesystem mount: where it is, and which cgroup its root is (not "/" inside a cgroup namespace). */
export interface CgroupMount {
  mountpoint: string;
  root: string;
}

export interface CgroupMounts {
  v1: Map<V1Controller, CgroupMount>;
  v2: CgroupMount | undefined;
}

/** Unescapes the octal escapes (\040 for a space) that mountinfo uses in paths. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The cgroup mounts listed in a /proc/PID/mountinfo text. The first mount of each controller wins. */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const mounts: CgroupMounts = { v1: new Map(), v2: undefined };
  for (const line of mountinfo.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const fields = line.slice(0, separator).split(' ');
    const [fstype, , superOptions = ''] = line.slice(separator + 3).split(' ');
    const root = unescapeMountPath(fields[3] ?? '/');
    const mountpoint = unescapeMountPath(fields[4] ?? '');
    if (fstype === 'cgroup2') {
      mounts.v2 ??= { mountpoint, root };
    } else if (fstype === 'cgroup') {
      for (const option of superOptions.split(',')) {
        const controller = V1_CONTROLLERS.find((name) => name === option);
        if (controller && !mounts.v1.has(controller)) mounts.v1.set(controller, { mountpoint, root });
      }
    }
  }
  return mounts;
}

/** legacy: only v1 controllers; unified: only cgroup2; hybrid: v1 controllers and a cgroup2 mount beside them. */
export function cgroupModeOf(mounts: CgroupMounts): CgroupMode {
  // systemd's named hierarchy alone, beside a cgroup2 mount, holds no controller: still unified.
  const controllers = [...mounts.v1.keys()].filter((name) => name !== 'name=systemd');
  if (controllers.length === 0) {
    if (!mounts.v2) throw new CgroupError('NOT_SUPPORTED', 'no cgroup filesystem is mounted');
    return 'unified';
  }
  return mounts.v2 ? 'hybrid' : 'legacy';
}

let cachedMounts: CgroupMounts | undefined;

/** This process's view of the cgroup mounts (read once, then cached). */
export function cgroupMounts(): CgroupMounts {
  cachedMounts ??= parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  return cachedMounts;
}

/** The host's cgroup mode, as this process sees it. */
export function detectCgroupMode(): CgroupMode {
  return cgroupModeOf(cgroupMounts());
}

/** A /proc/PID/cgroup text as controller -> cgroup path, with '' for the v2 hierarchy. */
export function parseProcCgroup(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') result.set('', path);
    else for (const controller of controllers.split(',')) result.set(controller, path);
  }
  return result;
}
