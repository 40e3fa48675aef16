import { join } from 'node:path';

import type { CgroupEntryPaths, CgroupManager, LinuxResources } from '@corral/cgroups';

import { InvalidConfigError } from '../../errors.js';
import {
  type CgroupEntryDescriptors,
  compileExecPlan,
  compileInitPlan,
  type InitPlan,
} from '../../plan/compile.js';
import { checkNamespacePaths } from '../../plan/namespaces.js';
import type { SeccompProgramCache } from '../../plan/seccomp-cache.js';
import { type Bundle, loadBundle } from '../../spec/load.js';
import type { Spec, SpecProcess } from '../../spec/types.js';
import { validateSpec } from '../../spec/validate.js';
import { type ContainerStateFile, stateRootPath } from '../../state/state-dir.js';
import {
  containerCgroups,
  planCgroup,
  planRootlessCgroupOf,
  recordedCgroup,
  subCgroupPaths,
} from '../cgroup.js';
import { validateContainerId } from '../id.js';
import { type NetDevice, planNetDevices } from '../net-devices.js';
import { addNotifySocket } from '../notify-socket.js';
import { planIdMapWriting } from '../rootless/id-maps.js';
import { type RootlessMode, type RootlessSetting, rootlessMode } from '../rootless/mode.js';
import { refuseUnprivileged } from '../rootless/refusals.js';
import { type HostSetup, hostRoot, idMapsOf } from './host-setup.js';
import { type ConsoleDestination, givenDescriptor, type InitStdio } from './init-process.js';

/** What `create` and `run` take: the bundle and the runtime's flags. */
export interface CreateOptions {
  id: string;
  bundle: string;
  /** The state root (runc's --root). */
  root?: string;
  /** chroot instead of pivot_root (runc's --no-pivot). */
  noPivot?: boolean;
  /** stdin, stdout, stderr of the container process; the runtime's own by default. */
  stdio?: InitStdio;
  /** Descriptors from 3 up passed on to the process (runc's --preserve-fds plus LISTEN_FDS). */
  preserveFds?: number;
  /** Added to process.env (LISTEN_FDS and LISTEN_PID when passing sockets on). */
  extraEnv?: string[];
  /** runc's --pidfd-socket: where a pidfd of the container's init goes once it exists. */
  pidfdSocket?: string;
  /** runc's --console-socket: where the pty master goes when process.terminal is set. */
  consoleSocket?: string;
  /** The terminal's size, overriding process.consoleSize (a caller relaying to its own terminal). */
  consoleSize?: { height: number; width: number };
  /** Keep the runtime's session keyring instead of a new one named after the container (runc's --no-new-keyring). */
  noNewKeyring?: boolean;
  /** The service manager's NOTIFY_SOCKET, proxied into the container as runc does. */
  notifySocket?: string;
  /** runc's --systemd-cgroup: the container's cgroup is a transient systemd scope. */
  systemdCgroup?: boolean;
  /**
   * runc's --rootless: whether cgroups may be the runtime's to make (`auto`, the default:
   * not when it is not root, or is root of a user namespace).
   */
  rootless?: RootlessSetting;
  /**
   * Where compiled seccomp programs are kept for later processes (a command line's cache
   * directory); a process always keeps those it compiled for itself.
   */
  seccompCache?: SeccompProgramCache;
  /** Where warnings go (a failed poststart or poststop hook); process.emitWarning by default. */
  warn?: (message: string) => void;
  /** Where the steps are told, corral-init's among them (the command's --debug). */
  debug?: (message: string) => void;
}

/** A process exec'd into a running container. */
export interface ExecOptions {
  /** stdin, stdout, stderr of the process; the runtime's own by default. */
  stdio?: InitStdio;
  consoleSocket?: string;
  pidfdSocket?: string;
  preserveFds?: number;
  /** Exec into a paused container too (runc's --ignore-paused); the process waits for resume. */
  ignorePaused?: boolean;
  /** Sub-cgroups to run the process in (runc's exec --cgroup: `SUB` or `CONTROLLERS:SUB`). */
  subCgroups?: string[];
  /** As CreateOptions.seccompCache. */
  seccompCache?: SeccompProgramCache;
  /** Where the steps are told, corral-init's among them (the command's --debug). */
  debug?: (message: string) => void;
}

/**
 * One process to start in a container, everything about it decided and checked before
 * anything exists: the plan corral-init runs, its descriptors, what the runtime sets up on
 * the host for it, and where its terminal goes.
 */
