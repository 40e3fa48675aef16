/*
 * The command line's entry: `start ID`, `kill ID [SIGNAL]`, `delete [--force] ID`, `state ID`
 * and `checkpoint [flags] ID` with runc's global flags are done here when the container has a
 * front plan (front.h), and `list [flags]` when every container has one; everything else, and
 * any doubt, is handed to the Node command line, the single executable `corral` beside this one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "front.h"

static const char DEFAULT_STATE_ROOT[] = "/run/corral";
static const size_t MAX_ID_LENGTH = 1024;

/* Execs the Node command line with the arguments unchanged, under its own name (as ps shows it). */
static _Noreturn void hand_over(char **argv) {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - sizeof "corral");
  char *slash = n > 0 ? memrchr(path, '/', (size_t)n) : NULL;
  if (!slash) {
    fprintf(stderr, "corral: cannot find the corral executable beside this one: %s\n", strerror(errno));
    exit(1);
  }
  strcpy(slash + 1, "corral");
  argv[0] = path;
  execv(path, argv);
  fprintf(stderr, "corral: cannot run %s: %s\n", path, strerror(errno));
  exit(1);
}

static bool is_one_of(const char *value, const char *const *choices) {
  for (; *choices; choices++)
    if (strcmp(value, *choices) == 0) return true;
  return false;
}

/* A container id core's validateContainerId accepts: letters, digits and _ + - . */
static bool is_valid_id(const char *id) {
  size_t len = strlen(id);
  if (len == 0 || len > MAX_ID_LENGTH || !strcmp(id, ".") || !strcmp(id, "..")) return false;
  return id[strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-")] == '\0';
}

/*
 * The host's root outside any user namespace keeps its state in /run/corral whatever its
 * environment says; for anyone else the default (under $XDG_RUNTIME_DIR) is the command line's.
 */
static bool is_host_root(void) {
  if (geteuid() != 0) return false;
  FILE *map = fopen("/proc/self/uid_map", "re");
  if (!map) return false;
  unsigned long inside, outside, count;
  int fields = fscanf(map, "%lu %lu %lu", &inside, &outside, &count);
  int more = fgetc(map) == '\n' ? fgetc(map) : 0;
  fclose(map);
  return fields == 3 && inside == 0 && outside == 0 && count == 4294967295UL && more == EOF;
}

/* Reads runc's global flags as global.ts does; false for one the front leaves to the command line. */
static bool parse_global_flags(int argc, char **argv, int *next, const char **root, const char **criu) {
  static const char *const formats[] = {"text", "json", NULL};
  static const char *const rootless[] = {"true", "false", "auto", NULL};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    char *arg = argv[i];
    char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
#define IS(flag) (name_len == sizeof(flag) - 1 && strncmp(arg, flag, name_len) == 0)
    bool takes_value = IS("--root") || IS("--log") || IS("--log-format") || IS("--rootless") || IS("--criu");
    if (takes_value) {
      if (!value) return false;
      if (IS("--root")) *root = value;
      if (IS("--criu")) *criu = value;
      if (IS("--log-format") && !is_one_of(value, formats)) return false;
      if (IS("--rootless") && !is_one_of(value, rootless)) return false;
      if (!eq) i++;
    } else if (!(IS("--systemd-cgroup") && !eq)) {
      /* --debug tells the steps, --help and --version answer: the command line's to do. */
      return false;
    }
#undef IS
  }
  *next = i;
  return true;
}

/* A command's arguments: its flags (each one of `flags`, or the command line's to read) and positionals. */
struct command_args {
  const char *positionals[2];
  int count;
  bool flagged;
};

static bool parse_command_args(int argc, char **argv, int i, const char *const *flags, struct command_args *out) {
  *out = (struct command_args){0};
  for (; i < argc; i++) {
    if (argv[i][0] == '-') {
      if (!is_one_of(argv[i], flags)) return false;
      out->flagged = true;
    } else if (out->count == 2) {
      return false;
    } else {
      out->positionals[out->count++] = argv[i];
    }
  }
  return true;
}

/*
 * `checkpoint`'s flags as the command line's parseArgs reads them, those the front takes; false
 * for any other, a value that looks like a flag, or not exactly one id.
 */
static bool parse_checkpoint_args(int argc, char **argv, int i, struct checkpoint_args *out, const char **id) {
  static const char *const value_flags[] = {"--image-path", "--work-path", NULL};
  const struct {
    const char *name;
    bool *flag;
  } flags[] = {
      {"--leave-running", &out->leave_running}, {"--tcp-established", &out->tcp_established},
      {"--tcp-skip-in-flight", &out->tcp_skip_in_flight}, {"--link-remap", &out->link_remap},
      {"--ext-unix-sk", &out->ext_unix_sk}, {"--shell-job", &out->shell_job},
      {"--file-locks", &out->file_locks}, {"--auto-dedup", &out->auto_dedup},
  };
  *out = (struct checkpoint_args){0};
  *id = NULL;
  for (; i < argc; i++) {
    char *arg = argv[i];
    if (arg[0] != '-') {
      if (*id) return false;
      *id = arg;
      continue;
    }
    char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    bool known = false;
    for (const char *const *f = value_flags; *f; f++) {
      if (strlen(*f) != name_len || strncmp(arg, *f, name_len) != 0) continue;
      const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
      if (!value || !*value || value[0] == '-' || path_climbs(value)) return false;
      *(strcmp(*f, "--image-path") == 0 ? &out->image_path : &out->work_path) = value;
      known = true;
    }
    for (size_t f = 0; !known && f < sizeof flags / sizeof flags[0]; f++) {
      if (eq || strcmp(arg, flags[f].name) != 0) continue;
      *flags[f].flag = true;
      known = true;
    }
    if (!known) return false;
  }
  return *id != NULL;
}

