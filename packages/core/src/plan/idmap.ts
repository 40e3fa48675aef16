import { type InitOp, protocol } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import type { Spec, SpecMount } from '../spec/types.js';
import { parseMountOptions } from './mount-options.js';

interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

const isUint32 = (value: unknown) =>
  Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff;

function mappings(value: unknown, path: string): IdMapping[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new InvalidConfigError(path, 'must be a non-empty array of {containerID, hostID, size}');
  return value.map((raw, i) => {
    const mapping = raw as Partial<IdMapping> | null;
    for (const field of ['containerID', 'hostID', 'size'] as const) {
      if (!isUint32(mapping?.[field]))
        throw new InvalidConfigError(`${path}[${i}].${field}`, 'must be an integer from 0 to 4294967295');
    }
    const { containerID, hostID, size } = mapping as IdMapping;
    if (size === 0 || containerID + size > 2 ** 32 || hostID + size > 2 ** 32)
      throw new InvalidConfigError(
        `${path}[${i}].size`,
        'must be at least 1 and keep both ranges below 2^32',
      );
    return { containerID, hostID, size };
  });
}

/**
 * Id-mapped bind mounts: those with uidMappings and gidMappings of their own, or with the
 * `idmap` or `ridmap` option, which without maps of their own take the container's user
 * namespace's (as runc 1.2 and later). For each, the ops corral-init runs before the clone,
 * while it is still the host's root: a user namespace holding the maps, written as a user
 * namespace's (containerID is the id on the source filesystem, hostID the id seen through the
 * mount), and the source cloned and id-mapped by it (on every mount of it for ridmap). Their
 * order is the userns index the mount's bind op refers to (from 1).
 */
export function idmapUsernsOps(
  spec: Spec,
  sourceOf: (mount: SpecMount) => string,
): Array<{ mountIndex: number; ops: Array<{ op: InitOp; why: string }> }> {
  const result: Array<{ mountIndex: number; ops: Array<{ op: InitOp; why: string }> }> = [];
  (spec.mounts ?? []).forEach((mount, i) => {
    const raw = mount as { uidMappings?: unknown; gidMappings?: unknown };
    const path = `mounts[${i}]`;
    const options = parseMountOptions(mount.options ?? [], path);
    const own = raw.uidMappings !== undefined || raw.gidMappings !== undefined;
    if (!own && !options.idmap) return;
    if (!(options.bind || mount.type === 'bind')) {
      const field = own ? `${path}.uidMappings` : `${path}.options`;
      throw new InvalidConfigError(field, 'only a bind mount can be id-mapped');
    }
    let uid: IdMapping[];
    let gid: IdMapping[];
    if (own) {
      uid = mappings(raw.uidMappings, `${path}.uidMappings`);
      gid = mappings(raw.gidMappings, `${path}.gidMappings`);
    } else {
      const userns = (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'user');
      if (!userns || !spec.linux?.uidMappings?.length || !spec.linux?.gidMappings?.length)
        throw new InvalidConfigError(
          `${path}.options`,
          `${options.idmap} needs uidMappings and gidMappings, of the mount or of the container's user namespace`,
        );
      uid = mappings(spec.linux.uidMappings, 'linux.uidMappings');
      gid = mappings(spec.linux.gidMappings, 'linux.gidMappings');
    }
    const triples = (list: IdMapping[]) => list.flatMap((m) => [m.containerID, m.hostID, m.size]);
    const userns = result.length + 1;
    const flags =
      (options.recursiveBind ? protocol.BindFlags.recursive : 0) |
      (options.idmap === 'ridmap' ? protocol.BindFlags.idmapRecursive : 0);
    const source = sourceOf(mount);
    result.push({
      mountIndex: i,
      ops: [
        {
          op: { op: 'idmapUserns', uidLines: uid.length, maps: [...triples(uid), ...triples(gid)] },
          why: `make the id map of ${mount.destination} (${path})`,
        },
        {
          op: { op: 'openMountSource', source, flags, userns },
          why: `open ${source} id-mapped, for ${mount.destination} (${path})`,
        },
      ],
    });
  });
  return result;
}