export interface ProcessLaunch {
  /** The config the process runs with (for an exec'd process, the container's with its process). */
  spec: Spec;
  plan: InitPlan;
  stdio: InitStdio;
  preserveFds: number;
  host: HostSetup;
  /**
   * The files through which the process enters its cgroup, opened once the cgroup exists and
   * given to corral-init (openEntryOf's order) after the descriptors the plan names before them.
   */
  cgroupEntry?: CgroupEntryPaths;
  console?: ConsoleDestination;
  /** The handshake's last step: at the exec FIFO (`ready`, create) or exec'd (`exec`). */
  until: 'ready' | 'exec';
}

/**
 * The container's init, and what its container is made of. Its plan is compiled once the
 * container's directory exists: the notify socket's bind mount has its source there.
 */
export interface InitLaunch extends Omit<ProcessLaunch, 'plan'> {
  compile(): InitPlan;
  /** The config kept in the container's state: its process as the bundle gave it. */
  recordedConfig: Spec;
  id: string;
  root: string;
  bundle: Bundle;
  /** The container's cgroup; none for a rootless container with no cgroup its user may make. */
  cgroup?: { manager: CgroupManager; resources: LinuxResources };
  /** How corral runs without the host's root, and why the container has no cgroup, if it has none. */
  rootless: RootlessMode & { cgroupMissing?: string };
  netDevices: NetDevice[];
  /** `create`'s exec FIFO, where the process waits for `start`. */
  execFifo?: string;
  /** The host ids of the container's root, when it has a user namespace of its own. */
  containerRoot?: { uid: number; gid: number };
  notifySocket?: string;
}

/**
 * Where corral-init finds the entry's files, given in openEntryOf's order from the `at`-th
 * given descriptor on.
 */
function entryDescriptors(paths: CgroupEntryPaths, preserveFds: number, at = 0): CgroupEntryDescriptors {
  const startIn = paths.startIn === undefined ? undefined : givenDescriptor(preserveFds, at);
  const first = at + (startIn === undefined ? 0 : 1);
  return {
    ...(startIn === undefined ? {} : { startIn }),
    tasksFiles: paths.tasksFiles.map((_, i) => givenDescriptor(preserveFds, first + i)),
  };
}

/**
 * A terminal's master goes to --console-socket, or back to a caller that stays to relay it
 * (foreground run, exec); a create that returns at once has no one to hand it to.
 */
function consoleDestination(
  terminal: boolean | undefined,
  consoleSocket: string | undefined,
  callerHoldsConsole: boolean,
): ConsoleDestination | undefined {
  if (terminal && !consoleSocket && !callerHoldsConsole) {
    throw new InvalidConfigError(
      'process.terminal',
      'a container that is not run in the foreground needs --console-socket to hand its terminal to',
    );
  }
  if (!terminal && consoleSocket) {
    throw new InvalidConfigError(
      'process.terminal',
      '--console-socket was given but process.terminal is false',
    );
  }
  if (!terminal) return undefined;
  return consoleSocket ? { socket: consoleSocket } : 'caller';
}

/**
 * The container's first process (youki's `as_init`): reads and checks the bundle, adds what the
 * runtime's options ask of it, and compiles the plan. Nothing exists yet; a bad config or
 * option fails here, naming its field.
 */
