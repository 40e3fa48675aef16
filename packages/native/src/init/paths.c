/*
 * Paths inside the container's root. Every lookup is openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS), so a symlink planted in the rootfs cannot lead outside it; what is
 * created is made with *at() calls on a descriptor of its parent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

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

int ci_open_parent(struct ci_ctx *ctx, const char *path, char *name, size_t name_size) {
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

/* Appends "/name" (or pops the last component for "..") to the canonical path in out. */
static int push_component(char *out, size_t size, const char *name, size_t len) {
  size_t used = strlen(out);
  if (len == 2 && name[0] == '.' && name[1] == '.') {
    char *slash = strrchr(out, '/');
    if (slash) *slash = '\0';
    return 0;
  }
  if (used + 1 + len >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  out[used] = '/';
  memcpy(out + used + 1, name, len);
  out[used + 1 + len] = '\0';
  return 0;
}

int ci_path_for_create(struct ci_ctx *ctx, const char *path, char *out, size_t size) {
  /* What is left to walk: the path, with each symlink met spliced in front of its rest. */
  char rest[2 * PATH_MAX], spliced[2 * PATH_MAX];
  if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  out[0] = '\0'; /* "" is the root */
  int links = 0, missing = 0;
  for (const char *p = rest; *p;) {
    while (*p == '/') p++;
    const char *end = strchrnul(p, '/');
    size_t len = (size_t)(end - p);
    const char *next = *end ? end + 1 : end;
    if (len == 0 || (len == 1 && *p == '.')) {
      p = next;
      continue;
    }
    int dotdot = len == 2 && p[0] == '.' && p[1] == '.';
    if (push_component(out, size, p, len)) return -1;
    p = next;
    /* Back on a path that was walked already: what follows may exist again. */
    if (dotdot) missing = 0;
    if (missing || dotdot) continue;
    int fd = ci_open_in_root(ctx, out, O_PATH | O_NOFOLLOW);
    if (fd < 0) {
      /* Nothing below a missing component exists: the rest is only joined. */
      if (errno != ENOENT) return -1;
      missing = 1;
      continue;
    }
    struct stat st = {.st_mode = 0};
    char target[PATH_MAX];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) n = readlinkat(fd, "", target, sizeof(target) - 1);
    int err = errno;
    close(fd);
    if (!S_ISLNK(st.st_mode)) continue;
    if (n < 0) {
      errno = err;
      return -1;
    }
    if (++links > 40) {
      errno = ELOOP;
      return -1;
    }
    target[n] = '\0';
    /* The link replaces its own component: relative to its directory, or to the root. */
    char *slash = strrchr(out, '/');
    *slash = '\0';
    if (target[0] == '/') out[0] = '\0';
    if (snprintf(spliced, sizeof(spliced), "%s/%s", target, p) >= (int)sizeof(spliced)) {
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(rest, spliced, strlen(spliced) + 1);
    p = rest;
  }
  if (out[0] == '\0') snprintf(out, size, "/");
  return 0;
}

int ci_mkdir_all(struct ci_ctx *ctx, const char *path, mode_t mode) {
  char buf[PATH_MAX];
  if (ci_path_for_create(ctx, path, buf, sizeof(buf))) return -1;
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    int fd = ci_open_in_root(ctx, buf, O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT) {
      char name[NAME_MAX + 1];
      int parent = ci_open_parent(ctx, buf, name, sizeof(name));
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

int ci_make_file(struct ci_ctx *ctx, const char *path, mode_t mode) {
  char buf[PATH_MAX];
  if (ci_path_for_create(ctx, path, buf, sizeof(buf))) return -1;
  int fd = ci_open_in_root(ctx, buf, O_PATH);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (errno != ENOENT) return -1;
  char *slash = strrchr(buf, '/');
  if (slash != buf) {
    *slash = '\0';
    int rc = ci_mkdir_all(ctx, buf, 0755);
    *slash = '/';
    if (rc) return -1;
  }
  char name[NAME_MAX + 1];
  int parent = ci_open_parent(ctx, buf, name, sizeof(name));
  if (parent < 0) return -1;
  fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
  int err = errno;
  close(parent);
  if (fd < 0) {
    errno = err;
    return -1;
  }
  close(fd);
  return 0;
}
