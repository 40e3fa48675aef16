/*
 * tmpcopyup, as runc does it: the target's files, directories, symlinks and device nodes are
 * copied into the new tmpfs, with their modes and owners, before it is mounted over them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "copy_tree.h"
#include "fds.h"

/* Deep enough for any real image; a loop of bind mounts cannot make it recurse forever. */
#define CI_COPY_MAX_DEPTH 128

static int copy_contents(int in, int out, off_t size) {
  while (size > 0) {
    ssize_t n = sendfile(out, in, NULL, (size_t)size < (1u << 30) ? (size_t)size : 1u << 30);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break; /* the file shrank meanwhile */
    size -= n;
  }
  return 0;
}

static int copy_file(int from, int to, const char *name, const struct stat *st) {
  int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return -1;
  int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int rc = out < 0 ? -1 : copy_contents(in, out, st->st_size);
  if (rc == 0 && (fchown(out, st->st_uid, st->st_gid) || fchmod(out, st->st_mode & 07777))) rc = -1;
  int err = errno;
  close(in);
  if (out >= 0) close(out);
  errno = err;
  return rc;
}

static int copy_dir(int from, int to, int depth);

static int copy_entry(int from, int to, const char *name, int depth) {
  struct stat st;
  if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW)) return -1;
  if (S_ISREG(st.st_mode)) return copy_file(from, to, name, &st);
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);
    if (n < 0) return -1;
    target[n] = '\0';
    if (symlinkat(target, to, name)) return -1;
  } else if (S_ISDIR(st.st_mode)) {
    if (mkdirat(to, name, 0700)) return -1;
    int sub_from = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int sub_to = sub_from < 0 ? -1 : openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc = sub_to < 0 ? -1 : copy_dir(sub_from, sub_to, depth + 1);
    int err = errno;
    if (sub_from >= 0) close(sub_from);
    if (sub_to >= 0) close(sub_to);
    errno = err;
    if (rc) return -1;
  } else if (mknodat(to, name, st.st_mode, st.st_rdev)) {
    return -1;
  }
  /* Modes after the contents: a directory without write permission is filled first. */
  if (fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW)) return -1;
  if (!S_ISLNK(st.st_mode) && fchmodat(to, name, st.st_mode & 07777, 0)) return -1;
  return 0;
}

static int copy_dir(int from, int to, int depth) {
  if (depth > CI_COPY_MAX_DEPTH) {
    errno = ELOOP;
    return -1;
  }
  char buf[2048];
  long n;
  while ((n = syscall(SYS_getdents64, from, buf, sizeof(buf))) > 0) {
    for (long at = 0; at < n;) {
      struct ci_dirent64 *entry = (struct ci_dirent64 *)(buf + at);
      at += entry->reclen;
      const char *name = entry->name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      if (copy_entry(from, to, name, depth)) return -1;
    }
  }
  return n < 0 ? -1 : 0;
}

int ci_copy_up(struct ci_ctx *ctx, int mnt, const char *target) {
  int from = ci_open_in_root(ctx, target, O_RDONLY | O_DIRECTORY);
  if (from < 0) return ci_fail(ctx, "openat2", target);
  int to = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = to < 0 ? -1 : copy_dir(from, to, 0);
  int err = errno;
  close(from);
  if (to >= 0) close(to);
  errno = err;
  if (rc) {
    snprintf(ctx->fail_message, sizeof(ctx->fail_message), "copying %s up (tmpcopyup)", target);
    return ci_fail(ctx, "copy", target);
  }
  return 0;
}
