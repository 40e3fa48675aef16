/*
 * The rootfs and what is made in it: the root's propagation, directories, files, device nodes
 * and links, pivot_root, masked and read-only paths. Paths resolve inside the root (paths.c);
 * mounts attach by descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

#define MOVE_BY_FD (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)

int ci_op_root_propagation(struct ci_ctx *ctx, const struct ci_op_root_propagation *op) {
  if (mount(NULL, "/", NULL, (unsigned long)op->flags, NULL)) return ci_fail(ctx, "mount", "/");
  return 0;
}

int ci_op_open_rootfs(struct ci_ctx *ctx, const struct ci_op_open_rootfs *op) {
  const char *rootfs = op->path;
  /* pivot_root needs the new root to be a mount point. */
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL)) return ci_fail(ctx, "mount", rootfs);
  ctx->rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->rootfd < 0) return ci_fail(ctx, "open", rootfs);
  return 0;
}

int ci_op_mkdir(struct ci_ctx *ctx, const struct ci_op_mkdir *op) {
  if (ci_mkdir_all(ctx, op->path, (mode_t)op->mode)) return ci_fail(ctx, "mkdirat", op->path);
  return 0;
}

int ci_op_mkfile(struct ci_ctx *ctx, const struct ci_op_mkfile *op) {
  if (ci_make_file(ctx, op->path, (mode_t)op->mode)) return ci_fail(ctx, "openat", op->path);
  return 0;
}

int ci_op_mknod(struct ci_ctx *ctx, const struct ci_op_mknod *op) {
  const char *path = op->path;
  char name[NAME_MAX + 1];
  int parent = ci_open_parent(ctx, path, name, sizeof(name));
  if (parent < 0) return ci_fail(ctx, "openat2", path);
  int rc = 0;
  dev_t dev = makedev((unsigned)op->major, (unsigned)op->minor);
  if (mknodat(parent, name, (mode_t)op->mode, dev)) {
    int err = errno;
    struct stat st;
    /* The same device from an earlier run of a rootfs without a /dev mount: keep it. A
       symlink or anything else in its place is not followed, and refused. */
    if (err == EEXIST && fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (st.st_mode & S_IFMT) == ((mode_t)op->mode & S_IFMT) && st.st_rdev == dev) {
      close(parent);
      return 0;
    }
    if (err == EEXIST) snprintf(ctx->fail_message, sizeof(ctx->fail_message), "something else is there");
    errno = err;
    rc = ci_fail(ctx, "mknodat", path);
  } else if (fchownat(parent, name, (uid_t)op->uid, (gid_t)op->gid, AT_SYMLINK_NOFOLLOW)) {
    rc = ci_fail(ctx, "fchownat", path);
  } else if (fchmodat(parent, name, (mode_t)op->mode & 07777, 0)) {
    /* mknod obeys the umask; the plan's mode is the mode wanted. */
    rc = ci_fail(ctx, "fchmodat", path);
  }
  int err = errno;
  close(parent);
  errno = err;
  return rc;
}

int ci_op_symlink(struct ci_ctx *ctx, const struct ci_op_symlink *op) {
  const char *target = op->target, *link = op->path;
  char name[NAME_MAX + 1];
  int parent = ci_open_parent(ctx, link, name, sizeof(name));
  if (parent < 0) return ci_fail(ctx, "openat2", link);
  int rc = symlinkat(target, parent, name);
  int err = errno;
  close(parent);
  if (rc && err != EEXIST) {
    errno = err;
    return ci_fail(ctx, "symlinkat", link);
  }
  return 0;
}

int ci_op_pivot_root(struct ci_ctx *ctx, const struct ci_op_pivot_root *op) {
  (void)op;
  /* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves the
     new root alone, with no directory of the host left to reach. */
  int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0) return ci_fail(ctx, "open", "/");
  int rc = 0;
  if (fchdir(ctx->rootfd))
    rc = ci_fail(ctx, "fchdir", "rootfs");
  else if (syscall(SYS_pivot_root, ".", "."))
    rc = ci_fail(ctx, "pivot_root", ".");
  else if (fchdir(oldroot))
    rc = ci_fail(ctx, "fchdir", "old root");
  else if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL))
    rc = ci_fail(ctx, "mount", "old root");
  else if (umount2(".", MNT_DETACH))
    rc = ci_fail(ctx, "umount2", "old root");
  else if (chdir("/"))
    rc = ci_fail(ctx, "chdir", "/");
  int err = errno;
  close(oldroot);
  if (rc == 0) {
    close(ctx->rootfd);
    ctx->rootfd = -1;
    ctx->pivoted = 1;
  }
  errno = err;
  return rc;
}

