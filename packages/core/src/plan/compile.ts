import { isAbsolute, posix, resolve } from 'node:path';

import { type InitErrorReport, type InitOp, protocol } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import { hookFailure } from '../hooks.js';
import type { NamespaceType, Spec, SpecMount, SpecProcess } from '../spec/types.js';
import { capabilityMask } from './capabilities.js';
import { type ContainerCgroups, cgroupMountOps } from './cgroup-mount.js';
import { processEnv } from './env.js';
import { execLookupText, searchPath } from './exec-lookup.js';
import { idmapUsernsOps } from './idmap.js';
import { MS_REC, Propagation, parseMountOptions } from './mount-options.js';
import { bindSource, cleanContainerPath, isBindMount, mountOps } from './mounts.js';
import { byJoinOrder, checkNamespaceConfig, findNamespace, NAMESPACE_FLAGS } from './namespaces.js';
import { initialAffinityOp, memoryPolicyOp, processAttributeOps } from './process-attributes.js';
import { RLIMITS } from './rlimits.js';
import { compileSeccomp, type SeccompStep } from './seccomp.js';
import type { SeccompProgramCache } from './seccomp-cache.js';
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
  /** The text of a failure whose wording tools match on (runc's), if this report is one. */
  explain?: (report: InitErrorReport) => string | undefined;
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
  /** The container's cgroup, for a `cgroup` mount: what it shows inside. */
  cgroups?: ContainerCgroups;
  /** The runtime relays the process's terminal itself (no --console-socket), as runc's run -t. */
  relayConsole?: boolean;
  /** Descriptors corral-init is given to put the process in its cgroup (startInCgroup, addEnterCgroups). */
  cgroupEntry?: CgroupEntryDescriptors;
  /** Where compiled seccomp programs are kept beyond this process (this process keeps its own). */
  seccompCache?: SeccompProgramCache;
}

