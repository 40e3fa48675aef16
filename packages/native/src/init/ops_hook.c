/* Hooks that the OCI spec runs inside the container (createContainer, startContainer). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int ci_op_run_hook(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *path = op->str[0];
  uint64_t which = op->num[0], timeout_ms = op->num[1];
  if (which >= ctx->hook_state_count) {
    errno = EINVAL;
    snprintf(ctx->fail_message, sizeof(ctx->fail_message), "no container state %llu for the hook",
             (unsigned long long)which);
    return ci_fail(ctx, "hook", path);
  }
  const char *state = ctx->hook_states[which];
  int in[2];
  if (pipe2(in, O_CLOEXEC)) return ci_fail(ctx, "pipe2", path);
  pid_t pid = fork();
  if (pid < 0) {
    close(in[0]);
    close(in[1]);
    return ci_fail(ctx, "fork", path);
  }
  if (pid == 0) {
    /* The hook gets the container state on stdin and nothing of ours beyond stdio. */
    if (dup2(in[0], STDIN_FILENO) < 0) _exit(127);
    ci_cloexec_from(3);
    execve(path, (char *const *)op->list[0], (char *const *)op->list[1]);
    _exit(127);
  }
  close(in[0]);
  /* A hook that does not read its stdin must not kill us with SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  int write_failed = write_all(in[1], state, strlen(state)) && errno != EPIPE;
  close(in[1]);
  signal(SIGPIPE, SIG_DFL);

  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int timed_out = 0;
  if (pidfd >= 0 && timeout_ms > 0) {
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    int r;
    do {
      r = poll(&pfd, 1, timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      timed_out = 1;
      kill(pid, SIGKILL);
    }
  }
  if (pidfd >= 0) close(pidfd);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ci_fail(ctx, "waitpid", path);
  }
  if (timed_out) {
    snprintf(ctx->fail_message, sizeof(ctx->fail_message), "hook timed out after %llu ms",
             (unsigned long long)timeout_ms);
    errno = ETIMEDOUT;
    return ci_fail(ctx, "hook", path);
  }
  if (write_failed) return ci_fail(ctx, "write", path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (WIFEXITED(status))
      snprintf(ctx->fail_message, sizeof(ctx->fail_message), "hook exited with status %d", WEXITSTATUS(status));
    else
      snprintf(ctx->fail_message, sizeof(ctx->fail_message), "hook killed by signal %d", WTERMSIG(status));
    errno = ECANCELED;
    return ci_fail(ctx, "hook", path);
  }
  return 0;
}
