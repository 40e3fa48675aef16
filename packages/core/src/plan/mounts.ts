import { statSync } from 'node:fs';
import { isAbsolute, posix, relative, resolve } from 'node:path';

import { type InitOp, protocol } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import type { SpecMount } from '../spec/types.js';
import { MountAttr, parseMountOptions, REMOUNT_ATTRS } from './mount-options.js';

export interface MountContext {
  /** The bundle directory, against which a relative source resolves. */
  bundle: string;
  /** The rootfs as a host path: a source inside it is resolved inside the root. */
  rootfs: string;
  /** The id map of an id-mapped bind (the n-th idmapUserns op, whose source was opened then), or 0. */
  userns: number;
}

export interface MountPlan {
  ops: Array<[InitOp, string]>;
  /** A read-only /dev: mounted writable, for /dev/pts and the devices, and made read-only later. */
  readonlyLater?: string;
}

/** A path in the container, absolute and normalized, without a trailing slash. */
export function cleanContainerPath(path: string): string {
  const clean = posix.normalize(`/${path}`);
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

/** A bind mount's source as a host path. */
export function bindSource(mount: SpecMount, index: number, bundle: string): string {
  if (!mount.source) throw new InvalidConfigError(`mounts[${index}].source`, 'a bind mount needs a source');
  return isAbsolute(mount.source) ? mount.source : resolve(bundle, mount.source);
}

export const isBindMount = (mount: SpecMount) =>
  mount.type === 'bind' || (mount.options ?? []).some((option) => option === 'bind' || option === 'rbind');

/**
 * The ops of one of the config's mounts (not a cgroup mount). The target is made where it is
 * missing by corral-init itself, inside the root, when the mount happens: after the earlier
 * mounts that may hold it, and through a dangling symlink to where it points, as runc does.
 */
export function mountOps(mount: SpecMount, index: number, context: MountContext): MountPlan {
  const path = `mounts[${index}]`;
  const target = cleanContainerPath(mount.destination);
  const type = mount.type ?? '';
  const options = parseMountOptions(mount.options ?? [], path);
  // /dev/pts and the device nodes go into /dev after it is mounted; runc makes it read-only last.
  const readonlyLater = target === '/dev' && options.attrSet & MountAttr.readonly ? target : undefined;
  if (readonlyLater) options.attrSet &= ~MountAttr.readonly;
  const describe = (what: string) => `${what} on ${target} (${path})`;

  if (options.bind || type === 'bind') {
    const hostSource = bindSource(mount, index, context.bundle);
    const inRoot = hostSource === context.rootfs || hostSource.startsWith(`${context.rootfs}/`);
    let source = hostSource;
    let flags: number = protocol.BindFlags.makeTarget;
    if (options.recursiveBind) flags |= protocol.BindFlags.recursive;
    if (inRoot && !context.userns) {
      // Maybe made by an earlier mount: looked for in the root when this one is made.
      source = `/${relative(context.rootfs, hostSource)}`;
      flags |= protocol.BindFlags.sourceInRoot;
    } else {
      try {
        statSync(hostSource);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new InvalidConfigError(`${path}.source`, `cannot bind ${hostSource}: ${code}`, {
          cause: error,
        });
      }
    }
    // Attributes the options name are set as a remount sets them: what they do not name of
    // ro, nosuid, nodev and noexec is cleared, unless the kernel locks it (a user namespace).
    const named = options.attrSet | options.attrClear;
    const op: InitOp = {
      op: 'mountBind',
      source,
      target,
      flags,
      attrSet: options.attrSet,
      attrClear: options.attrClear,
      attrReset: named ? REMOUNT_ATTRS & ~named : 0n,
      recursiveSet: options.recursiveSet,
      recursiveClear: options.recursiveClear,
      propagation: options.propagation,
      userns: context.userns,
    };
    return { ops: [[op, describe(`bind ${hostSource}`)]], readonlyLater };
  }

  if (!type) throw new InvalidConfigError(`${path}.type`, 'is required for a mount that is not a bind mount');
  if (options.idmap) throw new InvalidConfigError(`${path}.options`, 'only a bind mount can be id-mapped');
  let flags: number = protocol.MountFlags.makeDir;
  // A tmpfs over a directory takes its mode; tmpcopyup fills it with what it covers (runc's).
  if (type === 'tmpfs') flags |= protocol.MountFlags.keepMode;
  if (type === 'tmpfs' && options.copyUp) flags |= protocol.MountFlags.copyUp;
  // Never through a symlink: "filesystem "proc" must be mounted on ordinary directory".
  if (type === 'proc' || type === 'sysfs') flags |= protocol.MountFlags.realDir;
  const op: InitOp = {
    op: 'mountFs',
    fstype: type,
    source: mount.source ?? '',
    target,
    // A new mount is a single one: the r- forms mean the same on it.
    attrSet: (options.attrSet & ~options.recursiveClear) | options.recursiveSet,
    propagation: options.propagation,
    flags,
    options: options.fsOptions,
    tryOptions: options.tryOptions,
  };
  return { ops: [[op, describe(`mount ${type}`)]], readonlyLater };
}