/** The numbers at which corral-init finds the cgroup's entry (@corral/cgroups' CgroupEntry). */
export interface CgroupEntryDescriptors {
  startIn?: number;
  tasksFiles: readonly number[];
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

type Explainer = (report: InitErrorReport) => string;

class PlanBuilder {
  readonly ops: InitOp[] = [];
  readonly describe: string[] = [];
  /** For the ops whose failure tools read, how to word it (runc's texts). */
  readonly explainers: Array<Explainer | undefined> = [];
  add(op: InitOp, description: string, explain?: Explainer): void {
    this.ops.push(op);
    this.describe.push(description);
    this.explainers.push(explain);
  }
  insert(at: number, ops: Array<[InitOp, string]>): void {
    this.ops.splice(at, 0, ...ops.map(([op]) => op));
    this.describe.splice(at, 0, ...ops.map(([, description]) => description));
    this.explainers.splice(at, 0, ...ops.map(() => undefined));
  }
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
 * A new cgroup namespace is not in the clone either: see addCgroupNamespace.
 */
function addNamespaces(
  plan: PlanBuilder,
  spec: Spec,
  rootless: boolean,
  cgroupEntry: CgroupEntryDescriptors | undefined,
): void {
  let clone = 0n;
  const join: Array<{ type: NamespaceType; path: string }> = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    if (ns.path) join.push({ type: ns.type, path: ns.path });
    else if (ns.type !== 'time' && ns.type !== 'cgroup') clone |= NAMESPACE_FLAGS[ns.type];
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
  if (cgroupEntry?.startIn !== undefined)
    plan.add({ op: 'startInCgroup', fd: cgroupEntry.startIn }, 'start the process in its cgroup (cgroup2)');
  // The maps of a user's user namespace are written by the same user: /proc/PID of a process
  // that is not dumpable belongs to root.
  if (rootless && clone & NAMESPACE_FLAGS.user)
    plan.add({ op: 'dumpable', value: 1 }, 'let the runtime write the id maps (linux.uidMappings)');
  plan.add({ op: 'clone', flags: clone }, 'start the container process');
}

/**
 * A new cgroup namespace is made by the container's process itself once the runtime has put it
 * in its cgroup (after "go"), as runc does: its root is then the container's cgroup, so
 * /proc/self/cgroup reads "0::/" and a cgroup mount shows only the container's own.
 */
function addCgroupNamespace(plan: PlanBuilder, spec: Spec): void {
  const cgroup = findNamespace(spec, 'cgroup');
  if (!cgroup || cgroup.path) return;
  plan.add(
    { op: 'unshare', flags: NAMESPACE_FLAGS.cgroup },
    "create the cgroup namespace, rooted at the container's cgroup",
  );
}

function has(spec: Spec, type: NamespaceType): boolean {
  return (spec.linux?.namespaces ?? []).some((ns) => ns.type === type);
}

/**
 * The propagation of "/" while the rootfs is set up: the configured one when it is private or
 * slave, else slave: a shared root would leak the container's mounts to the host and fail
 * pivot_root, an unbindable one could not be bound onto itself.
 */
function setupPropagation(spec: Spec): bigint {
  const base = (spec.linux?.rootfsPropagation || 'rslave').replace(/^r/, '');
  return BigInt((base === 'private' ? Propagation.private : Propagation.slave) | MS_REC);
}

/** The configured propagation, for the new root once pivot_root made it "/"; r- forms recurse. */
function configuredPropagation(spec: Spec): bigint | undefined {
  const name = spec.linux?.rootfsPropagation;
  if (!name) return undefined;
  const base = name.replace(/^r/, '') as keyof typeof Propagation;
  return BigInt(Propagation[base] | (name.startsWith('r') ? MS_REC : 0));
}

/** The container's cgroup mount: its own cgroup, never the host's tree. */
function addCgroupMount(
  plan: PlanBuilder,
  spec: Spec,
  mount: SpecMount,
  index: number,
  cgroups?: ContainerCgroups,
): void {
  const path = `mounts[${index}]`;
  const target = cleanContainerPath(mount.destination);
  const options = parseMountOptions(mount.options ?? [], path);
  for (const entry of cgroupMountOps(target, path, options, mount.source ?? '', cgroups, has(spec, 'cgroup')))
    plan.add(...entry);
}

/** The status in the state document each kind of in-container hook reads (runc's). */
const HOOK_STATUS = { createContainer: 'creating', startContainer: 'created' } as const;

/**
 * Hooks that run inside the container, by corral-init, as runc runs them: a createContainer
 * hook in the rootfs (runc's working directory then), a startContainer hook in process.cwd, and
 * a hook without an environment of its own with the process's.
 */
function addContainerHooks(
  plan: PlanBuilder,
  spec: Spec,
  kind: 'createContainer' | 'startContainer',
  rootfs: string,
): void {
  const env = processEnv(spec.process!.env).list;
  for (const [i, hook] of (spec.hooks?.[kind] ?? []).entries()) {
    const inherits = hook.env === undefined;
    plan.add(
      {
        op: 'runHook',
        path: hook.path,
        args: hook.args?.length ? hook.args : [hook.path],
        env: hook.env ?? env,
        cwd: kind === 'createContainer' ? rootfs : '',
        status: HOOK_STATUS[kind],
        timeoutMs: BigInt((hook.timeout ?? 0) * 1000),
        flags: inherits && kind === 'startContainer' ? protocol.HookFlags.withHome : 0,
      },
      `${kind} hook ${hook.path} (hooks.${kind}[${i}])`,
      (report) => hookFailure(kind, i, hook, report),
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
        attrReset: 0n,
        recursiveSet: 0n,
        recursiveClear: 0n,
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
  return (spec.mounts ?? []).some((m) => cleanContainerPath(m.destination) === '/dev' && isBindMount(m));
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
  // In a uts namespace of the container's, or one it joins (the spec allows it, as runc and crun
  // do): never the host's.
  for (const field of ['hostname', 'domainname'] as const) {
    if (spec[field] && !has(spec, 'uts'))
      throw new InvalidConfigError(
        field,
        `setting a ${field} needs a uts namespace, of the container's own or joined`,
      );
  }

  // Made before the clone, while corral-init is still the host's root.
  const idmaps = idmapUsernsOps(spec, (mount) =>
    bindSource(mount, spec.mounts!.indexOf(mount), options.bundle),
  );
  for (const { ops } of idmaps) for (const { op, why } of ops) plan.add(op, why);
  addNamespaces(plan, spec, options.rootless ?? false, options.cgroupEntry);
  const cloneIndex = plan.ops.length - 1;
  addEnterCgroups(plan, options.cgroupEntry);
  addWaitGo(plan, process, plan.ops[cloneIndex - 1]?.op === 'dumpable');
  addCgroupNamespace(plan, spec);
  const rootfs = rootfsPath(spec, options.bundle);
  plan.add(
    { op: 'rootPropagation', flags: setupPropagation(spec) },
    'set the propagation of / for the setup',
  );
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
  const readonlyLater: string[] = [];
  (spec.mounts ?? []).forEach((mount, i) => {
    if (mount.type === 'cgroup') {
      addCgroupMount(plan, spec, mount, i, options.cgroups);
      return;
    }
    const userns = idmaps.findIndex((idmap) => idmap.mountIndex === i) + 1;
    const mounted = mountOps(mount, i, { bundle: options.bundle, rootfs, userns });
    for (const [op, why] of mounted.ops) plan.add(op, why);
    if (mounted.readonlyLater) readonlyLater.push(mounted.readonlyLater);
  });
  addDevices(plan, spec, options.bindDevices ?? false);
  // A missing working directory is made, as runc makes it, after the mounts that may hold it.
  plan.add({ op: 'mkdir', path: process.cwd, mode: 0o755 }, `create ${process.cwd} (process.cwd)`);
  addContainerHooks(plan, spec, 'createContainer', rootfs);
  plan.add(
    options.noPivot ? { op: 'chroot' } : { op: 'pivotRoot' },
    options.noPivot ? 'chroot into the rootfs' : 'pivot_root into the rootfs',
  );
  // addConsole starts the session itself. Without a terminal the init still leads a session
  // of its own, as runc's does: CRIU refuses a tree whose session leader is outside it.
  if (process.terminal) addConsole(plan, process, { relayed: options.relayConsole, bindConsole: true });
  else plan.add({ op: 'setsid' }, 'start a new session');
  for (const path of readonlyLater) plan.add({ op: 'remountReadonly', path }, `make ${path} read-only`);
  // Before the readonly paths: /proc/sys is one of them.
  // The kernel decides what the container's root may set (a user's container owns its own namespaces only).
  for (const { name, value, field } of sysctls)
    plan.add({ op: 'sysctl', name, value }, `set the sysctl ${name} (${field})`);

  const masked = new Set<string>();
  for (const [i, path] of (spec.linux?.maskedPaths ?? []).entries()) {
    // Listed twice, masked once.
    if (masked.has(cleanContainerPath(path))) continue;
    masked.add(cleanContainerPath(path));
    plan.add({ op: 'maskPath', path }, `mask ${path} (linux.maskedPaths[${i}])`);
  }
  for (const [i, path] of (spec.linux?.readonlyPaths ?? []).entries()) {
    plan.add({ op: 'readonlyPath', path }, `make ${path} read-only (linux.readonlyPaths[${i}])`);
  }
  if (spec.root?.readonly)
    plan.add({ op: 'remountReadonly', path: '/' }, 'make the root read-only (root.readonly)');
  // Last of the mounts: an unbindable root takes no binds of what is under it any more.
  const propagation = configuredPropagation(spec);
  if (propagation !== undefined)
    plan.add(
      { op: 'rootPropagation', flags: propagation },
      'set the propagation of / (linux.rootfsPropagation)',
    );
  if (spec.hostname) plan.add({ op: 'sethostname', name: spec.hostname }, `set hostname ${spec.hostname}`);
  if (spec.domainname)
    plan.add({ op: 'setdomainname', name: spec.domainname }, `set domainname ${spec.domainname}`);

  const seccomp = seccompStep(spec, options.seccompCache);
  addProcess(plan, spec, process, seccomp, options, () =>
    addContainerHooks(plan, spec, 'startContainer', rootfs),
  );
  if (has(spec, 'user')) openBindSourcesEarly(plan, becomeRoot);
  return finish(plan, cloneIndex, seccomp);
}

function finish(plan: PlanBuilder, cloneIndex: number, seccomp?: SeccompStep): InitPlan {
  return {
    ops: plan.ops,
    describe: plan.describe,
    cloneIndex,
    seccompListener: seccomp?.listener,
    explain: (report) => plan.explainers[report.opIndex]?.(report),
  };
}

/**
 * The process's first step, when the runtime gave it the cgroup v1 tasks files: it moves itself
 * into every hierarchy (the runtime moving it by pid would wait on the kernel), before the
 * runtime lets it go on and before anything can start a second thread in it.
 */
function addEnterCgroups(plan: PlanBuilder, cgroupEntry: CgroupEntryDescriptors | undefined): void {
  if (cgroupEntry?.tasksFiles.length)
    plan.add({ op: 'enterCgroups', fds: cgroupEntry.tasksFiles }, 'enter its cgroup (cgroup v1 tasks)');
}

/** The container's filter; exec'd processes get the same one. */
function seccompStep(spec: Spec, cache?: SeccompProgramCache): SeccompStep | undefined {
  return spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp, cache) : undefined;
}

/**
 * The wait for the runtime, which puts the process in its cgroup meanwhile. Then, unless the
 * config sets an affinity, the one corral itself had is dropped for every CPU the cgroup allows,
 * as runc does.
 */
function addWaitGo(plan: PlanBuilder, process: SpecProcess, dumpableUntilGo = false): void {
  plan.add({ op: 'waitGo' }, 'wait for the runtime');
  if (dumpableUntilGo) plan.add({ op: 'dumpable', value: 0 }, 'the id maps are written');
  const affinity = (process as { execCPUAffinity?: { initial?: unknown; final?: unknown } }).execCPUAffinity;
  if (affinity?.initial === undefined && affinity?.final === undefined)
    plan.add({ op: 'resetCpuAffinity' }, 'reset the CPU affinity to the cgroup');
}

/** corral-init's own CPUs, inherited by the process until it is in the container's cgroup. */
function addInitialAffinity(plan: PlanBuilder, process: SpecProcess): void {
  const initial = initialAffinityOp(process);
  if (initial) plan.add(initial.op, initial.why);
}

/**
 * A relayed terminal leaves newlines alone (runc clears ONLCR where it relays, not for a socket).
 * Only the init's pty becomes /dev/console: runc binds it for no exec'd process.
 */
function addConsole(
  plan: PlanBuilder,
  process: SpecProcess,
  { relayed = false, bindConsole = false }: { relayed?: boolean | undefined; bindConsole?: boolean },
): void {
  if (!process.terminal) return;
  const size = process.consoleSize ?? { height: 0, width: 0 };
  const flags =
    (relayed ? protocol.ConsoleFlags.clearOnlcr : 0) | (bindConsole ? protocol.ConsoleFlags.bindConsole : 0);
  plan.add(
    { op: 'console', rows: size.height, columns: size.width, flags },
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
    // Not those in the root, which the container's root reaches, nor the id-mapped ones,
    // opened before the clone already.
    if (i < at || op.op !== 'mountBind' || op.userns || op.flags & protocol.BindFlags.sourceInRoot) return;
    early.push([
      { op: 'openMountSource', source: op.source, flags: op.flags & protocol.BindFlags.recursive, userns: 0 },
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
  const memoryPolicy = memoryPolicyOp(spec);
  if (memoryPolicy) plan.add(memoryPolicy, 'set the memory policy (linux.memoryPolicy)');
  if (process.user.umask !== undefined)
    plan.add({ op: 'umask', mask: process.user.umask }, 'set the umask (process.user.umask)');
  const cwd = `change directory to ${process.cwd} (process.cwd)`;
  // Entered while still root (a directory only root may enter), and again as the process's
  // user if root was refused (one only that user may enter), as runc does.
  plan.add({ op: 'chdir', path: process.cwd, mode: protocol.ChdirMode.try }, cwd);
  const env = processEnv(process.env);
  if (env.home) plan.add({ op: 'homeFromPasswd', uid: process.user.uid }, 'set HOME from /etc/passwd');
  // The process's terminal (or pipes) become its user's, as runc makes them.
  plan.add({ op: 'chownStdio', uid: process.user.uid }, `give stdio to uid ${process.user.uid}`);
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
  plan.add({ op: 'chdir', path: process.cwd, mode: protocol.ChdirMode.retry }, cwd);
  // As the process's user: runc looks it up after the switch too.
  addResolveExec(plan, process, env.list);
  // Nothing after the filter may need a call the profile could deny: descriptors and the
  // working directory are done before it, and only the container's execve follows it where
  // that can be. A filter takes no_new_privs or CAP_SYS_ADMIN: without no_new_privs it goes in
  // before the capabilities drop it, so the capability calls (and, for `create`, the exec FIFO)
  // run under it as runc's do; with no_new_privs it is the last step, unless its listener must
  // reach the runtime before `create` returns.
  plan.add(
    { op: 'closeDescriptors', preserve: preserveFds },
    `keep ${preserveFds} descriptors (--preserve-fds)`,
  );
  const early = seccomp && !process.noNewPrivileges;
  if (early) {
    plan.add({ op: 'raiseCapabilities' }, `raise the capabilities to install ${seccomp.description}`);
    plan.add(seccomp.op, seccomp.description);
  }
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
  const withListener = seccomp && !early && seccomp.listener;
  if (withListener) plan.add(seccomp.op, seccomp.description);
  if (execFifo) {
    plan.add({ op: 'signalReady' }, 'report the container created');
    plan.add({ op: 'waitExecFifo' }, 'wait for start');
  }
  beforeExec?.();
  if (seccomp && !early && !withListener) plan.add(seccomp.op, seccomp.description);
  const args = process.args!;
  plan.add({ op: 'exec', args, env: env.list }, `exec ${JSON.stringify(args[0])} (process.args[0])`);
}

/**
 * Finds args[0] in the container while `create` can still fail (runc does it there too), so a
 * missing or non-executable program is a create error, worded as runc's (see finish).
 */
function addResolveExec(plan: PlanBuilder, process: SpecProcess, env: readonly string[]): void {
  const file = process.args![0]!;
  plan.add(
    { op: 'resolveExec', file, searchPath: searchPath(env) },
    `find ${JSON.stringify(file)} (process.args[0])`,
    (report) => execLookupText(file, report),
  );
}

/**
 * The plan of a process exec'd into a running container: join the namespaces of its init,
 * clone so that the pid namespace applies, then the process part. `initPidfd` is the descriptor
 * number at which corral-init is given a pidfd of the init: one setns through it enters them all
 * at once, in the kernel's order, and only that process's, never those of a later process on a
 * reused pid.
 */
export function compileExecPlan(
  spec: Spec,
  process: SpecProcess,
  initPidfd: number,
  options: Pick<
    CompileOptions,
    'preserveFds' | 'rootless' | 'relayConsole' | 'cgroupEntry' | 'seccompCache'
  > = {},
): InitPlan {
  const plan = new PlanBuilder();
  refuseUnsupportedProcess(process);
  addInitialAffinity(plan, process);
  const { cgroupEntry } = options;
  const types = (spec.linux?.namespaces ?? []).map((ns) => ns.type);
  // Started in the container's cgroup2 directory from corral-init's own cgroup namespace: the
  // kernel refuses a start in a cgroup above the namespace's root (nsdelegate), so the
  // process enters the container's cgroup namespace itself, once it is in the cgroup.
  const cgroupLater = cgroupEntry?.startIn !== undefined && types.includes('cgroup');
  const joined = cgroupLater ? types.filter((type) => type !== 'cgroup') : types;
  const flags = joined.reduce((all, type) => all | NAMESPACE_FLAGS[type], 0n);
  if (flags) {
    plan.add(
      { op: 'joinPidfd', nstype: Number(flags), fd: initPidfd },
      `join the container's namespaces (${joined.join(', ')})`,
    );
  }
  if (cgroupEntry?.startIn !== undefined)
    plan.add({ op: 'startInCgroup', fd: cgroupEntry.startIn }, 'start the process in its cgroup (cgroup2)');
  const cloneIndex = plan.ops.length;
  plan.add({ op: 'clone', flags: 0n }, 'start the process');
  addEnterCgroups(plan, cgroupEntry);
  if (cgroupLater) {
    plan.add(
      { op: 'joinPidfd', nstype: Number(NAMESPACE_FLAGS.cgroup), fd: initPidfd },
      "join the container's cgroup namespace",
    );
  }
  addWaitGo(plan, process);
  addConsole(plan, process, { relayed: options.relayConsole });
  const seccomp = seccompStep(spec, options.seccompCache);
  addProcess(plan, spec, process, seccomp, options);
  return finish(plan, cloneIndex, seccomp);
}
