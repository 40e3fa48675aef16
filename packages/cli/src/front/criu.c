/*
 * CRIU as packages/criu's client (client.ts) drives a dump: the binary found as the client
 * finds it, trusted only when the version file the command line keeps (version-file.ts) names
 * that very file at a version the client accepts; then one DUMP request to `criu swrk 3` over a
 * SOCK_SEQPACKET socketpair, each notification answered as the client answers one it has no
 * callback for, until CRIU's answer. Field numbers are those of packages/criu/proto/rpc.proto.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "front.h"

extern char **environ;

/* client.ts's MINIMUM_CRIU_VERSION (front.test.ts holds the two equal). */
static const long MINIMUM_CRIU_VERSION[3] = {3, 16, 0};
/* The client's log level for checkpoint and restore (core's criu.ts), and the dump's log. */
static const int LOG_LEVEL = 4;
static const char LOG_FILE[] = "dump.log";
/* The descriptor criu gets its end of the socket on (swrk.ts). */
static const int SOCKET_FD_IN_CRIU = 3;

enum { REQ_DUMP = 1, REQ_NOTIFY = 6, CG_MODE_SOFT = 3 };

/* A directory of PATH as Node's path.join leaves it: absolute, no `//`, `.` or `..` parts. */
static bool is_plain_directory(const char *dir, size_t len) {
  if (len == 0 || dir[0] != '/') return false;
  for (size_t start = 1; start < len;) {
    size_t end = start;
    while (end < len && dir[end] != '/') end++;
    size_t part = end - start;
    if (part == 0 || (part == 1 && dir[start] == '.') || (part == 2 && dir[start] == '.' && dir[start + 1] == '.'))
      return false;
    start = end + 1;
  }
  return true;
}

/* resolveCriuBinary and executablePath: --criu, else CORRAL_CRIU, else `criu` found on PATH. */
static bool find_binary(const char *criu_flag, struct criu_binary *binary) {
  const char *from_env = getenv("CORRAL_CRIU");
  binary->name = criu_flag ? criu_flag : from_env && *from_env ? from_env : "criu";
  size_t name_len = strlen(binary->name);
  if (name_len == 0 || name_len >= sizeof binary->path) return false;
  if (strchr(binary->name, '/')) {
    memcpy(binary->path, binary->name, name_len + 1);
    return !path_climbs(binary->path);
  }
  const char *path = getenv("PATH");
  for (const char *dir = path ? path : ""; ; dir++) {
    size_t len = strcspn(dir, ":");
    size_t trimmed = len;
    while (trimmed > 1 && dir[trimmed - 1] == '/') trimmed--;
    /* A relative or unusual directory is joined by Node in ways this does not follow. */
    if (!is_plain_directory(dir, trimmed)) return false;
    bool root = trimmed == 1;
    if ((size_t)snprintf(binary->path, sizeof binary->path, "%.*s/%s", root ? 0 : (int)trimmed, dir,
                         binary->name) >= sizeof binary->path)
      return false;
    if (access(binary->path, X_OK) == 0) return true;
    dir += len;
    if (!*dir) return false;
  }
}

/* The file the command line keeps the version in (cli's cache-files.ts), if it is one to trust. */
static bool version_file(char *out, size_t size) {
  const char *cache = getenv("CORRAL_CACHE_DIR");
  int n;
  if (cache)
    n = *cache ? snprintf(out, size, "%s/criu", cache) : -1;
  else if (geteuid() == 0)
    n = snprintf(out, size, "/var/cache/corral/criu");
  else
    return false; /* under $XDG_CACHE_HOME or the home directory: the command line's to find */
  if (n < 0 || (size_t)n >= size || path_climbs(out)) return false;
  struct stat st;
  if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) return false;
  return (size_t)snprintf(out + n, size - (size_t)n, "/version.json") < size - (size_t)n;
}

/* Moves past `expected` at *p; false if it is not there. */
static bool skip(const char **p, const char *expected) {
  size_t len = strlen(expected);
  if (strncmp(*p, expected, len) != 0) return false;
  *p += len;
  return true;
}

static bool read_number(const char **p, double *out) {
  char *end;
  errno = 0;
  *out = strtod(*p, &end);
  if (end == *p || errno) return false;
  *p = end;
  return true;
}

static bool read_version_part(const char *version, const char *key, long *out) {
  const char *at = strstr(version, key);
  if (!at) return false;
  char *end;
  *out = strtol(at + strlen(key), &end, 10);
  return end != at + strlen(key);
}

