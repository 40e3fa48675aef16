/*
 * `checkpoint` of a running container, as packages/core/src/container/checkpoint.ts does it:
 * the image and work directories made, the init's stdio recorded in descriptors.json, CRIU's
 * dump with what the plan says, then (unless it leaves the container running) the container
 * torn down under the same lock. Before the dump it changes nothing the command line would not
 * do the same way; a dump CRIU refuses leaves the container as it was, and the command line
 * then tries once more and tells the failure in its words.
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

#include "front.h"

static const char DESCRIPTORS_FILE[] = "descriptors.json";

/* mkdirSync(path, {recursive: true, mode}): each missing directory made, an existing one kept. */
static bool make_directories(const char *path, mode_t mode) {
  char partial[PATH_MAX];
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof partial) return false;
  memcpy(partial, path, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (partial[i] != '/' && partial[i] != '\0') continue;
    char saved = partial[i];
    partial[i] = '\0';
    struct stat st;
    if (mkdir(partial, mode) != 0 && (errno != EEXIST || stat(partial, &st) != 0 || !S_ISDIR(st.st_mode)))
      return false;
    partial[i] = saved;
  }
  return true;
}

/* What one of the init's descriptors 0-2 is to CRIU (checkpoint.ts's StdioDescriptor). */
struct stdio_key {
  char key[PATH_MAX + 32];
  bool external;
};

/* Whether the init's mount namespace has a mount of this id (its mountinfo's first field). */
static bool has_mount(int pid, long mount_id) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mountinfo", pid);
  FILE *mountinfo = fopen(path, "re");
  if (!mountinfo) return false;
  char *line = NULL;
  size_t size = 0;
  bool found = false;
  while (!found && getline(&line, &size, mountinfo) > 0) found = strtol(line, NULL, 10) == mount_id;
  free(line);
  fclose(mountinfo);
  return found;
}

/*
 * A pipe or socket is known to CRIU by its link; a host file outside the container's mounts (a
 * /dev/null or log file the runtime was started with) by its mount id and inode, as external.
 * False for a key that JSON would escape: the command line writes that one.
 */
static bool stdio_key(int pid, int fd, struct stdio_key *out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
  ssize_t n = readlink(path, out->key, PATH_MAX);
  if (n <= 0) return false;
  out->key[n] = '\0';
  for (ssize_t i = 0; i < n; i++)
    if (out->key[i] < 0x20 || out->key[i] > 0x7e || out->key[i] == '"' || out->key[i] == '\\') return false;
  out->external = false;
  if (out->key[0] != '/') return true;
  char info_path[64], info[4096];
  snprintf(info_path, sizeof info_path, "/proc/%d/fdinfo/%d", pid, fd);
  if (read_small_file(AT_FDCWD, info_path, info, sizeof info) < 0) return false;
  const char *at = strncmp(info, "mnt_id:", 7) == 0 ? info : strstr(info, "\nmnt_id:");
  if (!at) return true;
  long mount_id = strtol(at + (at == info ? 7 : 8), NULL, 10);
  if (has_mount(pid, mount_id)) return true;
  struct stat st;
  if (stat(path, &st) != 0) return false;
  snprintf(out->key, sizeof out->key, "file[%lx:%llx]", (unsigned long)mount_id, (unsigned long long)st.st_ino);
  out->external = true;
  return true;
}

/* descriptors.json beside the images: the keys restore hands back, as JSON.stringify writes them. */
static bool write_descriptors(int images_fd, const struct stdio_key keys[3]) {
  char text[3 * (PATH_MAX + 40)];
  int len = snprintf(text, sizeof text, "[\"%s\",\"%s\",\"%s\"]", keys[0].key, keys[1].key, keys[2].key);
  int fd = openat(images_fd, DESCRIPTORS_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return false;
  bool written = write(fd, text, (size_t)len) == len;
  return close(fd) == 0 && written;
}

/* The image directory made and shared as checkpoint.ts makes it, and opened for CRIU. */
static int open_images(const char *images, long group) {
  if (!make_directories(images, 0700)) return -1;
  if (group >= 0 && (chown(images, getuid(), (gid_t)group) != 0 || chmod(images, 0750) != 0)) return -1;
  return open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

enum outcome checkpoint_container(struct container *c, const struct checkpoint_args *args, const char *criu_flag) {
  const struct front_plan *plan = &c->plan;
  if (!plan->criu_root || plan->criu_overflow) return HAND_OVER;
  /* A paused container's teardown needs it thawed: the command line's. */
  if (container_status(c) != STATUS_RUNNING || c->init_fd < 0) return HAND_OVER;
  if (!args->leave_running && container_dir_has_subdirectory(c)) return HAND_OVER;
  struct criu_binary binary;
  if (!find_usable_criu(criu_flag, &binary)) return HAND_OVER;
  struct stdio_key keys[3];
  for (int fd = 0; fd < 3; fd++)
    if (!stdio_key(plan->pid, fd, &keys[fd])) return HAND_OVER;

  struct criu_dump dump = {.plan = plan, .args = args, .images_dir_fd = -1, .work_dir_fd = -1};
  for (int fd = 0; fd < 3; fd++)
    if (keys[fd].external) dump.stdio_externals[dump.stdio_external_count++] = keys[fd].key;
  enum outcome outcome = HAND_OVER;
  dump.images_dir_fd = open_images(args->image_path, plan->criu_images_group);
  if (dump.images_dir_fd < 0) goto out;
  if (args->work_path && !make_directories(args->work_path, 0700)) goto out;
  dump.work_dir_fd = args->work_path ? open(args->work_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                     : fcntl(dump.images_dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dump.work_dir_fd < 0 || !write_descriptors(dump.images_dir_fd, keys)) goto out;
  outcome = criu_dump(&binary, &dump);
  if (outcome == DONE && !args->leave_running) outcome = teardown_container(c) == DONE ? DONE : DELETE_LEFT;
out:
  if (dump.images_dir_fd >= 0) close(dump.images_dir_fd);
  if (dump.work_dir_fd >= 0) close(dump.work_dir_fd);
  return outcome;
}
