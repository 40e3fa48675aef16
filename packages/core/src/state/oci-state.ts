import type { ContainerStatus } from '../container/status.js';
import type { ContainerStateFile } from './state-dir.js';

/** The runtime-spec version corral implements: what `state` reports, as runc reports its own. */
export const OCI_VERSION = '1.2.0';

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

/** What state.json recorded, in a status: the pid is 0 once stopped, the owner left empty as runc's. */
export function ociStateOf(file: ContainerStateFile, status: ContainerStatus): OciState {
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