int ci_op_chroot(struct ci_ctx *ctx, const struct ci_op_chroot *op) {
  (void)op;
  if (fchdir(ctx->rootfd)) return ci_fail(ctx, "fchdir", "rootfs");
  if (mount(".", "/", NULL, MS_MOVE, NULL)) return ci_fail(ctx, "mount", "rootfs");
  if (chroot(".")) return ci_fail(ctx, "chroot", ".");
  if (chdir("/")) return ci_fail(ctx, "chdir", "/");
  close(ctx->rootfd);
  ctx->rootfd = -1;
  ctx->pivoted = 1;
  return 0;
}

/* The container's /dev/null, checked to be the real null device before it masks anything. */
static int checked_devnull(struct ci_ctx *ctx) {
  if (ctx->devnull >= 0) return ctx->devnull;
  int fd = ci_open_in_root(ctx, "/dev/null", O_PATH | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    close(fd);
    errno = EPERM;
    return -1;
  }
  ctx->devnull = fd;
  return fd;
}

/* The read-only tmpfs over masked directories: made once, then bound onto each of them. */
static int masking_tmpfs(struct ci_ctx *ctx) {
  if (ctx->mask_tmpfs >= 0)
    return open_tree(ctx->mask_tmpfs, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
  int mnt = -1;
  if (fsfd >= 0 && fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
    mnt = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
  int err = errno;
  if (fsfd >= 0) close(fsfd);
  errno = err;
  return mnt;
}

int ci_op_mask_path(struct ci_ctx *ctx, const struct ci_op_mask_path *op) {
  const char *path = op->path;
  int tfd = ci_open_in_root(ctx, path, O_PATH | O_NOFOLLOW);
  if (tfd < 0) return errno == ENOENT ? 0 : ci_fail(ctx, "openat2", path);
  struct stat st;
  int rc = 0, mnt = -1, dir = 0;
  if (fstat(tfd, &st)) {
    rc = ci_fail(ctx, "fstat", path);
  } else if ((dir = S_ISDIR(st.st_mode))) {
    if ((mnt = masking_tmpfs(ctx)) < 0) rc = ci_fail(ctx, "fsmount", path);
  } else {
    int null = checked_devnull(ctx);
    if (null < 0)
      rc = ci_fail(ctx, "open", "/dev/null");
    else if ((mnt = open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)) < 0)
      rc = ci_fail(ctx, "open_tree", "/dev/null");
  }
  if (rc == 0 && move_mount(mnt, "", tfd, "", MOVE_BY_FD)) rc = ci_fail(ctx, "move_mount", path);
  int err = errno;
  /* The first masking tmpfs, attached now, is what the next directories get a bind of. */
  if (rc == 0 && dir && ctx->mask_tmpfs < 0)
    ctx->mask_tmpfs = mnt;
  else if (mnt >= 0)
    close(mnt);
  close(tfd);
  errno = err;
  return rc;
}

int ci_op_readonly_path(struct ci_ctx *ctx, const struct ci_op_readonly_path *op) {
  const char *path = op->path;
  int tfd = ci_open_in_root(ctx, path, O_PATH | O_NOFOLLOW);
  if (tfd < 0) return errno == ENOENT ? 0 : ci_fail(ctx, "openat2", path);
  int rc = 0, top_only = 0;
  int mnt = open_tree(tfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mnt < 0)
    rc = ci_fail(ctx, "open_tree", path);
  else if (mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) && !(top_only = errno == ENOSYS))
    rc = ci_fail(ctx, "mount_setattr", path);
  if (rc == 0 && move_mount(mnt, "", tfd, "", MOVE_BY_FD)) rc = ci_fail(ctx, "move_mount", path);
  /* Without mount_setattr only the top mount becomes read-only, as with runc on such kernels. */
  if (rc == 0 && top_only) rc = ci_mount_setattr(ctx, mnt, path, 0, &attr);
  int err = errno;
  if (mnt >= 0) close(mnt);
  close(tfd);
  errno = err;
  return rc;
}

int ci_op_remount_readonly(struct ci_ctx *ctx, const struct ci_op_remount_readonly *op) {
  int fd = ci_open_in_root(ctx, op->path, O_PATH | O_DIRECTORY);
  if (fd < 0) return ci_fail(ctx, "openat2", op->path);
  int rc = ci_mount_setattr(ctx, fd, op->path, 0, &(struct mount_attr){.attr_set = MOUNT_ATTR_RDONLY});
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}
