/*
 * Hooks that the OCI spec runs inside the container (createContainer, startContainer), run as
 * runc runs them: the state document on stdin, stdout and stderr kept for the error report.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fds.h"
#include "init.h"

/* What the report keeps of a hook's stdout and stderr each. */
#define CI_HOOK_OUTPUT 1024

struct output {
  int fd;
  char text[CI_HOOK_OUTPUT + 1];
  size_t len;
};

/* The state document going to the hook's stdin: written as the pipe takes it, so a large one
   never waits on a hook that is busy writing its own output. */
struct input {
  int fd;
  const char *parts[3];
  size_t part, off;
  int failed; /* an errno, EPIPE aside (a hook need not read its stdin) */
};

/* Writes what the pipe takes; 0 once all is written (or the hook stopped reading). */
static int feed(struct input *in) {
  while (in->part < 3) {
    const char *text = in->parts[in->part];
    size_t len = strlen(text);
    if (in->off == len) {
      in->part++;
      in->off = 0;
      continue;
    }
    ssize_t n = write(in->fd, text + in->off, len - in->off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 1;
    if (n < 0) {
      if (errno != EPIPE) in->failed = errno;
      return 0;
    }
    in->off += (size_t)n;
  }
  return 0;
}

/* Reads what is there; 0 once the hook closed it. Anything past the kept part is dropped. */
static int drain(struct output *out) {
  char buf[4096];
  ssize_t n = read(out->fd, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  size_t room = CI_HOOK_OUTPUT - out->len, take = (size_t)n < room ? (size_t)n : room;
  memcpy(out->text + out->len, buf, take);
  out->len += take;
  return 1;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Feeds the hook its state and collects its output until it exits or its time is up; 1 when
   it timed out. */
static int watch(int pidfd, struct input *in, struct output *out, struct output *err, uint64_t timeout_ms) {
  long long deadline = timeout_ms ? now_ms() + (long long)timeout_ms : 0;
  int open_out = 1, open_err = 1, open_in = feed(in);
  if (!open_in) close(in->fd);
  for (;;) {
    struct pollfd fds[4] = {
        {.fd = open_out ? out->fd : -1, .events = POLLIN},
        {.fd = open_err ? err->fd : -1, .events = POLLIN},
        {.fd = pidfd, .events = POLLIN},
        {.fd = open_in ? in->fd : -1, .events = POLLOUT},
    };
    int wait = -1;
    if (deadline) {
      long long left = deadline - now_ms();
      if (left <= 0) {
        if (open_in) close(in->fd);
        return 1;
      }
      wait = left > 60000 ? 60000 : (int)left;
    }
    int r = poll(fds, 4, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (fds[0].revents) open_out = drain(out);
    if (fds[1].revents) open_err = drain(err);
    if (fds[3].revents && !(open_in = feed(in))) close(in->fd);
    /* Exited, and all it wrote read: a child of its own may hold the pipes, so not longer. */
    if (fds[2].revents && !(fds[0].revents & POLLIN) && !(fds[1].revents & POLLIN)) {
      if (open_in) close(in->fd);
      return 0;
    }
  }
}

/* Go's *exec.ExitError text, which runc puts in its hook errors. */
static void describe_status(char *buf, size_t size, int status) {
  if (WIFEXITED(status)) {
    snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
    return;
  }
  const char *name = strsignal(WTERMSIG(status));
  int n = snprintf(buf, size, "signal: %s", name ? name : "unknown");
  if (n > 8 && (size_t)n < size) buf[8] = (char)tolower((unsigned char)buf[8]);
}

static pid_t start_hook(struct ci_ctx *ctx, const struct ci_op_run_hook *op, int in, int out, int err) {
  char *const *env = (char *const *)op->env.items;
  char **with_home = NULL;
  if ((op->flags & CI_HOOK_WITH_HOME) && ctx->home_env) {
    with_home = calloc(op->env.count + 2, sizeof(*with_home));
    if (!with_home) return -1;
    memcpy(with_home, op->env.items, op->env.count * sizeof(*with_home));
    with_home[op->env.count] = (char *)ctx->home_env;
    env = with_home;
  }
  pid_t pid = fork();
  if (pid == 0) {
    /* The hook gets the container state on stdin and nothing of ours beyond stdio. */
    if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) _exit(127);
    ci_cloexec_fds_from(3);
    if (*op->cwd && chdir(op->cwd)) _exit(127);
    execve(op->path, (char *const *)op->args.items, env);
    _exit(127);
  }
  free(with_home);
  return pid;
}

int ci_op_run_hook(struct ci_ctx *ctx, const struct ci_op_run_hook *op) {
  const char *path = op->path;
  if (!ctx->state_before) {
    errno = EINVAL;
    snprintf(ctx->fail_message, sizeof(ctx->fail_message), "GO carried no container state for the hook");
    return ci_fail(ctx, "hook", path);
  }
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC)) return ci_fail(ctx, "pipe2", path);
  if (pipe2(out, O_CLOEXEC | O_NONBLOCK)) {
    close(in[0]), close(in[1]);
    return ci_fail(ctx, "pipe2", path);
  }
  if (pipe2(err, O_CLOEXEC | O_NONBLOCK)) {
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    return ci_fail(ctx, "pipe2", path);
  }
  pid_t pid = start_hook(ctx, op, in[0], out[1], err[1]);
  int fork_err = errno;
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(in[1]), close(out[0]), close(err[0]);
    errno = fork_err;
    return ci_fail(ctx, "fork", path);
  }
  /* Our end of its stdin never blocks us; a hook that does not read it must not kill us with
     SIGPIPE. */
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  struct input input = {.fd = in[1], .parts = {ctx->state_before, op->status, ctx->state_after}};
  struct output stdout_text = {.fd = out[0]}, stderr_text = {.fd = err[0]};
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int timed_out = pidfd >= 0 ? watch(pidfd, &input, &stdout_text, &stderr_text, op->timeout_ms) : 0;
  if (pidfd < 0) close(in[1]);
  signal(SIGPIPE, SIG_DFL);
  if (timed_out == 1) kill(pid, SIGKILL);
  if (pidfd >= 0) close(pidfd);
  close(out[0]);
  close(err[0]);
  int rc = 0;
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ci_fail(ctx, "waitpid", path);
  }
  stdout_text.text[stdout_text.len] = '\0';
  stderr_text.text[stderr_text.len] = '\0';
  if (timed_out == 1) {
    snprintf(ctx->fail_message, sizeof(ctx->fail_message), "timed out");
    errno = ETIMEDOUT;
    rc = ci_fail(ctx, "hook", path);
  } else if (input.failed) {
    errno = input.failed;
    rc = ci_fail(ctx, "write", path);
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char how[64];
    describe_status(how, sizeof(how), status);
    snprintf(ctx->fail_message, sizeof(ctx->fail_message), "%s, stdout: %s, stderr: %s", how, stdout_text.text,
             stderr_text.text);
    errno = ECANCELED;
    rc = ci_fail(ctx, "hook", path);
  }
  return rc;
}
