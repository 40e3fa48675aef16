import type { ExitStatus, Pidfd } from '@corral/native';

import { hookState, seccompListenerState } from '../hooks.js';
import type { SpecProcess } from '../spec/types.js';
import type { ContainerDir } from '../state/state-dir.js';
import { timingMark } from '../timing.js';
import { openEntryOf } from './cgroup.js';
import { defaultWarn, initLog, noDebug, openInit, underLock } from './operation.js';
import { buildTenant, type ExecOptions } from './process/builders.js';
import { setUpHost } from './process/host-setup.js';
import { InitProcess } from './process/init-process.js';

const SIGKILL = 9;

/** A process started in a container by `exec`. */
export interface RunningProcess {
  pid: number;
  signal(signal: number): void;
  /** Waits for the process to exit and reaps it. */
  wait(): Promise<ExitStatus>;
  /** Lets go of the process without waiting for it (a detached exec). */
  release(): void;
  /** The pty master of its terminal (process.terminal without a console socket); the caller closes it. */
  console?: number;
}

/**
 * `exec`: another process in the running container. Under the lock, the status is checked and
 * the init opened by pidfd; corral-init is given that pidfd and joins the init's namespaces
 * through it, and the process joins the container's cgroup. The lock goes once the process is
 * in the container, before it is let go: in a paused container (`ignorePaused`) it stays frozen
 * until `resume`, which needs the lock. Resolves once it has exec'd.
 */
export async function execInContainer(
  dir: ContainerDir,
  process: SpecProcess,
  options: ExecOptions = {},
): Promise<RunningProcess> {
  return underLock(
    dir,
    options.ignorePaused ? 'execIgnoringPause' : 'exec',
    async ({ state, unlock }) => {
      const tenant = buildTenant(state, process, options);
      const target = openInit(state, 'exec');
      timingMark('config checked');
      const debug = options.debug ?? noDebug;
      debug(`exec into ${state.id}: the process joins the namespaces of the init (pid ${target.pid})`);
      let child: Pidfd | undefined;
      try {
        const entry = tenant.cgroupEntry
          ? await openEntryOf(tenant.host.cgroup!.manager, tenant.cgroupEntry, { make: false })
          : undefined;
        let helper: InitProcess;
        try {
          helper = await InitProcess.start(tenant.plan, tenant.stdio, {
            preserveFds: tenant.preserveFds,
            given: [target.fd, ...(entry?.descriptors ?? [])],
            log: initLog(defaultWarn, debug),
            debug,
          });
        } finally {
          entry?.entry.close();
        }
        timingMark('corral-init started');
        try {
          const { seccompListener } = tenant.plan;
          const { console } = await helper.handshake({
            childStarted: async (started) => {
              timingMark('child started');
              child = started;
              await setUpHost(started, tenant.host, debug);
              timingMark('host set up');
              unlock();
            },
            beforeGo: async () => undefined,
            console: tenant.console,
            ...(seccompListener
              ? {
                  seccompListener: {
                    path: seccompListener.path,
                    state: (started: Pidfd) => {
                      const container = hookState(tenant.spec, {
                        id: state.id,
                        status: 'running',
                        pid: state.pid,
                        bundle: state.bundle,
                      });
                      return seccompListenerState(
                        tenant.spec,
                        seccompListener.metadata,
                        container,
                        started.pid,
                      );
                    },
                  },
                }
              : {}),
            until: 'exec',
          });
          timingMark("exec'd");
          return runningProcess(child!, console);
        } finally {
          helper.close();
        }
      } catch (error) {
        if (child) await killChild(child);
        throw error;
      } finally {
        target.close();
      }
    },
    (status) => (status === 'paused' && !options.ignorePaused ? ' (use --ignore-paused to override)' : ''),
  );
}

function runningProcess(child: Pidfd, console: number | undefined): RunningProcess {
  return {
    pid: child.pid,
    signal: (signal) => child.signal(signal),
    // Watching (and so reaping) starts only when asked: a detached exec leaves the process
    // to whoever adopts it, as runc does, so that its parent can collect the status.
    wait: () => child.exited().finally(() => child.close()),
    release: () => child.close(),
    ...(console !== undefined ? { console } : {}),
  };
}

async function killChild(child: Pidfd): Promise<void> {
  try {
    child.signal(SIGKILL);
  } catch {
    // Already gone.
  }
  await child.exited().catch(() => undefined);
  child.close();
}
