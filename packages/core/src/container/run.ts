import type { ExitStatus, Pidfd } from '@corral/native';

import { CorralError, CreateContainerError } from '../errors.js';
import { compileInitPlan } from '../plan/compile.js';
import { loadBundle } from '../spec/load.js';
import { ContainerDir, DEFAULT_STATE_ROOT } from '../state/state-dir.js';
import { validateContainerId } from './id.js';
import { InitProcess, type InitStdio } from './init-process.js';

export interface RunOptions {
  id: string;
  bundle: string;
  /** The state root (runc's --root). */
  root?: string;
  /** chroot instead of pivot_root (runc's --no-pivot). */
  noPivot?: boolean;
  /** stdin, stdout, stderr of the container process; the runtime's own by default. */
  stdio?: InitStdio;
}

/** A container whose process is running; `exited` resolves when it ends and all is cleaned. */
export interface RunningContainer {
  id: string;
  pid: number;
  signal(signal: number): void;
  exited: Promise<ExitStatus>;
}

const SIGKILL = 9;

/**
 * `run`: create and start a container in one step; when its process ends, the container is
 * deleted. A failure at any step removes everything made so far.
 */
export async function runContainer(options: RunOptions): Promise<RunningContainer> {
  validateContainerId(options.id);
  const bundle = loadBundle(options.bundle);
  const plan = compileInitPlan(bundle.spec, { bundle: bundle.path, noPivot: options.noPivot });
  const dir = ContainerDir.create(options.root ?? DEFAULT_STATE_ROOT, options.id);

  let init: InitProcess | undefined;
  let pidfd: Pidfd | undefined;
  try {
    init = await InitProcess.start(plan, options.stdio ?? ['inherit', 'inherit', 'inherit']);
    pidfd = await init.childStarted();
    dir.writeState({
      ociVersion: bundle.spec.ociVersion,
      id: options.id,
      pid: pidfd.pid,
      bundle: bundle.path,
      rootfs: bundle.rootfs,
      created: new Date().toISOString(),
      annotations: bundle.spec.annotations,
    });
    await init.go();
    await init.execDone();
  } catch (error) {
    const cleanupErrors: unknown[] = [];
    if (pidfd) {
      try {
        pidfd.signal(SIGKILL);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') cleanupErrors.push(e);
      }
      await pidfd.exited().catch((e) => cleanupErrors.push(e));
      pidfd.close();
    }
    init?.close();
    try {
      dir.remove();
    } catch (e) {
      cleanupErrors.push(e);
    }
    const failure =
      error instanceof CorralError
        ? error
        : new CorralError('SYSTEM', (error as Error).message, { cause: error });
    throw cleanupErrors.length ? new CreateContainerError(failure, cleanupErrors) : failure;
  }
  init.close();

  const running = pidfd;
  const exited = running.exited().finally(() => {
    running.close();
    dir.remove();
  });
  return {
    id: options.id,
    pid: running.pid,
    signal: (signal) => running.signal(signal),
    exited,
  };
}
