import { statSync } from 'node:fs';
import { isAbsolute, posix, resolve } from 'node:path';

import { type InitOp, protocol } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import type { NamespaceType, Spec, SpecMount, SpecProcess } from '../spec/types.js';
import { capabilityMask } from './capabilities.js';
import { idmapUsernsOps } from './idmap.js';
import { MountAttr, MS_REC, Propagation, parseMountOptions } from './mount-options.js';
import { byJoinOrder, checkNamespaceConfig, findNamespace, NAMESPACE_FLAGS } from './namespaces.js';
import { initialAffinityOp, processAttributeOps } from './process-attributes.js';
import { RLIMITS } from './rlimits.js';
import { compileSeccomp, type SeccompStep } from './seccomp.js';
import { compileSysctls } from './sysctl.js';
import { refuseUnsupported, refuseUnsupportedProcess } from './unsupported.js';

/**
 * What corral-init runs, op by op, with a description of each op in the config's terms so
 * that a failure reads `mount proc on /proc (mounts[0]): EPERM`.
 */
export interface InitPlan {
  ops: InitOp[];
  describe: string[];
  /** Index of the clone op: failures before it happen in corral-init, after it in the child. */
  cloneIndex: number;
  /** Where the seccomp notification listener goes, once corral-init sends it. */
  seccompListener?: { path: string; metadata: string };
}

export interface CompileOptions {
  /** The bundle directory: relative root and bind sources resolve against it. */
  bundle: string;
  /** chroot instead of pivot_root (runc's --no-pivot). */
  noPivot?: boolean;
  /** For `create`: wait on this FIFO before exec, until `start` opens it. */
  execFifo?: string;
  /** Descriptors from 3 up that the process keeps (runc's --preserve-fds, LISTEN_FDS). */
  preserveFds?: number;
  /** The name of a new session keyring for the container (none: keep the runtime's). */
  sessionKeyring?: string;
  /**
   * The runtime is not root (runc's rootless EUID): setgroups is denied to the user namespace it
   * makes, so the runtime's groups stay, and the process stays dumpable until its maps are written.
   */
  rootless?: boolean;
  /** The runtime is in a user namespace: device nodes are bound from the host even without one of the container's own. */
  bindDevices?: boolean;
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

// The devices every container gets (runc's list); config devices are added after them.
const DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

const DEV_SYMLINKS: Array<[target: string, path: string]> = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['pts/ptmx', '/dev/ptmx'],
];

class PlanBuilder {
  readonly ops: InitOp[] = [];
  readonly describe: string[] = [];
  add(op: InitOp, description: string): void {
    this.ops.push(op);
    this.describe.push(description);
  }
  insert(at: number, ops: Array<[InitOp, string]>): void {
    this.ops.splice(at, 0, ...ops.map(([op]) => op));
    this.describe.splice(at, 0, ...ops.map(([, description]) => description));
  }
}

function cleanContainerPath(path: string): string {
  return posix.normalize(`/${path}`);
}

/** The rootfs as an absolute host path. */
export function rootfsPath(spec: Spec, bundle: string): string {
  const root = spec.root!.path;
  return isAbsolute(root) ? root : resolve(bundle, root);
}

/**
 * The namespaces corral-init joins and those the clone creates. A new time namespace is not in
 * the clone: its offsets can be written only before a process enters it, so corral-init
 * unshares it (which moves only its future children), writes them, and the clone enters it.
 */
