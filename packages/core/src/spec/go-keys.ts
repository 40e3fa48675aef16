/**
 * Field names as runc's Go decoder reads them: encoding/json matches an object key to a struct
 * field exactly if it can, else case-insensitively, so `"CPU": {"Shares": 512}` is
 * linux.resources.cpu.shares to runc. Only keys that name fields fold; maps (rdma, unified)
 * keep their keys, which are data.
 */

/** A struct's fields, each with the shape of its value: a struct, a list of one, or a plain value. */
interface Struct {
  [field: string]: Shape;
}
type Shape = Struct | { list: Struct } | null;

const DEVICE: Struct = { allow: null, type: null, major: null, minor: null, access: null };
const THROTTLE: Struct = { major: null, minor: null, rate: null };

/** linux.resources (the runtime spec's LinuxResources). */
export const RESOURCES: Struct = {
  devices: { list: DEVICE },
  memory: {
    limit: null,
    reservation: null,
    swap: null,
    kernel: null,
    kernelTCP: null,
    swappiness: null,
    disableOOMKiller: null,
    useHierarchy: null,
    checkBeforeUpdate: null,
  },
  cpu: {
    shares: null,
    quota: null,
    burst: null,
    period: null,
    realtimeRuntime: null,
    realtimePeriod: null,
    cpus: null,
    mems: null,
    idle: null,
  },
  pids: { limit: null },
  blockIO: {
    weight: null,
    leafWeight: null,
    weightDevice: { list: { major: null, minor: null, weight: null, leafWeight: null } },
    throttleReadBpsDevice: { list: THROTTLE },
    throttleWriteBpsDevice: { list: THROTTLE },
    throttleReadIOPSDevice: { list: THROTTLE },
    throttleWriteIOPSDevice: { list: THROTTLE },
  },
  hugepageLimits: { list: { pageSize: null, limit: null } },
  network: { classID: null, priorities: { list: { name: null, priority: null } } },
  rdma: null,
  unified: null,
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Go decodes a second key for the same struct field into the value the first one made. */
function merge(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  const out = { ...into };
  for (const [key, value] of Object.entries(from)) {
    const existing = out[key];
    out[key] = isObject(existing) && isObject(value) ? merge(existing, value) : value;
  }
  return out;
}

/** `value` with the keys of `struct`'s fields spelled as the struct spells them. */
export function foldKeys(value: unknown, struct: Struct): unknown {
  if (!isObject(value)) return value;
  const fields = Object.keys(struct);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const field = fields.includes(key) ? key : fields.find((f) => f.toLowerCase() === key.toLowerCase());
    if (field === undefined) {
      // Not a field: kept as it is (the validators decide what an unknown key means).
      out[key] = item;
      continue;
    }
    const shape = struct[field] ?? null;
    let folded = item;
    if (shape !== null && 'list' in shape)
      folded = Array.isArray(item) ? item.map((entry) => foldKeys(entry, shape.list as Struct)) : item;
    else if (shape !== null) folded = foldKeys(item, shape);
    const existing = out[field];
    out[field] =
      shape !== null && !('list' in shape) && isObject(existing) && isObject(folded)
        ? merge(existing, folded)
        : folded;
  }
  return out;
}
