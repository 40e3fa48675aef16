/*
 * The config's mounts. Each is made detached (fsmount, open_tree) and attached by descriptor
 * with move_mount onto a target resolved inside the root, so a symlink planted in the rootfs
 * cannot redirect a mount outside it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "channel.h"
#include "copy_tree.h"
#include "init.h"

#define MOVE_BY_FD (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)

/* Attaches a detached mount on a target inside the root. */
static int attach_mount(struct ci_ctx *ctx, int mnt, const char *target) {
  int tfd = ci_open_in_root(ctx, target, O_PATH);
  if (tfd < 0) return ci_fail(ctx, "openat2", target);
  int rc = move_mount(mnt, "", tfd, "", MOVE_BY_FD);
  int err = errno;
  close(tfd);
  if (rc) {
    errno = err;
    return ci_fail(ctx, "move_mount", target);
  }
  return 0;
}

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000 /* statfs(2) reports it since Linux 5.10; glibc has no name for it */
#endif

/* The MOUNT_ATTR_* flags the mount has now, as statvfs reports them. */
static int current_attrs(int fd, uint64_t *attrs) {
  struct statvfs st;
  if (fstatvfs(fd, &st)) return -1;
  static const struct {
    unsigned long st;
    uint64_t attr;
  } flags[] = {{ST_RDONLY, MOUNT_ATTR_RDONLY},         {ST_NOSUID, MOUNT_ATTR_NOSUID},
               {ST_NODEV, MOUNT_ATTR_NODEV},           {ST_NOEXEC, MOUNT_ATTR_NOEXEC},
               {ST_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {ST_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW}};
  *attrs = (st.f_flag & ST_NOATIME)    ? MOUNT_ATTR_NOATIME
           : (st.f_flag & ST_RELATIME) ? MOUNT_ATTR_RELATIME
                                       : MOUNT_ATTR_STRICTATIME;
  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
    if (st.f_flag & flags[i].st) *attrs |= flags[i].attr;
  return 0;
}

/* mount(2)'s flags for a bind remount to these attributes; the access time is always named, as
   a remount that names none keeps the old one. */
static unsigned long remount_flags(uint64_t attrs) {
  unsigned long flags = MS_BIND | MS_REMOUNT;
  if (attrs & MOUNT_ATTR_RDONLY) flags |= MS_RDONLY;
  if (attrs & MOUNT_ATTR_NOSUID) flags |= MS_NOSUID;
  if (attrs & MOUNT_ATTR_NODEV) flags |= MS_NODEV;
  if (attrs & MOUNT_ATTR_NOEXEC) flags |= MS_NOEXEC;
  if (attrs & MOUNT_ATTR_NODIRATIME) flags |= MS_NODIRATIME;
  if (attrs & MOUNT_ATTR_NOSYMFOLLOW) flags |= MS_NOSYMFOLLOW;
  switch (attrs & MOUNT_ATTR__ATIME) {
  case MOUNT_ATTR_NOATIME: return flags | MS_NOATIME;
  case MOUNT_ATTR_STRICTATIME: return flags | MS_STRICTATIME;
  default: return flags | MS_RELATIME;
  }
}

/* mount_setattr's flags and propagation set as runc sets them where the call is missing: with
   mount(2) on the mount now at `path`, reached through /proc/self/fd of a descriptor opened in
   the root. A bind remount replaces every per-mount flag, so it starts from the mount's own. */
static int setattr_by_mount(struct ci_ctx *ctx, const char *path, const struct mount_attr *attr) {
  int fd = ci_open_in_root(ctx, path, O_PATH);
  if (fd < 0) return ci_fail(ctx, "openat2", path);
  char proc[32];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  int rc = 0;
  if (attr->attr_set || attr->attr_clr) {
    uint64_t attrs;
    if (current_attrs(fd, &attrs))
      rc = ci_fail(ctx, "fstatvfs", path);
    else if (mount(NULL, proc, NULL, remount_flags((attrs & ~attr->attr_clr) | attr->attr_set), NULL))
      rc = ci_fail(ctx, "mount", path);
  }
  if (rc == 0 && attr->propagation && mount(NULL, proc, NULL, attr->propagation, NULL))
    rc = ci_fail(ctx, "mount", path);
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

int ci_mount_setattr(struct ci_ctx *ctx, int mnt, const char *path, int recursive, struct mount_attr *attr) {
  if (mount_setattr(mnt, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), attr, sizeof(*attr)) == 0) return 0;
  /* mount_setattr is Linux 5.12; id maps and recursive attributes have no mount(2) form. */
  if (errno != ENOSYS || recursive || (attr->attr_set & MOUNT_ATTR_IDMAP)) return ci_fail(ctx, "mount_setattr", path);
  return setattr_by_mount(ctx, path, attr);
}

static int set_propagation(struct ci_ctx *ctx, int mnt, uint32_t propagation, const char *target) {
  if (!propagation) return 0;
  return ci_mount_setattr(ctx, mnt, target, 0, &(struct mount_attr){.propagation = propagation});
}

/* The kernel explains a refused filesystem option in the fs context's log; keep it. */
static void read_fs_log(struct ci_ctx *ctx, int fsfd) {
  ssize_t n = read(fsfd, ctx->fail_message, sizeof(ctx->fail_message) - 1);
  ctx->fail_message[n > 0 ? n : 0] = '\0';
  if (n > 0 && ctx->fail_message[n - 1] == '\n') ctx->fail_message[n - 1] = '\0';
}

static int set_option(int fsfd, const char *option) {
  const char *eq = strchr(option, '=');
  if (!eq) return fsconfig(fsfd, FSCONFIG_SET_FLAG, option, NULL, 0);
  char key[256];
  snprintf(key, sizeof(key), "%.*s", (int)(eq - option), option);
  return fsconfig(fsfd, FSCONFIG_SET_STRING, key, eq + 1, 0);
}

/* What is at the target before the mount: checked and, for keepMode, its mode. */
static int inspect_target(struct ci_ctx *ctx, const struct ci_op_mount_fs *op, mode_t *mode) {
  *mode = (mode_t)-1;
  if (op->flags & CI_MOUNT_REAL_DIR) {
    int fd = ci_open_in_root(ctx, op->target, O_PATH | O_NOFOLLOW);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
      close(fd);
      snprintf(ctx->fail_message, sizeof(ctx->fail_message), "filesystem \"%s\" must be mounted on ordinary directory",
               op->fstype);
      errno = ENOTDIR;
      return ci_fail(ctx, "mount", op->target);
    }
    if (fd >= 0) close(fd);
  }
  if (op->flags & CI_MOUNT_KEEP_MODE) {
    int fd = ci_open_in_root(ctx, op->target, O_PATH);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) *mode = st.st_mode & 07777;
    if (fd >= 0) close(fd);
  }
  if ((op->flags & CI_MOUNT_MAKE_DIR) && ci_mkdir_all(ctx, op->target, 0755)) return ci_fail(ctx, "mkdirat", op->target);
  return 0;
}

