/*
 * linux.sysctl: written through the container's own /proc after pivot_root, so each value
 * lands in the namespaces the container owns (the runtime checked which those are). The
 * /proc found there must be a real procfs, and the name cannot climb out of /proc/sys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

int ci_op_sysctl(struct ci_ctx *ctx, const struct ci_op_sysctl *op) {
  const char *name = op->name, *value = op->value;
  int sys = ci_open_in_root(ctx, "/proc/sys", O_PATH | O_DIRECTORY);
  if (sys < 0) return ci_fail(ctx, "openat2", "/proc/sys");
  struct statfs fs;
  if (fstatfs(sys, &fs) || fs.f_type != PROC_SUPER_MAGIC) {
    close(sys);
    errno = EPERM;
    return ci_fail(ctx, "fstatfs", "/proc/sys is not on procfs");
  }
  struct open_how how = {
      .flags = O_WRONLY | O_CLOEXEC,
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd = (int)syscall(SYS_openat2, sys, name, &how, sizeof(how));
  int err = errno;
  close(sys);
  errno = err;
  if (fd < 0) return ci_fail(ctx, "openat2", name);
  size_t length = strlen(value);
  ssize_t n = write(fd, value, length);
  err = errno;
  close(fd);
  errno = err;
  if (n < 0) return ci_fail(ctx, "write", name);
  if ((size_t)n != length) {
    errno = EIO;
    return ci_fail(ctx, "write", name);
  }
  return 0;
}
