import { createsUserNamespace, mapToHost } from '../plan/namespaces.js';
import type { Spec } from '../spec/types.js';
import type { ContainerStateFile } from '../state/state-dir.js';
import { externalMountsAtDump, externalNamespaces } from './checkpoint-externals.js';

// What every dump of a container tells CRIU that the container alone decides, not the
// checkpoint's flags nor its stdio of the moment. checkpoint.ts builds its request on it; the
// command line's C front, which checkpoints a plain container without Node, reads the same
// values from the front plan (dumpPlanLines), written when the container is made.

/** The annotation that names a CRIU configuration file for one container, as runc reads it. */
export const CRIU_CONFIG_ANNOTATION = 'org.criu.config';

/** The CRIU configuration file of containers without the annotation; CRIU skips it if absent. */
export const DEFAULT_CRIU_CONFIG = '/etc/criu/corral.conf';

/**
 * The configuration file CRIU reads on top of corral's options (its settings win), at dump and
 * restore alike: the annotation's path, none when the annotation is empty, else corral's default.
 */
export function criuConfig(spec: Spec): { configFile?: string } {
  const configured = spec.annotations?.[CRIU_CONFIG_ANNOTATION];
  if (configured === undefined) return { configFile: DEFAULT_CRIU_CONFIG };
  return configured === '' ? {} : { configFile: configured };
}

/**
 * The host group the images directory is shared with when the container has a user namespace
 * of its own: its root's (criu.ts's shareImagesWithContainerRoot says why).
 */
export function imagesGroupOf(spec: Spec): number | undefined {
  return createsUserNamespace(spec) ? mapToHost(spec.linux?.gidMappings ?? [], 0) : undefined;
}

export interface DumpBasis {
  root: string;
  /** The freezer that stops the whole tree at once; without one CRIU falls back to ptrace. */
  freezeCgroup?: string;
  externalMounts: Record<string, string>;
  /** The joined namespaces' keys (checkpoint-externals.ts); a dump lists the stdio's before them. */
  external: string[];
  configFile?: string;
  /** The master of the container's terminal is its console socket's receiver's, not the tree's. */
  orphanPtsMaster: boolean;
}

export function dumpBasis(state: ContainerStateFile): DumpBasis {
  const spec = state.config;
  const paths = state.cgroupPaths ?? {};
  const freezeCgroup = paths.freezer ?? paths[''];
  return {
    root: state.rootfs,
    ...(freezeCgroup ? { freezeCgroup } : {}),
    externalMounts: externalMountsAtDump(spec, state.pid, paths),
    external: externalNamespaces(state.pid, spec),
    ...criuConfig(spec),
    orphanPtsMaster: spec.process?.terminal === true,
  };
}

/**
 * The front plan's `criu-*` lines: the dump basis of a container whose init runs (its mounts are
 * final once it waits to be started), with the images group. None when a value does not fit on a
 * line or the init is already gone: the command line then checkpoints it.
 */
export function dumpPlanLines(state: ContainerStateFile): string[] {
  let basis: DumpBasis;
  try {
    basis = dumpBasis(state);
  } catch {
    return [];
  }
  const group = imagesGroupOf(state.config);
  const lines = [
    `criu-root ${basis.root}`,
    ...(basis.freezeCgroup ? [`criu-freeze-cgroup ${basis.freezeCgroup}`] : []),
    // A dump keys each external mount by its mount point, and maps it to the same.
    ...Object.keys(basis.externalMounts).map((point) => `criu-ext-mount ${point}`),
    ...basis.external.map((key) => `criu-external ${key}`),
    ...(basis.configFile ? [`criu-config ${basis.configFile}`] : []),
    ...(basis.orphanPtsMaster ? ['criu-orphan-pts-master true'] : []),
    ...(group !== undefined ? [`criu-images-group ${group}`] : []),
  ];
  return lines.every((line) => !line.includes('\n') && !line.includes('\0')) ? lines : [];
}