/* The configuration of the new filesystem: its mode first, so that a mode option wins. */
static int configure(struct ci_ctx *ctx, int fsfd, const struct ci_op_mount_fs *op, mode_t mode) {
  char text[16];
  snprintf(text, sizeof(text), "%04o", (unsigned)mode);
  int failed = (*op->source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", op->source, 0)) ||
               (mode != (mode_t)-1 && fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", text, 0));
  for (size_t i = 0; !failed && i < op->options.count; i++) failed = set_option(fsfd, op->options.items[i]);
  /* Options that runc passes as mount flags, which a filesystem without them ignores. */
  for (size_t i = 0; !failed && i < op->try_options.count; i++) {
    if (set_option(fsfd, op->try_options.items[i]) == 0) continue;
    ci_log(ctx->channel, CI_LOG_DEBUG, "%s on %s does not take %s", op->fstype, op->target, op->try_options.items[i]);
    read_fs_log(ctx, fsfd);
  }
  if (failed || fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
    read_fs_log(ctx, fsfd);
    return ci_fail(ctx, "fsconfig", op->target);
  }
  return 0;
}

int ci_op_mount_fs(struct ci_ctx *ctx, const struct ci_op_mount_fs *op) {
  mode_t mode;
  if (inspect_target(ctx, op, &mode)) return -1;
  int fsfd = fsopen(op->fstype, FSOPEN_CLOEXEC);
  if (fsfd < 0) return ci_fail(ctx, "fsopen", op->target);
  int rc = configure(ctx, fsfd, op, mode), mnt = -1;
  if (rc == 0 && (mnt = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned int)op->attr_set)) < 0)
    rc = ci_fail(ctx, "fsmount", op->target);
  if (rc == 0 && (op->flags & CI_MOUNT_COPY_UP)) rc = ci_copy_up(ctx, mnt, op->target);
  if (rc == 0) rc = attach_mount(ctx, mnt, op->target);
  if (rc == 0) rc = set_propagation(ctx, mnt, op->propagation, op->target);
  int err = errno;
  if (mnt >= 0) close(mnt);
  close(fsfd);
  errno = err;
  return rc;
}

static int clone_tree(struct ci_ctx *ctx, const char *source, uint32_t flags) {
  unsigned tree = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((flags & CI_BIND_RECURSIVE) ? AT_RECURSIVE : 0);
  if (!(flags & CI_BIND_SOURCE_IN_ROOT)) return open_tree(AT_FDCWD, source, tree);
  int fd = ci_open_in_root(ctx, source, O_PATH);
  if (fd < 0) return -1;
  int mnt = open_tree(fd, "", tree | AT_EMPTY_PATH);
  int err = errno;
  close(fd);
  errno = err;
  return mnt;
}

