import { namespaceType } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import type { IdMapping, NamespaceType, Spec } from '../spec/types.js';

/** CLONE_NEW* flags (linux/sched.h). */
export const NAMESPACE_FLAGS: Record<NamespaceType, bigint> = {
  mount: 0x00020000n,
  uts: 0x04000000n,
  ipc: 0x08000000n,
  user: 0x10000000n,
  pid: 0x20000000n,
  network: 0x40000000n,
  cgroup: 0x02000000n,
  time: 0x00000080n,
};

/** /proc/PID/ns names of the namespace types, which are also what an nsfs file links to. */
export const NS_FILES: Record<NamespaceType, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

/**
 * The order namespaces are joined in. The runtime runs as root, which may join any namespace
 * while it is still in the host's user namespace but only those owned by a user namespace once
 * it has entered one: so everything else is joined first (a namespace of `ip netns add` stays
 * joinable beside a user namespace), then the user namespace, and the mount namespace last,
 * because joining it changes what later paths resolve to.
 */
export const JOIN_ORDER: NamespaceType[] = [
  'ipc',
  'uts',
  'network',
  'pid',
  'cgroup',
  'time',
  'user',
  'mount',
];

export function byJoinOrder(a: NamespaceType, b: NamespaceType): number {
  return JOIN_ORDER.indexOf(a) - JOIN_ORDER.indexOf(b);
}

/** Clocks a time namespace can shift (runtime-spec linux.timeOffsets), by their clockid_t. */
export const TIME_CLOCKS = { monotonic: 1, boottime: 7 } as const;

/** The kernel's limit of lines in uid_map and gid_map. */
const MAX_MAPPING_LINES = 340;
const ID_LIMIT = 2 ** 32;

export function findNamespace(spec: Spec, type: NamespaceType): { path?: string } | undefined {
  return (spec.linux?.namespaces ?? []).find((ns) => ns.type === type);
}

/** Whether the container gets a user namespace of its own, made for it. */
export function createsUserNamespace(spec: Spec): boolean {
  const user = findNamespace(spec, 'user');
  return user !== undefined && !user.path;
}

/** Maps a container id to the host, or undefined when no range covers it. */
export function mapToHost(mappings: readonly IdMapping[], id: number): number | undefined {
  const range = mappings.find((m) => id >= m.containerID && id < m.containerID + m.size);
  return range && range.hostID + (id - range.containerID);
}

function checkMappings(mappings: readonly IdMapping[], path: string): void {
  if (mappings.length === 0) throw new InvalidConfigError(path, 'must map at least one range');
  if (mappings.length > MAX_MAPPING_LINES)
    throw new InvalidConfigError(
      path,
      `has ${mappings.length} ranges; the kernel takes at most ${MAX_MAPPING_LINES}`,
    );
  mappings.forEach((m, i) => {
    if (m.size === 0) throw new InvalidConfigError(`${path}[${i}].size`, 'must not be 0');
    if (m.containerID + m.size > ID_LIMIT || m.hostID + m.size > ID_LIMIT)
      throw new InvalidConfigError(`${path}[${i}]`, 'the range runs past the last id (4294967295)');
    for (const [j, other] of mappings.slice(0, i).entries()) {
      const overlaps = (a: number, b: number) => a < b + other.size && b < a + m.size;
      if (overlaps(m.containerID, other.containerID))
        throw new InvalidConfigError(`${path}[${i}]`, `its container ids overlap ${path}[${j}]`);
      if (overlaps(m.hostID, other.hostID))
        throw new InvalidConfigError(`${path}[${i}]`, `its host ids overlap ${path}[${j}]`);
    }
  });
  if (mapToHost(mappings, 0) === undefined)
    throw new InvalidConfigError(
      path,
      'must map container id 0: the container starts as root of its user namespace',
    );
}

/**
 * The rules between linux.namespaces, the id mappings and the time offsets that the schema
 * alone does not say. Pure: reads no file.
 */
export function checkNamespaceConfig(spec: Spec): void {
  const linux = spec.linux ?? {};
  const user = findNamespace(spec, 'user');
  const hasMappings = linux.uidMappings !== undefined || linux.gidMappings !== undefined;
  if (user && !user.path) {
    if (!linux.uidMappings)
      throw new InvalidConfigError('linux.uidMappings', 'a new user namespace needs uid mappings');
    if (!linux.gidMappings)
      throw new InvalidConfigError('linux.gidMappings', 'a new user namespace needs gid mappings');
    checkMappings(linux.uidMappings, 'linux.uidMappings');
    checkMappings(linux.gidMappings, 'linux.gidMappings');
    const process = spec.process!;
    if (mapToHost(linux.uidMappings, process.user.uid) === undefined)
      throw new InvalidConfigError('process.user.uid', `uid ${process.user.uid} is not in linux.uidMappings`);
    if (mapToHost(linux.gidMappings, process.user.gid) === undefined)
      throw new InvalidConfigError('process.user.gid', `gid ${process.user.gid} is not in linux.gidMappings`);
    for (const [i, gid] of (process.user.additionalGids ?? []).entries()) {
      if (mapToHost(linux.gidMappings, gid) === undefined)
        throw new InvalidConfigError(
          `process.user.additionalGids[${i}]`,
          `gid ${gid} is not in linux.gidMappings`,
        );
    }
  } else if (hasMappings) {
    const field = linux.uidMappings !== undefined ? 'linux.uidMappings' : 'linux.gidMappings';
    throw new InvalidConfigError(
      field,
      user
        ? 'a joined user namespace keeps its own mappings; remove them'
        : 'id mappings need a new user namespace in linux.namespaces',
    );
  }
  if (linux.timeOffsets !== undefined) {
    const time = findNamespace(spec, 'time');
    if (!time || time.path)
      throw new InvalidConfigError(
        'linux.timeOffsets',
        time
          ? 'a joined time namespace keeps its own offsets'
          : 'time offsets need a time namespace in linux.namespaces',
      );
  }
}

/**
 * Checks that each linux.namespaces[i].path is a namespace of the type it claims, before
 * anything is created (the kernel would only say EINVAL at setns, after the state exists).
 */
export function checkNamespacePaths(spec: Spec): void {
  for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
    if (!ns.path) continue;
    const field = `linux.namespaces[${i}].path`;
    let type: number;
    try {
      type = namespaceType(ns.path);
    } catch (error) {
      throw new InvalidConfigError(
        field,
        `cannot open ${ns.path}: ${(error as NodeJS.ErrnoException).code}`,
        {
          cause: error,
        },
      );
    }
    if (type === 0) throw new InvalidConfigError(field, `${ns.path} is not a namespace file`);
    if (BigInt(type) !== NAMESPACE_FLAGS[ns.type]) {
      const actual =
        Object.entries(NAMESPACE_FLAGS).find(([, flag]) => flag === BigInt(type))?.[0] ?? String(type);
      throw new InvalidConfigError(field, `${ns.path} is a ${actual} namespace, not a ${ns.type} namespace`);
    }
  }
}

/** The text of a uid_map or gid_map: the kernel takes it in one write. */
export function idMapText(mappings: readonly IdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}
