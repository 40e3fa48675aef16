export {
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_F_ALLOW_OVERRIDE,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  type BpfLoadError,
  bpfProgAttach,
  bpfProgDetach,
  bpfProgGetFdById,
  bpfProgLoad,
  bpfProgQuery,
} from './bpf.js';
export { errnoName, isSystemCallError, type SystemCallError } from './errors.js';
export { Eventfd } from './eventfd.js';
export {
  bindDatagramSocket,
  flock,
  mkfifo,
  sendDatagram,
  sendDescriptor,
  setWindowSize,
  waitReadable,
  windowSize,
} from './fd.js';
export { initBinaryPath, sealedInitPath } from './init-binary.js';
export {
  makeSharedMount,
  mountNewNetns,
  NETLINK_ROUTE,
  namespaceType,
  openNetlinkSocket,
  unmountNetns,
} from './netns.js';
export { type ExitStatus, exitStatusCode, Pidfd, setChildSubreaper, spawnProcess } from './process.js';
export type { InitErrorReport, InitOp, OpName } from './protocol/protocol.js';
export * as protocol from './protocol/protocol.js';
export {
  type CompiledSeccompFilter,
  compileSeccompFilter,
  type SeccompArgCondition,
  type SeccompFilterSpec,
  type SeccompRule,
  seccompLibraryVersion,
} from './seccomp.js';
export { type SeqpacketMessage, SeqpacketSocket, seqpacketPair } from './seqpacket.js';