export function buildInit(options: CreateOptions, mode: 'create' | 'run'): InitLaunch {
  validateContainerId(options.id);
  const bundle = loadBundle(options.bundle);
  const spec = bundle.spec;
  // What later commands read: exec's default process is the config's, without this create's
  // LISTEN_FDS or notify socket, as runc's exec reads it.
  const configProcess = structuredClone(spec.process);
  if (options.extraEnv?.length) spec.process!.env = [...(spec.process!.env ?? []), ...options.extraEnv];
  if (options.consoleSize) spec.process!.consoleSize = options.consoleSize;
  const root = stateRootPath(options.root);
  const dirPath = join(root, options.id);
  if (options.notifySocket) addNotifySocket(spec, dirPath);
  const console = consoleDestination(spec.process?.terminal, options.consoleSocket, mode === 'run');
  checkNamespacePaths(spec);
  const rootless = rootlessMode(options.rootless);
  refuseUnprivileged(spec, rootless);
  const idMapWriting = planIdMapWriting(spec, rootless);
  const execFifo = mode === 'create' ? join(dirPath, 'exec.fifo') : undefined;
  const preserveFds = options.preserveFds ?? 0;
  // The cgroup first: a cgroup mount shows the container's own.
  const { cgroup, missing: cgroupMissing } = rootless.cgroups
    ? planRootlessCgroupOf(spec, options.id, options.systemdCgroup)
    : { cgroup: planCgroup(spec, options.id, options.systemdCgroup), missing: undefined };
  const cgroupEntry = cgroup?.manager.entryPaths?.();
  let plan: InitPlan | undefined;
  const compile = () => {
    plan ??= compileInitPlan(spec, {
      bundle: bundle.path,
      noPivot: options.noPivot,
      execFifo,
      preserveFds,
      sessionKeyring: options.noNewKeyring ? undefined : `_ses.${options.id}`,
      rootless: rootless.euid,
      bindDevices: rootless.inUserNamespace,
      cgroups: containerCgroups(cgroup?.manager, rootless.cgroups),
      relayConsole: console === 'caller',
      seccompCache: options.seccompCache,
      ...(cgroupEntry ? { cgroupEntry: entryDescriptors(cgroupEntry, preserveFds) } : {}),
    });
    return plan;
  };
  // Checked now, before anything exists, unless a mount's source is still to be made.
  if (!options.notifySocket) compile();
  const netDevices = planNetDevices(spec);
  // A user's container root is the user, or one of its subordinate ids: nothing to hand over.
  const containerRoot = rootless.euid ? undefined : hostRoot(spec);
  return {
    id: options.id,
    root,
    bundle,
    spec,
    recordedConfig: { ...spec, process: configProcess },
    compile,
    stdio: options.stdio ?? ['inherit', 'inherit', 'inherit'],
    preserveFds,
    host: {
      oomScoreAdj: spec.process?.oomScoreAdj,
      pidfdSocket: options.pidfdSocket,
      idMaps: idMapsOf(spec, idMapWriting),
      ...(cgroup ? { cgroup: { ...cgroup, entered: cgroupEntry !== undefined } } : {}),
      delegateTo: containerRoot,
      netDevices,
    },
    console,
    until: mode === 'run' ? 'exec' : 'ready',
    cgroup,
    ...(cgroupEntry ? { cgroupEntry } : {}),
    rootless: { ...rootless, ...(cgroupMissing ? { cgroupMissing } : {}) },
    netDevices,
    execFifo,
    containerRoot,
    notifySocket: options.notifySocket,
  };
}

/**
 * A process exec'd into a running container (youki's `as_tenant`): `process` checked against
 * the container's recorded config, and a plan that joins the init's namespaces through the
 * init's pidfd, which corral-init is given as its first extra descriptor.
 */
export function buildTenant(
  state: ContainerStateFile,
  process: SpecProcess,
  options: ExecOptions,
): ProcessLaunch {
  const console = consoleDestination(process.terminal, options.consoleSocket, true);
  const spec = validateSpec({ ...state.config, process });
  const preserveFds = options.preserveFds ?? 0;
  const initPidfd = givenDescriptor(preserveFds, 0);
  const { euid } = rootlessMode();
  if (euid && process.user.additionalGids?.length) {
    throw new InvalidConfigError(
      'process.user.additionalGids',
      'a rootless container cannot set additional groups: setgroups is not allowed to it',
    );
  }
  const cgroupPaths =
    options.subCgroups?.length && state.cgroupPaths
      ? subCgroupPaths(state.cgroupPaths, options.subCgroups)
      : state.cgroupPaths;
  const manager = recordedCgroup(cgroupPaths, { rootless: state.rootless !== undefined });
  const cgroupEntry = manager?.entryPaths?.();
  const plan = compileExecPlan(spec, spec.process!, initPidfd, {
    preserveFds,
    rootless: euid,
    relayConsole: console === 'caller',
    seccompCache: options.seccompCache,
    // After the init's pidfd.
    ...(cgroupEntry ? { cgroupEntry: entryDescriptors(cgroupEntry, preserveFds, 1) } : {}),
  });
  return {
    spec,
    plan,
    stdio: options.stdio ?? ['inherit', 'inherit', 'inherit'],
    preserveFds,
    // The exec'd process counts against the container's limits, like its init.
    host: {
      oomScoreAdj: process.oomScoreAdj,
      pidfdSocket: options.pidfdSocket,
      ...(manager ? { cgroup: { manager, entered: cgroupEntry !== undefined } } : {}),
    },
    ...(cgroupEntry ? { cgroupEntry } : {}),
    console,
    until: 'exec',
  };
}
