/**
 * The parts of the OCI runtime spec (config.json) that corral reads, with the spec's field
 * names. Unknown fields are kept and ignored, as the spec asks.
 */
export interface Spec {
  ociVersion: string;
  process?: SpecProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: SpecMount[];
  linux?: SpecLinux;
  hooks?: Partial<Record<HookKind, SpecHook[]>>;
  annotations?: Record<string, string>;
  [extension: string]: unknown;
}

export interface SpecProcess {
  terminal?: boolean;
  /** The terminal's size in characters; ignored without process.terminal. */
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args?: string[];
  env?: string[];
  cwd: string;
  capabilities?: Partial<Record<CapabilitySetName, string[]>>;
  rlimits?: Array<{ type: string; soft: number; hard: number }>;
  noNewPrivileges?: boolean;
  /** Written to /proc/PID/oom_score_adj before the process runs: -1000 to 1000. */
  oomScoreAdj?: number;
}

export type CapabilitySetName = 'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient';

export interface SpecMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  /** An id-mapped bind mount's maps, written as a user namespace's: containerID is the id on
   * the source filesystem, hostID the id seen through the mount. */
  uidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
  gidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

/** One range of a uid_map or gid_map. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export type TimeClock = 'monotonic' | 'boottime';

export interface SpecLinux {
  namespaces?: Array<{ type: NamespaceType; path?: string }>;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** Offsets of a new time namespace's clocks. */
  timeOffsets?: Partial<Record<TimeClock, { secs?: number; nanosecs?: number }>>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
  devices?: Array<{
    path: string;
    type: string;
    major?: number;
    minor?: number;
    fileMode?: number;
    uid?: number;
    gid?: number;
  }>;
  resources?: Record<string, unknown>;
  seccomp?: SpecSeccomp;
  sysctl?: Record<string, string>;
  [extension: string]: unknown;
}

export interface SpecSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SpecSeccompRule[];
}

export interface SpecSeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
}

export type HookKind =
  | 'prestart'
  | 'createRuntime'
  | 'createContainer'
  | 'startContainer'
  | 'poststart'
  | 'poststop';

export interface SpecHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}