/* `list`'s flags as parseArgs reads them (--format table|json, --quiet); false for any other, or an argument. */
static bool parse_list_args(int argc, char **argv, int i, enum list_format *format) {
  static const char *const formats[] = {"table", "json", NULL};
  bool quiet = false, json = false;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = NULL;
    if (!strcmp(arg, "--quiet") || !strcmp(arg, "-q")) {
      quiet = true;
      continue;
    }
    if (!strncmp(arg, "--format=", 9))
      value = arg + 9;
    else if ((!strcmp(arg, "--format") || !strcmp(arg, "-f")) && i + 1 < argc)
      value = argv[++i];
    if (!value || !is_one_of(value, formats)) return false;
    json = !strcmp(value, "json");
  }
  *format = quiet ? LIST_QUIET : json ? LIST_JSON : LIST_TABLE;
  return true;
}

/* Execs the command line's `delete --force ID`, with the same global flags, to finish a teardown. */
static _Noreturn void hand_over_delete(char **argv, int command_index, const char *id) {
  char *delete_argv[command_index + 4];
  memcpy(delete_argv, argv, sizeof(char *) * (size_t)command_index);
  delete_argv[command_index] = "delete";
  delete_argv[command_index + 1] = "--force";
  delete_argv[command_index + 2] = (char *)id;
  delete_argv[command_index + 3] = NULL;
  hand_over(delete_argv);
}

/* `checkpoint [flags] ID`: runc's default image directory is ./checkpoint. */
static enum outcome checkpoint(int argc, char **argv, int i, const char *root, const char *criu, const char **id) {
  struct checkpoint_args args;
  if (!parse_checkpoint_args(argc, argv, i, &args, id) || !is_valid_id(*id)) return HAND_OVER;
  if (!args.image_path) args.image_path = "checkpoint";
  struct container c;
  enum outcome outcome = open_container(root, *id, true, &c);
  if (outcome == DONE) outcome = checkpoint_container(&c, &args, criu);
  close_container(&c);
  return outcome;
}

int main(int argc, char **argv) {
  static const char *const no_flags[] = {NULL};
  static const char *const delete_flags[] = {"--force", "-f", NULL};
  int i;
  const char *root = NULL, *criu = NULL;
  if (!parse_global_flags(argc, argv, &i, &root, &criu) || i >= argc) hand_over(argv);
  /* Timing marks are the command line's. */
  if (getenv("CORRAL_TIMING_FILE")) hand_over(argv);
  int command_index = i;
  const char *command = argv[i++];
  bool is_delete = strcmp(command, "delete") == 0;
  bool is_kill = strcmp(command, "kill") == 0;
  bool is_start = strcmp(command, "start") == 0;
  bool is_state = strcmp(command, "state") == 0;
  bool is_checkpoint = strcmp(command, "checkpoint") == 0;
  bool is_list = strcmp(command, "list") == 0;
  /* A start with a notify socket forwards the process's READY=1 until it comes. */
  const char *notify_socket = getenv("NOTIFY_SOCKET");
  if (!(is_delete || is_kill || is_start || is_state || is_checkpoint || is_list) ||
      (is_start && notify_socket && *notify_socket))
    hand_over(argv);
  if (!root) {
    if (!is_host_root()) hand_over(argv);
    root = DEFAULT_STATE_ROOT;
  }
  /* Node's path.resolve reads `..` without the kernel's links: such a root is its to open. */
  if (path_climbs(root)) hand_over(argv);
  if (is_list) {
    enum list_format format;
    if (!parse_list_args(argc, argv, i, &format) || list_containers(root, format) != DONE) hand_over(argv);
    return 0;
  }
  if (is_checkpoint) {
    const char *id;
    enum outcome outcome = checkpoint(argc, argv, i, root, criu, &id);
    if (outcome == DELETE_LEFT) hand_over_delete(argv, command_index, id);
    if (outcome == HAND_OVER) hand_over(argv);
    return 0;
  }
  struct command_args args;
  if (!parse_command_args(argc, argv, i, is_delete ? delete_flags : no_flags, &args) || args.count == 0 ||
      args.count > (is_kill ? 2 : 1))
    hand_over(argv);
  const char *id = args.positionals[0];
  int signal = is_kill ? parse_signal(args.count == 2 ? args.positionals[1] : "SIGTERM") : 0;
  if (!is_valid_id(id) || signal < 0) hand_over(argv);
  struct container c;
  enum outcome outcome = open_container(root, id, !is_state, &c);
  if (outcome == DONE) {
    outcome = is_delete ? delete_container(&c, args.flagged)
              : is_kill ? kill_container(&c, signal)
              : is_state ? show_state(&c)
                         : start_container(&c);
  }
  /* The lock goes before the command line takes it again. */
  close_container(&c);
  if (outcome == HAND_OVER) hand_over(argv);
  return 0;
}
