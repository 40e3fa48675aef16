import { CorralError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { type OciState, ociStateOf } from '../state/oci-state.js';
import { ContainerDir, stateRootPath } from '../state/state-dir.js';
import { validateContainerId } from './id.js';
import { withConfig } from './operation.js';
import { type ContainerStatus, deriveStatus } from './status.js';

export type { OciState } from '../state/oci-state.js';

/** The directory of an existing container; CONTAINER_NOT_FOUND when there is none by that id. */
export function openContainer(root: string | undefined, id: string): ContainerDir {
  validateContainerId(id);
  return ContainerDir.open(stateRootPath(root), id);
}

/** The directories of every container under the root, in id order; others are skipped. */
export function listContainers(root: string | undefined): ContainerDir[] {
  const path = stateRootPath(root);
  const dirs: ContainerDir[] = [];
  for (const id of ContainerDir.ids(path)) {
    try {
      dirs.push(openContainer(path, id));
    } catch (error) {
      if (!(error instanceof CorralError)) throw error;
    }
  }
  return dirs;
}

/** `state`: what state.json recorded, with the status derived now. Takes no lock. */
export async function containerState(dir: ContainerDir): Promise<OciState> {
  const file = dir.readState();
  return ociStateOf(file, await deriveStatus(dir, file));
}

/** The status alone, derived now. */
export function containerStatus(dir: ContainerDir): Promise<ContainerStatus> {
  return deriveStatus(dir, dir.readState());
}

/** The config the container was created from, as create accepted it (not the bundle's file now). */
export function containerConfig(dir: ContainerDir): Spec {
  return withConfig(dir.readState()).config;
}
