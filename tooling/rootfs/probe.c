/*
 * probe: prints, as one JSON object on stdout, what the process it runs as sees: its ids,
 * groups, capabilities, open descriptors, working directory, cgroup, mounts, environment, CPU
 * affinity, limits and namespaces. System tests run it inside containers and read the JSON
 * instead of parsing shell output.
 *
 *   probe [--wait] [--exit N]
 *
 * --wait: after printing, wait for SIGTERM or SIGINT (then exit 0); --exit N: exit with N.
 * Built static (see build-busybox.sh), so it needs nothing of the rootfs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static int first;

static void json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

/* Starts the next member of the object being printed. */
static void key(const char *name) {
  if (!first) putchar(',');
  first = 0;
  json_string(name);
  putchar(':');
}

static void open_object(void) {
  putchar('{');
  first = 1;
}

static void close_object(void) {
  putchar('}');
  first = 0;
}

/* A line of /proc/self/status by its field name ("CapEff"), without the name and blanks. */
static int status_field(const char *name, char *out, size_t size) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[4096];
  size_t len = strlen(name);
  int found = -1;
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') {
      char *v = line + len + 1;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = '\0';
      snprintf(out, size, "%s", v);
      found = 0;
      break;
    }
  }
  fclose(f);
  return found;
}

static void ids(const char *name, const char *field) {
  char value[256];
  unsigned long r = 0, e = 0, s = 0;
  if (status_field(field, value, sizeof(value)) == 0) sscanf(value, "%lu %lu %lu", &r, &e, &s);
  key(name);
  printf("[%lu,%lu,%lu]", r, e, s);
}

static void groups(void) {
  gid_t list[NGROUPS_MAX];
  int n = getgroups(NGROUPS_MAX, list);
  key("groups");
  putchar('[');
  for (int i = 0; i < n; i++) printf("%s%u", i ? "," : "", (unsigned)list[i]);
  putchar(']');
}

static void capabilities(void) {
  static const char *const sets[][2] = {{"inheritable", "CapInh"}, {"permitted", "CapPrm"},
                                        {"effective", "CapEff"},   {"bounding", "CapBnd"},
                                        {"ambient", "CapAmb"}};
  key("capabilities");
  open_object();
  for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
    char value[64] = "";
    status_field(sets[i][1], value, sizeof(value));
    key(sets[i][0]);
    json_string(value);
  }
  close_object();
}

/* Every open descriptor and what it points to, but the one reading the directory. */
static void descriptors(void) {
  key("fds");
  open_object();
  DIR *dir = opendir("/proc/self/fd");
  if (dir) {
    int own = dirfd(dir);
    struct dirent *entry;
    while ((entry = readdir(dir))) {
      if (entry->d_name[0] == '.' || atoi(entry->d_name) == own) continue;
      char path[300], target[PATH_MAX];
      snprintf(path, sizeof(path), "/proc/self/fd/%s", entry->d_name);
      ssize_t n = readlink(path, target, sizeof(target) - 1);
      target[n < 0 ? 0 : n] = '\0';
      key(entry->d_name);
      json_string(target);
    }
    closedir(dir);
  }
  close_object();
}

/* A file's lines as a JSON array of strings. */
static void lines(const char *name, const char *path) {
  key(name);
  putchar('[');
  FILE *f = fopen(path, "r");
  if (f) {
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
      line[strcspn(line, "\n")] = '\0';
      if (n++) putchar(',');
      json_string(line);
    }
    fclose(f);
  }
  putchar(']');
}

static void file_text(const char *name, const char *path) {
  char text[256] = "";
  FILE *f = fopen(path, "r");
  if (f) {
    if (!fgets(text, sizeof(text), f)) text[0] = '\0';
    text[strcspn(text, "\n")] = '\0';
    fclose(f);
  }
  key(name);
  json_string(text);
}

static void environment(void) {
  key("env");
  putchar('[');
  for (char **e = environ; *e; e++) {
    if (e != environ) putchar(',');
    json_string(*e);
  }
  putchar(']');
}

static void affinity(void) {
  cpu_set_t set;
  key("affinity");
  putchar('[');
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
      if (CPU_ISSET(cpu, &set)) printf("%s%d", n++ ? "," : "", cpu);
  }
  putchar(']');
}

static void limits(void) {
  static const struct {
    const char *name;
    int resource;
  } list[] = {{"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_CORE", RLIMIT_CORE}};
  key("rlimits");
  open_object();
  for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
    struct rlimit limit;
    if (getrlimit(list[i].resource, &limit)) continue;
    key(list[i].name);
    /* RLIM_INFINITY as -1, as the config writes it. */
    printf("[%lld,%lld]", limit.rlim_cur == RLIM_INFINITY ? -1LL : (long long)limit.rlim_cur,
           limit.rlim_max == RLIM_INFINITY ? -1LL : (long long)limit.rlim_max);
  }
  close_object();
}

static void namespaces(void) {
  static const char *const names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
  key("namespaces");
  open_object();
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char path[64], target[128];
    snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    target[n < 0 ? 0 : n] = '\0';
    key(names[i]);
    json_string(target);
  }
  close_object();
}

static volatile sig_atomic_t stop;

static void on_signal(int signal) {
  (void)signal;
  stop = 1;
}

int main(int argc, char **argv) {
  int wait = 0, status = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--wait") == 0)
      wait = 1;
    else if (strcmp(argv[i], "--exit") == 0 && i + 1 < argc)
      status = atoi(argv[++i]);
  }
  if (wait) {
    /* In place before anything is printed: whoever reads the output may signal at once. */
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
  }

  open_object();
  key("args");
  putchar('[');
  for (int i = 0; i < argc; i++) {
    if (i) putchar(',');
    json_string(argv[i]);
  }
  putchar(']');
  key("pid");
  printf("%d", (int)getpid());
  key("ppid");
  printf("%d", (int)getppid());
  key("sid");
  printf("%d", (int)getsid(0));
  ids("uid", "Uid");
  ids("gid", "Gid");
  groups();
  capabilities();
  key("noNewPrivs");
  printf("%s", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? "true" : "false");
  char seccomp[16] = "0";
  status_field("Seccomp", seccomp, sizeof(seccomp));
  key("seccomp");
  printf("%d", atoi(seccomp));
  descriptors();
  char cwd[PATH_MAX];
  key("cwd");
  json_string(getcwd(cwd, sizeof(cwd)) ? cwd : "");
  struct utsname uts;
  uname(&uts);
  key("hostname");
  json_string(uts.nodename);
  key("domainname");
  json_string(uts.domainname);
  lines("cgroup", "/proc/self/cgroup");
  lines("mountinfo", "/proc/self/mountinfo");
  environment();
  affinity();
  mode_t mask = umask(0);
  umask(mask);
  key("umask");
  printf("%u", (unsigned)mask);
  limits();
  file_text("oomScoreAdj", "/proc/self/oom_score_adj");
  key("personality");
  printf("%d", personality(0xffffffff));
  key("scheduler");
  printf("%d", sched_getscheduler(0));
  key("nice");
  errno = 0;
  printf("%d", getpriority(PRIO_PROCESS, 0));
  /* ioprio_get(IOPRIO_WHO_PROCESS, self): class << 13 | level. */
  key("ioPriority");
  printf("%ld", syscall(SYS_ioprio_get, 1, 0));
  key("tty");
  printf("[%s,%s,%s]", isatty(0) ? "true" : "false", isatty(1) ? "true" : "false", isatty(2) ? "true" : "false");
  namespaces();
  close_object();
  putchar('\n');
  fflush(stdout);

  while (wait && !stop) pause();
  return status;
}
