import { chmodSync, chownSync, closeSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { type CgroupManager, cgroupMounts } from '@corral/cgroups';
import { mkfifo, type Pidfd, sendDescriptor } from '@corral/native';

import { CorralError, CreateContainerError, InvalidConfigError } from '../errors.js';
import { hookState, runHooks, seccompListenerState } from '../hooks.js';
import { compileInitPlan } from '../plan/compile.js';
import { checkNamespacePaths } from '../plan/namespaces.js';
import { loadBundle } from '../spec/load.js';
import type { Spec } from '../spec/types.js';
import { processStartTime, setOomScoreAdj } from '../state/proc.js';
import { ContainerDir, DEFAULT_STATE_ROOT } from '../state/state-dir.js';
import { asCorralError, planCgroup } from './cgroup.js';
import { validateContainerId } from './id.js';
import { InitProcess, type InitStdio } from './init-process.js';
import { lendNetDevices, type NetDevice, planNetDevices, returnNetDevices } from './net-devices.js';
import { addNotifySocket, NotifySocket, notifyDir } from './notify-socket.js';
import { delegateCgroup, hostRoot, writeIdMaps } from './user-namespace.js';

export interface LaunchOptions {
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
  /** runc's --systemd-cgroup (refused until a systemd driver exists). */
  systemdCgroup?: boolean;
  /** Where warnings go (a failed poststart or poststop hook); process.emitWarning by default. */
  warn?: (message: string) => void;
}

export interface Launched {
  dir: ContainerDir;
  cgroup: CgroupManager;
  pidfd: Pidfd;
  spec: Spec;
  bundle: string;
  /** The pty master of the process's terminal, when it has one and no --console-socket took it. */
  console?: number;
  /** `run` with a NOTIFY_SOCKET: the container's socket, bound before the process could use it. */
  notify?: NotifySocket;
}

const SIGKILL = 9;

/** --pidfd-socket: hands a pidfd of the process to whoever listens there. */
export function sendPidfd(socketPath: string, pidfd: Pidfd): void {
  try {
    sendDescriptor(socketPath, pidfd.fd, 'pidfd');
  } catch (error) {
    throw new CorralError('SYSTEM', `cannot send the pidfd to ${socketPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A terminal goes to a console socket; corral does not yet relay one itself. */
/**
 * A terminal's master goes to --console-socket, or back to a caller that stays to relay it
 * (foreground run, exec); a create that returns at once has no one to hand it to.
 */
export function requireConsoleSocket(
  terminal: boolean | undefined,
  consoleSocket: string | undefined,
  callerHoldsConsole: boolean,
): void {
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
}

/**
 * The end of a failed create or restore, once its processes are dead: removes the cgroup and
 * the state directory, and returns the failure to throw, with any error met while cleaning.
 */
export async function discardContainer(
  error: unknown,
  cgroup: CgroupManager | undefined,
  dir: ContainerDir,
  cleanupErrors: unknown[],
): Promise<CorralError> {
  try {
    if (cgroup?.exists()) await cgroup.destroy();
  } catch (e) {
    cleanupErrors.push(e);
  }
  try {
    dir.remove();
  } catch (e) {
    cleanupErrors.push(e);
  }
  const failure =
    error instanceof CorralError
      ? error
      : new CorralError('SYSTEM', (error as Error).message, { cause: error });
  return cleanupErrors.length ? new CreateContainerError(failure, cleanupErrors) : failure;
}

/**
 * The path `run` and `create` share: validate, make the state directory, compile, start
 * corral-init, record the container's pid, set up its cgroup, ids and devices, let it go. `run`
 * waits for the exec; `create` waits until the container stands at its exec FIFO. Any failure
 * removes everything made so far.
 */
export async function launch(options: LaunchOptions, mode: 'run' | 'create'): Promise<Launched> {
  validateContainerId(options.id);
  const bundle = loadBundle(options.bundle);
  if (options.extraEnv?.length) {
    bundle.spec.process!.env = [...(bundle.spec.process!.env ?? []), ...options.extraEnv];
  }
  if (options.consoleSize) bundle.spec.process!.consoleSize = options.consoleSize;
  const root = resolve(options.root ?? DEFAULT_STATE_ROOT);
  if (options.notifySocket) addNotifySocket(bundle.spec, join(root, options.id));
  requireConsoleSocket(bundle.spec.process?.terminal, options.consoleSocket, mode === 'run');
  // Namespace files and the cgroup are checked before the state directory exists.
  checkNamespacePaths(bundle.spec);
  const cgroup = planCgroup(bundle.spec, options.id, options.systemdCgroup);
  const dir = ContainerDir.create(root, options.id);

  let init: InitProcess | undefined;
  let pidfd: Pidfd | undefined;
  let console: number | undefined;
  let notify: NotifySocket | undefined;
  let netDevices: NetDevice[] = [];
  let lent = false;
  try {
    // The notify socket's directory is bind-mounted, so it exists before the plan is compiled;
    // `start` binds the socket itself for a created container.
    if (options.notifySocket && mode === 'create') mkdirSync(notifyDir(dir.path));
    if (options.notifySocket && mode === 'run') notify = NotifySocket.bind(dir.path, options.notifySocket);
    const execFifo = mode === 'create' ? dir.execFifoPath : undefined;
    const plan = compileInitPlan(bundle.spec, {
      bundle: bundle.path,
      noPivot: options.noPivot,
      execFifo,
      preserveFds: options.preserveFds,
      sessionKeyring: options.noNewKeyring ? undefined : `_ses.${options.id}`,
      cgroups: { paths: cgroup.manager.getPaths(), mounts: cgroupMounts() },
    });
    netDevices = planNetDevices(bundle.spec);
    if (execFifo) {
      mkfifo(execFifo, 0o600);
      // The process opens it for writing just before exec, as process.user and, in a user
      // namespace, as an id of the container's (runc's is 0622 and the container root's too);
      // the state directory keeps everyone else from reaching it by path.
      chmodSync(execFifo, 0o622);
      const containerRoot = hostRoot(bundle.spec);
      if (containerRoot) chownSync(execFifo, containerRoot.uid, containerRoot.gid);
    }
    init = await InitProcess.start(
      plan,
      options.stdio ?? ['inherit', 'inherit', 'inherit'],
      options.preserveFds,
    );
    pidfd = await init.childStarted();
    setOomScoreAdj(pidfd.pid, bundle.spec.process?.oomScoreAdj);
    if (options.pidfdSocket) sendPidfd(options.pidfdSocket, pidfd);
    // Recorded before the container can do anything, so a crash from here on leaves a state
    // that `delete --force` can clean.
    dir.writeState({
      ociVersion: bundle.spec.ociVersion,
      id: options.id,
      pid: pidfd.pid,
      pidStartTime: processStartTime(pidfd.pid) ?? '',
      bundle: bundle.path,
      rootfs: bundle.rootfs,
      created: new Date().toISOString(),
      annotations: bundle.spec.annotations,
      cgroupPaths: cgroup.manager.getPaths(),
      ...(netDevices.length ? { netDevices } : {}),
    });
    writeIdMaps(bundle.spec, pidfd.pid);
    // Resources apply before the process runs anything of its own.
    try {
      await cgroup.manager.apply(pidfd.pid);
      await cgroup.manager.set(cgroup.resources);
    } catch (error) {
      throw asCorralError(error);
    }
    const containerRoot = hostRoot(bundle.spec);
    if (containerRoot) delegateCgroup(cgroup.manager.getPaths(), containerRoot);
    await lendNetDevices(netDevices, pidfd.pid);
    lent = true;
    const state = (status: 'creating' | 'created') =>
      hookState(bundle.spec, { id: options.id, status, pid: pidfd!.pid, bundle: bundle.path });
    await runHooks(bundle.spec, 'prestart', state('creating'));
    await runHooks(bundle.spec, 'createRuntime', state('creating'));
    // In the order of HookStateIndex: createContainer, startContainer.
    await init.go([state('creating'), state('created')]);
    if (options.consoleSocket) await init.consoleTo(options.consoleSocket);
    else if (bundle.spec.process?.terminal) console = await init.console();
    if (plan.seccompListener) {
      const { path, metadata } = plan.seccompListener;
      await init.seccompListenerTo(
        path,
        seccompListenerState(bundle.spec, metadata, state('creating'), pidfd.pid),
      );
    }
    if (mode === 'run') await init.execDone();
    else await init.ready();
  } catch (error) {
    const cleanupErrors: unknown[] = [];
    if (pidfd) {
      if (lent) await returnNetDevices(netDevices, pidfd.pid).catch((e) => cleanupErrors.push(e));
      try {
        pidfd.signal(SIGKILL);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') cleanupErrors.push(e);
      }
      await pidfd.exited().catch((e) => cleanupErrors.push(e));
      pidfd.close();
    }
    init?.close();
    if (console !== undefined) closeSync(console);
    notify?.close();
    throw await discardContainer(error, cgroup.manager, dir, cleanupErrors);
  }
  init.close();
  return { dir, pidfd, spec: bundle.spec, bundle: bundle.path, cgroup: cgroup.manager, console, notify };
}
