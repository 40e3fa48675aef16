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

static int read_str_list(struct reader *r, const char ***out, size_t *count) {
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
  *out = list;
  *count = n;
  return 0;
}

const char *ci_op_layout(uint16_t code) {
  switch (code) {
    case CI_OP_JOIN_NAMESPACE: return "us";
    case CI_OP_CLONE: return "U";
    case CI_OP_TIME_OFFSETS: return "UuUu";
    case CI_OP_OPEN_MOUNT_SOURCE: return "su";
    case CI_OP_WAIT_GO: return "";
    case CI_OP_UNSHARE: return "U";
    case CI_OP_SETSID: return "";
    case CI_OP_DUMPABLE: return "u";
    case CI_OP_ROOT_PROPAGATION: return "U";
    case CI_OP_OPEN_ROOTFS: return "s";
    case CI_OP_MKDIR: return "su";
    case CI_OP_MKFILE: return "su";
    case CI_OP_MOUNT_FS: return "sssUuS";
    case CI_OP_MOUNT_BIND: return "ssuUUuu";
    case CI_OP_MKNOD: return "suuuuu";
    case CI_OP_SYMLINK: return "ss";
    case CI_OP_PIVOT_ROOT: return "";
    case CI_OP_CHROOT: return "";
    case CI_OP_MASK_PATH: return "s";
    case CI_OP_READONLY_PATH: return "s";
    case CI_OP_REMOUNT_ROOT_RO: return "";
    case CI_OP_SETHOSTNAME: return "s";
    case CI_OP_SETDOMAINNAME: return "s";
    case CI_OP_RLIMIT: return "uUU";
    case CI_OP_SETGROUPS: return "n";
    case CI_OP_SETGID: return "u";
    case CI_OP_SETUID: return "u";
    case CI_OP_CAPABILITIES: return "UUUUU";
    case CI_OP_NO_NEW_PRIVS: return "";
    case CI_OP_UMASK: return "u";
    case CI_OP_CHDIR: return "s";
    case CI_OP_OPEN_EXEC_FIFO: return "s";
    case CI_OP_WAIT_EXEC_FIFO: return "";
    case CI_OP_RUN_HOOK: return "sSSuU";
    case CI_OP_CONSOLE: return "uu";
    case CI_OP_PRESERVE_FDS: return "u";
    case CI_OP_JOIN_SESSION_KEYRING: return "s";
    case CI_OP_SYSCTL: return "ss";
    case CI_OP_IO_PRIORITY: return "uu";
    case CI_OP_SCHEDULER: return "uUuuUUU";
    case CI_OP_PERSONALITY: return "u";
    case CI_OP_CPU_AFFINITY: return "n";
    case CI_OP_IDMAP_USERNS: return "un";
    case CI_OP_SIGNAL_READY: return "";
    case CI_OP_EXEC: return "sSS";
    case CI_OP_SECCOMP: return "un";
    default: return NULL;
  }
}

static int decode_fields(struct reader *r, const char *layout, struct ci_op *op) {
  size_t nums = 0, strs = 0, lists = 0;
  for (const char *k = layout; *k; k++) {
    switch (*k) {
      case 'u': {
        uint32_t v;
        if (read_u32(r, &v)) return -1;
        op->num[nums++] = v;
        break;
      }
      case 'U':
        if (read_u64(r, &op->num[nums++])) return -1;
        break;
      case 's':
        if (read_str(r, &op->str[strs++])) return -1;
        break;
      case 'S':
        if (read_str_list(r, &op->list[lists], &op->list_len[lists])) return -1;
        lists++;
        break;
      case 'n': {
        uint32_t n;
        if (read_u32(r, &n) || n > r->left / 4) return -1;
        op->u32s = r->p;
        op->u32s_len = n;
        r->p += (size_t)n * 4;
        r->left -= (size_t)n * 4;
        break;
      }
      default:
        return -1;
    }
  }
  return 0;
}

void ci_free_plan(struct ci_plan *plan) {
  if (!plan->ops) return;
  for (uint32_t i = 0; i < plan->count; i++) {
    free(plan->ops[i].list[0]);
    free(plan->ops[i].list[1]);
  }
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
    const char *layout = ci_op_layout(code);
    if (!layout || reserved != 0 || op_len < CI_OP_HEADER_SIZE || op_len > r.left) goto invalid;
    struct reader fields = {r.p + CI_OP_HEADER_SIZE, op_len - CI_OP_HEADER_SIZE};
    plan->ops[i].code = code;
    /* An op must use its bytes exactly: trailing bytes mean the two sides disagree. */
    if (decode_fields(&fields, layout, &plan->ops[i]) || fields.left != 0) goto invalid;
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
  size_t count;
  if (read_str_list(&r, out, &count) || r.left != 0) {
    errno = EINVAL;
    return -1;
  }
  return (ssize_t)count;
}
