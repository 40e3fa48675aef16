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
 * and its fields are listed beside its code below.
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

enum ci_op_code {
  /* In corral-init before the clone. */
  CI_OP_JOIN_NAMESPACE = 1,  /* u32 nstype (CLONE_NEW*), str path                              */
  CI_OP_CLONE = 2,           /* u64 clone flags: everything after runs in the child            */
  CI_OP_TIME_OFFSETS = 3,    /* u64 monotonic secs (two's complement), u32 nanosecs, u64 boottime
                                secs, u32 nanosecs: of the time namespace unshared for children */
  /* In the child. */
  CI_OP_OPEN_MOUNT_SOURCE = 4, /* str source (host path), u32 flags (CI_BIND_*): clone it now, for
                                a later CI_OP_MOUNT_BIND of the same source and flags to attach;
                                done before becoming a user namespace's root, which may not
                                reach the source                                              */
  CI_OP_WAIT_GO = 10,        /* (none): wait for CI_MSG_GO                                      */
  CI_OP_UNSHARE = 11,        /* u64 flags (also before the clone: a time namespace for children) */
  CI_OP_SETSID = 12,         /* (none)                                                          */
  CI_OP_DUMPABLE = 13,       /* u32 0 or 1: PR_SET_DUMPABLE (also before the clone: a user's runtime
                                writes the new user namespace's maps only to a dumpable child)  */
  CI_OP_ROOT_PROPAGATION = 20, /* u64 mount flags for "/" (MS_REC | MS_PRIVATE|MS_SLAVE|...)   */
  CI_OP_OPEN_ROOTFS = 21,    /* str host path: bind it onto itself and keep a descriptor        */
  CI_OP_MKDIR = 22,          /* str path in rootfs, u32 mode: like mkdir -p, in root            */
  CI_OP_MKFILE = 23,         /* str path in rootfs, u32 mode: an empty file to mount over       */
  CI_OP_MOUNT_FS = 24,       /* str fstype, str source, str target in rootfs, u64 attr set,
                                u32 propagation (MS_*), str list fs options (key=value or key)  */
  CI_OP_MOUNT_BIND = 25,     /* str source (host path), str target in rootfs, u32 flags
                                (CI_BIND_*), u64 attr set, u64 attr clear, u32 propagation,
                                u32 userns (n: id-mapped by the n-th CI_OP_IDMAP_USERNS; 0: none) */
  CI_OP_MKNOD = 26,          /* str path in rootfs, u32 mode (S_IF* | perms), u32 major,
                                u32 minor, u32 uid, u32 gid                                     */
  CI_OP_SYMLINK = 27,        /* str target, str link path in rootfs                             */
  CI_OP_PIVOT_ROOT = 28,     /* (none)                                                          */
  CI_OP_CHROOT = 29,         /* (none): for --no-pivot                                          */
  CI_OP_MASK_PATH = 30,      /* str path: /dev/null over a file, read-only tmpfs over a dir     */
  CI_OP_READONLY_PATH = 31,  /* str path: bind onto itself read-only                            */
  CI_OP_REMOUNT_ROOT_RO = 32, /* (none)                                                         */
  CI_OP_SETHOSTNAME = 40,    /* str                                                              */
  CI_OP_SETDOMAINNAME = 41,  /* str                                                              */
  CI_OP_RLIMIT = 42,         /* u32 resource, u64 soft, u64 hard                                 */
  CI_OP_SETGROUPS = 43,      /* u32 count, count x u32                                           */
  CI_OP_SETGID = 44,         /* u32                                                              */
  CI_OP_SETUID = 45,         /* u32 (capabilities are kept across it for CI_OP_CAPABILITIES)     */
  CI_OP_CAPABILITIES = 46,   /* u64 bounding, u64 effective, u64 permitted, u64 inheritable,
                                u64 ambient                                                      */
  CI_OP_NO_NEW_PRIVS = 47,   /* (none)                                                          */
  CI_OP_UMASK = 48,          /* u32                                                              */
  CI_OP_CHDIR = 49,          /* str path, resolved inside the new root                          */
  CI_OP_OPEN_EXEC_FIFO = 50, /* str host path of the exec FIFO: kept as an O_PATH descriptor    */
  CI_OP_WAIT_EXEC_FIFO = 51, /* (none): block opening the FIFO for writing until `start` reads  */
  CI_OP_RUN_HOOK = 52,       /* str path, str list argv, str list env, u32 which state from GO
                                goes to its stdin (0 or 1), u64 timeout in ms (0: none)         */
  CI_OP_CONSOLE = 53,        /* u32 rows, u32 columns (0 0: unset), after pivot_root: a pty from
                                the container's devpts with that window size; the peer becomes
                                /dev/console, the controlling terminal and stdio, the master
                                goes to the parent in CI_MSG_CONSOLE                             */
  CI_OP_PRESERVE_FDS = 54,   /* u32 count: descriptors 3..3+count-1 stay open across exec       */
  CI_OP_JOIN_SESSION_KEYRING = 55, /* str name: a new session keyring, searchable by its user  */
  CI_OP_SYSCTL = 56,         /* str name (under /proc/sys, "/"-separated), str value            */
  CI_OP_IO_PRIORITY = 57,    /* u32 class, u32 level: ioprio_set on itself                      */
  CI_OP_SCHEDULER = 58,      /* u32 policy, u64 flags, u32 nice (two's complement), u32 priority,
                                u64 runtime, u64 deadline, u64 period: sched_setattr on itself  */
  CI_OP_PERSONALITY = 59,    /* u32 domain: personality(2)                                      */
  CI_OP_SIGNAL_READY = 60,   /* (none): send CI_MSG_READY                                       */
  CI_OP_EXEC = 61,           /* str file, str list argv, str list env: PATH from env            */
  CI_OP_CPU_AFFINITY = 62,   /* u32s cpus: sched_setaffinity on itself                          */
  CI_OP_IDMAP_USERNS = 63,   /* u32 uidLines, u32s maps (uid then gid triples): a user namespace
                                holding an id-mapped mount's maps, made before the clone      */
  CI_OP_SECCOMP = 70,        /* u32 seccomp(2) filter flags (SECCOMP_FILTER_FLAG_*), u32 list:
                                the BPF program, struct sock_filter array as little-endian
                                u32 pairs; installed with SECCOMP_SET_MODE_FILTER. With
                                SECCOMP_FILTER_FLAG_NEW_LISTENER the listener goes to the
                                parent in CI_MSG_SECCOMP_LISTENER                              */
};

/* CI_OP_MOUNT_BIND flags. */
#define CI_BIND_RECURSIVE 1u      /* clone the whole tree under the source (rbind)             */
#define CI_BIND_ATTR_RECURSIVE 2u /* apply the attributes to every mount in it (rro and such)  */

#endif
