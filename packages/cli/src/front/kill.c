/*
 * `kill ID [SIGNAL]`, as packages/core/src/container/kill.ts sends it: to the init, by pidfd.
 * A front plan is only made for a container with a pid namespace of its own, so a SIGKILL to
 * its init takes every process of it along. A stopped container (runc's "container not
 * running") and a SIGKILL to a paused one, which takes it only once thawed, are left to the
 * command line.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "front.h"

/* The names Node knows on Linux (os.constants.signals), which the command line takes. */
static const struct {
  const char *name;
  int number;
} SIGNALS[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM},   {"CHLD", SIGCHLD},     {"STKFLT", SIGSTKFLT}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL},   {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

int parse_signal(const char *text) {
  size_t len = strlen(text);
  if (len == 0) return -1;
  if (text[strspn(text, "0123456789")] == '\0') {
    long n = len > 3 ? 65 : strtol(text, NULL, 10);
    return n <= 64 ? (int)n : -1;
  }
  char upper[16];
  if (len >= sizeof upper) return -1;
  for (size_t i = 0; i <= len; i++) upper[i] = (char)toupper((unsigned char)text[i]);
  const char *name = strncmp(upper, "SIG", 3) == 0 ? upper + 3 : upper;
  for (size_t i = 0; i < sizeof SIGNALS / sizeof SIGNALS[0]; i++)
    if (strcmp(name, SIGNALS[i].name) == 0) return SIGNALS[i].number;
  return -1;
}

enum outcome kill_container(struct container *c, int signal) {
  enum status status = container_status(c);
  if (status == STATUS_STOPPED || c->init_fd < 0) return HAND_OVER;
  if (status == STATUS_PAUSED && signal == SIGKILL) return HAND_OVER;
  if (syscall(SYS_pidfd_send_signal, c->init_fd, signal, NULL, 0) != 0) return HAND_OVER;
  return DONE;
}
