import type { ExitStatus } from '@corral/native';
import { timingMark } from '../timing.js';
import { createContainer } from './create.js';
import { defaultWarn } from './operation.js';
import type { CreateOptions } from './process/builders.js';
import { runPoststart } from './start.js';
import { teardownExited } from './teardown.js';

export interface RunOptions extends CreateOptions {
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
 * the container is torn down (or, with `keep`, left stopped for `delete`).
 */
export async function runContainer(options: RunOptions): Promise<RunningContainer> {
  const { dir, state, init, console, notify } = await createContainer(options, 'run');
  const warn = options.warn ?? defaultWarn;
  // corral stays as the manager's main process in the foreground: no MAINPID, as with runc.
  const processExited = new AbortController();
  notify
    ?.forwardUntilReady(undefined, processExited.signal)
    .catch((error: Error) => warn(error.message))
    .finally(() => notify.close());
  await runPoststart(state, warn);
  const exited = init
    .exited()
    .then((status) => {
      timingMark('exited');
      options.debug?.(`the init (pid ${init.pid}) exited: ${JSON.stringify(status)}`);
      return status;
    })
    .finally(async () => {
      processExited.abort();
      init.close();
      if (!options.keep) await teardownExited(dir, warn, options.debug);
      timingMark('torn down');
    });
  return { id: state.id, pid: init.pid, signal: (signal) => init.signal(signal), exited, console };
}
