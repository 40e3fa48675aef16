/* Decoding of the PLAN message. Everything is bounds-checked: the fuzz test feeds it garbage. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

struct reader {
  const uint8_t *p;
  size_t left;
};

static int read_u32(struct reader *r, uint32_t *out) {
  if (r->left < 4) return -1;
  *out = ci_u32_at(r->p);
  r->p += 4;
  r->left -= 4;
  return 0;
}

static int read_u64(struct reader *r, uint64_t *out) {
  uint32_t lo, hi;
  if (read_u32(r, &lo) || read_u32(r, &hi)) return -1;
  *out = (uint64_t)hi << 32 | lo;
  return 0;
}

/* A string is its length counting the final NUL, then the bytes; an inner NUL is refused so
   that C sees the same string TypeScript sent. */
static int read_str(struct reader *r, const char **out) {
  uint32_t len;
  if (read_u32(r, &len) || len == 0 || len > r->left) return -1;
  if (r->p[len - 1] != '\0' || memchr(r->p, '\0', len - 1) != NULL) return -1;
  *out = (const char *)r->p;
  r->p += len;
  r->left -= len;
  return 0;
}

static int read_strs(struct reader *r, ci_strs *out) {
  uint32_t n;
  /* Each string takes at least five bytes, which bounds n before any allocation. */
  if (read_u32(r, &n) || n > r->left / 5) return -1;
  const char **list = calloc((size_t)n + 1, sizeof(*list));
  if (!list) return -1;
  for (uint32_t i = 0; i < n; i++) {
    if (read_str(r, &list[i])) {
      free(list);
      return -1;
    }
  }
  out->items = list;
  out->count = n;
  return 0;
}

static int read_u32s(struct reader *r, ci_u32s *out) {
  uint32_t n;
  if (read_u32(r, &n) || n > r->left / 4) return -1;
  out->bytes = r->p;
  out->count = n;
  r->p += (size_t)n * 4;
  r->left -= (size_t)n * 4;
  return 0;
}

/* What decoding allocated: only string lists. */
static void free_u32(ci_u32 *field) { (void)field; }
static void free_u64(ci_u64 *field) { (void)field; }
static void free_str(ci_str *field) { (void)field; }
static void free_u32s(ci_u32s *field) { (void)field; }
static void free_strs(ci_strs *field) {
  free(field->items);
  field->items = NULL;
}

/* Reads the fields of the op `code` in wire order; -1 for an unknown code or a short op. */
static int decode_fields(struct reader *r, uint16_t code, struct ci_op *op) {
#define CI_READ_FIELD(kind, field) \
  if (read_##kind(r, &fields->field)) return -1;
#define CI_DECODE_OP(NAME, name, code)             \
  case CI_OP_##NAME: {                             \
    struct ci_op_##name *fields = &op->as.name;   \
    (void)fields;                                  \
    CI_FIELDS_##name(CI_READ_FIELD) return 0;      \
  }
  switch (code) {
    CI_OPS(CI_DECODE_OP)
    default:
      return -1;
  }
}

static void free_fields(struct ci_op *op) {
#define CI_FREE_FIELD(kind, field) free_##kind(&fields->field);
#define CI_FREE_OP(NAME, name, code)             \
  case CI_OP_##NAME: {                           \
    struct ci_op_##name *fields = &op->as.name; \
    (void)fields;                                \
    CI_FIELDS_##name(CI_FREE_FIELD) break;       \
  }
  switch (op->code) {
    CI_OPS(CI_FREE_OP)
    default:
      break;
  }
}

void ci_free_plan(struct ci_plan *plan) {
  if (!plan->ops) return;
  for (uint32_t i = 0; i < plan->count; i++) free_fields(&plan->ops[i]);
  free(plan->ops);
  plan->ops = NULL;
  plan->count = 0;
}

int ci_decode_plan(const uint8_t *buf, size_t len, struct ci_plan *plan, int32_t *bad_op) {
  struct reader r = {buf, len};
  uint32_t version, count;
  *bad_op = -1;
  plan->ops = NULL;
  plan->count = 0;
  if (read_u32(&r, &version) || version != CI_PROTOCOL_VERSION) goto invalid;
  if (read_u32(&r, &count) || count > CI_MAX_OPS || count > r.left / CI_OP_HEADER_SIZE) goto invalid;
  plan->ops = calloc(count ? count : 1, sizeof(*plan->ops));
  if (!plan->ops) {
    errno = ENOMEM;
    return -1;
  }
  plan->count = count;
  for (uint32_t i = 0; i < count; i++) {
    *bad_op = (int32_t)i;
    if (r.left < CI_OP_HEADER_SIZE) goto invalid;
    uint16_t code = (uint16_t)(r.p[0] | r.p[1] << 8);
    uint16_t reserved = (uint16_t)(r.p[2] | r.p[3] << 8);
    uint32_t op_len = ci_u32_at(r.p + 4);
    if (reserved != 0 || op_len < CI_OP_HEADER_SIZE || op_len > r.left) goto invalid;
    struct reader fields = {r.p + CI_OP_HEADER_SIZE, op_len - CI_OP_HEADER_SIZE};
    plan->ops[i].code = code;
    /* An op must use its bytes exactly: trailing bytes mean the two sides disagree. */
    if (decode_fields(&fields, code, &plan->ops[i]) || fields.left != 0) goto invalid;
    r.p += op_len;
    r.left -= op_len;
  }
  *bad_op = -1;
  if (r.left != 0) goto invalid;
  return 0;
invalid:
  ci_free_plan(plan);
  errno = EINVAL;
  return -1;
}

ssize_t ci_decode_str_list(const uint8_t *buf, size_t len, const char ***out) {
  struct reader r = {buf, len};
  ci_strs list;
  if (read_strs(&r, &list)) {
    errno = EINVAL;
    return -1;
  }
  if (r.left != 0) {
    free_strs(&list);
    errno = EINVAL;
    return -1;
  }
  *out = list.items;
  return (ssize_t)list.count;
}
