/* Identity, limit and exec ops. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

int ci_op_setsid(struct ci_ctx *ctx, const struct ci_op *op) {
  (void)op;
  if (setsid() < 0) return ci_fail(ctx, "setsid", NULL);
  return 0;
}

/* /proc/PID files of a process that is not dumpable belong to root: a runtime that is not root
   can write the maps of a new user namespace (itself or through newuidmap) only while the
   process is dumpable. */
int ci_op_dumpable(struct ci_ctx *ctx, const struct ci_op *op) {
  if (prctl(PR_SET_DUMPABLE, (unsigned long)op->num[0], 0, 0, 0)) return ci_fail(ctx, "prctl", "PR_SET_DUMPABLE");
  return 0;
}

int ci_op_sethostname(struct ci_ctx *ctx, const struct ci_op *op) {
  if (sethostname(op->str[0], strlen(op->str[0]))) return ci_fail(ctx, "sethostname", NULL);
  return 0;
}

int ci_op_setdomainname(struct ci_ctx *ctx, const struct ci_op *op) {
  if (setdomainname(op->str[0], strlen(op->str[0]))) return ci_fail(ctx, "setdomainname", NULL);
  return 0;
}

/* The key permission bit "the keyring's user may search it" (keyutils' KEY_USR_SEARCH). */
#define CI_KEY_USR_SEARCH 0x00080000u

/*
 * A session keyring of the container's own, so its processes do not share the keys of the
 * session that started the runtime; searchable by its user. Kernels without keyrings (ENOSYS)
 * go without, as the keyring only narrows what was shared anyway.
 */
int ci_op_join_session_keyring(struct ci_ctx *ctx, const struct ci_op *op) {
  long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, op->str[0]);
  if (id < 0) return errno == ENOSYS ? 0 : ci_fail(ctx, "keyctl", "KEYCTL_JOIN_SESSION_KEYRING");
  /* "type;uid;gid;perm;description": the permissions are the fourth field, in hex. */
  char description[512];
  long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, description, sizeof(description));
  if (n < 0) return ci_fail(ctx, "keyctl", "KEYCTL_DESCRIBE");
  description[sizeof(description) - 1] = '\0';
  const char *field = description;
  for (int i = 0; i < 3 && field; i++) {
    field = strchr(field, ';');
    if (field) field++;
  }
  char *end = NULL;
  unsigned long perm = field ? strtoul(field, &end, 16) : 0;
  if (!field || end == field || *end != ';') {
    errno = EINVAL;
    return ci_fail(ctx, "keyctl", "KEYCTL_DESCRIBE gave no permissions");
  }
  if (syscall(SYS_keyctl, KEYCTL_SETPERM, id, (unsigned int)(perm | CI_KEY_USR_SEARCH)))
    return ci_fail(ctx, "keyctl", "KEYCTL_SETPERM");
  return 0;
}

int ci_op_rlimit(struct ci_ctx *ctx, const struct ci_op *op) {
  struct rlimit limit = {.rlim_cur = op->num[1], .rlim_max = op->num[2]};
  if (prlimit(0, (__rlimit_resource_t)op->num[0], &limit, NULL)) return ci_fail(ctx, "prlimit", NULL);
  return 0;
}

int ci_op_setgroups(struct ci_ctx *ctx, const struct ci_op *op) {
  gid_t gids[NGROUPS_MAX];
  if (op->u32s_len > NGROUPS_MAX) {
    errno = EINVAL;
    return ci_fail(ctx, "setgroups", NULL);
  }
  for (size_t i = 0; i < op->u32s_len; i++) gids[i] = ci_u32_at(op->u32s + 4 * i);
  if (setgroups(op->u32s_len, gids)) return ci_fail(ctx, "setgroups", NULL);
  return 0;
}

int ci_op_setgid(struct ci_ctx *ctx, const struct ci_op *op) {
  gid_t gid = (gid_t)op->num[0];
  if (setresgid(gid, gid, gid)) return ci_fail(ctx, "setresgid", NULL);
  return 0;
}

int ci_op_setuid(struct ci_ctx *ctx, const struct ci_op *op) {
  uid_t uid = (uid_t)op->num[0];
  /* Keep the permitted set across the switch; CI_OP_CAPABILITIES then sets the final sets. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) return ci_fail(ctx, "prctl", "PR_SET_KEEPCAPS");
  if (setresuid(uid, uid, uid)) return ci_fail(ctx, "setresuid", NULL);
  return 0;
}

static int capset_sets(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable},
      {(uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32)},
  };
  return (int)syscall(SYS_capset, &header, data);
}

static int capget_permitted(uint64_t *permitted) {
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &header, data)) return -1;
  *permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
  return 0;
}

int ci_op_capabilities(struct ci_ctx *ctx, const struct ci_op *op) {
  uint64_t bounding = op->num[0], effective = op->num[1], permitted = op->num[2];
  uint64_t inheritable = op->num[3], ambient = op->num[4];
  uint64_t have;
  /* After a uid switch the effective set is empty; dropping from the bounding set needs
     CAP_SETPCAP in it, so raise what is still permitted first. */
  if (capget_permitted(&have) || capset_sets(have, have, 0)) return ci_fail(ctx, "capset", NULL);
  for (int cap = 0; cap < 64; cap++) {
    if (bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break; /* past the kernel's last cap */
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) return ci_fail(ctx, "prctl", "PR_CAPBSET_DROP");
  }
  if (capset_sets(effective, permitted, inheritable)) return ci_fail(ctx, "capset", NULL);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) return ci_fail(ctx, "prctl", "PR_CAP_AMBIENT");
  for (int cap = 0; cap < 64; cap++) {
    if (!(ambient & (1ULL << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)) return ci_fail(ctx, "prctl", "PR_CAP_AMBIENT_RAISE");
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)) return ci_fail(ctx, "prctl", "PR_SET_KEEPCAPS");
  return 0;
}

