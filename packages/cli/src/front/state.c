/*
 * `state ID`, as the command line prints it: the state view the plan holds, joined around the
 * pid and status derived now (pid 0 once stopped), indented as JSON.stringify(state, null, 2)
 * indents it. Like the command line's, it takes no lock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front.h"

static void newline(FILE *out, int depth) {
  fputc('\n', out);
  for (int i = 0; i < depth; i++) fputs("  ", out);
}

/* Compact JSON (no space outside strings, as JSON.stringify writes it) with two-space indents. */
static void print_indented(FILE *out, const char *json) {
  int depth = 0;
  for (const char *p = json; *p; p++) {
    char ch = *p;
    if (ch == '"') {
      const char *end = p + 1;
      while (*end && *end != '"') end += end[0] == '\\' && end[1] ? 2 : 1;
      fwrite(p, 1, (size_t)(end - p) + (*end ? 1 : 0), out);
      if (!*end) return;
      p = end;
    } else if ((ch == '{' && p[1] == '}') || (ch == '[' && p[1] == ']')) {
      fputc(ch, out);
      fputc(*++p, out);
    } else if (ch == '{' || ch == '[') {
      fputc(ch, out);
      newline(out, ++depth);
    } else if (ch == '}' || ch == ']') {
      newline(out, --depth);
      fputc(ch, out);
    } else if (ch == ',') {
      fputc(ch, out);
      newline(out, depth);
    } else if (ch == ':') {
      fputs(": ", out);
    } else {
      fputc(ch, out);
    }
  }
}

enum outcome show_state(struct container *c) {
  const struct front_plan *plan = &c->plan;
  if (!plan->state_head || !plan->state_tail) return HAND_OVER;
  enum status status = container_status(c);
  char *json;
  if (asprintf(&json, "%s,\"pid\":%d,\"status\":\"%s\",%s", plan->state_head,
               status == STATUS_STOPPED ? 0 : plan->pid, STATUS_NAMES[status], plan->state_tail) < 0)
    return HAND_OVER;
  print_indented(stdout, json);
  fputc('\n', stdout);
  free(json);
  /* Written, even in part: never handed over now, or the view would be printed twice. */
  if (fflush(stdout) != 0) exit(1);
  return DONE;
}
