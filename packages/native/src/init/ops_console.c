/*
 * The container's console: a pty made in the container's own devpts after pivot_root. Its
 * peer is reached through TIOCGPTPEER on the master, never by a path the container could
 * swap (CVE-2025-52565), and, for the container's init, bound onto /dev/console by descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <termios.h>
#include <unistd.h>

#include "channel.h"
#include "init.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static int bind_onto_console(struct ci_ctx *ctx, int peer) {
  int target = ci_open_in_root(ctx, "/dev/console", O_PATH | O_NOFOLLOW);
  if (target < 0 && errno == ENOENT) {
    int fd = open("/dev/console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    target = ci_open_in_root(ctx, "/dev/console", O_PATH | O_NOFOLLOW);
  }
  if (target < 0) return ci_fail(ctx, "openat2", "/dev/console");
  int rc = 0;
  int mnt = open_tree(peer, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (mnt < 0)
    rc = ci_fail(ctx, "open_tree", "pty peer");
  else if (move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))
    rc = ci_fail(ctx, "move_mount", "/dev/console");
  int err = errno;
  if (mnt >= 0) close(mnt);
  close(target);
  errno = err;
  return rc;
}

/* A pty the runtime relays to its own terminal passes newlines as they are, as runc's does: the
   terminal at the other end translates them. Set on the master, it is the peer's setting. */
static int clear_onlcr(int master) {
  struct termios termios;
  if (tcgetattr(master, &termios)) return -1;
  termios.c_oflag &= ~(tcflag_t)ONLCR;
  return tcsetattr(master, TCSANOW, &termios);
}

int ci_op_console(struct ci_ctx *ctx, const struct ci_op_console *op) {
  // Sized before the process can run: a program that reads the size at once sees the real one.
  struct winsize size = {.ws_row = (unsigned short)op->rows, .ws_col = (unsigned short)op->columns};
  int master = ci_open_in_root(ctx, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
  if (master < 0) return ci_fail(ctx, "openat2", "/dev/pts/ptmx");
  int rc = 0, peer = -1, unlock = 0;
  struct statfs fs;
  if (fstatfs(master, &fs) || fs.f_type != DEVPTS_SUPER_MAGIC) {
    errno = EPERM;
    rc = ci_fail(ctx, "fstatfs", "/dev/pts/ptmx is not on devpts");
  } else if (ioctl(master, TIOCSPTLCK, &unlock)) {
    rc = ci_fail(ctx, "ioctl", "TIOCSPTLCK");
  } else if (size.ws_row && size.ws_col && ioctl(master, TIOCSWINSZ, &size)) {
    rc = ci_fail(ctx, "ioctl", "TIOCSWINSZ");
  } else if ((op->flags & CI_CONSOLE_CLEAR_ONLCR) && clear_onlcr(master)) {
    rc = ci_fail(ctx, "tcsetattr", "ONLCR");
  } else if ((peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
    rc = ci_fail(ctx, "ioctl", "TIOCGPTPEER");
  } else if ((op->flags & CI_CONSOLE_BIND_CONSOLE) && bind_onto_console(ctx, peer)) {
    rc = -1;
  } else if (ci_send_frame(ctx->channel, CI_MSG_CONSOLE, NULL, 0, master)) {
    rc = ci_fail(ctx, "send", "console");
  } else if (setsid() < 0) {
    rc = ci_fail(ctx, "setsid", NULL);
  } else if (ioctl(peer, TIOCSCTTY, 0)) {
    rc = ci_fail(ctx, "ioctl", "TIOCSCTTY");
  } else {
    for (int fd = 0; fd < 3 && rc == 0; fd++) {
      if (dup2(peer, fd) < 0) rc = ci_fail(ctx, "dup2", "console");
    }
  }
  int err = errno;
  close(master);
  if (peer >= 0) close(peer);
  errno = err;
  return rc;
}

int ci_op_chown_stdio(struct ci_ctx *ctx, const struct ci_op_chown_stdio *op) {
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (fstat(fd, &st)) {
      if (errno == EBADF) continue;
      return ci_fail(ctx, "fstat", "stdio");
    }
    /* The process's own terminal (or pipe) must be its user's to use it; /dev/null is no one's. */
    if (st.st_uid == op->uid || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))) continue;
    if (fchown(fd, op->uid, (gid_t)-1) && errno != EINVAL && errno != EPERM && errno != EROFS)
      return ci_fail(ctx, "fchown", "stdio");
  }
  return 0;
}
