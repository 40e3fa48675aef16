/* The decoded plan: each op a struct with its fields by name, all generated from ops.h. */
#ifndef CORRAL_INIT_PLAN_H
#define CORRAL_INIT_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ops.h"
#include "protocol.h"

/* The C types of the field kinds. Strings point into the received message. */
typedef uint32_t ci_u32;
typedef uint64_t ci_u64;
typedef const char *ci_str;
typedef struct {
  const char **items; /* NULL-terminated, malloc'd */
  size_t count;
} ci_strs;
typedef struct {
  const uint8_t *bytes; /* little-endian and unaligned: read with ci_u32s_at */
  size_t count;
} ci_u32s;

#define CI_DECLARE_FIELD(kind, field) ci_##kind field;
#define CI_DECLARE_OP(NAME, name, code) \
  struct ci_op_##name {                 \
    CI_FIELDS_##name(CI_DECLARE_FIELD)  \
  };
CI_OPS(CI_DECLARE_OP)

enum ci_op_code {
#define CI_OP_CODE(NAME, name, code) CI_OP_##NAME = code,
  CI_OPS(CI_OP_CODE)
};

struct ci_op {
  uint16_t code;
  union {
#define CI_OP_MEMBER(NAME, name, code) struct ci_op_##name name;
    CI_OPS(CI_OP_MEMBER)
  } as;
};

struct ci_plan {
  uint32_t count;
  struct ci_op *ops;
};

/* Decodes a PLAN payload (version included). Strings point into `buf`, which must outlive the
   plan. Returns 0, or -1 with errno = EINVAL/ENOMEM and *bad_op set to the op at fault. */
int ci_decode_plan(const uint8_t *buf, size_t len, struct ci_plan *plan, int32_t *bad_op);
void ci_free_plan(struct ci_plan *plan);

/* Decodes a string list (the GO payload). Strings point into `buf`; the list is malloc'd and
   NULL-terminated. Returns the count, or -1 (errno EINVAL) when malformed. */
ssize_t ci_decode_str_list(const uint8_t *buf, size_t len, const char ***out);

static inline uint32_t ci_u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t ci_u32s_at(ci_u32s list, size_t i) { return ci_u32_at(list.bytes + 4 * i); }

#endif
