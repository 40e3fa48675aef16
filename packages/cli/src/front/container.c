/*
 * A container's directory as the Node command line opens it (packages/core/src/state/state-dir.ts):
 * the state root checked, the lock taken and checked to be the directory's own, then the front
 * plan and the status derived as status.ts derives it. Any deviation is a hand-over: the Node
 * command line then gives the error in its own words.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "front.h"

static const char PLAN_FILE[] = "front";
static const char PLAN_HEADER[] = "corral-front 1";
static const char CGROUP_ROOT[] = "/sys/fs/cgroup/";

ssize_t read_small_file(int dir_fd, const char *name, char *buf, size_t size) {
  int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t used = 0;
  ssize_t n = 0;
  while (used < size - 1) {
    n = read(fd, buf + used, size - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += (size_t)n;
  }
  close(fd);
  if (n < 0 || used == size - 1) return -1;
  buf[used] = '\0';
  return (ssize_t)used;
}

bool path_climbs(const char *path) {
  for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
    if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) return true;
  return false;
}

/* A cgroup directory the plan may name: absolute under /sys/fs/cgroup, with no `..` in it. */
static bool is_cgroup_path(const char *path) {
  return strncmp(path, CGROUP_ROOT, sizeof CGROUP_ROOT - 1) == 0 && !path_climbs(path);
}

/* Appends to one of the plan's CRIU lists; one too many and the front leaves checkpoints alone. */
static void add_criu_item(const char **items, size_t *count, const char *value, struct front_plan *plan) {
  if (*count == FRONT_MAX_CRIU_ITEMS)
    plan->criu_overflow = true;
  else
    items[(*count)++] = value;
}

/* One `criu-NAME value` line of the plan; false for a name it does not know. */
static bool parse_criu_line(const char *name, char *value, struct front_plan *plan) {
  if (strcmp(name, "root") == 0) {
    plan->criu_root = value;
  } else if (strcmp(name, "freeze-cgroup") == 0) {
    plan->criu_freeze_cgroup = value;
  } else if (strcmp(name, "config") == 0) {
    plan->criu_config = value;
  } else if (strcmp(name, "ext-mount") == 0) {
    add_criu_item(plan->criu_ext_mounts, &plan->criu_ext_mount_count, value, plan);
  } else if (strcmp(name, "external") == 0) {
    add_criu_item(plan->criu_externals, &plan->criu_external_count, value, plan);
  } else if (strcmp(name, "orphan-pts-master") == 0) {
    if (strcmp(value, "true") != 0) return false;
    plan->criu_orphan_pts_master = true;
  } else if (strcmp(name, "images-group") == 0) {
    char *rest;
    long gid = strtol(value, &rest, 10);
    if (*rest || !*value || gid < 0 || gid > 0xfffffffeL) return false;
    plan->criu_images_group = gid;
  } else {
    return false;
  }
  return true;
}

/* Parses the plan's lines (a header, then `key value`) in place; false for anything it does not know. */
static bool parse_plan(char *text, struct front_plan *plan) {
  memset(plan, 0, sizeof *plan);
  plan->criu_images_group = -1;
  size_t header = strlen(PLAN_HEADER);
  if (strncmp(text, PLAN_HEADER, header) != 0 || text[header] != '\n') return false;
  for (char *line = text + header + 1; *line;) {
    char *end = strchr(line, '\n');
    char *value = strchr(line, ' ');
    if (!end || !value || value > end) return false;
    *end = '\0';
    *value++ = '\0';
    if (strcmp(line, "pid") == 0) {
      char *rest;
      long pid = strtol(value, &rest, 10);
      if (*rest || pid <= 0 || pid > 0x7fffffff) return false;
      plan->pid = (int)pid;
    } else if (strcmp(line, "pid-start-time") == 0) {
      if (!*value || value[strspn(value, "0123456789")]) return false;
      plan->start_time = value;
    } else if (strcmp(line, "cgroup") == 0) {
      if (!is_cgroup_path(value) || plan->cgroup_count == FRONT_MAX_CGROUPS) return false;
      plan->cgroups[plan->cgroup_count++] = value;
    } else if (strcmp(line, "v1-freezer") == 0) {
      if (!is_cgroup_path(value)) return false;
      plan->v1_freezer = value;
    } else if (strcmp(line, "v2-freezer") == 0) {
      if (!is_cgroup_path(value)) return false;
      plan->v2_freezer = value;
    } else if (strcmp(line, "state-head") == 0) {
      plan->state_head = value;
    } else if (strcmp(line, "state-tail") == 0) {
      plan->state_tail = value;
    } else if (strcmp(line, "list-bundle") == 0) {
      plan->list_bundle = value;
    } else if (strcmp(line, "list-created") == 0) {
      plan->list_created = value;
    } else if (strncmp(line, "criu-", 5) == 0) {
      if (!parse_criu_line(line + 5, value, plan)) return false;
    } else {
      return false;
    }
    line = end + 1;
  }
  return plan->pid > 0 && plan->start_time;
}

