export { type CheckpointOptions, checkpointContainer } from './container/checkpoint.js';
export { Container } from './container/container.js';
export { createWaitingContainer } from './container/create.js';
export {
  type CriuCommonOptions,
  MANAGE_CGROUPS_MODES,
  type ManageCgroupsMode,
  type NetworkLock,
} from './container/criu.js';
export { type DeleteOptions, deleteContainer, deleteLeftover } from './container/delete.js';
export { CRIU_CONFIG_ANNOTATION, DEFAULT_CRIU_CONFIG } from './container/dump-basis.js';
export { execInContainer, type RunningProcess } from './container/exec.js';
export { validateContainerId } from './container/id.js';
export { type KillOptions, killContainer } from './container/kill.js';
export { pauseContainer } from './container/pause.js';
export type { CreateOptions, ExecOptions } from './container/process/builders.js';
export { type InitStdio, initFailure } from './container/process/init-process.js';
export { containerProcesses } from './container/processes.js';
export { type RestoredContainer, type RestoreOptions, restoreContainer } from './container/restore.js';
export { resumeContainer } from './container/resume.js';
export { type RunningContainer, type RunOptions, runContainer } from './container/run.js';
export { type StartOptions, startContainer } from './container/start.js';
export {
  containerConfig,
  containerState,
  containerStatus,
  listContainers,
  type OciState,
  openContainer,
} from './container/state.js';
export { containerOomEvents, containerStats } from './container/stats.js';
export { type ContainerStatus, can, type Operation } from './container/status.js';
export { updateContainer } from './container/update.js';
export {
  CorralError,
  type CorralErrorCode,
  CreateContainerError,
  InitError,
  InvalidConfigError,
  InvalidStateError,
  SystemError,
  toCorralError,
} from './errors.js';
export { OCI_VERSION, runtimeFeatures } from './features.js';
export type { ContainerCgroups } from './plan/cgroup-mount.js';
export { type CompileOptions, compileExecPlan, compileInitPlan, type InitPlan } from './plan/compile.js';
export { parseMountOptions } from './plan/mount-options.js';
export type { SeccompProgramCache } from './plan/seccomp-cache.js';
export { defaultSpec, rootlessSpec } from './spec/default-spec.js';
export { type Bundle, loadBundle } from './spec/load.js';
export type { Spec, SpecMount, SpecProcess, SpecSeccomp, SpecSeccompRule } from './spec/types.js';
export { validateSpec } from './spec/validate.js';
export {
  ContainerDir,
  type ContainerStateFile,
  DEFAULT_STATE_ROOT,
  defaultStateRoot,
} from './state/state-dir.js';
export { collectTimingMarks, type TimingMark, timingMark } from './timing.js';
