/*
 * Mount and rootfs ops. Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) and every mount is attached by descriptor (fsmount/open_tree +
 * move_mount), so a symlink planted in the rootfs cannot redirect a mount outside it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

#define MOVE_BY_FD (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)

int ci_open_in_root(struct ci_ctx *ctx, const char *path, int flags) {
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  if (ctx->pivoted || ctx->rootfd < 0) {
    /* After pivot_root, or in a process that joined the container's mount namespace, "/" is
       the container's root; resolve against it explicitly. */
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return -1;
    int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
    int saved = errno;
    close(root);
    errno = saved;
    return fd;
  }
  return (int)syscall(SYS_openat2, ctx->rootfd, path, &how, sizeof(how));
}

/* Splits "/a/b/c" into a descriptor of "/a/b" (resolved in root) and the name "c". */
static int open_parent(struct ci_ctx *ctx, const char *path, char *name, size_t name_size) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (*base == '\0' || strlen(base) >= name_size || strcmp(base, "..") == 0) {
    errno = EINVAL;
    return -1;
  }
  snprintf(name, name_size, "%s", base);
  char parent[PATH_MAX];
  size_t parent_len = slash ? (size_t)(slash - path) : 0;
  if (parent_len >= sizeof(parent)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(parent, path, parent_len);
  parent[parent_len] = '\0';
  return ci_open_in_root(ctx, parent_len ? parent : "/", O_PATH | O_DIRECTORY);
}

/* mkdir -p inside the root: each missing component is made with mkdirat on a descriptor of
   its parent, so nothing outside the root can be created through a symlink. */
static int mkdir_all(struct ci_ctx *ctx, const char *path, mode_t mode) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    int fd = ci_open_in_root(ctx, buf, O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT) {
      char name[NAME_MAX + 1];
      int parent = open_parent(ctx, buf, name, sizeof(name));
      if (parent < 0) return -1;
      int rc = mkdirat(parent, name, mode);
      int err = errno;
      close(parent);
      if (rc && err != EEXIST) {
        errno = err;
        return -1;
      }
      fd = ci_open_in_root(ctx, buf, O_PATH | O_DIRECTORY);
    }
    if (fd < 0) return -1;
    close(fd);
    *p = saved;
    if (saved == '\0') return 0;
  }
}

int ci_op_root_propagation(struct ci_ctx *ctx, const struct ci_op *op) {
  if (mount(NULL, "/", NULL, (unsigned long)op->num[0], NULL)) return ci_fail(ctx, "mount", "/");
  return 0;
}

int ci_op_open_rootfs(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *rootfs = op->str[0];
  /* pivot_root needs the new root to be a mount point. */
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL)) return ci_fail(ctx, "mount", rootfs);
  ctx->rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->rootfd < 0) return ci_fail(ctx, "open", rootfs);
  return 0;
}

int ci_op_mkdir(struct ci_ctx *ctx, const struct ci_op *op) {
  if (mkdir_all(ctx, op->str[0], (mode_t)op->num[0])) return ci_fail(ctx, "mkdirat", op->str[0]);
  return 0;
}

int ci_op_mkfile(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *path = op->str[0];
  int fd = ci_open_in_root(ctx, path, O_PATH);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (errno != ENOENT) return ci_fail(ctx, "openat2", path);
  char name[NAME_MAX + 1];
  int parent = open_parent(ctx, path, name, sizeof(name));
  if (parent < 0) return ci_fail(ctx, "openat2", path);
  fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, (mode_t)op->num[0]);
  int err = errno;
  close(parent);
  if (fd < 0) {
    errno = err;
    return ci_fail(ctx, "openat", path);
  }
  close(fd);
  return 0;
}

/*
 * mount_setattr(2) came with Linux 5.12. Without it (ENOSYS), a mount's flags and propagation are
 * set as runc sets them there: mount(2) on the mount once it is attached, reached through the
 * /proc/self/fd path of a descriptor opened in the root. Id maps and recursive attributes have
 * no such form and still fail, naming mount_setattr.
 */
