import { closeSync, lstatSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { cgroupMounts } from '@corral/cgroups';
import type { InheritedFd } from '@corral/criu';

import { InvalidConfigError } from '../errors.js';
import { cgroupMountPoints } from '../plan/cgroup-mount.js';
import { hostDeviceBinds } from '../plan/compile.js';
import type { Spec } from '../spec/types.js';

// What a container has from outside itself, which CRIU must be told about: it neither dumps it
// nor could recreate it, and a restore gives it back from the host.

/** The bind mounts of the config, which CRIU cannot recreate from the images. */
export function bindMounts(spec: Spec) {
  return (spec.mounts ?? []).filter(
    (mount) => mount.type === 'bind' || (mount.options ?? []).some((o) => o === 'bind' || o === 'rbind'),
  );
}

/**
 * The namespaces a container joined by path that CRIU leaves out of the dump and joins again on
 * restore, as runc does: the network (which keeps its devices and addresses, and so its peers'
 * connections, while the container is away) and pid namespaces. Keys are runc's, so that images
 * move between the runtimes.
 */
const EXTERNAL_NAMESPACES = [
  { type: 'network', proc: 'net', key: 'extRootNetNS' },
  { type: 'pid', proc: 'pid', key: 'extRootPidNS' },
] as const;

function joinedNamespaces(spec: Spec) {
  return EXTERNAL_NAMESPACES.flatMap((external) => {
    const index = spec.linux?.namespaces?.findIndex((ns) => ns.type === external.type) ?? -1;
    const path = index < 0 ? undefined : spec.linux!.namespaces![index]!.path;
    return path ? [{ ...external, path, field: `linux.namespaces[${index}].path` }] : [];
  });
}

/** CRIU's --external for each joined namespace of the init: `net[INODE]:extRootNetNS`. */
export function externalNamespaces(pid: number, spec: Spec): string[] {
  return joinedNamespaces(spec).map(
    ({ proc, key }) => `${proc}[${statSync(`/proc/${pid}/ns/${proc}`).ino}]:${key}`,
  );
}

/**
 * Opens each namespace the bundle joins, for CRIU to restore into (inherit-fd under the key the
 * dump recorded). The caller closes the descriptors once CRIU is done.
 */
export function openJoinedNamespaces(spec: Spec): InheritedFd[] {
  const opened: InheritedFd[] = [];
  try {
    for (const { type, path, key, field } of joinedNamespaces(spec)) {
      try {
        opened.push({ key, fd: openSync(path, 'r') });
      } catch (error) {
        throw new InvalidConfigError(
          field,
          `the ${type} namespace to restore into, ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          { cause: error },
        );
      }
    }
    return opened;
  } catch (error) {
    for (const { fd } of opened) closeSync(fd);
    throw error;
  }
}

/**
 * The container's cgroup mounts (plan/cgroup-mount.ts): each shows the container's own cgroup,
 * which a restored container has anew, so CRIU takes them as external and binds them from the
 * restored container's cgroup directories (its cgroup namespace, if any, roots them there too).
 */
function containerCgroupMounts(spec: Spec, cgroupPaths: Record<string, string>): Array<[string, string]> {
  const destination = spec.mounts?.find((m) => m.type === 'cgroup')?.destination;
  if (!destination || Object.keys(cgroupPaths).length === 0) return [];
  return cgroupMountPoints(destination, { paths: cgroupPaths, mounts: cgroupMounts() });
}

/**
 * Mounts whose source is on the host where CRIU cannot find it from inside the container,
 * other than the config's binds, keyed by mount point to that source: in a user namespace the
 * host's device nodes bound onto /dev and its cgroup mounts; and the masked files, bound from
 * /dev/null. `isMaskedFile` says whether a masked path is a file in the running container (a
 * directory is masked by a tmpfs that CRIU restores itself); restore maps every one.
 */
function hostMounts(
  spec: Spec,
  cgroupPaths: Record<string, string>,
  isMaskedFile: (path: string) => boolean = () => true,
): Array<[string, string]> {
  const devices = hostDeviceBinds(spec).map((path): [string, string] => [path, path]);
  const masked = (spec.linux?.maskedPaths ?? [])
    .filter(isMaskedFile)
    .map((path): [string, string] => [path, '/dev/null']);
  return [...devices, ...masked, ...containerCgroupMounts(spec, cgroupPaths)];
}

/** Whether a path of the container is a file (not a directory, and there), not following a link. */
function isFileIn(pid: number): (path: string) => boolean {
  return (path) => {
    try {
      return !lstatSync(`/proc/${pid}/root${path}`).isDirectory();
    } catch {
      return false;
    }
  };
}

/** CRIU's external mounts of a dump: each keyed by its mount point. */
export function externalMountsAtDump(
  spec: Spec,
  pid: number,
  cgroupPaths: Record<string, string>,
): Record<string, string> {
  const points = [
    ...bindMounts(spec).map((m) => m.destination),
    ...hostMounts(spec, cgroupPaths, isFileIn(pid)).map(([p]) => p),
  ];
  return Object.fromEntries(points.map((point) => [point, point]));
}

/** The host file or directory each external mount of a dump is restored from. */
export function externalMountsAtRestore(
  spec: Spec,
  bundlePath: string,
  cgroupPaths: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries([
    ...hostMounts(spec, cgroupPaths),
    // Keyed by destination: the restoring bundle's sources, wherever it is.
    ...bindMounts(spec).map((m): [string, string] => [m.destination, resolve(bundlePath, m.source ?? '')]),
  ]);
}