function addNamespaces(plan: PlanBuilder, spec: Spec, rootless: boolean): void {
  let clone = 0n;
  const join: Array<{ type: NamespaceType; path: string }> = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    if (ns.path) join.push({ type: ns.type, path: ns.path });
    else if (ns.type !== 'time') clone |= NAMESPACE_FLAGS[ns.type];
  }
  join.sort((a, b) => byJoinOrder(a.type, b.type));
  for (const ns of join) {
    const index = spec.linux!.namespaces!.findIndex((n) => n.type === ns.type);
    plan.add(
      { op: 'joinNamespace', nstype: Number(NAMESPACE_FLAGS[ns.type]), path: ns.path },
      `join ${ns.type} namespace ${ns.path} (linux.namespaces[${index}].path)`,
    );
  }
  const time = findNamespace(spec, 'time');
  if (time && !time.path) {
    plan.add({ op: 'unshare', flags: NAMESPACE_FLAGS.time }, 'create the time namespace');
    const offsets = spec.linux?.timeOffsets ?? {};
    const secs = (clock: 'monotonic' | 'boottime') => BigInt.asUintN(64, BigInt(offsets[clock]?.secs ?? 0));
    plan.add(
      {
        op: 'timeOffsets',
        monotonicSecs: secs('monotonic'),
        monotonicNanosecs: offsets.monotonic?.nanosecs ?? 0,
        boottimeSecs: secs('boottime'),
        boottimeNanosecs: offsets.boottime?.nanosecs ?? 0,
      },
      'set the clock offsets (linux.timeOffsets)',
    );
  }
  // The maps of a user's user namespace are written by the same user: /proc/PID of a process
  // that is not dumpable belongs to root.
  if (rootless && clone & NAMESPACE_FLAGS.user)
    plan.add({ op: 'dumpable', value: 1 }, 'let the runtime write the id maps (linux.uidMappings)');
  plan.add({ op: 'clone', flags: clone }, 'start the container process');
}

function has(spec: Spec, type: NamespaceType): boolean {
  return (spec.linux?.namespaces ?? []).some((ns) => ns.type === type);
}

function rootPropagation(spec: Spec): bigint {
  const name = spec.linux?.rootfsPropagation || 'rslave';
  const base = name.replace(/^r/, '') as keyof typeof Propagation;
  // The rootfs needs at least a private or slave root, or mounts would leak to the host.
  return BigInt(Propagation[base] | MS_REC);
}

/** `userns`: the id map of an id-mapped bind mount (the n-th idmapUserns op), or 0. */
function addMount(plan: PlanBuilder, mount: SpecMount, index: number, bundle: string, userns = 0): void {
  const path = `mounts[${index}]`;
  const target = cleanContainerPath(mount.destination);
  const type = mount.type ?? '';
  const options = parseMountOptions(mount.options ?? [], path);

  if (options.bind || type === 'bind') {
    if (!mount.source) throw new InvalidConfigError(`${path}.source`, 'a bind mount needs a source');
    const source = isAbsolute(mount.source) ? mount.source : resolve(bundle, mount.source);
    let isDirectory: boolean;
    try {
      isDirectory = statSync(source).isDirectory();
    } catch (error) {
      throw new InvalidConfigError(
        `${path}.source`,
        `cannot bind ${source}: ${(error as NodeJS.ErrnoException).code}`,
        {
          cause: error,
        },
      );
    }
    if (isDirectory) {
      plan.add({ op: 'mkdir', path: target, mode: 0o755 }, `create ${target} (${path})`);
    } else {
      const parent = posix.dirname(target);
      if (parent !== '/') plan.add({ op: 'mkdir', path: parent, mode: 0o755 }, `create ${parent} (${path})`);
      plan.add({ op: 'mkfile', path: target, mode: 0o644 }, `create ${target} (${path})`);
    }
    plan.add(
      {
        op: 'mountBind',
        source,
        target,
        flags:
          (options.recursiveBind ? protocol.BindFlags.recursive : 0) |
          (options.recursiveAttrs ? protocol.BindFlags.attrRecursive : 0),
        attrSet: options.attrSet,
        attrClear: options.attrClear,
        propagation: options.propagation,
        userns,
      },
      `bind ${source} on ${target} (${path})`,
    );
    return;
  }

  if (type === 'cgroup') {
    // Until the cgroup manager is in place the container sees the host's hierarchy, read-only.
    plan.add({ op: 'mkdir', path: target, mode: 0o755 }, `create ${target} (${path})`);
    plan.add(
      {
        op: 'mountBind',
        source: '/sys/fs/cgroup',
        target,
        flags: protocol.BindFlags.recursive | protocol.BindFlags.attrRecursive,
        attrSet: options.attrSet | MountAttr.readonly,
        attrClear: options.attrClear & ~MountAttr.readonly,
        propagation: options.propagation,
        userns: 0,
      },
      `mount cgroup on ${target} (${path})`,
    );
    return;
  }

  if (!type) throw new InvalidConfigError(`${path}.type`, 'is required for a mount that is not a bind mount');
  plan.add({ op: 'mkdir', path: target, mode: 0o755 }, `create ${target} (${path})`);
  plan.add(
    {
      op: 'mountFs',
      fstype: type,
      source: mount.source ?? '',
      target,
      attrSet: options.attrSet,
      propagation: options.propagation,
      options: options.fsOptions,
    },
    `mount ${type} on ${target} (${path})`,
  );
}