/*
 * Whether the kept version is the binary's (rememberedVersion: its path, size, mtime in ms as
 * Node reckons it, and inode, as rememberVersion writes them) and new enough for the client.
 */
static bool remembered_version_usable(const char *file, const char *binary_path) {
  char text[4096];
  if (read_small_file(AT_FDCWD, file, text, sizeof text) < 0) return false;
  struct stat st;
  if (stat(binary_path, &st) != 0) return false;
  const char *p = text;
  size_t path_len = strlen(binary_path);
  double size, mtime_ms, inode;
  if (!skip(&p, "{\"binary\":[\"") || strncmp(p, binary_path, path_len) != 0 || strchr(binary_path, '\\') ||
      strchr(binary_path, '"'))
    return false;
  p += path_len;
  if (!skip(&p, "\",") || !read_number(&p, &size) || !skip(&p, ",") || !read_number(&p, &mtime_ms) ||
      !skip(&p, ",") || !read_number(&p, &inode) || !skip(&p, "],\"version\":{"))
    return false;
  double node_mtime_ms = (double)st.st_mtim.tv_sec * 1000 + (double)st.st_mtim.tv_nsec / 1000000;
  if (size != (double)st.st_size || mtime_ms != node_mtime_ms || inode != (double)st.st_ino) return false;
  long version[3];
  if (!read_version_part(p, "\"major\":", &version[0]) || !read_version_part(p, "\"minor\":", &version[1]) ||
      !read_version_part(p, "\"sublevel\":", &version[2]) || !strstr(p, "\"text\":\""))
    return false;
  for (int i = 0; i < 3; i++)
    if (version[i] != MINIMUM_CRIU_VERSION[i]) return version[i] > MINIMUM_CRIU_VERSION[i];
  return true;
}

bool find_usable_criu(const char *criu_flag, struct criu_binary *binary) {
  char file[4096];
  return find_binary(criu_flag, binary) && version_file(file, sizeof file) &&
         remembered_version_usable(file, binary->path);
}

/* A protobuf message being written, into a fixed buffer; too long and it is not sent. */
struct pb {
  uint8_t buf[65536];
  size_t len;
  bool overflow;
};

static void pb_raw(struct pb *m, const void *data, size_t len) {
  if (len > sizeof m->buf - m->len) {
    m->overflow = true;
    return;
  }
  memcpy(m->buf + m->len, data, len);
  m->len += len;
}

static void pb_varint(struct pb *m, uint64_t value) {
  uint8_t bytes[10];
  size_t n = 0;
  do {
    bytes[n++] = (uint8_t)((value & 0x7f) | (value > 0x7f ? 0x80 : 0));
    value >>= 7;
  } while (value);
  pb_raw(m, bytes, n);
}

static void pb_uint(struct pb *m, unsigned field, uint64_t value) {
  pb_varint(m, (uint64_t)field << 3);
  pb_varint(m, value);
}

static void pb_bytes(struct pb *m, unsigned field, const void *data, size_t len) {
  pb_varint(m, (uint64_t)field << 3 | 2);
  pb_varint(m, len);
  pb_raw(m, data, len);
}

static void pb_string(struct pb *m, unsigned field, const char *text) {
  if (text) pb_bytes(m, field, text, strlen(text));
}

static void pb_flag(struct pb *m, unsigned field, bool on) {
  if (on) pb_uint(m, field, 1);
}

