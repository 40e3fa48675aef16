/*
 * `start` of a created container, as packages/core/src/container/start.ts does it: opening the
 * exec FIFO lets the init's open return; it writes one byte and goes on to exec. The init's
 * pidfd is watched beside the FIFO, so a start never hangs on an init that died instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "front.h"

enum outcome start_container(struct container *c) {
  if (container_status(c) != STATUS_CREATED || c->init_fd < 0) return HAND_OVER;
  int fifo = openat(c->dir_fd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fifo < 0) return HAND_OVER;
  struct pollfd fds[] = {{.fd = fifo, .events = POLLIN}, {.fd = c->init_fd, .events = POLLIN}};
  while (poll(fds, 2, -1) < 0)
    if (errno != EINTR) break;
  char byte;
  ssize_t n;
  do n = read(fifo, &byte, 1);
  while (n < 0 && errno == EINTR);
  close(fifo);
  /* The init exited before it was started: the command line says so in runc's words. */
  if (n != 1) return HAND_OVER;
  unlinkat(c->dir_fd, "exec.fifo", 0);
  return DONE;
}