/** Which of the states that GO carries a hook reads: see HOOK_STATES in launch. */
export const HookStateIndex = { createContainer: 0, startContainer: 1 } as const;

/** Hooks that run inside the container, by corral-init. */
function addContainerHooks(plan: PlanBuilder, spec: Spec, kind: 'createContainer' | 'startContainer'): void {
  for (const [i, hook] of (spec.hooks?.[kind] ?? []).entries()) {
    plan.add(
      {
        op: 'runHook',
        path: hook.path,
        args: hook.args?.length ? hook.args : [hook.path],
        env: hook.env ?? [],
        stateIndex: HookStateIndex[kind],
        timeoutMs: BigInt((hook.timeout ?? 0) * 1000),
      },
      `${kind} hook ${hook.path} (hooks.${kind}[${i}])`,
    );
  }
}

/**
 * A device node in /dev. In a user namespace mknod is refused, so (as runc does) the host's
 * device is bind-mounted onto an empty file instead.
 */
function addDevice(
  plan: PlanBuilder,
  device: { path: string; mode: number; major: number; minor: number; uid: number; gid: number },
  inUserNamespace: boolean,
  field: string,
): void {
  const where = field ? ` (${field})` : '';
  if (inUserNamespace) {
    plan.add({ op: 'mkfile', path: device.path, mode: 0 }, `create ${device.path}${where}`);
    plan.add(
      {
        op: 'mountBind',
        source: device.path,
        target: device.path,
        flags: 0,
        attrSet: 0n,
        attrClear: 0n,
        propagation: 0,
        userns: 0,
      },
      `bind the host's ${device.path}${where}`,
    );
    return;
  }
  plan.add({ op: 'mknod', ...device }, `create device ${device.path}${where}`);
}

