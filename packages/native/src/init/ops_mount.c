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

static int set_propagation(struct ci_ctx *ctx, int mnt, uint32_t propagation, const char *target) {
  struct mount_attr attr = {.propagation = propagation};
  if (propagation && mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr)))
    return ci_fail(ctx, "mount_setattr", target);
  return 0;
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
  struct statvfs st;
  if (fstatvfs(mnt, &st)) return 0;
  return ((st.f_flag & ST_RDONLY) ? MOUNT_ATTR_RDONLY : 0) | ((st.f_flag & ST_NOSUID) ? MOUNT_ATTR_NOSUID : 0) |
         ((st.f_flag & ST_NODEV) ? MOUNT_ATTR_NODEV : 0) | ((st.f_flag & ST_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0);
}

/* The options' attributes on the bind itself, as `mount --bind -o remount,...` sets them. */
static int set_bind_attrs(struct ci_ctx *ctx, int mnt, const struct ci_op_mount_bind *op) {
  struct mount_attr attr = {.attr_set = op->attr_set, .attr_clr = op->attr_clear | op->attr_reset};
  if (!attr.attr_set && !attr.attr_clr) return 0;
  if (mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0) return 0;
  if (errno != EPERM || !op->attr_reset) return ci_fail(ctx, "mount_setattr", op->target);
  /* In a user namespace the flags of a mount from outside it are locked: what the options did
     not name is kept as the source has it (an explicit clear still fails). */
  attr.attr_clr = op->attr_clear | (op->attr_reset & ~locked_attrs(mnt));
  if (mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr))) return ci_fail(ctx, "mount_setattr", op->target);
  return 0;
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
    if (mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)))
      rc = ci_fail(ctx, "mount_setattr", target);
  }
  if (rc == 0) rc = set_propagation(ctx, mnt, op->propagation, target);
  int err = errno;
  close(mnt);
  errno = err;
  return rc;
}
