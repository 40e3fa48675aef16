/*
 * corral-front: `start`, `kill`, `delete` and `state` of a plain container without starting Node.
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

#define FRONT_MAX_CGROUPS 32

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

/* What an operation came to: done, or the Node command line is to do it. */
enum outcome { DONE, HAND_OVER };

/*
 * Opens the container with a front plan, under its lock if `lock` (`state` takes none, as the
 * command line's), and finds its init; HAND_OVER otherwise.
 */
enum outcome open_container(const char *root, const char *id, bool lock, struct container *c);
void close_container(struct container *c);
enum status container_status(const struct container *c);
/* A directory to hand over: the container's holds a subdirectory (the notify socket's). */
bool container_dir_has_subdirectory(const struct container *c);

/* Whether one of the path's parts is `..`. */
bool path_climbs(const char *path);

enum outcome start_container(struct container *c);
enum outcome delete_container(struct container *c, bool force);
enum outcome kill_container(struct container *c, int signal);
enum outcome show_state(struct container *c);
/* A signal as the command line's parseSignal takes it (a number up to 64, or a name); -1 if not one. */
int parse_signal(const char *text);

#endif