/** /dev is set up by corral unless the config binds one in from outside. */
function bindsDev(spec: Spec): boolean {
  return (spec.mounts ?? []).some(
    (m) =>
      cleanContainerPath(m.destination) === '/dev' &&
      (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')),
  );
}

/**
 * The device paths that are binds of the host's devices (a container in a user namespace),
 * which a checkpoint must name to CRIU as mounts from outside the container.
 */
export function hostDeviceBinds(spec: Spec): string[] {
  if (!has(spec, 'user') || bindsDev(spec)) return [];
  const configured = (spec.linux?.devices ?? []).map((d) => cleanContainerPath(d.path));
  return [...DEFAULT_DEVICES.map((d) => d.path).filter((p) => !configured.includes(p)), ...configured];
}

function addDevices(plan: PlanBuilder, spec: Spec, bindDevices: boolean): void {
  if (bindsDev(spec)) return;
  const inUserNamespace = bindDevices || has(spec, 'user');
  const configured = spec.linux?.devices ?? [];
  const configuredPaths = new Set(configured.map((d) => cleanContainerPath(d.path)));
  for (const device of DEFAULT_DEVICES) {
    if (configuredPaths.has(device.path)) continue;
    addDevice(plan, { ...device, mode: S_IFCHR | 0o666, uid: 0, gid: 0 }, inUserNamespace, '');
  }
  configured.forEach((device, i) => {
    const path = cleanContainerPath(device.path);
    const kind = device.type === 'b' ? S_IFBLK : device.type === 'p' ? S_IFIFO : S_IFCHR;
    const parent = posix.dirname(path);
    if (parent !== '/dev' && parent !== '/')
      plan.add({ op: 'mkdir', path: parent, mode: 0o755 }, `create ${parent} (linux.devices[${i}])`);
    addDevice(
      plan,
      {
        path,
        mode: kind | ((device.fileMode ?? 0o666) & 0o7777),
        major: device.major ?? 0,
        minor: device.minor ?? 0,
        uid: device.uid ?? 0,
        gid: device.gid ?? 0,
      },
      inUserNamespace,
      `linux.devices[${i}]`,
    );
  });
  for (const [target, path] of DEV_SYMLINKS)
    plan.add({ op: 'symlink', target, path }, `link ${path} to ${target}`);
}

/**
 * Compiles a validated config into the plan corral-init runs for the container's first process.
 * Everything is decided here; corral-init only carries it out.
 */
export function compileInitPlan(spec: Spec, options: CompileOptions): InitPlan {
  const plan = new PlanBuilder();
  const process = spec.process!;
  refuseUnsupported(spec);
  const sysctls = compileSysctls(spec);
  addInitialAffinity(plan, process);
  if (!has(spec, 'mount')) {
    throw new InvalidConfigError(
      'linux.namespaces',
      'a mount namespace is required: corral never mounts on the host',
    );
  }
  checkNamespaceConfig(spec);
  // A joined uts namespace belongs to someone else: naming it would rename them.
  const ownUts = (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'uts' && !ns.path);
  for (const field of ['hostname', 'domainname'] as const) {
    if (spec[field] && !ownUts)
      throw new InvalidConfigError(field, `setting a ${field} needs a uts namespace of the container's own`);
  }

  // Made before the clone, while corral-init is still the host's root.
  const idmaps = idmapUsernsOps(spec);
  for (const { op, why } of idmaps) plan.add(op, why);
  addNamespaces(plan, spec, options.rootless ?? false);
  const cloneIndex = plan.ops.length - 1;
  plan.add({ op: 'waitGo' }, 'wait for the runtime');
  if (plan.ops[cloneIndex - 1]?.op === 'dumpable')
    plan.add({ op: 'dumpable', value: 0 }, 'the id maps are written');
  const rootfs = rootfsPath(spec, options.bundle);
  plan.add({ op: 'rootPropagation', flags: rootPropagation(spec) }, 'set the propagation of /');
  plan.add({ op: 'openRootfs', path: rootfs }, `open the rootfs ${rootfs}`);
  if (options.execFifo) plan.add({ op: 'openExecFifo', path: options.execFifo }, 'open the exec FIFO');
  const becomeRoot = plan.ops.length;
  if (has(spec, 'user')) {
    // The clone keeps the runtime's host credentials, unmapped in the new namespace: they open
    // the runtime's own paths above and the bind sources (which the container's root may not
    // reach), and nothing else. Every mount and file after this is the container root's, on its
    // mapped host ids.
    if (!options.rootless) plan.add({ op: 'setgroups', gids: [] }, "drop the runtime's groups");
    plan.add({ op: 'setgid', gid: 0 }, 'become root of the user namespace (gid 0)');
    plan.add({ op: 'setuid', uid: 0 }, 'become root of the user namespace (uid 0)');
  }
  // Joined as the container's root, who then owns it.
  if (options.sessionKeyring) {
    plan.add({ op: 'joinSessionKeyring', name: options.sessionKeyring }, 'join a session keyring of its own');
  }
  (spec.mounts ?? []).forEach((mount, i) => {
    addMount(plan, mount, i, options.bundle, idmaps.findIndex((idmap) => idmap.mountIndex === i) + 1);
  });
  addDevices(plan, spec, options.bindDevices ?? false);
  addContainerHooks(plan, spec, 'createContainer');
  plan.add(
    options.noPivot ? { op: 'chroot' } : { op: 'pivotRoot' },
    options.noPivot ? 'chroot into the rootfs' : 'pivot_root into the rootfs',
  );
  // addConsole starts the session itself. Without a terminal the init still leads a session
  // of its own, as runc's does: CRIU refuses a tree whose session leader is outside it.
  if (process.terminal) addConsole(plan, process);
  else plan.add({ op: 'setsid' }, 'start a new session');
  // Before the readonly paths: /proc/sys is one of them.
  // The kernel decides what the container's root may set (a user's container owns its own namespaces only).
  for (const { name, value, field } of sysctls)
    plan.add({ op: 'sysctl', name, value }, `set the sysctl ${name} (${field})`);

  for (const [i, path] of (spec.linux?.maskedPaths ?? []).entries()) {
    plan.add({ op: 'maskPath', path }, `mask ${path} (linux.maskedPaths[${i}])`);
  }
  for (const [i, path] of (spec.linux?.readonlyPaths ?? []).entries()) {
    plan.add({ op: 'readonlyPath', path }, `make ${path} read-only (linux.readonlyPaths[${i}])`);
  }
  if (spec.root?.readonly) plan.add({ op: 'remountRootReadonly' }, 'make the root read-only (root.readonly)');
  if (spec.hostname) plan.add({ op: 'sethostname', name: spec.hostname }, `set hostname ${spec.hostname}`);
  if (spec.domainname)
    plan.add({ op: 'setdomainname', name: spec.domainname }, `set domainname ${spec.domainname}`);

  const seccomp = seccompStep(spec);
  addProcess(plan, spec, process, seccomp, options, () => addContainerHooks(plan, spec, 'startContainer'));
  if (has(spec, 'user')) openBindSourcesEarly(plan, becomeRoot);
  return { ops: plan.ops, describe: plan.describe, cloneIndex, seccompListener: seccomp?.listener };
}

/** The container's filter; exec'd processes get the same one. */
function seccompStep(spec: Spec): SeccompStep | undefined {
  return spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp) : undefined;
}

