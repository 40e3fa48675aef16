import { Pidfd } from '@corral/native';

import { InvalidStateError, toCorralError } from '../errors.js';
import { loadBundle } from '../spec/load.js';
import type { ContainerDir, ContainerStateFile } from '../state/state-dir.js';
import { type ContainerStatus, can, deriveStatus, initIsAlive, type Operation } from './status.js';

/** What an operation acts on, once it holds the lock. */
export interface Locked {
  dir: ContainerDir;
  state: ContainerStateFile;
  status: ContainerStatus;
  /** Lets go of the lock before the operation ends (an exec that then waits on a frozen process). */
  unlock(): void;
}

/** Where warnings go when the caller names no place. */
export function defaultWarn(message: string): void {
  process.emitWarning(message);
}

/** Where an operation tells its steps (the command's --debug); nowhere unless asked. */
export type Debug = (message: string) => void;
export const noDebug: Debug = () => {};

/** corral-init's log levels from warning up are the caller's warnings; the rest are debug lines. */
const INIT_LOG_WARNING = 2;

/** Where corral-init's LOG lines go, by their level. */
export function initLog(warn: (message: string) => void, debug: Debug) {
  return (level: number, message: string): void =>
    (level >= INIT_LOG_WARNING ? warn : debug)(`corral-init: ${message}`);
}

/** How each operation says itself in `cannot X container ID: it is S`. */
const VERBS: Record<Operation, string> = {
  start: 'start',
  kill: 'kill',
  killAll: 'kill',
  delete: 'delete',
  forceDelete: 'delete',
  pause: 'pause',
  resume: 'resume',
  exec: 'exec into',
  execIgnoringPause: 'exec into',
  update: 'update',
  checkpoint: 'checkpoint',
  stats: 'read stats of',
};

/** Refuses an operation the status does not allow. */
export function check(operation: Operation, id: string, status: ContainerStatus, hint = ''): void {
  if (!can[operation](status)) throw new InvalidStateError(VERBS[operation], id, status, hint);
}

/**
 * The steps every operation on an existing container follows: take the container's lock,
 * read its state and derive its status, check that the operation is allowed in it, then act
 * (and record what changed). Failures reach the caller in corral's error family.
 */
export async function underLock<T>(
  dir: ContainerDir,
  operation: Operation,
  act: (locked: Locked) => Promise<T>,
  hint?: (status: ContainerStatus) => string,
): Promise<T> {
  let release: (() => void) | undefined;
  try {
    release = await dir.lock();
    const state = withConfig(dir.readState());
    const status = await deriveStatus(dir, state);
    check(operation, dir.id, status, hint?.(status));
    const unlock = () => {
      release?.();
      release = undefined;
    };
    return await act({ dir, state, status, unlock });
  } catch (error) {
    throw toCorralError(error, `${VERBS[operation]} container ${dir.id}`);
  } finally {
    release?.();
  }
}

/** The recorded init by pidfd, if it is still that process; undefined once it has gone. */
export function openInitIfAlive(state: ContainerStateFile): Pidfd | undefined {
  let init: Pidfd;
  try {
    init = Pidfd.open(state.pid);
  } catch {
    return undefined;
  }
  // Opened first, checked after: a pid reused in between fails the check.
  if (initIsAlive(state)) return init;
  init.close();
  return undefined;
}

/**
 * The state with the config the container was made from. A state.json written by a corral
 * from before configs were kept there has only its bundle to go by (or, with the bundle gone,
 * no config and so no hooks).
 */
export function withConfig(state: ContainerStateFile): ContainerStateFile {
  if (state.config) return state;
  try {
    state.config = loadBundle(state.bundle).spec;
  } catch {
    state.config = { ociVersion: state.ociVersion };
  }
  return state;
}

/** A pidfd for the init, for an operation that needs it alive. */
export function openInit(state: ContainerStateFile, operation: Operation): Pidfd {
  const init = openInitIfAlive(state);
  if (!init) throw new InvalidStateError(VERBS[operation], state.id, 'stopped');
  return init;
}
