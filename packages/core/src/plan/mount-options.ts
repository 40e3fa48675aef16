import { InvalidConfigError } from '../errors.js';

// mount_setattr(2) / fsmount(2) attribute bits (linux/mount.h).
export const MountAttr = {
  readonly: 0x1n,
  nosuid: 0x2n,
  nodev: 0x4n,
  noexec: 0x8n,
  atimeMask: 0x70n,
  relatime: 0x0n,
  noatime: 0x10n,
  strictatime: 0x20n,
  nodiratime: 0x80n,
  nosymfollow: 0x200000n,
} as const;

// Propagation types (MS_* in linux/mount.h) as mount_setattr takes them.
export const Propagation = {
  unbindable: 1 << 17,
  private: 1 << 18,
  slave: 1 << 19,
  shared: 1 << 20,
} as const;
export const MS_REC = 0x4000;

/** What a mount's `options` list means once sorted into the kernel's separate knobs. */
export interface ParsedMountOptions {
  bind: boolean;
  recursiveBind: boolean;
  /** Attributes to set and clear; `recursiveAttrs` applies them to every mount of an rbind. */
  attrSet: bigint;
  attrClear: bigint;
  recursiveAttrs: boolean;
  propagation: number;
  /** Options for the filesystem itself (fsconfig): `mode=755`, `size=64k`, `newinstance`, `sync`. */
  fsOptions: string[];
}

// Options that are mount attributes: name -> [set, clear]. Atime options replace the whole
// atime field, so they clear its mask.
const ATTRIBUTES: Record<string, [bigint, bigint]> = {
  ro: [MountAttr.readonly, 0n],
  rw: [0n, MountAttr.readonly],
  nosuid: [MountAttr.nosuid, 0n],
  suid: [0n, MountAttr.nosuid],
  nodev: [MountAttr.nodev, 0n],
  dev: [0n, MountAttr.nodev],
  noexec: [MountAttr.noexec, 0n],
  exec: [0n, MountAttr.noexec],
  noatime: [MountAttr.noatime, MountAttr.atimeMask],
  relatime: [MountAttr.relatime, MountAttr.atimeMask],
  strictatime: [MountAttr.strictatime, MountAttr.atimeMask],
  atime: [0n, MountAttr.noatime],
  nodiratime: [MountAttr.nodiratime, 0n],
  diratime: [0n, MountAttr.nodiratime],
  nosymfollow: [MountAttr.nosymfollow, 0n],
  symfollow: [0n, MountAttr.nosymfollow],
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: Propagation.private,
  rprivate: Propagation.private,
  slave: Propagation.slave,
  rslave: Propagation.slave,
  shared: Propagation.shared,
  rshared: Propagation.shared,
  unbindable: Propagation.unbindable,
  runbindable: Propagation.unbindable,
};

// Accepted and meaningless here: the mount is always new, and these are historic defaults.
const IGNORED = new Set(['defaults', 'async', 'nomand', 'nolazytime', 'remount', 'loud', 'silent']);

/** Every option name the parser gives a meaning to (filesystem options pass through as well). */
export const KNOWN_MOUNT_OPTIONS: ReadonlySet<string> = new Set([
  'bind',
  'rbind',
  ...Object.keys(ATTRIBUTES),
  ...Object.keys(ATTRIBUTES).map((name) => `r${name}`),
  ...Object.keys(PROPAGATION_OPTIONS),
  ...IGNORED,
]);

export function parseMountOptions(options: readonly string[], path: string): ParsedMountOptions {
  const parsed: ParsedMountOptions = {
    bind: false,
    recursiveBind: false,
    attrSet: 0n,
    attrClear: 0n,
    recursiveAttrs: false,
    propagation: 0,
    fsOptions: [],
  };
  options.forEach((option, i) => {
    if (option === 'bind' || option === 'rbind') {
      parsed.bind = true;
      parsed.recursiveBind ||= option === 'rbind';
      return;
    }
    // rro, rnosuid and the like: the attribute on every mount of a recursive bind.
    const recursive =
      option.length > 1 && option.startsWith('r') && ATTRIBUTES[option.slice(1)] !== undefined;
    const attribute = ATTRIBUTES[recursive ? option.slice(1) : option];
    if (attribute) {
      const [set, clear] = attribute;
      parsed.attrSet = (parsed.attrSet & ~clear) | set;
      parsed.attrClear = (parsed.attrClear & ~set) | clear;
      parsed.recursiveAttrs ||= recursive;
      return;
    }
    const propagation = PROPAGATION_OPTIONS[option];
    if (propagation !== undefined) {
      parsed.propagation = propagation;
      return;
    }
    if (IGNORED.has(option)) return;
    if (option === '') throw new InvalidConfigError(`${path}.options[${i}]`, 'is empty');
    parsed.fsOptions.push(option);
  });
  // Atime is one field: a cleared bit inside the mask only means "replace the field".
  if (parsed.attrClear & MountAttr.atimeMask) parsed.attrClear |= MountAttr.atimeMask;
  // A bind mount has no superblock of its own to configure: like mount(2), ignore data options.
  if (parsed.bind) parsed.fsOptions = [];
  return parsed;
}
