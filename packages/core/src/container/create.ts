import { chmodSync, chownSync, mkdirSync } from 'node:fs';

import { mkfifo, type Pidfd } from '@corral/native';

import { withCleanupErrors } from '../errors.js';
import { hookState, hookStateAround, runHooks, seccompListenerState } from '../hooks.js';
import { processStartTime } from '../state/proc.js';
import { ContainerDir, type ContainerStateFile } from '../state/state-dir.js';
import { timingMark } from '../timing.js';
import { cgroupRecord, openEntryOf, refuseUsedCgroup } from './cgroup.js';
import { dumpPlanLines } from './dump-basis.js';
import { NotifySocket, notifyDir } from './notify-socket.js';
import { defaultWarn, initLog, noDebug } from './operation.js';
import { buildInit, type CreateOptions, type InitLaunch } from './process/builders.js';
import { setUpHost } from './process/host-setup.js';
import { InitProcess } from './process/init-process.js';
import { teardown } from './teardown.js';

/** A container made by `createContainer`: created and waiting (`create`), or running (`run`). */
export interface Created {
  dir: ContainerDir;
  state: ContainerStateFile;
  /** The container's init, held by the caller from here on. */
  init: Pidfd;
  /** The pty master of the process's terminal, when it has one and no console socket took it. */
  console?: number;
  /** `run` with a NOTIFY_SOCKET: the container's socket, bound before the process could use it. */
  notify?: NotifySocket;
}

/**
 * `create` and the making half of `run`: the init is built and checked before anything
 * exists; then, under the new container's lock, the cgroup is made where the process can start
 * in it (openEntryOf), corral-init starts, and the state is recorded as soon as the container's
 * process exists, before its limits, ids or devices, so that a crash from there on leaves what
 * `delete --force` cleans. `create` returns with the process at its exec FIFO, `run` once it
 * has exec'd. Any failure tears down what was made.
 */
