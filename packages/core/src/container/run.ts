import type { ExitStatus } from '@corral/native';

import { type LaunchOptions, launch } from './launch.js';

export type RunOptions = LaunchOptions;

/** A container whose process is running; `exited` resolves when it ends and all is cleaned. */
export interface RunningContainer {
  id: string;
  pid: number;
  signal(signal: number): void;
  exited: Promise<ExitStatus>;
}

/**
 * `run` in the foreground: create and start a container in one step; when its process ends,
 * the container is deleted.
 */
export async function runContainer(options: RunOptions): Promise<RunningContainer> {
  const { dir, pidfd } = await launch(options, 'run');
  const exited = pidfd.exited().finally(() => {
    pidfd.close();
    dir.remove();
  });
  return { id: options.id, pid: pidfd.pid, signal: (signal) => pidfd.signal(signal), exited };
}