/* CriuOpts of the dump, as core's checkpoint.ts and the client's dumpOpts make them. */
static void encode_dump_opts(struct pb *opts, const struct criu_dump *dump) {
  const struct front_plan *plan = dump->plan;
  const struct checkpoint_args *args = dump->args;
  pb_uint(opts, 1, (uint64_t)dump->images_dir_fd);
  pb_uint(opts, 2, (uint64_t)plan->pid);
  pb_flag(opts, 3, args->leave_running);
  pb_flag(opts, 4, args->ext_unix_sk);
  pb_flag(opts, 5, args->tcp_established);
  pb_flag(opts, 7, args->shell_job);
  pb_flag(opts, 8, args->file_locks);
  pb_uint(opts, 9, LOG_LEVEL);
  pb_string(opts, 10, LOG_FILE);
  pb_flag(opts, 12, true); /* notify_scripts */
  pb_string(opts, 13, plan->criu_root);
  pb_flag(opts, 16, args->auto_dedup);
  pb_uint(opts, 17, (uint64_t)dump->work_dir_fd);
  pb_flag(opts, 18, args->link_remap);
  for (size_t i = 0; i < plan->criu_ext_mount_count; i++) {
    static struct pb entry;
    entry.len = 0;
    pb_string(&entry, 1, plan->criu_ext_mounts[i]);
    pb_string(&entry, 2, plan->criu_ext_mounts[i]);
    if (entry.overflow) opts->overflow = true;
    pb_bytes(opts, 23, entry.buf, entry.len);
  }
  pb_flag(opts, 24, true); /* manage_cgroups, mode soft (34) */
  pb_uint(opts, 34, CG_MODE_SOFT);
  for (size_t i = 0; i < dump->stdio_external_count; i++) pb_string(opts, 37, dump->stdio_externals[i]);
  for (size_t i = 0; i < plan->criu_external_count; i++) pb_string(opts, 37, plan->criu_externals[i]);
  pb_string(opts, 44, plan->criu_freeze_cgroup);
  pb_flag(opts, 46, args->tcp_skip_in_flight);
  pb_flag(opts, 50, plan->criu_orphan_pts_master);
  pb_string(opts, 51, plan->criu_config);
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *value) {
  *value = 0;
  for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
    uint8_t byte = *(*p)++;
    *value |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

/* The fields of a CriuResp the front reads: its type and whether it says success. */
static bool parse_response(const uint8_t *p, size_t len, uint64_t *type, bool *success) {
  const uint8_t *end = p + len;
  *type = 0;
  *success = false;
  while (p < end) {
    uint64_t key, value;
    if (!read_varint(&p, end, &key)) return false;
    switch (key & 7) {
    case 0:
      if (!read_varint(&p, end, &value)) return false;
      if (key >> 3 == 1) *type = value;
      if (key >> 3 == 2) *success = value != 0;
      break;
    case 1:
    case 5: {
      size_t skip_len = (key & 7) == 1 ? 8 : 4;
      if ((size_t)(end - p) < skip_len) return false;
      p += skip_len;
      break;
    }
    case 2:
      if (!read_varint(&p, end, &value) || value > (uint64_t)(end - p)) return false;
      p += value;
      break;
    default:
      return false;
    }
  }
  return true;
}

/* One message from criu, closing any descriptor it came with (the orphan pts master's). */
static ssize_t receive(int sock, uint8_t *buf, size_t size) {
  char control[CMSG_SPACE(sizeof(int) * 8)];
  struct iovec iov = {.iov_base = buf, .iov_len = size};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) close(((int *)CMSG_DATA(c))[i]);
  }
  if (n >= 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) return -1;
  return n;
}

/* Sends the request and answers notifications until criu's answer; true if it says success. */
static bool converse(int sock, const struct pb *request) {
  static const uint8_t notify_success[] = {1 << 3, REQ_NOTIFY, 3 << 3, 1};
  if (send(sock, request->buf, request->len, MSG_NOSIGNAL) != (ssize_t)request->len) return false;
  static uint8_t answer[65536];
  for (;;) {
    ssize_t n = receive(sock, answer, sizeof answer);
    uint64_t type;
    bool success;
    if (n <= 0 || !parse_response(answer, (size_t)n, &type, &success)) return false;
    if (type != REQ_NOTIFY) return type == REQ_DUMP && success;
    if (send(sock, notify_success, sizeof notify_success, MSG_NOSIGNAL) != sizeof notify_success) return false;
  }
}

enum outcome criu_dump(const struct criu_binary *binary, const struct criu_dump *dump) {
  static struct pb opts, request;
  opts.len = request.len = 0;
  encode_dump_opts(&opts, dump);
  pb_uint(&request, 1, REQ_DUMP);
  pb_bytes(&request, 2, opts.buf, opts.len);
  if (opts.overflow || request.overflow) return HAND_OVER;

  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) return HAND_OVER;
  int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd < 3; fd++) posix_spawn_file_actions_adddup2(&actions, dev_null, fd);
  /* The front's own descriptors 3 to 6 are open, so the socket is above the number it goes to. */
  posix_spawn_file_actions_adddup2(&actions, sockets[1], SOCKET_FD_IN_CRIU);
  char fd_text[4];
  snprintf(fd_text, sizeof fd_text, "%d", SOCKET_FD_IN_CRIU);
  char *argv[] = {(char *)binary->name, "swrk", fd_text, NULL};
  pid_t pid;
  int spawned = dev_null < 0 ? -1 : posix_spawn(&pid, binary->path, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(sockets[1]);
  if (dev_null >= 0) close(dev_null);
  bool succeeded = spawned == 0 && converse(sockets[0], &request);
  /* criu exits once its socket closes. */
  close(sockets[0]);
  if (spawned == 0)
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  return succeeded ? DONE : HAND_OVER;
}
