/*
 * corral-front: `start`, `kill`, `delete`, `state` and `checkpoint` of a plain container, and
 * `list` of plain containers, without starting Node.
 *
 * podman and containerd run the runtime once per step of a container, and Node's start and
 * exit alone take longer than runc's whole `start`, `kill`, `delete` or `state`. A create records,
 * beside state.json, a container's front plan (packages/core/src/state/front-plan.ts) when
 * those need nothing but what the plan says: no hooks to run, no network devices to give back,
 * no systemd unit, an own pid namespace (its processes die with the init). The front
 * does those commands from the plan under the container's lock; for anything else (another
 * command, a flag it does not know, a status that needs an answer in runc's words, any doubt) it
 * execs the Node command line with the same arguments, having changed nothing that the command
 * line would not then do itself.
 */
#ifndef CORRAL_FRONT_H
#define CORRAL_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FRONT_MAX_CGROUPS 32
#define FRONT_MAX_CRIU_ITEMS 256

/* What a front plan names, pointing into the plan's text. */
struct front_plan {
  int pid;
  const char *start_time;
  /* The cgroup directories, removed in this order. */
  const char *cgroups[FRONT_MAX_CGROUPS];
  size_t cgroup_count;
  /* Where the freezer says whether the container is paused: a v1 freezer directory, or cgroup2. */
  const char *v1_freezer;
  const char *v2_freezer;
  /* `state`'s compact JSON before the pid and after the status (absent: the command line shows it). */
  const char *state_head;
  const char *state_tail;
  /* The bundle and creation time as list's table shows them. */
  const char *list_bundle;
  const char *list_created;
  /*
   * What a checkpoint tells CRIU that the container alone decides (`criu-*` lines, from
   * packages/core/src/container/dump-basis.ts); no criu_root, or more items than fit, and the
   * command line checkpoints it.
   */
  const char *criu_root;
  const char *criu_freeze_cgroup;
  const char *criu_config;
  const char *criu_ext_mounts[FRONT_MAX_CRIU_ITEMS];
  size_t criu_ext_mount_count;
  const char *criu_externals[FRONT_MAX_CRIU_ITEMS];
  size_t criu_external_count;
  bool criu_overflow;
  bool criu_orphan_pts_master;
  /* The host group the images are shared with (a container with its own user namespace), or -1. */
  long criu_images_group;
};

struct container {
  const char *id;
  int root_fd;
  int dir_fd;
  int lock_fd;
  /* Whether the recorded init still runs (its pid has its start time), as status.ts asks. */
  bool init_alive;
  /* Its pidfd, opened before that check so that a reused pid cannot pass it; -1 if not alive. */
  int init_fd;
  struct front_plan plan;
  char plan_text[32768];
};

enum status { STATUS_STOPPED, STATUS_CREATED, STATUS_RUNNING, STATUS_PAUSED };
/* Each status as state and list print it. */
extern const char *const STATUS_NAMES[];

/* What `list` prints: runc's table, --format json, or --quiet's ids. */
enum list_format { LIST_TABLE, LIST_JSON, LIST_QUIET };

/*
 * What an operation came to: done; or the Node command line is to do it; or (a checkpoint that
 * stopped the container) done but for the teardown, which is then `delete --force`'s.
 */
enum outcome { DONE, HAND_OVER, DELETE_LEFT };

/* The flags of `checkpoint` the front takes; any other is the command line's. */
struct checkpoint_args {
  const char *image_path;
  const char *work_path;
  bool leave_running, tcp_established, tcp_skip_in_flight, link_remap, ext_unix_sk, shell_job, file_locks,
      auto_dedup;
};

/* A criu binary as packages/criu's client finds it: the name it is run by, and the file. */
struct criu_binary {
  const char *name;
  char path[4096];
};

/* One dump as CRIU's RPC takes it: the container's part from the plan, the rest from the command. */
struct criu_dump {
  const struct front_plan *plan;
  const struct checkpoint_args *args;
  int images_dir_fd;
  int work_dir_fd;
  /* The init's stdio that CRIU must take as external files (checkpoint.ts's stdioDescriptors). */
  const char *stdio_externals[3];
  size_t stdio_external_count;
};

/*
 * Opens the container with a front plan, under its lock if `lock` (`state` takes none, as the
 * command line's), and finds its init; HAND_OVER otherwise.
 */
enum outcome open_container(const char *root, const char *id, bool lock, struct container *c);
void close_container(struct container *c);
/* Is the state root one the command line accepts: a real directory of ours no one else can write? */
bool state_root_is_ours(int fd);
enum status container_status(const struct container *c);
/* A directory to hand over: the container's holds a subdirectory (the notify socket's). */
bool container_dir_has_subdirectory(const struct container *c);

/* Whether one of the path's parts is `..`. */
bool path_climbs(const char *path);
/* Reads a small file whole into buf (NUL-terminated); -1 if it is missing, unreadable or too long. */
ssize_t read_small_file(int dir_fd, const char *name, char *buf, size_t size);

/* The binary as the command line would run it, trusted only at a version the client accepts. */
bool find_usable_criu(const char *criu_flag, struct criu_binary *binary);
/* Runs the dump; HAND_OVER if CRIU did not answer that it succeeded. */
enum outcome criu_dump(const struct criu_binary *binary, const struct criu_dump *dump);

enum outcome start_container(struct container *c);
enum outcome delete_container(struct container *c, bool force);
/* The init killed and waited for, the cgroups and then the state directory removed. */
enum outcome teardown_container(struct container *c);
enum outcome checkpoint_container(struct container *c, const struct checkpoint_args *args, const char *criu_flag);
enum outcome kill_container(struct container *c, int signal);
enum outcome show_state(struct container *c);
enum outcome list_containers(const char *root, enum list_format format);
/* A signal as the command line's parseSignal takes it (a number up to 64, or a name); -1 if not one. */
int parse_signal(const char *text);

#endif
