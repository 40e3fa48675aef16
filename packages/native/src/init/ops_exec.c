/*
 * The program to run: resolveExec finds it before the container is reported created, so that a
 * missing or non-executable args[0] fails `create` (as runc's does, with the texts podman and
 * containerd map to 127 and 126); exec then only runs it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

/* Go's findExecutable: 0, or an errno with *call naming the step that gave it ("" for none). */
static int find_executable(const char *path, const char **call) {
  struct stat st;
  if (stat(path, &st)) {
    *call = "stat";
    return errno;
  }
  *call = "";
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0) return 0;
  /* A seccomp profile may refuse faccessat2 (EPERM) or a kernel lack it: the mode bits decide. */
  if (errno != ENOSYS && errno != EPERM) return errno;
  return st.st_mode & 0111 ? 0 : EACCES;
}

static int lookup_failed(struct ci_ctx *ctx, int err, const char *call, const char *path) {
  /* The runtime words the error as Go's exec.LookPath does, with this description. */
  if (err) snprintf(ctx->fail_message, sizeof(ctx->fail_message), "%s", strerrordesc_np(err));
  errno = err;
  return ci_fail(ctx, call, path);
}

int ci_op_resolve_exec(struct ci_ctx *ctx, const struct ci_op_resolve_exec *op) {
  static char found[PATH_MAX];
  const char *file = op->file, *call;
  if (strchr(file, '/')) {
    if (snprintf(found, sizeof(found), "%s", file) >= (int)sizeof(found))
      return lookup_failed(ctx, ENAMETOOLONG, "stat", file);
    int err = find_executable(found, &call);
    if (err) return lookup_failed(ctx, err, call, file);
    ctx->exec_path = found;
    return 0;
  }
  /* An empty search path has no entries; an empty entry is the working directory. */
  for (const char *dir = op->search_path, *end; *op->search_path; dir = end + 1) {
    end = strchrnul(dir, ':');
    int dir_len = (int)(end - dir);
    int n = snprintf(found, sizeof(found), "%.*s/%s", dir_len ? dir_len : 1, dir_len ? dir : ".", file);
    if (n < (int)sizeof(found) && find_executable(found, &call) == 0) {
      /* Go refuses what only a relative entry found (exec.ErrDot): reported as EACCES. */
      errno = EACCES;
      if (found[0] != '/') return ci_fail(ctx, "lookpath", file);
      ctx->exec_path = found;
      return 0;
    }
    if (!*end) break;
  }
  errno = ENOENT;
  return ci_fail(ctx, "lookpath", file);
}

int ci_op_exec(struct ci_ctx *ctx, const struct ci_op_exec *op) {
  if (!ctx->exec_path) {
    errno = EPROTO;
    return ci_fail(ctx, "exec", "no resolveExec before exec");
  }
  char *const *env = (char *const *)op->env.items;
  if (ctx->home_env) {
    /* HOME goes last, as runc adds it. */
    char **with_home = calloc(op->env.count + 2, sizeof(*with_home));
    if (!with_home) return ci_fail(ctx, "calloc", "env");
    memcpy(with_home, op->env.items, op->env.count * sizeof(*with_home));
    with_home[op->env.count] = (char *)ctx->home_env;
    env = with_home;
  }
  /* sync 7: on success the channel, close-on-exec, closes with exec. */
  execve(ctx->exec_path, (char *const *)op->args.items, env);
  return ci_fail(ctx, "execve", ctx->exec_path);
}