int ci_op_open_mount_source(struct ci_ctx *ctx, const struct ci_op_open_mount_source *op) {
  struct ci_mount_source *entry = calloc(1, sizeof(*entry));
  if (!entry) return ci_fail(ctx, "calloc", NULL);
  entry->source = op->source;
  entry->recursive = op->flags & CI_BIND_RECURSIVE;
  entry->userns = op->userns;
  entry->fd = clone_tree(ctx, op->source, op->flags);
  int rc = entry->fd < 0 ? ci_fail(ctx, "open_tree", op->source) : 0;
  if (rc == 0 && op->userns) {
    /* An id map goes on a detached mount only, by a caller privileged over its filesystem. */
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP};
    if (op->userns > ctx->idmap_count) {
      errno = EINVAL;
      rc = ci_fail(ctx, "mount_setattr", "no such id map");
    } else {
      attr.userns_fd = (uint64_t)ctx->idmap_userns[op->userns - 1];
      unsigned at = AT_EMPTY_PATH | ((op->flags & CI_BIND_IDMAP_RECURSIVE) ? AT_RECURSIVE : 0);
      if (mount_setattr(entry->fd, "", at, &attr, sizeof(attr))) rc = ci_fail(ctx, "mount_setattr", op->source);
    }
  }
  if (rc) {
    int err = errno;
    if (entry->fd >= 0) close(entry->fd);
    free(entry);
    errno = err;
    return rc;
  }
  /* In plan order: the first bind of a source takes the first clone of it. */
  struct ci_mount_source **tail = &ctx->mount_sources;
  while (*tail) tail = &(*tail)->next;
  *tail = entry;
  return 0;
}

/* The clone openMountSource made of this source, handed over once; -1 if none. */
static int take_mount_source(struct ci_ctx *ctx, const char *source, uint32_t flags, uint32_t userns) {
  for (struct ci_mount_source **at = &ctx->mount_sources; *at; at = &(*at)->next) {
    struct ci_mount_source *entry = *at;
    if (entry->recursive != (flags & CI_BIND_RECURSIVE) || entry->userns != userns || strcmp(entry->source, source))
      continue;
    int fd = entry->fd;
    *at = entry->next;
    free(entry);
    return fd;
  }
  return -1;
}

/* MOUNT_ATTR_* of the mount flags statvfs reports: what a user namespace's mount may lock. */
static uint64_t locked_attrs(int mnt) {
  uint64_t attrs;
  if (current_attrs(mnt, &attrs)) return 0;
  return attrs & (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

/* The options' attributes on the bind itself, as `mount --bind -o remount,...` sets them. */
static int set_bind_attrs(struct ci_ctx *ctx, int mnt, const struct ci_op_mount_bind *op) {
  struct mount_attr attr = {.attr_set = op->attr_set, .attr_clr = op->attr_clear | op->attr_reset};
  if (!attr.attr_set && !attr.attr_clr) return 0;
  if (ci_mount_setattr(ctx, mnt, op->target, 0, &attr) == 0) return 0;
  if (errno != EPERM || !op->attr_reset) return -1;
  /* In a user namespace the flags of a mount from outside it are locked: what the options did
     not name is kept as the source has it (an explicit clear still fails). */
  attr.attr_clr = op->attr_clear | (op->attr_reset & ~locked_attrs(mnt));
  return ci_mount_setattr(ctx, mnt, op->target, 0, &attr);
}

int ci_op_mount_bind(struct ci_ctx *ctx, const struct ci_op_mount_bind *op) {
  const char *source = op->source, *target = op->target;
  int mnt = take_mount_source(ctx, source, op->flags, op->userns);
  if (mnt < 0 && op->userns) {
    errno = EPROTO;
    return ci_fail(ctx, "mount_bind", "an id-mapped source is opened before the clone");
  }
  if (mnt < 0) mnt = clone_tree(ctx, source, op->flags);
  if (mnt < 0) return ci_fail(ctx, "open_tree", source);
  int rc = 0;
  struct stat st;
  if (op->flags & CI_BIND_MAKE_TARGET) {
    if (fstat(mnt, &st))
      rc = ci_fail(ctx, "fstat", source);
    else if (S_ISDIR(st.st_mode) ? ci_mkdir_all(ctx, target, 0755) : ci_make_file(ctx, target, 0644))
      rc = ci_fail(ctx, S_ISDIR(st.st_mode) ? "mkdirat" : "openat", target);
  }
  /* Attached first: a mount cloned before the clone belongs to the host's namespaces until
     then, and only the container's own mounts take attributes from its root. */
  if (rc == 0) rc = attach_mount(ctx, mnt, target);
  if (rc == 0) rc = set_bind_attrs(ctx, mnt, op);
  if (rc == 0 && (op->recursive_set || op->recursive_clear)) {
    struct mount_attr attr = {.attr_set = op->recursive_set, .attr_clr = op->recursive_clear};
    rc = ci_mount_setattr(ctx, mnt, target, 1, &attr);
  }
  if (rc == 0) rc = set_propagation(ctx, mnt, op->propagation, target);
  int err = errno;
  close(mnt);
  errno = err;
  return rc;
}
