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

#include "channel.h"
#include "fds.h"
#include "init.h"

int ci_op_setsid(struct ci_ctx *ctx, const struct ci_op_setsid *op) {
  (void)op;
  if (setsid() < 0) return ci_fail(ctx, "setsid", NULL);
  return 0;
}

/* /proc/PID files of a process that is not dumpable belong to root: a runtime that is not root
   can write the maps of a new user namespace (itself or through newuidmap) only while the
   process is dumpable. */
int ci_op_dumpable(struct ci_ctx *ctx, const struct ci_op_dumpable *op) {
  if (prctl(PR_SET_DUMPABLE, (unsigned long)op->value, 0, 0, 0)) return ci_fail(ctx, "prctl", "PR_SET_DUMPABLE");
  return 0;
}

int ci_op_sethostname(struct ci_ctx *ctx, const struct ci_op_sethostname *op) {
  if (sethostname(op->name, strlen(op->name))) return ci_fail(ctx, "sethostname", NULL);
  return 0;
}

int ci_op_setdomainname(struct ci_ctx *ctx, const struct ci_op_setdomainname *op) {
  if (setdomainname(op->name, strlen(op->name))) return ci_fail(ctx, "setdomainname", NULL);
  return 0;
}

/* The key permission bit "the keyring's user may search it" (keyutils' KEY_USR_SEARCH). */
#define CI_KEY_USR_SEARCH 0x00080000u

/*
 * A session keyring of the container's own, so its processes do not share the keys of the
 * session that started the runtime; searchable by its user. Kernels without keyrings (ENOSYS)
 * go without, as the keyring only narrows what was shared anyway.
 */
int ci_op_join_session_keyring(struct ci_ctx *ctx, const struct ci_op_join_session_keyring *op) {
  long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, op->name);
  if (id < 0 && errno == ENOSYS) {
    ci_log(ctx->channel, CI_LOG_WARNING, "the kernel has no keyrings: the container shares the runtime's session keyring");
    return 0;
  }
  if (id < 0) return ci_fail(ctx, "keyctl", "KEYCTL_JOIN_SESSION_KEYRING");
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

int ci_op_rlimit(struct ci_ctx *ctx, const struct ci_op_rlimit *op) {
  struct rlimit limit = {.rlim_cur = op->soft, .rlim_max = op->hard};
  if (prlimit(0, (__rlimit_resource_t)op->resource, &limit, NULL)) return ci_fail(ctx, "prlimit", NULL);
  return 0;
}

int ci_op_setgroups(struct ci_ctx *ctx, const struct ci_op_setgroups *op) {
  gid_t gids[NGROUPS_MAX];
  if (op->gids.count > NGROUPS_MAX) {
    errno = EINVAL;
    return ci_fail(ctx, "setgroups", NULL);
  }
  for (size_t i = 0; i < op->gids.count; i++) gids[i] = ci_u32s_at(op->gids, i);
  if (setgroups(op->gids.count, gids)) return ci_fail(ctx, "setgroups", NULL);
  return 0;
}

int ci_op_setgid(struct ci_ctx *ctx, const struct ci_op_setgid *op) {
  gid_t gid = (gid_t)op->gid;
  if (setresgid(gid, gid, gid)) return ci_fail(ctx, "setresgid", NULL);
  return 0;
}

