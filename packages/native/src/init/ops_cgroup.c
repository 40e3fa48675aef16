/*
 * Joining the container's cgroup without the runtime moving the process by pid. A pid written to
 * cgroup.procs takes the kernel's thread-group lock for writing, and the first such write waits
 * on an RCU grace period (10 to 20 ms); a process born in its cgroup (clone3 with
 * CLONE_INTO_CGROUP, cgroup2 only) or a single thread moving itself ("0" to a v1 tasks file)
 * does not take it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "init.h"

int ci_op_start_in_cgroup(struct ci_ctx *ctx, const struct ci_op_start_in_cgroup *op) {
  ctx->clone_cgroup = (int)op->fd;
  return 0;
}

int ci_op_enter_cgroups(struct ci_ctx *ctx, const struct ci_op_enter_cgroups *op) {
  int rc = 0;
  for (size_t i = 0; i < op->fds.count; i++) {
    int fd = (int)ci_u32s_at(op->fds, i);
    /* The kernel checks the credentials of whoever opened the file (the runtime), not ours. */
    if (rc == 0 && write(fd, "0", 1) != 1) rc = ci_fail(ctx, "write", "a cgroup v1 tasks file");
    int err = errno;
    close(fd);
    errno = err;
  }
  return rc;
}
