import { resolve } from 'node:path';

import { ContainerDir, DEFAULT_STATE_ROOT } from '../state/state-dir.js';
import { validateContainerId } from './id.js';
import { defaultWarn, underLock } from './operation.js';
import { teardown } from './teardown.js';

export interface DeleteOptions {
  /** Kill a live container first (runc's delete --force). */
  force?: boolean;
  /** Where a failed poststop hook is reported; process.emitWarning by default. */
  warn?: (message: string) => void;
  /** Where the steps are told (the command's --debug). */
  debug?: (message: string) => void;
}

/** `delete`: the container's teardown, under its lock. */
export async function deleteContainer(dir: ContainerDir, options: DeleteOptions = {}): Promise<void> {
  await underLock(dir, options.force ? 'forceDelete' : 'delete', ({ state, status }) =>
    teardown({
      dir,
      state,
      paused: status === 'paused',
      warn: options.warn ?? defaultWarn,
      debug: options.debug,
    }),
  );
}

/**
 * Removes what a `create` killed before it recorded its state left behind: a directory with no
 * state.json. Its half-made container process dies by itself once corral-init's channel
 * closes, so there is no process to kill. Taken under the lock: a create still at work holds it,
 * and once it has finished there is a container to delete instead. Returns whether anything
 * was there.
 */
export async function deleteLeftover(
  root: string | undefined,
  id: string,
  options: DeleteOptions = {},
): Promise<boolean> {
  validateContainerId(id);
  const dir = ContainerDir.at(resolve(root ?? DEFAULT_STATE_ROOT), id);
  let release: () => void;
  try {
    release = await dir.lock({ create: true });
  } catch (error) {
    if ((error as { code?: string }).code === 'CONTAINER_NOT_FOUND') return false;
    throw error;
  }
  try {
    if (!dir.hasState()) {
      dir.remove();
      return true;
    }
  } finally {
    release();
  }
  await deleteContainer(dir, options);
  return true;
}