static unsigned long ms_flags_of(uint64_t attr) {
  unsigned long flags = 0;
  if (attr & MOUNT_ATTR_RDONLY) flags |= MS_RDONLY;
  if (attr & MOUNT_ATTR_NOSUID) flags |= MS_NOSUID;
  if (attr & MOUNT_ATTR_NODEV) flags |= MS_NODEV;
  if (attr & MOUNT_ATTR_NOEXEC) flags |= MS_NOEXEC;
  if (attr & MOUNT_ATTR_NODIRATIME) flags |= MS_NODIRATIME;
  if ((attr & MOUNT_ATTR__ATIME) == MOUNT_ATTR_NOATIME) flags |= MS_NOATIME;
  if ((attr & MOUNT_ATTR__ATIME) == MOUNT_ATTR_STRICTATIME) flags |= MS_STRICTATIME;
  return flags;
}

/* A bind remount replaces every per-mount flag: start from what the mount has. */
static unsigned long current_ms_flags(int fd) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv)) return 0;
  unsigned long flags = 0;
  if (sv.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

/* mount(2) on the mount now at `path` in the root: a bind remount with the attributes set and
   cleared (`remount`), or a propagation change. */
static int mount_at(struct ci_ctx *ctx, const char *path, int remount, uint64_t set, uint64_t clr,
                    unsigned long propagation) {
  int fd = ci_open_in_root(ctx, path, O_PATH);
  if (fd < 0) return ci_fail(ctx, "openat2", path);
  char proc[64];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  unsigned long flags = propagation;
  if (remount) {
    unsigned long keep = current_ms_flags(fd);
    if ((set | clr) & MOUNT_ATTR__ATIME) keep &= ~(MS_NOATIME | MS_RELATIME | MS_STRICTATIME);
    flags = MS_BIND | MS_REMOUNT | ((keep & ~ms_flags_of(clr)) | ms_flags_of(set));
  }
  int rc = mount(NULL, proc, NULL, flags, NULL) ? ci_fail(ctx, "mount", path) : 0;
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

/* Attaches a detached mount on a target inside the root and applies the propagation. */
static int attach_mount(struct ci_ctx *ctx, int mnt, const char *target, uint32_t propagation) {
  int tfd = ci_open_in_root(ctx, target, O_PATH);
  if (tfd < 0) return ci_fail(ctx, "openat2", target);
  int rc = move_mount(mnt, "", tfd, "", MOVE_BY_FD);
  int err = errno;
  close(tfd);
  if (rc) {
    errno = err;
    return ci_fail(ctx, "move_mount", target);
  }
  if (propagation) {
    struct mount_attr attr = {.propagation = propagation};
    if (mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr))) {
      if (errno != ENOSYS) return ci_fail(ctx, "mount_setattr", target);
      return mount_at(ctx, target, 0, 0, 0, propagation);
    }
  }
  return 0;
}

/* The kernel explains a refused filesystem option in the fs context's log; keep it. */
static void read_fs_log(struct ci_ctx *ctx, int fsfd) {
  ssize_t n = read(fsfd, ctx->fail_message, sizeof(ctx->fail_message) - 1);
  ctx->fail_message[n > 0 ? n : 0] = '\0';
  if (n > 0 && ctx->fail_message[n - 1] == '\n') ctx->fail_message[n - 1] = '\0';
}

