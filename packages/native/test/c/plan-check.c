/*
 * Test harness for corral-init's plan decoder, built by the unit tests with sanitizers.
 *   plan-check dump   < plan   prints each decoded op on a line: code, then its fields
 *   plan-check fuzz N < plan   decodes N mutated copies; must never crash or read out of bounds
 *   plan-check recv            stdin is a SOCK_SEQPACKET socket: receives one message as
 *                              corral-init does (datagrams reassembled), prints its type and
 *                              the decoded plan, or "refused" and errno
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "plan.h"

static size_t read_all(uint8_t **out) {
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, stdin)) > 0) {
    len += n;
    if (len == cap) buf = realloc(buf, cap *= 2);
  }
  *out = buf;
  return len;
}

static void dump_u32(ci_u32 v) { printf(" %llu", (unsigned long long)v); }
static void dump_u64(ci_u64 v) { printf(" %llu", (unsigned long long)v); }
static void dump_str(ci_str v) { printf(" \"%s\"", v); }
static void dump_strs(ci_strs v) {
  printf(" [");
  for (size_t j = 0; j < v.count; j++) printf("%s\"%s\"", j ? "," : "", v.items[j]);
  if (v.items[v.count] != NULL) printf("<unterminated>");
  printf("]");
}
static void dump_u32s(ci_u32s v) {
  printf(" [");
  for (size_t j = 0; j < v.count; j++) printf("%s%u", j ? "," : "", ci_u32s_at(v, j));
  printf("]");
}

static void dump(const struct ci_plan *plan) {
#define DUMP_FIELD(kind, field) dump_##kind(fields->field);
#define DUMP_OP(NAME, name, code)                      \
  case CI_OP_##NAME: {                                 \
    const struct ci_op_##name *fields = &op->as.name; \
    (void)fields;                                      \
    CI_FIELDS_##name(DUMP_FIELD) break;                \
  }
  for (uint32_t i = 0; i < plan->count; i++) {
    const struct ci_op *op = &plan->ops[i];
    printf("%u", op->code);
    switch (op->code) { CI_OPS(DUMP_OP) }
    printf("\n");
  }
}

int main(int argc, char **argv) {
  struct ci_plan plan;
  int32_t bad_op;
  if (argc == 2 && strcmp(argv[1], "recv") == 0) {
    uint32_t type;
    uint8_t *payload;
    ssize_t n = ci_recv_frame(0, &type, &payload);
    if (n < 0) {
      printf("refused %s\n", strerrorname_np(errno));
      return 2;
    }
    printf("type %u, %zd bytes\n", type, n);
    if (type == CI_MSG_PLAN && ci_decode_plan(payload, (size_t)n, &plan, &bad_op) == 0) {
      dump(&plan);
      ci_free_plan(&plan);
    }
    free(payload);
    return 0;
  }
  uint8_t *buf;
  size_t len = read_all(&buf);
  if (argc == 2 && strcmp(argv[1], "dump") == 0) {
    if (ci_decode_plan(buf, len, &plan, &bad_op)) {
      printf("invalid at op %d\n", bad_op);
      free(buf);
      return 2;
    }
    dump(&plan);
    ci_free_plan(&plan);
    free(buf);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "fuzz") == 0) {
    long rounds = atol(argv[2]);
    unsigned accepted = 0;
    srand(1);
    for (long i = 0; i < rounds; i++) {
      /* Each round gets its own exact-size allocation so ASan sees any read past the end. */
      size_t mlen = len;
      int cut = rand() % 4 == 0;
      if (cut && len) mlen = (size_t)rand() % len;
      uint8_t *m = malloc(mlen ? mlen : 1);
      memcpy(m, buf, mlen);
      for (int flips = 1 + rand() % 4; flips > 0 && mlen; flips--) m[rand() % mlen] = (uint8_t)rand();
      if (ci_decode_plan(m, mlen, &plan, &bad_op) == 0) {
        accepted++;
        ci_free_plan(&plan);
      }
      free(m);
    }
    printf("accepted %u of %ld\n", accepted, rounds);
    free(buf);
    return 0;
  }
  free(buf);
  fprintf(stderr, "usage: plan-check dump|fuzz N < plan\n");
  return 64;
}
