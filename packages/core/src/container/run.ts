import type { ExitStatus } from '@corral/native';

import { hookState, runHooksWarning } from '../hooks.js';
import { type LaunchOptions, launch } from './launch.js';

export type RunOptions = LaunchOptions;

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
 * the container is deleted.
 */
export async function runContainer(options: RunOptions): Promise<RunningContainer> {
  const { dir, pidfd, spec, bundle, cgroup, console } = await launch(options, 'run');
  const warn = options.warn ?? ((message: string) => process.emitWarning(message));
  const state = (status: 'running' | 'stopped') =>
    hookState(spec, { id: options.id, status, pid: pidfd.pid, bundle });
  await runHooksWarning(spec, 'poststart', state('running'), warn);
  const exited = pidfd.exited().finally(async () => {
    pidfd.close();
    // Whatever the process left in its cgroup goes with it, as the container is deleted.
    await cgroup.destroy().catch((error: Error) => warn(`removing the cgroup: ${error.message}`));
    dir.remove();
    await runHooksWarning(spec, 'poststop', state('stopped'), warn);
  });
  return { id: options.id, pid: pidfd.pid, signal: (signal) => pidfd.signal(signal), exited, console };
}