bool state_root_is_ours(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022);
}

static bool same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Field 22 of /proc/PID/stat, the start time; false for a process gone or a zombie. */
static bool process_start_time(int pid, char *out, size_t size) {
  char path[32], stat[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (read_small_file(AT_FDCWD, path, stat, sizeof stat) < 0) return false;
  /* The command name (field 2) is in parentheses and may itself hold them. */
  char *p = strrchr(stat, ')');
  if (!p || p[1] != ' ') return false;
  p += 2;
  if (*p == 'Z' || *p == 'X') return false;
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p) return false;
    p++;
  }
  size_t len = strcspn(p, " ");
  if (len == 0 || len >= size) return false;
  memcpy(out, p, len);
  out[len] = '\0';
  return true;
}

/* Opens the recorded init by pidfd first, then checks that its pid is still that process. */
static void find_init(struct container *c) {
  int fd = (int)syscall(SYS_pidfd_open, c->plan.pid, 0);
  char start_time[32];
  c->init_alive = process_start_time(c->plan.pid, start_time, sizeof start_time) &&
                  strcmp(start_time, c->plan.start_time) == 0;
  if (fd >= 0 && !c->init_alive) {
    close(fd);
    fd = -1;
  }
  c->init_fd = fd;
}

/* The container's lock, checked to be its directory's own once held. */
static enum outcome take_lock(struct container *c) {
  c->lock_fd = openat(c->dir_fd, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (c->lock_fd < 0) return HAND_OVER;
  while (flock(c->lock_fd, LOCK_EX) != 0)
    if (errno != EINTR) return HAND_OVER;
  /* Whoever held the lock may have removed the directory, or made another by that id. */
  struct stat held, current, dir, named;
  if (fstat(c->lock_fd, &held) != 0 || fstatat(c->dir_fd, "lock", &current, AT_SYMLINK_NOFOLLOW) != 0 ||
      !same_file(&held, &current))
    return HAND_OVER;
  if (fstat(c->dir_fd, &dir) != 0 || fstatat(c->root_fd, c->id, &named, AT_SYMLINK_NOFOLLOW) != 0 ||
      !same_file(&dir, &named))
    return HAND_OVER;
  return DONE;
}

enum outcome open_container(const char *root, const char *id, bool lock, struct container *c) {
  *c = (struct container){.id = id, .root_fd = -1, .dir_fd = -1, .lock_fd = -1, .init_fd = -1};
  c->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (c->root_fd < 0 || !state_root_is_ours(c->root_fd)) return HAND_OVER;
  c->dir_fd = openat(c->root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (c->dir_fd < 0) return HAND_OVER;
  struct stat st;
  if (fstatat(c->dir_fd, "state.json", &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) return HAND_OVER;
  if (lock && take_lock(c) != DONE) return HAND_OVER;
  if (read_small_file(c->dir_fd, PLAN_FILE, c->plan_text, sizeof c->plan_text) < 0) return HAND_OVER;
  if (!parse_plan(c->plan_text, &c->plan)) return HAND_OVER;
  find_init(c);
  return DONE;
}

void close_container(struct container *c) {
  int *fds[] = {&c->init_fd, &c->lock_fd, &c->dir_fd, &c->root_fd};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    if (*fds[i] >= 0) close(*fds[i]);
    *fds[i] = -1;
  }
}

/* What the freezer says; a freezer that cannot be read is not paused, as status.ts reads it. */
static bool frozen(const struct front_plan *plan) {
  const char *dir = plan->v1_freezer ? plan->v1_freezer : plan->v2_freezer;
  if (!dir) return false;
  char path[4096], text[64];
  snprintf(path, sizeof path, "%s/%s", dir, plan->v1_freezer ? "freezer.state" : "cgroup.freeze");
  if (read_small_file(AT_FDCWD, path, text, sizeof text) < 0) return false;
  return plan->v1_freezer ? strcmp(text, "THAWED\n") != 0 : strcmp(text, "1\n") == 0;
}

const char *const STATUS_NAMES[] = {
    [STATUS_STOPPED] = "stopped",
    [STATUS_CREATED] = "created",
    [STATUS_RUNNING] = "running",
    [STATUS_PAUSED] = "paused",
};

enum status container_status(const struct container *c) {
  if (!c->init_alive) return STATUS_STOPPED;
  struct stat st;
  if (fstatat(c->dir_fd, "exec.fifo", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode))
    return STATUS_CREATED;
  return frozen(&c->plan) ? STATUS_PAUSED : STATUS_RUNNING;
}

bool container_dir_has_subdirectory(const struct container *c) {
  int fd = openat(c->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd < 0 ? NULL : fdopendir(fd);
  if (!dir) {
    if (fd >= 0) close(fd);
    return true;
  }
  bool found = false;
  for (struct dirent *entry; !found && (entry = readdir(dir)) != NULL;) {
    if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
    found = entry->d_type == DT_DIR || entry->d_type == DT_UNKNOWN;
  }
  closedir(dir);
  return found;
}
