/*
 * The corral parent <-> corral-init protocol. protocol.ts beside this file is the other half;
 * keep the two in step (the golden vectors in test/golden are checked by both sides).
 *
 * Every message is one SOCK_SEQPACKET datagram:
 *   u32 type | u32 payload length | payload
 * All integers are little-endian. A string is u32 length (counting a final NUL) then the bytes
 * and the NUL. A string list is u32 count then that many strings. A blob is u32 length then bytes.
 *
 * A PLAN payload is u32 version, u32 op count, then ops. Each op is
 *   u16 code | u16 reserved (0) | u32 op length (header included) | fields
 * The ops, their codes and their fields are defined once, in OPS of protocol.ts; corral-init's
 * table (src/init/ops.h) is generated from it.
 */
#ifndef CORRAL_PROTOCOL_H
#define CORRAL_PROTOCOL_H

#define CI_PROTOCOL_VERSION 1
#define CI_FRAME_HEADER_SIZE 8
#define CI_OP_HEADER_SIZE 8
#define CI_MAX_MESSAGE (256 * 1024)
#define CI_MAX_OPS 4096
/* corral-init finds its end of the socketpair here. */
#define CI_CHANNEL_FD 3

enum ci_message_type {
  CI_MSG_PLAN = 1,          /* parent -> init: u32 version, plan                               */
  CI_MSG_CHILD_STARTED = 2, /* init -> parent: u32 pid (host view); pidfd with SCM_RIGHTS      */
  CI_MSG_GO = 3,            /* parent -> child: host-side setup is done, go on; str list of the
                               container state documents that CI_OP_RUN_HOOK hands to hooks   */
  CI_MSG_READY = 4,         /* child -> parent: plan done up to OP_SIGNAL_READY                */
  CI_MSG_ERROR = 5,         /* init -> parent: i32 op index, i32 errno, str syscall, str path,
                               str message                                                     */
  CI_MSG_LOG = 6,           /* init -> parent: u32 level, str message                          */
  CI_MSG_CONSOLE = 7,       /* child -> parent: the pty master with SCM_RIGHTS (no payload)    */
  CI_MSG_SECCOMP_LISTENER = 70, /* child -> parent: the seccomp notification listener with
                                   SCM_RIGHTS (no payload), after CI_OP_SECCOMP with
                                   SECCOMP_FILTER_FLAG_NEW_LISTENER                            */
};

/* CI_OP_MOUNT_BIND flags. */
#define CI_BIND_RECURSIVE 1u      /* clone the whole tree under the source (rbind)             */
#define CI_BIND_ATTR_RECURSIVE 2u /* apply the attributes to every mount in it (rro and such)  */

#endif
