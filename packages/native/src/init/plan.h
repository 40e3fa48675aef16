/* The decoded plan and the calls that run it. */
#ifndef CORRAL_INIT_PLAN_H
#define CORRAL_INIT_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"

#define CI_MAX_FIELDS 8 /* the longest layout, the scheduler's, has 7 numbers */

/* One op, decoded generically: numbers, strings and lists in the order the op's layout gives. */
struct ci_op {
  uint16_t code;
  uint64_t num[CI_MAX_FIELDS];
  const char *str[CI_MAX_FIELDS];
  const char **list[2]; /* NULL-terminated string lists */
  size_t list_len[2];
  const uint8_t *u32s; /* raw little-endian u32 array */
  size_t u32s_len;
};

struct ci_plan {
  uint32_t count;
  struct ci_op *ops;
};

/* Layout of an op's fields: u = u32, U = u64, s = string, S = string list, n = u32 list.
   NULL for an unknown code. */
const char *ci_op_layout(uint16_t code);

/* Decodes a PLAN payload (version included). Strings point into `buf`, which must outlive the
   plan. Returns 0, or -1 with errno = EINVAL/E2BIG/ENOMEM and *bad_op set to the op at fault. */
int ci_decode_plan(const uint8_t *buf, size_t len, struct ci_plan *plan, int32_t *bad_op);
void ci_free_plan(struct ci_plan *plan);

/* Decodes a string list (the GO payload). Strings point into `buf`; the list is malloc'd and
   NULL-terminated. Returns the count, or -1 (errno EINVAL) when malformed. */
ssize_t ci_decode_str_list(const uint8_t *buf, size_t len, const char ***out);

static inline uint32_t ci_u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
