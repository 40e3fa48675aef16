/*
 * `delete` of a container, in packages/core/src/container/teardown.ts's order: the init is
 * killed and waited for, the cgroup removed, then the state directory. The plan is only made
 * for a container with its own pid namespace, so nothing of it outlives its init; a cgroup that
 * still holds a process, or has cgroups below it, is left to the command line, which by then has
 * only the rest of the same teardown to do.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "front.h"

/* How long a cgroup may stay busy once its last process has left (a css being released). */
static const long CGROUP_BUSY_TIMEOUT_MS = 5000;

static enum outcome kill_and_wait(int init_fd) {
  if (syscall(SYS_pidfd_send_signal, init_fd, SIGKILL, NULL, 0) != 0) return errno == ESRCH ? DONE : HAND_OVER;
  struct pollfd fd = {.fd = init_fd, .events = POLLIN};
  while (poll(&fd, 1, -1) < 0)
    if (errno != EINTR) return HAND_OVER;
  return DONE;
}

/* An empty cgroup with nothing below it; false for one the command line must kill or descend. */
static bool cgroup_is_bare(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) return false;
  bool bare = true;
  for (struct dirent *entry; bare && (entry = readdir(dir)) != NULL;)
    if (entry->d_type == DT_DIR && strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) bare = false;
  closedir(dir);
  if (!bare) return false;
  char procs[4096];
  snprintf(procs, sizeof procs, "%s/cgroup.procs", path);
  int fd = open(procs, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char byte;
  ssize_t n;
  do n = read(fd, &byte, 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  return n == 0;
}

static void sleep_ms(long ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* rmdir, retrying EBUSY with backoff for a while, as cgroupfs.ts's removeCgroupTree does. */
static enum outcome remove_cgroup(const char *path) {
  if (access(path, F_OK) != 0) return errno == ENOENT ? DONE : HAND_OVER;
  if (!cgroup_is_bare(path)) return HAND_OVER;
  long waited = 0;
  for (long delay = 2;; delay = delay * 2 > 100 ? 100 : delay * 2) {
    if (rmdir(path) == 0 || errno == ENOENT) return DONE;
    if (errno != EBUSY || waited > CGROUP_BUSY_TIMEOUT_MS) return HAND_OVER;
    sleep_ms(delay);
    waited += delay;
  }
}

/*
 * The state directory's files (it holds no directory: see container_dir_has_subdirectory), then
 * itself. state.json goes last: until it goes, the command line can finish what is left.
 */
static enum outcome remove_state_dir(struct container *c) {
  int fd = openat(c->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd < 0 ? NULL : fdopendir(fd);
  if (!dir) {
    if (fd >= 0) close(fd);
    return HAND_OVER;
  }
  enum outcome outcome = DONE;
  for (struct dirent *entry; outcome == DONE && (entry = readdir(dir)) != NULL;) {
    const char *name = entry->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "state.json")) continue;
    if (unlinkat(c->dir_fd, name, 0) != 0 && errno != ENOENT) outcome = HAND_OVER;
  }
  closedir(dir);
  if (outcome != DONE || unlinkat(c->dir_fd, "state.json", 0) != 0) return HAND_OVER;
  return unlinkat(c->root_fd, c->id, AT_REMOVEDIR) == 0 ? DONE : HAND_OVER;
}

enum outcome delete_container(struct container *c, bool force) {
  enum status status = container_status(c);
  /* Refusals are worded by the command line; a frozen init takes its SIGKILL only once thawed. */
  if (status == STATUS_PAUSED || (status == STATUS_RUNNING && !force)) return HAND_OVER;
  if (container_dir_has_subdirectory(c)) return HAND_OVER;
  return teardown_container(c);
}

enum outcome teardown_container(struct container *c) {
  if (c->init_alive && (c->init_fd < 0 || kill_and_wait(c->init_fd) != DONE)) return HAND_OVER;
  for (size_t i = 0; i < c->plan.cgroup_count; i++)
    if (remove_cgroup(c->plan.cgroups[i]) != DONE) return HAND_OVER;
  return remove_state_dir(c);
}
