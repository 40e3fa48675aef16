/* State shared by corral-init's ops, and the signature every op has. */
#ifndef CORRAL_INIT_INIT_H
#define CORRAL_INIT_INIT_H

#include "plan.h"

/* A bind source cloned early (openMountSource): before the clone when id-mapped, else before
   the process became a user namespace's root. */
struct ci_mount_source {
  const char *source;
  uint32_t recursive; /* CI_BIND_RECURSIVE or 0 */
  uint32_t userns;    /* the id map it carries (0: none) */
  int fd;
  struct ci_mount_source *next;
};

/* Id-mapped mounts one container may have. */
#define CI_MAX_IDMAPS 32

struct ci_ctx {
  int channel;       /* our end of the socketpair                                  */
  int rootfd;        /* O_PATH descriptor of the rootfs (after CI_OP_OPEN_ROOTFS)   */
  int devnull;       /* the container's checked /dev/null, opened on first mask     */
  int mask_tmpfs;    /* the read-only tmpfs masking the first directory: the others
                        get binds of it                                            */
  int pivoted;       /* paths resolve against "/" once the root has moved           */
  int exec_fifo;     /* O_PATH descriptor of the exec FIFO (after CI_OP_OPEN_EXEC_FIFO) */
  int cwd_pending;        /* chdir's try was refused: a retry after the uid switch is due */
  const char *home_env;  /* "HOME=..." for exec, when homeFromPasswd ran                 */
  const char *exec_path; /* the program resolveExec found                          */
  const char *state_before; /* the state document GO carried, cut around its status   */
  const char *state_after;
  struct ci_mount_source *mount_sources; /* bind sources cloned early (CI_OP_OPEN_MOUNT_SOURCE) */
  int idmap_userns[CI_MAX_IDMAPS]; /* user namespaces of id-mapped mounts (CI_OP_IDMAP_USERNS) */
  unsigned idmap_count;
  int clone_cgroup; /* a cgroup2 directory the clone starts the process in (CI_OP_START_IN_CGROUP), or -1 */
  /* What failed, for the error report; set by ci_fail(). */
  const char *fail_syscall;
  const char *fail_path;
  char fail_message[3072];
};

/* Records the failing call and returns -1; errno is left as the call set it. */
int ci_fail(struct ci_ctx *ctx, const char *syscall, const char *path);

/* ops_mount.c: mount_setattr(2) on `mnt`, the mount attached at `path` in the root (and the mounts
   under it if `recursive`). Before Linux 5.12 the flags and propagation of the one mount are set
   with mount(2) instead; the rest fails with ENOSYS, naming mount_setattr. */
struct mount_attr;
int ci_mount_setattr(struct ci_ctx *ctx, int mnt, const char *path, int recursive, struct mount_attr *attr);

/* paths.c: paths inside the container root (never escaping it, no magic links). */
int ci_open_in_root(struct ci_ctx *ctx, const char *path, int flags);
/* Splits "/a/b/c" into a descriptor of "/a/b" (resolved in root) and the name "c". */
int ci_open_parent(struct ci_ctx *ctx, const char *path, char *name, size_t name_size);
/* The path, inside the root, at which something made for `path` must go: every symlink met in
   what exists is followed within the root, so a dangling one leads to where it points. */
int ci_path_for_create(struct ci_ctx *ctx, const char *path, char *out, size_t size);
/* mkdir -p inside the root, component by component with mkdirat on its parent. */
int ci_mkdir_all(struct ci_ctx *ctx, const char *path, mode_t mode);
/* An empty file at path (and its parents), unless something is there already. */
int ci_make_file(struct ci_ctx *ctx, const char *path, mode_t mode);

/* Every op is a function ci_op_<name>(ctx, fields), in the ops_*.c file of its kind. */
#define CI_DECLARE_OP_FN(NAME, name, code) int ci_op_##name(struct ci_ctx *ctx, const struct ci_op_##name *op);
CI_OPS(CI_DECLARE_OP_FN)

#endif
