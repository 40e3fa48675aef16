import type { CgroupManager } from '@corral/cgroups';

import type { Spec } from '../spec/types.js';
import type { ContainerDir } from '../state/state-dir.js';
import { asCorralError, recordedCgroup } from './cgroup.js';
import { openInit, underLock } from './operation.js';

const SIGKILL = 9;

export interface KillOptions {
  /** Every process in the container's cgroup, not only its init (runc's kill --all). */
  all?: boolean;
  /** Where the steps are told (the command's --debug). */
  debug?: (message: string) => void;
}

/**
 * `kill`: a signal to the container's init, by pidfd. With `all`, and for a SIGKILL to a
 * container that has no pid namespace of its own (where the init's death takes nothing with
 * it), the signal goes to every process of the cgroup instead, as runc sends it; that also
 * reaches what a stopped container's init left behind. A SIGKILL thaws a paused container, or
 * the kill would wait for `resume`.
 */
export async function killContainer(
  dir: ContainerDir,
  signal: number,
  options: KillOptions = {},
): Promise<void> {
  const debug = options.debug ?? (() => {});
  await underLock(dir, options.all ? 'killAll' : 'kill', async ({ state, status }) => {
    const cgroup = recordedCgroup(state.cgroupPaths, { rootless: state.rootless !== undefined });
    const everyProcess = options.all || (signal === SIGKILL && !hasOwnPidNamespace(state.config));
    if (everyProcess && cgroup?.exists()) {
      debug(`signal ${signal} to every process in the cgroup of ${state.id}`);
      await signalEveryProcess(cgroup, signal, status === 'paused', debug).catch((error: unknown) => {
        throw asCorralError(error);
      });
      return;
    }
    const init = openInit(state, 'kill');
    try {
      debug(`signal ${signal} to the init of ${state.id} (pid ${init.pid})`);
      init.signal(signal);
    } finally {
      init.close();
    }
    if (signal === SIGKILL && status === 'paused' && cgroup) {
      await cgroup.freeze('thawed').catch((error: unknown) => {
        throw asCorralError(error);
      });
    }
  });
}

/** A pid namespace made for the container (not the host's, not one joined by path). */
function hasOwnPidNamespace(spec: Spec): boolean {
  return (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'pid' && !ns.path);
}

/**
 * Frozen while listed and signalled, so that nothing forks past the signal; left frozen after
 * if it was paused, unless the signal is SIGKILL, which a frozen process takes only once thawed.
 */
async function signalEveryProcess(
  cgroup: CgroupManager,
  signal: number,
  paused: boolean,
  debug: (message: string) => void,
): Promise<void> {
  const freezes = await cgroup.getFreezerState().then(
    () => true,
    () => false,
  );
  if (freezes && !paused) await cgroup.freeze('frozen');
  try {
    const pids = await cgroup.getPids({ recursive: true });
    debug(`pids ${pids.join(' ') || '(none)'}`);
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
  } finally {
    if (freezes && (!paused || signal === SIGKILL)) await cgroup.freeze('thawed');
  }
}
