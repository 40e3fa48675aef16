#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "channel.h"
#include "plan.h"
#include "protocol.h"

ssize_t ci_recv_frame(int fd, uint32_t *type, uint8_t **payload) {
  uint8_t *buf = malloc(CI_MAX_MESSAGE);
  if (!buf) return -1;
  ssize_t n;
  do {
    n = recv(fd, buf, CI_MAX_MESSAGE, MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) goto fail;
  if (n == 0) {
    errno = EPIPE;
    goto fail;
  }
  /* MSG_TRUNC reports the real size: a message larger than the buffer is an error, not a
     silently shortened plan. */
  if (n > CI_MAX_MESSAGE || n < CI_FRAME_HEADER_SIZE || ci_u32_at(buf + 4) != (uint32_t)n - CI_FRAME_HEADER_SIZE) {
    errno = EBADMSG;
    goto fail;
  }
  *type = ci_u32_at(buf);
  memmove(buf, buf + CI_FRAME_HEADER_SIZE, (size_t)n - CI_FRAME_HEADER_SIZE);
  *payload = buf;
  return n - CI_FRAME_HEADER_SIZE;
fail:
  free(buf);
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
  ci_send_frame(fd, CI_MSG_ERROR, buf, (size_t)(q - buf), -1);
}

void ci_report_log(int fd, uint32_t level, const char *message) {
  static uint8_t buf[4096 + 16];
  put_u32(buf, level);
  uint8_t *q = put_str(buf + 4, buf + sizeof(buf), message);
  if (q) ci_send_frame(fd, CI_MSG_LOG, buf, (size_t)(q - buf), -1);
}
