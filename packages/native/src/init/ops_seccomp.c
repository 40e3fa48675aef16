/* Installs the seccomp filter the runtime compiled; corral-init never builds one itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "channel.h"
#include "init.h"

int ci_op_seccomp(struct ci_ctx *ctx, const struct ci_op_seccomp *op) {
  unsigned int flags = (unsigned int)op->flags;
  /* Each instruction is two u32s: {u16 code, u8 jt, u8 jf} and k. */
  if (op->program.count == 0 || op->program.count % 2 != 0 || op->program.count / 2 > BPF_MAXINSNS) {
    errno = EINVAL;
    return ci_fail(ctx, "seccomp", NULL);
  }
  size_t count = op->program.count / 2;
  /* The plan's bytes are not aligned for struct sock_filter: decode into our own array. */
  struct sock_filter *filter = calloc(count, sizeof(*filter));
  if (!filter) return ci_fail(ctx, "calloc", NULL);
  for (size_t i = 0; i < count; i++) {
    uint32_t head = ci_u32_at(op->program.bytes + 8 * i);
    filter[i].code = (uint16_t)head;
    filter[i].jt = (uint8_t)(head >> 16);
    filter[i].jf = (uint8_t)(head >> 24);
    filter[i].k = ci_u32_at(op->program.bytes + 8 * i + 4);
  }
  struct sock_fprog prog = {.len = (unsigned short)count, .filter = filter};
  /* Needs no_new_privs or CAP_SYS_ADMIN: the plan puts this op where one of the two holds. */
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  int err = errno;
  free(filter);
  if (rc < 0) {
    errno = err;
    return ci_fail(ctx, "seccomp", NULL);
  }
  if (!(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) return 0;
  /* The filter is on us already: the profile must let sendmsg through without a notification,
     since nobody holds the listener until this message arrives (the runtime checks that). */
  int listener = (int)rc;
  int sent = ci_send_frame(ctx->channel, CI_MSG_SECCOMP_LISTENER, NULL, 0, listener);
  err = errno;
  close(listener);
  if (sent) {
    errno = err;
    return ci_fail(ctx, "send", "seccomp listener");
  }
  return 0;
}
