/*
 * `list [--format table|json] [--quiet]`, as the command line prints it (cli's commands/
 * lifecycle.ts): every container directory under the root in sorted order, each with its status
 * derived now and its owner's name from /etc/passwd. Only when every one of them has a front
 * plan with list's fields, and every field the table shows is plain ASCII (whose width the
 * command line counts as the front does); otherwise the command line lists them all.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front.h"

enum { COLUMNS = 6, MIN_WIDTH = 12, PADDING = 3 };

/* The state view's own owner, which list fills in; no value before it in the tail holds a bare quote. */
static const char EMPTY_OWNER[] = "\"owner\":\"\"";

/* One container of the list, its views pointing into its plan. */
struct listed {
  char *id;
  struct container container;
  bool opened;
  int pid;
  enum status status;
  char pid_text[16];
  char owner[256];
};

/* Printable ASCII without `"` or `\`: the same on a terminal, in JSON, and in a JS string's length. */
static bool is_plain_text(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\') return false;
  return true;
}

/* ownerName in state-dir.ts: the first /etc/passwd line whose uid field is it, else `#UID`. */
static bool owner_name(uid_t uid, char *out, size_t size) {
  char uid_text[16];
  snprintf(uid_text, sizeof uid_text, "%u", (unsigned)uid);
  snprintf(out, size, "#%s", uid_text);
  FILE *passwd = fopen("/etc/passwd", "re");
  if (!passwd) return false;
  char *line = NULL;
  size_t line_size = 0;
  bool ok = true;
  while (getline(&line, &line_size, passwd) > 0) {
    line[strcspn(line, "\n")] = '\0';
    char *name_end = strchr(line, ':');
    char *password_end = name_end ? strchr(name_end + 1, ':') : NULL;
    if (!password_end) continue;
    const char *uid_field = password_end + 1;
    size_t uid_len = strcspn(uid_field, ":");
    if (uid_len != strlen(uid_text) || strncmp(uid_field, uid_text, uid_len) != 0) continue;
    /* An empty name is no name, as `entry?.[0] || ...` has it. */
    if (name_end != line) {
      *name_end = '\0';
      ok = strlen(line) < size;
      if (ok) strcpy(out, line);
    }
    break;
  }
  free(line);
  fclose(passwd);
  return ok;
}

static int compare_ids(const void *a, const void *b) {
  return strcmp(((const struct listed *)a)->id, ((const struct listed *)b)->id);
}

/*
 * The container directories under the root, sorted as ContainerDir.ids sorts them (plain ASCII
 * names sort the same by byte); NULL for an entry the front cannot tell is a directory.
 */
static struct listed *read_ids(int root_fd, size_t *count) {
  int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd < 0 ? NULL : fdopendir(fd);
  if (!dir) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  struct listed *rows = NULL;
  size_t capacity = 0;
  bool ok = true;
  *count = 0;
  for (struct dirent *entry; ok && (entry = readdir(dir)) != NULL;) {
    const char *name = entry->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    if (entry->d_type == DT_UNKNOWN || (entry->d_type == DT_DIR && !is_plain_text(name))) ok = false;
    if (!ok || entry->d_type != DT_DIR) continue;
    if (*count == capacity) {
      capacity = capacity ? capacity * 2 : 16;
      struct listed *grown = realloc(rows, capacity * sizeof *rows);
      if (!grown) {
        ok = false;
        continue;
      }
      rows = grown;
    }
    rows[*count] = (struct listed){.id = strdup(name)};
    ok = rows[(*count)++].id != NULL;
  }
  closedir(dir);
  if (ok && *count) qsort(rows, *count, sizeof *rows, compare_ids);
  if (ok) return rows ? rows : calloc(1, sizeof *rows);
  for (size_t i = 0; i < *count; i++) free(rows[i].id);
  free(rows);
  return NULL;
}

