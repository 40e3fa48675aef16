/*
 * corral-init: runs a plan that TypeScript compiled, and nothing else. It is the only code
 * between clone and execve. It decides nothing: every path, flag and value comes in the plan,
 * and every failure goes back as a structured report naming the op that failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "channel.h"
#include "fds.h"
#include "init.h"

int ci_fail(struct ci_ctx *ctx, const char *syscall, const char *path) {
  ctx->fail_syscall = syscall;
  ctx->fail_path = path;
  return -1;
}

/* sync 2: the parent learns the child's pid and gets a pidfd for it, so it never signals a
   reused pid. */
int ci_op_clone(struct ci_ctx *ctx, const struct ci_op_clone *op) {
  int pidfd = -1;
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  /* CLONE_PARENT makes the container process a child of the corral process that spawned us, so
     it can be waited for there once this helper has exited. */
  args.flags = op->flags | CLONE_PARENT | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&pidfd;
  /* With CLONE_PARENT the kernel takes the exit signal from us (SIGCHLD, as Node spawned us);
     clone3 refuses one given here. */
  args.exit_signal = 0;
  if (ctx->clone_cgroup >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)ctx->clone_cgroup;
  }
  long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid < 0) return ci_fail(ctx, "clone3", NULL);
  if (pid == 0) {
    /* Nothing of the container's may hold a descriptor of a host cgroup. */
    if (ctx->clone_cgroup >= 0) close(ctx->clone_cgroup);
    ctx->clone_cgroup = -1;
    return 0;
  }
  uint8_t payload[4] = {(uint8_t)pid, (uint8_t)(pid >> 8), (uint8_t)(pid >> 16), (uint8_t)(pid >> 24)};
  int rc = ci_send_frame(ctx->channel, CI_MSG_CHILD_STARTED, payload, sizeof(payload), pidfd);
  _exit(rc == 0 ? 0 : 1);
}

/* sync 3: the runtime has set up the host's side; GO carries the state for in-container hooks. */
int ci_op_wait_go(struct ci_ctx *ctx, const struct ci_op_wait_go *op) {
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
  /* The payload stays allocated: the state points into it until exec. */
  const char **state;
  ssize_t count = ci_decode_str_list(payload, (size_t)len, &state);
  if (count != 0 && count != 2) {
    if (count > 0) free(state);
    free(payload);
    errno = EINVAL;
    return ci_fail(ctx, "decode", "go");
  }
  if (count == 2) {
    ctx->state_before = state[0];
    ctx->state_after = state[1];
  }
  free(state);
  return 0;
}

/* sync 6: stopped at the exec FIFO, everything that can fail before `start` has run. */
int ci_op_signal_ready(struct ci_ctx *ctx, const struct ci_op_signal_ready *op) {
  (void)op;
  if (ci_send_frame(ctx->channel, CI_MSG_READY, NULL, 0, -1)) return ci_fail(ctx, "send", NULL);
  return 0;
}

static int run_op(struct ci_ctx *ctx, const struct ci_op *op) {
#define CI_RUN_OP(NAME, name, code) \
  case CI_OP_##NAME:                \
    return ci_op_##name(ctx, &op->as.name);
  switch (op->code) {
    CI_OPS(CI_RUN_OP)
    default:
      errno = EPROTO;
      return ci_fail(ctx, "plan", "unknown op");
  }
}

int main(int argc, char **argv) {
  struct ci_ctx ctx = {.channel = CI_CHANNEL_FD, .rootfd = -1, .devnull = -1, .mask_tmpfs = -1, .exec_fifo = -1, .clone_cgroup = -1};
  if (argc > 1) ctx.channel = atoi(argv[1]);
  if (ctx.channel < CI_CHANNEL_FD) return 1;
  /* The very first step: we were given stdio, the preserved descriptors and the channel after
     them; whatever else the caller left open is closed before anything else runs. The channel
     itself stays until exec, which closes it (that is how the runtime sees the exec). */
  if (ci_close_fds_from((unsigned)ctx.channel + 1) || fcntl(ctx.channel, F_SETFD, FD_CLOEXEC)) {
    ci_report_error(ctx.channel, -1, errno, "close_range", NULL, "inherited descriptors");
    return 1;
  }

  /* We run from /proc/self/fd/N; name ourselves for ps rather than show "N". */
  prctl(PR_SET_NAME, "corral-init", 0, 0, 0);
  /* Not dumpable: a container process must not ptrace us or open our /proc files (a plan of a
     runtime that is not root turns it back on around the clone only: CI_OP_DUMPABLE). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
    ci_report_error(ctx.channel, -1, errno, "prctl", NULL, "PR_SET_DUMPABLE");
    return 1;
  }

  /* sync 1 */
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
    ctx.fail_syscall = NULL;
    ctx.fail_path = NULL;
    ctx.fail_message[0] = '\0';
    if (run_op(&ctx, op) != 0) {
      int err = errno;
      ci_report_error(ctx.channel, (int32_t)i, err, ctx.fail_syscall, ctx.fail_path, ctx.fail_message);
      return 1;
    }
  }
  /* A plan ends in exec; reaching here means it did not. */
  ci_report_error(ctx.channel, -1, EPROTO, "plan", NULL, "plan ended without exec");
  return 1;
}
