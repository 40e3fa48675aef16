#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "channel.h"
#include "plan.h"
#include "protocol.h"

static ssize_t recv_datagram(int fd, uint8_t *buf, size_t size) {
  ssize_t n;
  do {
    n = recv(fd, buf, size, MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n == 0) errno = EPIPE;
  if (n <= 0) return -1;
  /* MSG_TRUNC reports the real size: a datagram larger than expected is an error, never a
     silently shortened plan. */
  if ((size_t)n > size) {
    errno = EBADMSG;
    return -1;
  }
  return n;
}

ssize_t ci_recv_frame(int fd, uint32_t *type, uint8_t **payload) {
  uint8_t *first = malloc(CI_MAX_DATAGRAM);
  if (!first) return -1;
  uint8_t *buf = NULL;
  ssize_t n = recv_datagram(fd, first, CI_MAX_DATAGRAM);
  if (n < 0) goto fail;
  size_t len = n >= CI_FRAME_HEADER_SIZE ? ci_u32_at(first + 4) : 0;
  size_t in_first = (size_t)n - CI_FRAME_HEADER_SIZE;
  /* The first datagram is full unless it holds the whole payload. */
  if (n < CI_FRAME_HEADER_SIZE || len > CI_MAX_MESSAGE ||
      in_first != (len < CI_MAX_DATAGRAM - CI_FRAME_HEADER_SIZE ? len : CI_MAX_DATAGRAM - CI_FRAME_HEADER_SIZE)) {
    errno = EBADMSG;
    goto fail;
  }
  buf = malloc(len ? len : 1);
  if (!buf) goto fail;
  memcpy(buf, first + CI_FRAME_HEADER_SIZE, in_first);
  /* The rest comes in datagrams of CI_MAX_DATAGRAM bytes, the last one shorter. */
  for (size_t at = in_first; at < len;) {
    size_t want = len - at < CI_MAX_DATAGRAM ? len - at : CI_MAX_DATAGRAM;
    n = recv_datagram(fd, buf + at, want);
    if (n < 0) goto fail;
    if ((size_t)n != want) {
      errno = EBADMSG;
      goto fail;
    }
    at += want;
  }
  *type = ci_u32_at(first);
  free(first);
  *payload = buf;
  return (ssize_t)len;
fail:;
  int err = errno;
  free(first);
  free(buf);
  errno = err;
  return -1;
}

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

int ci_send_frame(int fd, uint32_t type, const void *payload, size_t len, int fd_to_pass) {
  uint8_t header[CI_FRAME_HEADER_SIZE];
  put_u32(header, type);
  put_u32(header + 4, (uint32_t)len);
  struct iovec iov[2] = {{header, sizeof(header)}, {(void *)payload, len}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  if (fd_to_pass >= 0) {
    memset(&control, 0, sizeof(control));
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd_to_pass, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

/* Appends a string field; returns the new end or NULL when it would not fit. */
static uint8_t *put_str(uint8_t *p, const uint8_t *end, const char *s) {
  size_t len = strlen(s ? s : "") + 1;
  if ((size_t)(end - p) < 4 + len) return NULL;
  put_u32(p, (uint32_t)len);
  memcpy(p + 4, s ? s : "", len);
  return p + 4 + len;
}

void ci_report_error(int fd, int32_t op_index, int err, const char *syscall, const char *path,
                     const char *message) {
  static uint8_t buf[3 * 4096 + 64];
  const uint8_t *end = buf + sizeof(buf);
  uint8_t *p = buf;
  put_u32(p, (uint32_t)op_index);
  put_u32(p + 4, (uint32_t)err);
  p += 8;
  /* Paths are bounded by PATH_MAX, so the three strings fit; a failure here drops detail only. */
  uint8_t *q = put_str(p, end, syscall);
  if (q) q = put_str(q, end, path);
  if (q) q = put_str(q, end, message);
  if (!q) {
    q = put_str(p, end, syscall);
    q = put_str(q, end, "");
    q = put_str(q, end, "");
  }
  if (ci_send_frame(fd, CI_MSG_ERROR, buf, (size_t)(q - buf), -1) == 0) return;
  /* The runtime hung up on us (it gave up on the create, as for a failed prestart hook): the
     failure is its own doing and nobody is left who needs to hear of it. */
  if (err == EPIPE && syscall && strcmp(syscall, "recv") == 0) return;
  /* Nobody listens any more (a `create` that returned, then `start`): the process's stderr is
     the one place left where the failure can be seen. */
  char line[4096 + 512];
  int n = snprintf(line, sizeof(line), "corral-init: %s%s%s: %s%s%s\n", syscall ? syscall : "", path ? " " : "",
                   path ? path : "", strerrordesc_np(err), message && *message ? ": " : "", message ? message : "");
  if (n > 0) (void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void ci_log(int fd, uint32_t level, const char *format, ...) {
  static char message[4096];
  static uint8_t buf[sizeof(message) + 16];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof(message), format, args);
  va_end(args);
  put_u32(buf, level);
  uint8_t *q = put_str(buf + 4, buf + sizeof(buf), message);
  if (q) ci_send_frame(fd, CI_MSG_LOG, buf, (size_t)(q - buf), -1);
}
