/*
 * corral-init: runs a plan that TypeScript compiled, and nothing else. It is the only code
 * between clone and execve. It decides nothing: every path, flag and value comes in the plan,
 * and every failure goes back as a structured report naming the op that failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "channel.h"
#include "init.h"

int ci_fail(struct ci_ctx *ctx, const char *syscall, const char *path) {
  ctx->fail_syscall = syscall;
  ctx->fail_path = path;
  return -1;
}

/* The parent learns the child's pid and gets a pidfd for it, so it never signals a reused pid. */
static int op_clone(struct ci_ctx *ctx, const struct ci_op *op) {
  int pidfd = -1;
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  /* CLONE_PARENT makes the container process a child of the corral process that spawned us, so
     it can be waited for there once this helper has exited. */
  args.flags = op->num[0] | CLONE_PARENT | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&pidfd;
  /* With CLONE_PARENT the kernel takes the exit signal from us (SIGCHLD, as Node spawned us);
     clone3 refuses one given here. */
  args.exit_signal = 0;
  long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid < 0) return ci_fail(ctx, "clone3", NULL);
  if (pid == 0) return 0;
  uint8_t payload[4] = {(uint8_t)pid, (uint8_t)(pid >> 8), (uint8_t)(pid >> 16), (uint8_t)(pid >> 24)};
  int rc = ci_send_frame(ctx->channel, CI_MSG_CHILD_STARTED, payload, sizeof(payload), pidfd);
  _exit(rc == 0 ? 0 : 1);
}

static int op_wait_go(struct ci_ctx *ctx, const struct ci_op *op) {
  (void)op;
  uint32_t type;
  uint8_t *payload;
  ssize_t len = ci_recv_frame(ctx->channel, &type, &payload);
  if (len < 0) return ci_fail(ctx, "recv", NULL);
  if (type != CI_MSG_GO) {
    free(payload);
    errno = EPROTO;
    return ci_fail(ctx, "recv", NULL);
  }
  /* The payload stays allocated: the hook states point into it until exec. */
  ssize_t count = ci_decode_str_list(payload, (size_t)len, &ctx->hook_states);
  if (count < 0) {
    free(payload);
    return ci_fail(ctx, "decode", "go");
  }
  ctx->hook_state_count = (size_t)count;
  return 0;
}

static int op_signal_ready(struct ci_ctx *ctx, const struct ci_op *op) {
  (void)op;
  if (ci_send_frame(ctx->channel, CI_MSG_READY, NULL, 0, -1)) return ci_fail(ctx, "send", NULL);
  return 0;
}