export async function createContainer(options: CreateOptions, mode: 'create' | 'run'): Promise<Created> {
  const launch = buildInit(options, mode);
  timingMark('config checked');
  const warn = options.warn ?? defaultWarn;
  for (const warning of launch.bundle.warnings) warn(warning);
  const debug = options.debug ?? noDebug;
  debug(`${mode} ${launch.id}: bundle ${launch.bundle.path}, config checked`);
  const dir = ContainerDir.create(launch.root, launch.id);
  const release = await dir.lock({ create: true });
  let state: ContainerStateFile | undefined;
  let init: Pidfd | undefined;
  let notify: NotifySocket | undefined;
  // Made before the process (see openEntryOf): until the state names it, only this call removes it.
  let cgroupMade = false;
  try {
    // Before the state names the cgroup: a failed create destroys its cgroup, and one that
    // already holds processes (or is frozen) is not its to destroy.
    if (launch.cgroup) await refuseUsedCgroup(launch.cgroup.manager);
    // The notify socket's directory is bind-mounted, so it exists before the process starts;
    // `start` binds the socket itself for a created container.
    if (launch.notifySocket && mode === 'create') mkdirSync(notifyDir(dir.path));
    if (launch.notifySocket && mode === 'run') notify = NotifySocket.bind(dir.path, launch.notifySocket);
    if (launch.execFifo) makeExecFifo(launch);
    const plan = launch.compile();
    timingMark('plan compiled');
    cgroupMade = launch.cgroupEntry !== undefined;
    const entry = launch.cgroupEntry
      ? await openEntryOf(launch.cgroup!.manager, launch.cgroupEntry, { make: true })
      : undefined;
    let helper: InitProcess;
    try {
      helper = await InitProcess.start(plan, launch.stdio, {
        preserveFds: launch.preserveFds,
        given: entry?.descriptors ?? [],
        log: initLog(warn, debug),
        debug,
      });
    } finally {
      entry?.entry.close();
    }
    timingMark('corral-init started');
    let console: number | undefined;
    try {
      const stateOf = (status: 'creating' | 'created') =>
        hookState(launch.spec, { id: launch.id, status, pid: init!.pid, bundle: launch.bundle.path });
      ({ console } = await helper.handshake({
        childStarted: async (child) => {
          timingMark('child started');
          init = child;
          state = recordedState(launch, child);
          dir.writeState(state);
          debug(`state recorded in ${dir.path}`);
          await setUpHost(child, launch.host, debug);
          timingMark('host set up');
        },
        beforeGo: async () => {
          if (launch.spec.hooks?.prestart?.length || launch.spec.hooks?.createRuntime?.length)
            debug('prestart and createRuntime hooks');
          await runHooks(launch.spec, 'prestart', stateOf('creating'));
          await runHooks(launch.spec, 'createRuntime', stateOf('creating'));
          return hookStateAround(launch.spec, { id: launch.id, pid: init!.pid, bundle: launch.bundle.path });
        },
        console: launch.console,
        ...(plan.seccompListener
          ? {
              seccompListener: {
                path: plan.seccompListener.path,
                state: (child: Pidfd) =>
                  seccompListenerState(
                    launch.spec,
                    plan.seccompListener!.metadata,
                    stateOf('creating'),
                    child.pid,
                  ),
              },
            }
          : {}),
        until: launch.until,
      }));
    } finally {
      helper.close();
    }
    timingMark(mode === 'create' ? 'ready' : "exec'd");
    delete state!.creating;
    dir.writeState(state!, () => dumpPlanLines(state!));
    debug(`${launch.id} is ${mode === 'create' ? 'created' : 'running'}, its init is pid ${init!.pid}`);
    return { dir, state: state!, init: init!, console, notify };
  } catch (error) {
    notify?.close();
    debug(`${mode} failed, tearing down: ${(error as Error)?.message ?? error}`);
    const cleanupErrors: unknown[] = [];
    await teardown({ dir, state, init, warn, debug }).catch((e: unknown) => cleanupErrors.push(e));
    if (cgroupMade && !state)
      await launch.cgroup!.manager.destroy().catch((e: unknown) => cleanupErrors.push(e));
    init?.close();
    throw withCleanupErrors(error, cleanupErrors);
  } finally {
    release();
  }
}

/** `create`: the container's process waits at its exec FIFO until `start`. */
export async function createWaitingContainer(options: CreateOptions): Promise<ContainerDir> {
  const { dir, init } = await createContainer(options, 'create');
  init.close();
  return dir;
}

/** What state.json holds from the moment the container's process exists. */
function recordedState(launch: InitLaunch, child: Pidfd): ContainerStateFile {
  return {
    ociVersion: launch.spec.ociVersion,
    id: launch.id,
    pid: child.pid,
    pidStartTime: processStartTime(child.pid) ?? '',
    bundle: launch.bundle.path,
    rootfs: launch.bundle.rootfs,
    created: new Date().toISOString(),
    ...(launch.spec.annotations ? { annotations: launch.spec.annotations } : {}),
    ...(launch.cgroup ? cgroupRecord(launch.cgroup.manager) : { cgroupPaths: {} }),
    ...(launch.rootless.cgroups
      ? { rootless: launch.rootless.cgroupMissing ? { cgroupMissing: launch.rootless.cgroupMissing } : {} }
      : {}),
    ...(launch.netDevices.length ? { netDevices: launch.netDevices } : {}),
    config: launch.recordedConfig,
    creating: true,
  };
}

/**
 * The process opens the FIFO for writing just before exec, as process.user and, in a user
 * namespace, as an id of the container's (runc's is 0622 and the container root's too); the
 * state directory keeps everyone else from reaching it by path.
 */
function makeExecFifo(launch: InitLaunch): void {
  const path = launch.execFifo!;
  mkfifo(path, 0o600);
  chmodSync(path, 0o622);
  if (launch.containerRoot) chownSync(path, launch.containerRoot.uid, launch.containerRoot.gid);
}
