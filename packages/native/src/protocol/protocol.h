/*
 * The corral parent <-> corral-init protocol. protocol.ts beside this file is the other half;
 * keep the two in step (the golden vectors in test/golden are checked by both sides).
 *
 * A message is one or more SOCK_SEQPACKET datagrams:
 *   u32 type | u32 payload length | the payload's first bytes
 * then, while payload remains, datagrams of CI_MAX_DATAGRAM bytes of it (the last one shorter);
 * every datagram but the last is full. All integers are little-endian. A string is u32 length (counting a final NUL) then the bytes
 * and the NUL. A string list is u32 count then that many strings. A blob is u32 length then bytes.
 *
 * A PLAN payload is u32 version, u32 op count, then ops. Each op is
 *   u16 code | u16 reserved (0) | u32 op length (header included) | fields
 * The ops, their codes and their fields are defined once, in OPS of protocol.ts; corral-init's
 * table (src/init/ops.h) is generated from it.
 */
#ifndef CORRAL_PROTOCOL_H
#define CORRAL_PROTOCOL_H

#define CI_PROTOCOL_VERSION 2
#define CI_FRAME_HEADER_SIZE 8
#define CI_OP_HEADER_SIZE 8
#define CI_MAX_MESSAGE (16 * 1024 * 1024) /* payload bytes */
#define CI_MAX_DATAGRAM (64 * 1024)
#define CI_MAX_OPS 4096
/* corral-init finds its end of the socketpair here. */
#define CI_CHANNEL_FD 3

/*
 * The handshake, numbered as in HandshakeStep of protocol.ts; corral-init marks each point
 * "sync N". ERROR (which ends corral-init) may replace any step that comes from corral-init,
 * and LOG lines may come at any time.
 *   sync 1  runtime -> corral-init     PLAN
 *   sync 2  corral-init -> runtime     CHILD_STARTED, once the container process exists
 *   sync 3  runtime -> container       GO, once ids, cgroup and devices are set (waitGo)
 *   sync 4  container -> runtime       CONSOLE, with a terminal (console)
 *   sync 5  container -> runtime       SECCOMP_LISTENER, with a listener (seccomp)
 *   sync 6  container -> runtime       READY, at the exec FIFO of `create` (signalReady)
 *   sync 7  the channel closes on execve (exec)
 */
enum ci_message_type {
  CI_MSG_PLAN = 1,          /* parent -> init: u32 version, plan                               */
  CI_MSG_CHILD_STARTED = 2, /* init -> parent: u32 pid (host view); pidfd with SCM_RIGHTS      */
  CI_MSG_GO = 3,            /* parent -> child: host-side setup is done, go on; str list: none,
                               or the state document for in-container hooks cut around its
                               status value (before, after)                                    */
  CI_MSG_READY = 4,         /* child -> parent: plan done up to OP_SIGNAL_READY                */
  CI_MSG_ERROR = 5,         /* init -> parent: i32 op index, i32 errno, str syscall, str path,
                               str message                                                     */
  CI_MSG_LOG = 6,           /* init -> parent: u32 level (CI_LOG_*), str message              */
  CI_MSG_CONSOLE = 7,       /* child -> parent: the pty master with SCM_RIGHTS (no payload)    */
  CI_MSG_SECCOMP_LISTENER = 70, /* child -> parent: the seccomp notification listener with
                                   SCM_RIGHTS (no payload), after CI_OP_SECCOMP with
                                   SECCOMP_FILTER_FLAG_NEW_LISTENER                            */
};

/* LOG levels. */
#define CI_LOG_DEBUG 0
#define CI_LOG_INFO 1
#define CI_LOG_WARNING 2

/* chdir modes (ChdirMode in protocol.ts). */
#define CI_CHDIR_MUST 0u
#define CI_CHDIR_TRY 1u
#define CI_CHDIR_RETRY 2u

/* mountBind and openMountSource flags (BindFlags in protocol.ts). */
#define CI_BIND_RECURSIVE 1u
#define CI_BIND_SOURCE_IN_ROOT 4u
#define CI_BIND_MAKE_TARGET 8u
#define CI_BIND_IDMAP_RECURSIVE 16u

/* runHook flags (HookFlags in protocol.ts). */
#define CI_HOOK_WITH_HOME 1u

/* console flags (ConsoleFlags in protocol.ts). */
#define CI_CONSOLE_CLEAR_ONLCR 1u
#define CI_CONSOLE_BIND_CONSOLE 2u

/* mountFs flags (MountFlags in protocol.ts). */
#define CI_MOUNT_MAKE_DIR 1u
#define CI_MOUNT_KEEP_MODE 2u
#define CI_MOUNT_COPY_UP 4u
#define CI_MOUNT_REAL_DIR 8u

#endif
