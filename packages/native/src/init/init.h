/* State shared by corral-init's ops, and the signature every op has. */
#ifndef CORRAL_INIT_INIT_H
#define CORRAL_INIT_INIT_H

#include "plan.h"

/* A bind source cloned before the process became a user namespace's root. */
struct ci_mount_source {
  const char *source;
  uint32_t flags;
  int fd;
  struct ci_mount_source *next;
};

/* Id-mapped mounts one container may have. */
#define CI_MAX_IDMAPS 32

struct ci_ctx {
  int channel;       /* our end of the socketpair                                  */
  int rootfd;        /* O_PATH descriptor of the rootfs (after CI_OP_OPEN_ROOTFS)   */
  int devnull;       /* the container's checked /dev/null, opened on first mask     */
  int pivoted;       /* paths resolve against "/" once the root has moved           */
  int exec_fifo;     /* O_PATH descriptor of the exec FIFO (after CI_OP_OPEN_EXEC_FIFO) */
  unsigned preserve_fds; /* descriptors from 3 up that the process keeps (--preserve-fds) */
  const char **hook_states; /* the state documents the GO message carried          */
  struct ci_mount_source *mount_sources; /* bind sources cloned early (CI_OP_OPEN_MOUNT_SOURCE) */
  int idmap_userns[CI_MAX_IDMAPS]; /* user namespaces of id-mapped mounts (CI_OP_IDMAP_USERNS) */
  unsigned idmap_count;
  size_t hook_state_count;
  /* What failed, for the error report; set by ci_fail(). */
  const char *fail_syscall;
  const char *fail_path;
  char fail_message[512];
};

/* Records the failing call and returns -1; errno is left as the call set it. */
int ci_fail(struct ci_ctx *ctx, const char *syscall, const char *path);

/* Resolves a path inside the container root (never escaping it, no magic links). */
int ci_open_in_root(struct ci_ctx *ctx, const char *path, int flags);

typedef int (*ci_op_fn)(struct ci_ctx *ctx, const struct ci_op *op);

/* ops_fs.c */
int ci_op_root_propagation(struct ci_ctx *, const struct ci_op *);
int ci_op_open_rootfs(struct ci_ctx *, const struct ci_op *);
int ci_op_mkdir(struct ci_ctx *, const struct ci_op *);
int ci_op_mkfile(struct ci_ctx *, const struct ci_op *);
int ci_op_mount_fs(struct ci_ctx *, const struct ci_op *);
int ci_op_open_mount_source(struct ci_ctx *, const struct ci_op *);
int ci_op_mount_bind(struct ci_ctx *, const struct ci_op *);
int ci_op_mknod(struct ci_ctx *, const struct ci_op *);
int ci_op_symlink(struct ci_ctx *, const struct ci_op *);
int ci_op_pivot_root(struct ci_ctx *, const struct ci_op *);
int ci_op_chroot(struct ci_ctx *, const struct ci_op *);
int ci_op_mask_path(struct ci_ctx *, const struct ci_op *);
int ci_op_readonly_path(struct ci_ctx *, const struct ci_op *);
int ci_op_remount_root_ro(struct ci_ctx *, const struct ci_op *);

/* ops_ns.c */
int ci_op_join_namespace(struct ci_ctx *, const struct ci_op *);
int ci_op_unshare(struct ci_ctx *, const struct ci_op *);
int ci_op_time_offsets(struct ci_ctx *, const struct ci_op *);

/* ops_process.c */
int ci_op_setsid(struct ci_ctx *, const struct ci_op *);
int ci_op_dumpable(struct ci_ctx *, const struct ci_op *);
int ci_op_sethostname(struct ci_ctx *, const struct ci_op *);
int ci_op_setdomainname(struct ci_ctx *, const struct ci_op *);
int ci_op_join_session_keyring(struct ci_ctx *, const struct ci_op *);
int ci_op_rlimit(struct ci_ctx *, const struct ci_op *);
int ci_op_setgroups(struct ci_ctx *, const struct ci_op *);
int ci_op_setgid(struct ci_ctx *, const struct ci_op *);
int ci_op_setuid(struct ci_ctx *, const struct ci_op *);
int ci_op_capabilities(struct ci_ctx *, const struct ci_op *);
int ci_op_no_new_privs(struct ci_ctx *, const struct ci_op *);
int ci_op_umask(struct ci_ctx *, const struct ci_op *);
int ci_op_chdir(struct ci_ctx *, const struct ci_op *);
int ci_op_open_exec_fifo(struct ci_ctx *, const struct ci_op *);
int ci_op_wait_exec_fifo(struct ci_ctx *, const struct ci_op *);
int ci_op_run_hook(struct ci_ctx *, const struct ci_op *);

/* ops_sysctl.c */
int ci_op_sysctl(struct ci_ctx *, const struct ci_op *);

/* ops_idmap.c */
int ci_op_idmap_userns(struct ci_ctx *, const struct ci_op *);

/* ops_sched.c */
int ci_op_scheduler(struct ci_ctx *, const struct ci_op *);
int ci_op_io_priority(struct ci_ctx *, const struct ci_op *);
int ci_op_personality(struct ci_ctx *, const struct ci_op *);
int ci_op_cpu_affinity(struct ci_ctx *, const struct ci_op *);

/* ops_console.c */
int ci_op_console(struct ci_ctx *, const struct ci_op *);
int ci_op_preserve_fds(struct ci_ctx *, const struct ci_op *);
int ci_op_exec(struct ci_ctx *, const struct ci_op *);

/* ops_seccomp.c */
int ci_op_seccomp(struct ci_ctx *, const struct ci_op *);

#endif
