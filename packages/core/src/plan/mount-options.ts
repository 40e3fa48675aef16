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

/**
 * What a bind mount's remount sets anew from its options (`mount --bind -o remount,...`): each
 * of these not named is cleared. The atime field is kept, as the kernel keeps it.
 */
export const REMOUNT_ATTRS =
  MountAttr.readonly |
  MountAttr.nosuid |
  MountAttr.nodev |
  MountAttr.noexec |
  MountAttr.nodiratime |
  MountAttr.nosymfollow;

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
  /** Attributes to set and clear on the mount itself. */
  attrSet: bigint;
  attrClear: bigint;
  /** Attributes of the r- forms (rro, rnosuid...), for every mount of a recursive bind. */
  recursiveSet: bigint;
  recursiveClear: bigint;
  propagation: number;
  /** `idmap` or `ridmap`: an id-mapped bind, on every mount of it for ridmap. */
  idmap?: 'idmap' | 'ridmap';
  /** `tmpcopyup`: the target's contents are copied into the new tmpfs. */
  copyUp: boolean;
  /** Options for the filesystem itself (fsconfig): `mode=755`, `size=64k`, `newinstance`, `sync`. */
  fsOptions: string[];
  /** Options runc passes as mount flags (acl, iversion): given where the filesystem takes them. */
  tryOptions: string[];
}

// Options that are mount attributes: name -> [set, clear]. Atime options replace the whole
// atime field, so they clear its mask; norelatime and nostrictatime, which only drop a flag in
// mount(2), leave the kernel's default, relatime.
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
  norelatime: [MountAttr.relatime, MountAttr.atimeMask],
  strictatime: [MountAttr.strictatime, MountAttr.atimeMask],
  nostrictatime: [MountAttr.relatime, MountAttr.atimeMask],
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
// Superblock flags, which fsconfig takes by these names.
const SUPERBLOCK_FLAGS = ['sync', 'dirsync', 'lazytime', 'mand'];
// Flags of mount(2) that only some filesystems have a parameter for.
const TRY_OPTIONS = new Set(['acl', 'noacl', 'iversion', 'noiversion']);

// Filesystem options to current runc (runc issue 3738: MS_POSIXACL is no mount flag), which
// `features` no longer lists; corral still gives them only where the filesystem takes them.
const FILESYSTEM_ACL = new Set(['acl', 'noacl']);

/**
 * Every option name the parser gives a meaning to, as `features` lists them (filesystem options
 * pass through as well).
 */
export const KNOWN_MOUNT_OPTIONS: ReadonlySet<string> = new Set([
  'bind',
  'rbind',
  'idmap',
  'ridmap',
  'tmpcopyup',
  ...Object.keys(ATTRIBUTES),
  ...Object.keys(ATTRIBUTES).map((name) => `r${name}`),
  ...Object.keys(PROPAGATION_OPTIONS),
  ...IGNORED,
  ...SUPERBLOCK_FLAGS,
  ...[...TRY_OPTIONS].filter((name) => !FILESYSTEM_ACL.has(name)),
]);

export function parseMountOptions(options: readonly string[], path: string): ParsedMountOptions {
  const parsed: ParsedMountOptions = {
    bind: false,
    recursiveBind: false,
    attrSet: 0n,
    attrClear: 0n,
    recursiveSet: 0n,
    recursiveClear: 0n,
    propagation: 0,
    copyUp: false,
    fsOptions: [],
    tryOptions: [],
  };
  options.forEach((option, i) => {
    if (option === 'bind' || option === 'rbind') {
      parsed.bind = true;
      parsed.recursiveBind ||= option === 'rbind';
      return;
    }
    if (option === 'idmap' || option === 'ridmap') {
      parsed.idmap = option;
      return;
    }
    if (option === 'tmpcopyup') {
      parsed.copyUp = true;
      return;
    }
    // rro, rnosuid and the like: the attribute on every mount of a recursive bind.
    const recursive =
      option.length > 1 && option.startsWith('r') && ATTRIBUTES[option.slice(1)] !== undefined;
    const attribute = ATTRIBUTES[recursive ? option.slice(1) : option];
    if (attribute) {
      const [set, clear] = attribute;
      if (recursive) {
        parsed.recursiveSet = (parsed.recursiveSet & ~clear) | set;
        parsed.recursiveClear = (parsed.recursiveClear & ~set) | clear;
      } else {
        parsed.attrSet = (parsed.attrSet & ~clear) | set;
        parsed.attrClear = (parsed.attrClear & ~set) | clear;
      }
      return;
    }
    const propagation = PROPAGATION_OPTIONS[option];
    if (propagation !== undefined) {
      parsed.propagation = propagation;
      return;
    }
    if (IGNORED.has(option)) return;
    if (option === '') throw new InvalidConfigError(`${path}.options[${i}]`, 'is empty');
    if (TRY_OPTIONS.has(option)) parsed.tryOptions.push(option);
    else parsed.fsOptions.push(option);
  });
  // Atime is one field: a cleared bit inside the mask only means "replace the field".
  if (parsed.attrClear & MountAttr.atimeMask) parsed.attrClear |= MountAttr.atimeMask;
  if (parsed.recursiveClear & MountAttr.atimeMask) parsed.recursiveClear |= MountAttr.atimeMask;
  // A bind mount has no superblock of its own to configure: like mount(2), ignore data options.
  if (parsed.bind) {
    parsed.fsOptions = [];
    parsed.tryOptions = [];
  }
  return parsed;
}