int ci_op_setuid(struct ci_ctx *ctx, const struct ci_op_setuid *op) {
  uid_t uid = (uid_t)op->uid;
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

int ci_op_capabilities(struct ci_ctx *ctx, const struct ci_op_capabilities *op) {
  uint64_t bounding = op->bounding, effective = op->effective, permitted = op->permitted;
  uint64_t inheritable = op->inheritable, ambient = op->ambient;
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

int ci_op_no_new_privileges(struct ci_ctx *ctx, const struct ci_op_no_new_privileges *op) {
  (void)op;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return ci_fail(ctx, "prctl", "PR_SET_NO_NEW_PRIVS");
  return 0;
}

int ci_op_umask(struct ci_ctx *ctx, const struct ci_op_umask *op) {
  (void)ctx;
  umask((mode_t)op->mask);
  return 0;
}

/*
 * process.cwd, entered before the identity switch (a directory only root may enter still works)
 * and again after it if that first try was refused (one only the process's user may enter).
 */
int ci_op_chdir(struct ci_ctx *ctx, const struct ci_op_chdir *op) {
  const char *path = op->path;
  if (op->mode == CI_CHDIR_RETRY && !ctx->cwd_pending) return 0;
  if (chdir(path)) {
    if (op->mode == CI_CHDIR_TRY && (errno == EACCES || errno == EPERM)) {
      ctx->cwd_pending = 1;
      return 0;
    }
    return ci_fail(ctx, "chdir", path);
  }
  ctx->cwd_pending = 0;
  /* A working directory reached through a descriptor of the host would not be under "/"
     (getcwd says "(unreachable)"): refuse it rather than exec there. */
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/') {
    errno = EPERM;
    return ci_fail(ctx, "getcwd", path);
  }
  return 0;
}

int ci_op_open_exec_fifo(struct ci_ctx *ctx, const struct ci_op_open_exec_fifo *op) {
  /* Opened by path while the host is still reachable; only this O_PATH descriptor crosses the
     pivot, and it is closed before exec. */
  ctx->exec_fifo = open(op->path, O_PATH | O_CLOEXEC);
  if (ctx->exec_fifo < 0) return ci_fail(ctx, "open", op->path);
  struct stat st;
  if (fstat(ctx->exec_fifo, &st) || !S_ISFIFO(st.st_mode)) {
    errno = EINVAL;
    return ci_fail(ctx, "fstat", op->path);
  }
  return 0;
}

int ci_op_wait_exec_fifo(struct ci_ctx *ctx, const struct ci_op_wait_exec_fifo *op) {
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

int ci_op_close_descriptors(struct ci_ctx *ctx, const struct ci_op_close_descriptors *op) {
  /* The channel sits above the preserved descriptors. */
  if (op->preserve > 4096 || (int)(3 + op->preserve) > ctx->channel) {
    errno = EINVAL;
    return ci_fail(ctx, "close_range", "more descriptors to preserve than were given");
  }
  /* Nothing of ours may reach the container; the channel must stay until exec closes it. */
  if (ci_cloexec_fds_from(3 + op->preserve)) return ci_fail(ctx, "close_range", NULL);
  /* The preserved ones survive exec even if they were opened close-on-exec. */
  for (unsigned fd = 3; fd < 3 + op->preserve; fd++) {
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && fcntl((int)fd, F_SETFD, flags & ~FD_CLOEXEC)) return ci_fail(ctx, "fcntl", "preserved fd");
  }
  return 0;
}

int ci_op_raise_capabilities(struct ci_ctx *ctx, const struct ci_op_raise_capabilities *op) {
  (void)op;
  uint64_t permitted;
  if (capget_permitted(&permitted) || capset_sets(permitted, permitted, 0)) return ci_fail(ctx, "capset", NULL);
  return 0;
}

/* The home of uid in the root's /etc/passwd ("name:password:uid:gid:gecos:home:shell"): 0, 1
   when no entry has that uid, -1 when the file cannot be read. */
static int passwd_home(struct ci_ctx *ctx, uint32_t uid, char *home, size_t size) {
  int fd = ci_open_in_root(ctx, "/etc/passwd", O_RDONLY);
  if (fd < 0) return -1;
  static char text[1 << 20];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof(text) - 1 && (n = read(fd, text + len, sizeof(text) - 1 - len)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
    len += (size_t)n;
  }
  close(fd);
  text[len] = '\0';
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    char *field[7] = {line};
    int count = 1;
    for (char *c = line; *c && count < 7; c++) {
      if (*c == ':') {
        *c = '\0';
        field[count++] = c + 1;
      }
    }
    if (count < 7) continue;
    char *end;
    unsigned long entry = strtoul(field[2], &end, 10);
    if (end == field[2] || *end || entry != uid) continue;
    snprintf(home, size, "%s", field[5]);
    return 0;
  }
  return 1;
}

int ci_op_home_from_passwd(struct ci_ctx *ctx, const struct ci_op_home_from_passwd *op) {
  static char env[PATH_MAX + 8];
  char home[PATH_MAX];
  int found = passwd_home(ctx, op->uid, home, sizeof(home));
  /* Any uid may be asked for, with or without an entry: like runc, fall back to "/", and say
     why only when the file itself could not be read. */
  if (found < 0)
    ci_log(ctx->channel, CI_LOG_DEBUG, "HOME not set in process.env, and /etc/passwd could not be read: %s",
           strerrordesc_np(errno));
  if (found != 0) snprintf(home, sizeof(home), "/");
  snprintf(env, sizeof(env), "HOME=%s", home);
  ctx->home_env = env;
  return 0;
}
