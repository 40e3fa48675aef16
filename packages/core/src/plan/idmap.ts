import type { InitOp } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import type { Spec } from '../spec/types.js';

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

const isBind = (mount: { type?: string; options?: string[] }) =>
  mount.type === 'bind' || (mount.options ?? []).some((option) => option === 'bind' || option === 'rbind');

/**
 * Id-mapped bind mounts (mounts[i].uidMappings and gidMappings): for each, the op that makes a
 * user namespace holding its maps, which corral-init runs before the clone while it is still
 * the host's root. The maps are written as given, as a user namespace's: containerID is the id
 * on the source filesystem, hostID the id seen through the mount. Their order is the userns
 * index the mount's bind op refers to (from 1).
 */
export function idmapUsernsOps(spec: Spec): Array<{ mountIndex: number; op: InitOp; why: string }> {
  const ops: Array<{ mountIndex: number; op: InitOp; why: string }> = [];
  (spec.mounts ?? []).forEach((mount, i) => {
    const raw = mount as { uidMappings?: unknown; gidMappings?: unknown };
    if (raw.uidMappings === undefined && raw.gidMappings === undefined) return;
    const path = `mounts[${i}]`;
    if (!isBind(mount))
      throw new InvalidConfigError(`${path}.uidMappings`, 'only a bind mount can be id-mapped');
    const uid = mappings(raw.uidMappings, `${path}.uidMappings`);
    const gid = mappings(raw.gidMappings, `${path}.gidMappings`);
    const triples = (list: IdMapping[]) => list.flatMap((m) => [m.containerID, m.hostID, m.size]);
    ops.push({
      mountIndex: i,
      op: { op: 'idmapUserns', uidLines: uid.length, maps: [...triples(uid), ...triples(gid)] },
      why: `make the id map of ${mount.destination} (${path}.uidMappings, ${path}.gidMappings)`,
    });
  });
  return ops;
}
