import type { ExitStatus } from '@corral/native';

import { hookState, runHooksWarning } from '../hooks.js';
import { type LaunchOptions, launch } from './launch.js';

export interface RunOptions extends LaunchOptions {
  /** Leave the stopped container for `delete` instead of removing it (runc's run --keep). */
  keep?: boolean;
}

/** A container whose process is running; `exited` resolves when it ends and all is cleaned. */
export interface RunningContainer {
  id: string;
  pid: number;
  signal(signal: number): void;
  exited: Promise<ExitStatus>;
  /** The pty master of the process's terminal (process.terminal without a console socket); the caller closes it. */
  console?: number;
}

/**
 * `run` in the foreground: create and start a container in one step; when its process ends,
 * the container is deleted (or, with `keep`, left stopped for `delete`).
 */
export async function runContainer(options: RunOptions): Promise<RunningContainer> {
  const { dir, pidfd, spec, bundle, cgroup, console, notify } = await launch(options, 'run');
  const warn = options.warn ?? ((message: string) => process.emitWarning(message));
  // corral stays as the manager's main process in the foreground: no MAINPID, as with runc.
  const processExited = new AbortController();
  notify
    ?.forwardUntilReady(undefined, processExited.signal)
    .catch((error: Error) => warn(error.message))
    .finally(() => notify.close());
  const state = (status: 'running' | 'stopped') =>
    hookState(spec, { id: options.id, status, pid: pidfd.pid, bundle });
  await runHooksWarning(spec, 'poststart', state('running'), warn);
  const exited = pidfd.exited().finally(async () => {
    processExited.abort();
    pidfd.close();
    if (options.keep) return;
    // Whatever the process left in its cgroup goes with it, as the container is deleted.
    await cgroup.destroy().catch((error: Error) => warn(`removing the cgroup: ${error.message}`));
    dir.remove();
    await runHooksWarning(spec, 'poststop', state('stopped'), warn);
  });
  return { id: options.id, pid: pidfd.pid, signal: (signal) => pidfd.signal(signal), exited, console };
}