int ci_op_mount_fs(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *fstype = op->str[0], *source = op->str[1], *target = op->str[2];
  int fsfd = fsopen(fstype, FSOPEN_CLOEXEC);
  if (fsfd < 0) return ci_fail(ctx, "fsopen", target);
  int rc = -1, mnt = -1;
  if (*source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0)) {
    read_fs_log(ctx, fsfd);
    ci_fail(ctx, "fsconfig", target);
    goto out;
  }
  for (size_t i = 0; i < op->list_len[0]; i++) {
    char key[256];
    const char *option = op->list[0][i];
    const char *eq = strchr(option, '=');
    int r;
    if (eq) {
      snprintf(key, sizeof(key), "%.*s", (int)(eq - option), option);
      r = fsconfig(fsfd, FSCONFIG_SET_STRING, key, eq + 1, 0);
    } else {
      r = fsconfig(fsfd, FSCONFIG_SET_FLAG, option, NULL, 0);
    }
    if (r) {
      read_fs_log(ctx, fsfd);
      ci_fail(ctx, "fsconfig", target);
      goto out;
    }
  }
  if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
    read_fs_log(ctx, fsfd);
    ci_fail(ctx, "fsconfig", target);
    goto out;
  }
  mnt = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned int)op->num[0]);
  if (mnt < 0) {
    ci_fail(ctx, "fsmount", target);
    goto out;
  }
  rc = attach_mount(ctx, mnt, target, (uint32_t)op->num[1]);
out:
  if (mnt >= 0) {
    int err = errno;
    close(mnt);
    errno = err;
  }
  int err = errno;
  close(fsfd);
  errno = err;
  return rc;
}

static int clone_tree(const char *source, uint32_t flags) {
  return open_tree(AT_FDCWD, source,
                   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((flags & CI_BIND_RECURSIVE) ? AT_RECURSIVE : 0));
}

int ci_op_open_mount_source(struct ci_ctx *ctx, const struct ci_op *op) {
  struct ci_mount_source *entry = malloc(sizeof(*entry));
  if (!entry) return ci_fail(ctx, "malloc", NULL);
  entry->source = op->str[0];
  entry->flags = (uint32_t)op->num[0];
  entry->fd = clone_tree(entry->source, entry->flags);
  if (entry->fd < 0) {
    int err = errno;
    free(entry);
    errno = err;
    return ci_fail(ctx, "open_tree", op->str[0]);
  }
  entry->next = ctx->mount_sources;
  ctx->mount_sources = entry;
  return 0;
}

/* The clone CI_OP_OPEN_MOUNT_SOURCE made of this source, handed over once; -1 if none. */
static int take_mount_source(struct ci_ctx *ctx, const char *source, uint32_t flags) {
  for (struct ci_mount_source **at = &ctx->mount_sources; *at; at = &(*at)->next) {
    struct ci_mount_source *entry = *at;
    if (entry->flags != flags || strcmp(entry->source, source) != 0) continue;
    int fd = entry->fd;
    *at = entry->next;
    free(entry);
    return fd;
  }
  return -1;
}

int ci_op_mount_bind(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *source = op->str[0], *target = op->str[1];
  uint32_t flags = (uint32_t)op->num[0];
  int mnt = take_mount_source(ctx, source, flags);
  if (mnt < 0) mnt = clone_tree(source, flags);
  if (mnt < 0) return ci_fail(ctx, "open_tree", source);
  int rc = 0;
  struct mount_attr attr = {.attr_set = op->num[1], .attr_clr = op->num[2]};
  uint32_t userns = (uint32_t)op->num[4];
  if (userns > ctx->idmap_count) {
    errno = EINVAL;
    rc = ci_fail(ctx, "mount_setattr", "no such id map");
  } else if (userns) {
    attr.attr_set |= MOUNT_ATTR_IDMAP;
    attr.userns_fd = (uint64_t)ctx->idmap_userns[userns - 1];
  }
  int after_attach = 0;
  if (rc == 0 && (attr.attr_set || attr.attr_clr) &&
      mount_setattr(mnt, "", AT_EMPTY_PATH | ((flags & CI_BIND_ATTR_RECURSIVE) ? AT_RECURSIVE : 0), &attr,
                    sizeof(attr))) {
    after_attach = errno == ENOSYS && !userns && !(flags & CI_BIND_ATTR_RECURSIVE);
    if (!after_attach) rc = ci_fail(ctx, "mount_setattr", target);
  }
  if (rc == 0) rc = attach_mount(ctx, mnt, target, (uint32_t)op->num[3]);
  if (rc == 0 && after_attach) rc = mount_at(ctx, target, 1, attr.attr_set, attr.attr_clr, 0);
  int err = errno;
  close(mnt);
  errno = err;
  return rc;
}

