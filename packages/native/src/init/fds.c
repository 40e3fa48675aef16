/*
 * corral-init's descriptors. It is given stdio, the preserved descriptors (3 up) and the
 * channel after them; anything else its caller left open without O_CLOEXEC (a descriptor of the
 * host's / among them) is closed before it reads the plan, so none of it reaches the container.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"

/* Calls `each` for every open descriptor >= first, listed from /proc/self/fd; -1 without /proc. */
static int for_each_fd_from(unsigned first, int (*each)(int fd)) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  char buf[4096];
  long n;
  int rc = 0;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
    for (long at = 0; at < n;) {
      struct ci_dirent64 *entry = (struct ci_dirent64 *)(buf + at);
      at += entry->reclen;
      unsigned fd = 0;
      const char *c = entry->name;
      if (*c < '0' || *c > '9') continue;
      for (; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (unsigned)(*c - '0');
      if (fd >= first && (int)fd != dir && each((int)fd)) rc = -1;
    }
  }
  if (n < 0) rc = -1;
  int err = errno;
  close(dir);
  errno = err;
  return rc;
}

static int close_one(int fd) {
  close(fd);
  return 0;
}

static int cloexec_one(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return errno == EBADF ? 0 : -1;
  return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

int ci_close_fds_from(unsigned first) {
  if (syscall(SYS_close_range, first, ~0U, 0) == 0) return 0;
  /* Kernels before 5.9 have no close_range: close what /proc lists, or every number. */
  if (for_each_fd_from(first, close_one) == 0) return 0;
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit)) return -1;
  for (rlim_t fd = first; fd < limit.rlim_cur; fd++) close((int)fd);
  return 0;
}

int ci_cloexec_fds_from(unsigned first) {
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
  return for_each_fd_from(first, cloexec_one);
}
