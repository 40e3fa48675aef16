/*
 * Id-mapped mounts: MOUNT_ATTR_IDMAP takes a user namespace that holds the mount's maps. One is
 * made here, before the clone, while corral-init is still root in the host's namespaces: a
 * throwaway child enters a new user namespace, its maps are written, the namespace is opened,
 * and the child is let go. The descriptor stays in the context for the bind op to use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

/* Writes lines "inside outside count" for triples [from, to) of the op's list to /proc/PID/file. */
static int write_map(struct ci_ctx *ctx, pid_t pid, const char *file, ci_u32s maps, size_t from, size_t to) {
  char path[64], text[4096];
  size_t used = 0;
  for (size_t i = from; i < to; i++) {
    int n = snprintf(text + used, sizeof(text) - used, "%u %u %u\n", ci_u32s_at(maps, 3 * i),
                     ci_u32s_at(maps, 3 * i + 1), ci_u32s_at(maps, 3 * i + 2));
    if (n < 0 || (size_t)n >= sizeof(text) - used) {
      errno = E2BIG;
      return ci_fail(ctx, "write", file);
    }
    used += (size_t)n;
  }
  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ci_fail(ctx, "open", path);
  ssize_t written = write(fd, text, used);
  int err = errno;
  close(fd);
  errno = err;
  if (written != (ssize_t)used) return ci_fail(ctx, "write", path);
  return 0;
}

int ci_op_idmap_userns(struct ci_ctx *ctx, const struct ci_op_idmap_userns *op) {
  size_t lines = op->maps.count / 3, uid_lines = (size_t)op->uid_lines;
  if (op->maps.count % 3 || uid_lines == 0 || uid_lines >= lines) {
    errno = EINVAL;
    return ci_fail(ctx, "idmap", "malformed id maps");
  }
  if (ctx->idmap_count >= CI_MAX_IDMAPS) {
    errno = E2BIG;
    return ci_fail(ctx, "idmap", "too many id-mapped mounts");
  }
  int hold[2];
  if (pipe2(hold, O_CLOEXEC)) return ci_fail(ctx, "pipe2", NULL);
  /* fork semantics (no new stack): corral-init is single-threaded. */
  pid_t child = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
  if (child < 0) {
    int err = errno;
    close(hold[0]);
    close(hold[1]);
    errno = err;
    return ci_fail(ctx, "clone", "CLONE_NEWUSER");
  }
  if (child == 0) {
    char byte;
    close(hold[1]);
    /* Exists until the parent closes its end. */
    while (read(hold[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(hold[0]);
  int rc = write_map(ctx, child, "uid_map", op->maps, 0, uid_lines);
  if (rc == 0) rc = write_map(ctx, child, "gid_map", op->maps, uid_lines, lines);
  int fd = -1;
  if (rc == 0) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) rc = ci_fail(ctx, "open", path);
  }
  int err = errno;
  close(hold[1]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
  }
  errno = err;
  if (rc == 0) ctx->idmap_userns[ctx->idmap_count++] = fd;
  return rc;
}
