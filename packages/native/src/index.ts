export { isSystemCallError, type SystemCallError } from './errors.js';
export { initBinaryPath, sealedInitPath } from './init-binary.js';
export { makeSharedMount, mountNewNetns, NETLINK_ROUTE, openNetlinkSocket, unmountNetns } from './netns.js';
export { type ExitStatus, exitStatusCode, Pidfd, setChildSubreaper } from './process.js';
export type { InitErrorReport, InitOp, OpName } from './protocol/protocol.js';
export * as protocol from './protocol/protocol.js';
export { type SeqpacketMessage, SeqpacketSocket, seqpacketPair } from './seqpacket.js';