/* Opens one container as `state` does and derives what its row shows; false to hand over. */
static bool read_row(const char *root, struct listed *row) {
  row->opened = true;
  if (open_container(root, row->id, false, &row->container) != DONE) return false;
  const struct front_plan *plan = &row->container.plan;
  if (!plan->state_head || !plan->state_tail || !plan->list_bundle || !plan->list_created ||
      !strstr(plan->state_tail, EMPTY_OWNER) || !is_plain_text(plan->list_bundle) ||
      !is_plain_text(plan->list_created))
    return false;
  struct stat st;
  if (fstat(row->container.dir_fd, &st) != 0 || !owner_name(st.st_uid, row->owner, sizeof row->owner) ||
      !is_plain_text(row->owner))
    return false;
  row->status = container_status(&row->container);
  row->pid = row->status == STATUS_STOPPED ? 0 : plan->pid;
  snprintf(row->pid_text, sizeof row->pid_text, "%d", row->pid);
  return true;
}

/* The JSON of one container: its state view, the pid and status now, the owner in the tail's place. */
static void print_json_row(const struct listed *row) {
  const struct front_plan *plan = &row->container.plan;
  const char *owner = strstr(plan->state_tail, EMPTY_OWNER);
  printf("%s,\"pid\":%d,\"status\":\"%s\",%.*s\"owner\":\"%s\"%s", plan->state_head, row->pid,
         STATUS_NAMES[row->status], (int)(owner - plan->state_tail), plan->state_tail, row->owner,
         owner + sizeof EMPTY_OWNER - 1);
}

/* A row's cells; the header's for NULL. */
static void row_cells(const struct listed *row, const char *cells[COLUMNS]) {
  static const char *const HEADER[COLUMNS] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
  if (!row) {
    memcpy(cells, HEADER, sizeof HEADER);
    return;
  }
  const struct front_plan *plan = &row->container.plan;
  const char *values[COLUMNS] = {
      row->id, row->pid_text, STATUS_NAMES[row->status], plan->list_bundle, plan->list_created, row->owner,
  };
  memcpy(cells, values, sizeof values);
}

/* Each column as wide as its widest cell and three more, twelve at least; the last not padded. */
static void print_table(const struct listed *rows, size_t count) {
  size_t widths[COLUMNS];
  const char *cells[COLUMNS];
  for (int col = 0; col < COLUMNS; col++) widths[col] = MIN_WIDTH;
  for (size_t i = 0; i <= count; i++) {
    row_cells(i ? &rows[i - 1] : NULL, cells);
    for (int col = 0; col < COLUMNS; col++)
      if (strlen(cells[col]) + PADDING > widths[col]) widths[col] = strlen(cells[col]) + PADDING;
  }
  for (size_t i = 0; i <= count; i++) {
    row_cells(i ? &rows[i - 1] : NULL, cells);
    for (int col = 0; col < COLUMNS - 1; col++) printf("%-*s", (int)widths[col], cells[col]);
    printf("%s\n", cells[COLUMNS - 1]);
  }
}

enum outcome list_containers(const char *root, enum list_format format) {
  int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  size_t count = 0;
  struct listed *rows = root_fd >= 0 && state_root_is_ours(root_fd) ? read_ids(root_fd, &count) : NULL;
  if (root_fd >= 0) close(root_fd);
  if (!rows) return HAND_OVER;
  bool whole = true;
  for (size_t i = 0; whole && i < count; i++) whole = read_row(root, &rows[i]);
  if (whole) {
    if (format == LIST_QUIET) {
      for (size_t i = 0; i < count; i++) printf("%s\n", rows[i].id);
    } else if (format == LIST_JSON) {
      putchar('[');
      for (size_t i = 0; i < count; i++) {
        if (i) putchar(',');
        print_json_row(&rows[i]);
      }
      puts("]");
    } else {
      print_table(rows, count);
    }
    /* Written, even in part: never handed over now, or the list would be printed twice. */
    if (fflush(stdout) != 0) exit(1);
  }
  for (size_t i = 0; i < count; i++) {
    if (rows[i].opened) close_container(&rows[i].container);
    free(rows[i].id);
  }
  free(rows);
  return whole ? DONE : HAND_OVER;
}
