/* Namespace ops: joining namespaces by path, creating them by unshare, and a new time
   namespace's clock offsets. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

int ci_op_join_namespace(struct ci_ctx *ctx, const struct ci_op_join_namespace *op) {
  const char *path = op->path;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ci_fail(ctx, "open", path);
  /* With the type given, setns itself refuses a namespace of another type (EINVAL). */
  int rc = setns(fd, (int)op->nstype);
  int err = errno;
  close(fd);
  if (rc) {
    errno = err;
    return ci_fail(ctx, "setns", path);
  }
  return 0;
}

int ci_op_join_pidfd(struct ci_ctx *ctx, const struct ci_op_join_pidfd *op) {
  /* The descriptor stays ours; the sweep before exec marks it close-on-exec. */
  if (setns((int)op->fd, (int)op->nstype)) return ci_fail(ctx, "setns", "the container init's pidfd");
  return 0;
}

int ci_op_unshare(struct ci_ctx *ctx, const struct ci_op_unshare *op) {
  if (unshare((int)op->flags)) return ci_fail(ctx, "unshare", NULL);
  return 0;
}

/* The offsets go to /proc/self/timens_offsets, which names the time namespace our children
   will enter: it takes them only until the first process enters it. */
int ci_op_time_offsets(struct ci_ctx *ctx, const struct ci_op_time_offsets *op) {
  char text[128];
  int len = snprintf(text, sizeof(text), "%d %lld %u\n%d %lld %u\n", CLOCK_MONOTONIC, (long long)(int64_t)op->monotonic_secs,
                     (unsigned)op->monotonic_nanosecs, CLOCK_BOOTTIME, (long long)(int64_t)op->boottime_secs, (unsigned)op->boottime_nanosecs);
  int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ci_fail(ctx, "open", "/proc/self/timens_offsets");
  struct statfs fs;
  if (fstatfs(fd, &fs) || fs.f_type != PROC_SUPER_MAGIC) {
    close(fd);
    errno = EXDEV;
    return ci_fail(ctx, "fstatfs", "/proc/self/timens_offsets");
  }
  /* One write: the kernel applies all lines or none. */
  ssize_t n = write(fd, text, (size_t)len);
  int err = errno;
  close(fd);
  if (n != len) {
    errno = n < 0 ? err : EIO;
    return ci_fail(ctx, "write", "/proc/self/timens_offsets");
  }
  return 0;
}