/** corral-init's own CPUs, inherited by the process until it is in the container's cgroup. */
function addInitialAffinity(plan: PlanBuilder, process: SpecProcess): void {
  const initial = initialAffinityOp(process);
  if (initial) plan.add(initial.op, initial.why);
}

function addConsole(plan: PlanBuilder, process: SpecProcess): void {
  if (!process.terminal) return;
  const size = process.consoleSize ?? { height: 0, width: 0 };
  plan.add(
    { op: 'console', rows: size.height, columns: size.width },
    'set up the console (process.terminal)',
  );
}

/**
 * Clones every bind source before the process becomes the user namespace's root, as runc opens
 * them before it enters the namespace: a source in a directory only host root may enter (podman's
 * per-container data) stays reachable. Each bind then attaches its early clone.
 */
function openBindSourcesEarly(plan: PlanBuilder, at: number): void {
  const early: Array<[InitOp, string]> = [];
  plan.ops.forEach((op, i) => {
    if (i < at || op.op !== 'mountBind') return;
    early.push([
      { op: 'openMountSource', source: op.source, flags: op.flags },
      `open ${op.source} early, to ${plan.describe[i]}`,
    ]);
  });
  plan.insert(at, early);
}

/** The part of a plan that makes the process itself: limits, identity, capabilities, exec. */
function addProcess(
  plan: PlanBuilder,
  spec: Spec,
  process: SpecProcess,
  seccomp: SeccompStep | undefined,
  options: { execFifo?: string; preserveFds?: number; rootless?: boolean },
  beforeExec?: () => void,
): void {
  const { execFifo, preserveFds = 0 } = options;
  for (const [i, limit] of (process.rlimits ?? []).entries()) {
    plan.add(
      {
        op: 'rlimit',
        resource: RLIMITS.get(limit.type)!,
        soft: BigInt(limit.soft),
        hard: BigInt(limit.hard),
      },
      `set ${limit.type} to ${limit.soft}:${limit.hard} (process.rlimits[${i}])`,
    );
  }
  // Before the identity changes: real-time policies and I/O classes need the privilege.
  for (const { op, why } of processAttributeOps(process, spec)) plan.add(op, why);
  if (process.user.umask !== undefined)
    plan.add({ op: 'umask', mask: process.user.umask }, 'set the umask (process.user.umask)');
  // Installing a filter takes no_new_privs or CAP_SYS_ADMIN. Without no_new_privs it must go in
  // while the capabilities are still whole, so the rest of the plan runs under it; with it, it
  // goes in last and the profile need not allow the runtime's own setup calls.
  const earlySeccomp = seccomp && !process.noNewPrivileges;
  if (earlySeccomp) plan.add(seccomp.op, seccomp.description);
  // Always set the groups, so the container never inherits the runtime's own; a user's runtime
  // cannot (setgroups is denied in its user namespace), and a user's groups stay theirs, as with runc.
  if (!options.rootless) {
    plan.add(
      { op: 'setgroups', gids: process.user.additionalGids ?? [] },
      'set groups (process.user.additionalGids)',
    );
  }
  plan.add({ op: 'setgid', gid: process.user.gid }, `set gid ${process.user.gid} (process.user.gid)`);
  plan.add({ op: 'setuid', uid: process.user.uid }, `set uid ${process.user.uid} (process.user.uid)`);
  const caps = process.capabilities;
  if (caps) {
    const inheritable = capabilityMask(caps.inheritable);
    const permitted = capabilityMask(caps.permitted);
    plan.add(
      {
        op: 'capabilities',
        bounding: capabilityMask(caps.bounding),
        effective: capabilityMask(caps.effective),
        permitted,
        inheritable,
        // The kernel raises an ambient capability only if it is permitted and inheritable.
        ambient: capabilityMask(caps.ambient) & permitted & inheritable,
      },
      'set capabilities (process.capabilities)',
    );
  }
  if (process.noNewPrivileges)
    plan.add({ op: 'noNewPrivileges' }, 'set no_new_privs (process.noNewPrivileges)');
  plan.add({ op: 'chdir', path: process.cwd }, `change directory to ${process.cwd} (process.cwd)`);
  // A listener must reach the runtime before `create` returns: before the exec FIFO wait.
  const listenerSeccomp = seccomp && !earlySeccomp && seccomp.listener;
  if (listenerSeccomp) plan.add(seccomp.op, seccomp.description);
  if (execFifo) {
    plan.add({ op: 'signalReady' }, 'report the container created');
    plan.add({ op: 'waitExecFifo' }, 'wait for start');
  }
  beforeExec?.();
  if (preserveFds > 0)
    plan.add({ op: 'preserveFds', count: preserveFds }, `keep ${preserveFds} descriptors (--preserve-fds)`);
  if (seccomp && !earlySeccomp && !listenerSeccomp) plan.add(seccomp.op, seccomp.description);
  const args = process.args!;
  plan.add(
    { op: 'exec', file: args[0]!, args, env: process.env ?? [] },
    `exec ${JSON.stringify(args[0])} (process.args[0])`,
  );
}