static ci_op_fn op_function(uint16_t code) {
  switch (code) {
    case CI_OP_JOIN_NAMESPACE: return ci_op_join_namespace;
    case CI_OP_CLONE: return op_clone;
    case CI_OP_TIME_OFFSETS: return ci_op_time_offsets;
    case CI_OP_OPEN_MOUNT_SOURCE: return ci_op_open_mount_source;
    case CI_OP_WAIT_GO: return op_wait_go;
    case CI_OP_UNSHARE: return ci_op_unshare;
    case CI_OP_SETSID: return ci_op_setsid;
    case CI_OP_DUMPABLE: return ci_op_dumpable;
    case CI_OP_ROOT_PROPAGATION: return ci_op_root_propagation;
    case CI_OP_OPEN_ROOTFS: return ci_op_open_rootfs;
    case CI_OP_MKDIR: return ci_op_mkdir;
    case CI_OP_MKFILE: return ci_op_mkfile;
    case CI_OP_MOUNT_FS: return ci_op_mount_fs;
    case CI_OP_MOUNT_BIND: return ci_op_mount_bind;
    case CI_OP_MKNOD: return ci_op_mknod;
    case CI_OP_SYMLINK: return ci_op_symlink;
    case CI_OP_PIVOT_ROOT: return ci_op_pivot_root;
    case CI_OP_CHROOT: return ci_op_chroot;
    case CI_OP_MASK_PATH: return ci_op_mask_path;
    case CI_OP_READONLY_PATH: return ci_op_readonly_path;
    case CI_OP_REMOUNT_ROOT_RO: return ci_op_remount_root_ro;
    case CI_OP_SETHOSTNAME: return ci_op_sethostname;
    case CI_OP_SETDOMAINNAME: return ci_op_setdomainname;
    case CI_OP_RLIMIT: return ci_op_rlimit;
    case CI_OP_SETGROUPS: return ci_op_setgroups;
    case CI_OP_SETGID: return ci_op_setgid;
    case CI_OP_SETUID: return ci_op_setuid;
    case CI_OP_CAPABILITIES: return ci_op_capabilities;
    case CI_OP_NO_NEW_PRIVS: return ci_op_no_new_privs;
    case CI_OP_UMASK: return ci_op_umask;
    case CI_OP_CHDIR: return ci_op_chdir;
    case CI_OP_OPEN_EXEC_FIFO: return ci_op_open_exec_fifo;
    case CI_OP_WAIT_EXEC_FIFO: return ci_op_wait_exec_fifo;
    case CI_OP_RUN_HOOK: return ci_op_run_hook;
    case CI_OP_CONSOLE: return ci_op_console;
    case CI_OP_PRESERVE_FDS: return ci_op_preserve_fds;
    case CI_OP_JOIN_SESSION_KEYRING: return ci_op_join_session_keyring;
    case CI_OP_SYSCTL: return ci_op_sysctl;
    case CI_OP_IO_PRIORITY: return ci_op_io_priority;
    case CI_OP_SCHEDULER: return ci_op_scheduler;
    case CI_OP_PERSONALITY: return ci_op_personality;
    case CI_OP_CPU_AFFINITY: return ci_op_cpu_affinity;
    case CI_OP_IDMAP_USERNS: return ci_op_idmap_userns;
    case CI_OP_SIGNAL_READY: return op_signal_ready;
    case CI_OP_EXEC: return ci_op_exec;
    case CI_OP_SECCOMP: return ci_op_seccomp;
    default: return NULL;
  }
}

int main(int argc, char **argv) {
  struct ci_ctx ctx = {.channel = CI_CHANNEL_FD, .rootfd = -1, .devnull = -1, .exec_fifo = -1};
  if (argc > 1) ctx.channel = atoi(argv[1]);

  /* We run from /proc/self/fd/N; name ourselves for ps rather than show "N". */
  prctl(PR_SET_NAME, "corral-init", 0, 0, 0);
  /* Not dumpable: a container process must not ptrace us or open our /proc files (a plan of a
     runtime that is not root turns it back on around the clone only: CI_OP_DUMPABLE). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
    ci_report_error(ctx.channel, -1, errno, "prctl", NULL, "PR_SET_DUMPABLE");
    return 1;
  }

  uint32_t type;
  uint8_t *payload;
  ssize_t len = ci_recv_frame(ctx.channel, &type, &payload);
  if (len < 0 || type != CI_MSG_PLAN) {
    ci_report_error(ctx.channel, -1, len < 0 ? errno : EPROTO, "recv", NULL, "expected a plan");
    return 1;
  }
  struct ci_plan plan;
  int32_t bad_op;
  if (ci_decode_plan(payload, (size_t)len, &plan, &bad_op)) {
    ci_report_error(ctx.channel, bad_op, errno, "decode", NULL, "malformed plan");
    return 1;
  }

  for (uint32_t i = 0; i < plan.count; i++) {
    const struct ci_op *op = &plan.ops[i];
    ci_op_fn fn = op_function(op->code);
    ctx.fail_syscall = NULL;
    ctx.fail_path = NULL;
    ctx.fail_message[0] = '\0';
    if (fn(&ctx, op) != 0) {
      int err = errno;
      ci_report_error(ctx.channel, (int32_t)i, err, ctx.fail_syscall, ctx.fail_path, ctx.fail_message);
      return 1;
    }
  }
  /* A plan ends in exec; reaching here means it did not. */
  ci_report_error(ctx.channel, -1, EPROTO, "plan", NULL, "plan ended without exec");
  return 1;
}
