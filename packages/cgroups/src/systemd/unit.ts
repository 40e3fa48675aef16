import { invalidConfig } from '../errors.js';

const FIELD = 'linux.cgroupsPath';

/** The prefix of the scope when the config has no cgroupsPath (runc's is "runc", crun's "crun"). */
export const DEFAULT_SCOPE_PREFIX = 'corral';
/** Where a container goes when its cgroupsPath names no slice, as with runc as root. */
export const DEFAULT_SLICE = 'system.slice';

/** The transient unit a container's processes live in, and the slice it goes under. */
export interface SystemdUnit {
  /** `prefix-name.scope`, or the name itself when it is a slice. */
  name: string;
  /** The parent slice's unit name (`system.slice`, `machine-libpod.slice`, `-.slice`). */
  slice: string;
  kind: 'scope' | 'slice';
  /** The unit's cgroup below each hierarchy's root: the slice's nested path, then the unit. */
  cgroup: string;
  /** runc's description, "libcontainer container NAME", under our own name. */
  description: string;
}

// systemd's unit_name_is_valid(): these characters only, at most 255 of them.
const UNIT_NAME_CHARS = /^[A-Za-z0-9:_.-]+$/;
const UNIT_NAME_MAX = 255;

function checkUnitName(unit: string, what: string): void {
  if (unit.length > UNIT_NAME_MAX) {
    throw invalidConfig(FIELD, `${what} "${unit}" is longer than systemd's ${UNIT_NAME_MAX} characters`);
  }
  if (!UNIT_NAME_CHARS.test(unit)) {
    throw invalidConfig(
      FIELD,
      `${what} "${unit}" is not a valid systemd unit name (letters, digits and ":-_.\\" only)`,
    );
  }
}

/**
 * A slice's cgroup path as systemd nests it: a dash in the name is a level, so
 * `machine-libpod.slice` lives at `/machine.slice/machine-libpod.slice` and `-.slice` is the root.
 */
export function expandSlice(slice: string): string {
  const invalid = (why: string) => invalidConfig(FIELD, `"${slice}" is not a valid slice name: ${why}`);
  if (!slice.endsWith('.slice') || slice === '.slice') throw invalid('it must end in ".slice"');
  if (slice.includes('/')) throw invalid('it cannot contain "/"');
  const name = slice.slice(0, -'.slice'.length);
  if (name === '-') return '/';
  let path = '';
  let prefix = '';
  for (const component of name.split('-')) {
    if (component === '') throw invalid('it cannot start or end with "-", nor have "--"');
    path += `/${prefix}${component}.slice`;
    prefix += `${component}-`;
  }
  return path;
}

/**
 * Reads cgroupsPath as runc's systemd driver does: `slice:prefix:name`, the slice defaulting to
 * system.slice; an empty cgroupsPath means `:corral:ID`. The unit is `prefix-name.scope`, unless
 * the name is itself a slice (as kubelet asks for its pod slices).
 */
export function systemdUnitFor(
  cgroupsPath: string | undefined,
  containerId: string | undefined,
): SystemdUnit {
  let slice = '';
  let prefix = DEFAULT_SCOPE_PREFIX;
  let name = containerId ?? '';
  if (cgroupsPath) {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3) {
      throw invalidConfig(
        FIELD,
        `expected "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)}`,
      );
    }
    [slice, prefix, name] = parts as [string, string, string];
  } else if (!name) {
    throw invalidConfig(FIELD, 'is empty and no container id was given');
  }
  slice ||= DEFAULT_SLICE;
  const kind = name.endsWith('.slice') ? 'slice' : 'scope';
  const unit = kind === 'slice' ? name : `${prefix}-${name}.scope`;
  const slicePath = expandSlice(slice);
  checkUnitName(slice, 'the slice');
  checkUnitName(unit, 'the unit');
  if (kind === 'slice') expandSlice(unit);
  return {
    name: unit,
    slice,
    kind,
    cgroup: `${slicePath === '/' ? '' : slicePath}/${unit}`,
    description: `corral container ${name}`,
  };
}