/**
 * The plan of a process exec'd into a running container: join the namespaces of its init,
 * clone so that the pid namespace applies, then the process part. `initPidfd` is a path to a
 * pidfd of the init (`/proc/self/fd/N` of one corral-init was given): one setns through it
 * enters them all at once, in the kernel's order, and only that process's, never those of a
 * later process on a reused pid.
 */
export function compileExecPlan(
  spec: Spec,
  process: SpecProcess,
  initPidfd: string,
  preserveFds = 0,
  rootless = false,
): InitPlan {
  const plan = new PlanBuilder();
  refuseUnsupportedProcess(process);
  addInitialAffinity(plan, process);
  const types = (spec.linux?.namespaces ?? []).map((ns) => ns.type);
  const flags = types.reduce((all, type) => all | NAMESPACE_FLAGS[type], 0n);
  if (flags) {
    plan.add(
      { op: 'joinNamespace', nstype: Number(flags), path: initPidfd },
      `join the container's namespaces (${types.join(', ')})`,
    );
  }
  const cloneIndex = plan.ops.length;
  plan.add({ op: 'clone', flags: 0n }, 'start the process');
  plan.add({ op: 'waitGo' }, 'wait for the runtime');
  addConsole(plan, process);
  const seccomp = seccompStep(spec);
  addProcess(plan, spec, process, seccomp, { preserveFds, rootless });
  return { ops: plan.ops, describe: plan.describe, cloneIndex, seccompListener: seccomp?.listener };
}