int ci_op_no_new_privs(struct ci_ctx *ctx, const struct ci_op *op) {
  (void)op;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return ci_fail(ctx, "prctl", "PR_SET_NO_NEW_PRIVS");
  return 0;
}

int ci_op_umask(struct ci_ctx *ctx, const struct ci_op *op) {
  (void)ctx;
  umask((mode_t)op->num[0]);
  return 0;
}

int ci_op_chdir(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *path = op->str[0];
  if (chdir(path)) return ci_fail(ctx, "chdir", path);
  /* A working directory reached through a descriptor of the host would not be under "/"
     (getcwd says "(unreachable)"): refuse it rather than exec there. */
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/') {
    errno = EPERM;
    return ci_fail(ctx, "getcwd", path);
  }
  return 0;
}

int ci_op_open_exec_fifo(struct ci_ctx *ctx, const struct ci_op *op) {
  /* Opened by path while the host is still reachable; only this O_PATH descriptor crosses the
     pivot, and it is closed before exec. */
  ctx->exec_fifo = open(op->str[0], O_PATH | O_CLOEXEC);
  if (ctx->exec_fifo < 0) return ci_fail(ctx, "open", op->str[0]);
  struct stat st;
  if (fstat(ctx->exec_fifo, &st) || !S_ISFIFO(st.st_mode)) {
    errno = EINVAL;
    return ci_fail(ctx, "fstat", op->str[0]);
  }
  return 0;
}

int ci_op_wait_exec_fifo(struct ci_ctx *ctx, const struct ci_op *op) {
  (void)op;
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", ctx->exec_fifo);
  /* Blocks until `start` opens the FIFO for reading: that is the signal to exec. */
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ci_fail(ctx, "open", "exec fifo");
  ssize_t n;
  do {
    n = write(fd, "0", 1);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  close(ctx->exec_fifo);
  ctx->exec_fifo = -1;
  if (n != 1) {
    errno = n < 0 ? err : EIO;
    return ci_fail(ctx, "write", "exec fifo");
  }
  return 0;
}

int ci_op_preserve_fds(struct ci_ctx *ctx, const struct ci_op *op) {
  /* Our own descriptors (the channel among them) sit above the preserved ones. */
  if (op->num[0] > 4096 || (int)(3 + op->num[0]) > ctx->channel) {
    errno = EINVAL;
    return ci_fail(ctx, "preserve_fds", NULL);
  }
  ctx->preserve_fds = (unsigned)op->num[0];
  return 0;
}

static const char *env_path(const char *const *env) {
  for (; *env; env++) {
    if (strncmp(*env, "PATH=", 5) == 0) return *env + 5;
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* Finds file on the container's PATH, as execvpe would but with the container's env. */
static int lookup_executable(const char *file, const char *const *env, char *out, size_t size) {
  if (strchr(file, '/')) {
    if (snprintf(out, size, "%s", file) >= (int)size) return ENAMETOOLONG;
    return 0;
  }
  int last_err = ENOENT;
  const char *p = env_path(env);
  while (*p) {
    const char *end = strchrnul(p, ':');
    int dir_len = (int)(end - p);
    if (snprintf(out, size, "%.*s%s%s", dir_len, p, dir_len ? "/" : "", file) < (int)size) {
      struct stat st;
      if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
        if (access(out, X_OK) == 0) return 0;
        last_err = EACCES;
      }
    }
    p = *end ? end + 1 : end;
  }
  return last_err;
}

int ci_op_exec(struct ci_ctx *ctx, const struct ci_op *op) {
  const char *file = op->str[0];
  char *const *argv = (char *const *)op->list[0];
  char *const *env = (char *const *)op->list[1];
  static char path[PATH_MAX];
  int err = lookup_executable(file, (const char *const *)env, path, sizeof(path));
  if (err) {
    errno = err;
    snprintf(ctx->fail_message, sizeof(ctx->fail_message), "executable file not found in $PATH");
    return ci_fail(ctx, "exec", file);
  }
  /* Nothing of ours may reach the container: mark every descriptor past stdio close-on-exec. */
  if (close_range(3 + ctx->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC)) return ci_fail(ctx, "close_range", NULL);
  /* The preserved ones must survive exec even if they were opened close-on-exec. */
  for (unsigned fd = 3; fd < 3 + ctx->preserve_fds; fd++) {
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && fcntl((int)fd, F_SETFD, flags & ~FD_CLOEXEC)) return ci_fail(ctx, "fcntl", "preserved fd");
  }
  execve(path, argv, env);
  return ci_fail(ctx, "execve", file);
}