int ci_op_mknod(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *path = op->str[0];
  char name[NAME_MAX + 1];
  int parent = open_parent(ctx, path, name, sizeof(name));
  if (parent < 0) return ci_fail(ctx, "openat2", path);
  int rc = 0;
  dev_t dev = makedev((unsigned)op->num[1], (unsigned)op->num[2]);
  if (mknodat(parent, name, (mode_t)op->num[0], dev))
    rc = ci_fail(ctx, "mknodat", path);
  else if (fchownat(parent, name, (uid_t)op->num[3], (gid_t)op->num[4], AT_SYMLINK_NOFOLLOW))
    rc = ci_fail(ctx, "fchownat", path);
  /* mknod obeys the umask; the plan's mode is the mode wanted. */
  else if (fchmodat(parent, name, (mode_t)op->num[0] & 07777, 0))
    rc = ci_fail(ctx, "fchmodat", path);
  int err = errno;
  close(parent);
  errno = err;
  return rc;
}

int ci_op_symlink(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *target = op->str[0], *link = op->str[1];
  char name[NAME_MAX + 1];
  int parent = open_parent(ctx, link, name, sizeof(name));
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

int ci_op_pivot_root(struct ci_ctx *ctx, const struct ci_op *op) {
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

int ci_op_chroot(struct ci_ctx *ctx, const struct ci_op *op) {
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

int ci_op_mask_path(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *path = op->str[0];
  int tfd = ci_open_in_root(ctx, path, O_PATH | O_NOFOLLOW);
  if (tfd < 0) return errno == ENOENT ? 0 : ci_fail(ctx, "openat2", path);
  struct stat st;
  int rc = 0, mnt = -1;
  if (fstat(tfd, &st)) {
    rc = ci_fail(ctx, "fstat", path);
  } else if (S_ISDIR(st.st_mode)) {
    int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fsfd < 0 || fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) ||
        (mnt = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)) < 0)
      rc = ci_fail(ctx, "fsmount", path);
    if (fsfd >= 0) close(fsfd);
  } else {
    int null = checked_devnull(ctx);
    if (null < 0)
      rc = ci_fail(ctx, "open", "/dev/null");
    else if ((mnt = open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)) < 0)
      rc = ci_fail(ctx, "open_tree", "/dev/null");
  }
  if (rc == 0 && move_mount(mnt, "", tfd, "", MOVE_BY_FD)) rc = ci_fail(ctx, "move_mount", path);
  int err = errno;
  if (mnt >= 0) close(mnt);
  close(tfd);
  errno = err;
  return rc;
}

int ci_op_readonly_path(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *path = op->str[0];
  int tfd = ci_open_in_root(ctx, path, O_PATH | O_NOFOLLOW);
  if (tfd < 0) return errno == ENOENT ? 0 : ci_fail(ctx, "openat2", path);
  int rc = 0;
  int mnt = open_tree(tfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  /* Without mount_setattr only the top mount becomes read-only, as with runc on such kernels. */
  int after_move = 0;
  if (mnt < 0)
    rc = ci_fail(ctx, "open_tree", path);
  else if (mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) &&
           !(after_move = errno == ENOSYS))
    rc = ci_fail(ctx, "mount_setattr", path);
  if (rc == 0 && move_mount(mnt, "", tfd, "", MOVE_BY_FD)) rc = ci_fail(ctx, "move_mount", path);
  if (rc == 0 && after_move) rc = mount_at(ctx, path, 1, MOUNT_ATTR_RDONLY, 0, 0);
  int err = errno;
  if (mnt >= 0) close(mnt);
  close(tfd);
  errno = err;
  return rc;
}

int ci_op_remount_root_ro(struct ci_ctx *ctx, const struct ci_op *op) {
  (void)op;
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof(attr)) == 0) return 0;
  if (errno != ENOSYS) return ci_fail(ctx, "mount_setattr", "/");
  return mount_at(ctx, "/", 1, MOUNT_ATTR_RDONLY, 0, 0);
}
