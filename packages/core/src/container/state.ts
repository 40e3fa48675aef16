import { CorralError } from '../errors.js';
import { OCI_VERSION } from '../features.js';
import type { Spec } from '../spec/types.js';
import { ContainerDir, stateRootPath } from '../state/state-dir.js';
import { validateContainerId } from './id.js';
import { withConfig } from './operation.js';
import { type ContainerStatus, deriveStatus } from './status.js';

/** The OCI state of a container, as `corral state` prints it (runc's fields). */
export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

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
  const status = await deriveStatus(dir, file);
  return {
    // The version corral implements, whatever the config was written for, as runc's state.
    ociVersion: OCI_VERSION,
    id: file.id,
    pid: status === 'stopped' ? 0 : file.pid,
    status,
    bundle: file.bundle,
    rootfs: file.rootfs,
    created: file.created,
    owner: '',
    ...(file.annotations ? { annotations: file.annotations } : {}),
  };
}

/** The status alone, derived now. */
export function containerStatus(dir: ContainerDir): Promise<ContainerStatus> {
  return deriveStatus(dir, dir.readState());
}

/** The config the container was created from, as create accepted it (not the bundle's file now). */
export function containerConfig(dir: ContainerDir): Spec {
  return withConfig(dir.readState()).config;
}
