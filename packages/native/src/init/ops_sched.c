/*
 * Scheduling attributes the process sets on itself before exec, while it still holds the
 * capabilities that real-time policies and I/O classes need: process.scheduler,
 * process.ioPriority, process.execCPUAffinity and linux.personality.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "init.h"

/* struct sched_attr of sched_setattr(2), which glibc does not declare. */
struct ci_sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

int ci_op_scheduler(struct ci_ctx *ctx, const struct ci_op_scheduler *op) {
  struct ci_sched_attr attr = {
      .size = sizeof(attr),
      .sched_policy = (uint32_t)op->policy,
      .sched_flags = op->flags,
      .sched_nice = (int32_t)(uint32_t)op->nice,
      .sched_priority = (uint32_t)op->priority,
      .sched_runtime = op->runtime,
      .sched_deadline = op->deadline,
      .sched_period = op->period,
  };
  if (syscall(SYS_sched_setattr, 0, &attr, 0)) return ci_fail(ctx, "sched_setattr", NULL);
  return 0;
}

#define CI_IOPRIO_WHO_PROCESS 1
#define CI_IOPRIO_CLASS_SHIFT 13

int ci_op_io_priority(struct ci_ctx *ctx, const struct ci_op_io_priority *op) {
  int value = (int)((op->io_class << CI_IOPRIO_CLASS_SHIFT) | op->level);
  if (syscall(SYS_ioprio_set, CI_IOPRIO_WHO_PROCESS, 0, value)) return ci_fail(ctx, "ioprio_set", NULL);
  return 0;
}

int ci_op_personality(struct ci_ctx *ctx, const struct ci_op_personality *op) {
  if (personality((unsigned long)op->domain) == -1) return ci_fail(ctx, "personality", NULL);
  return 0;
}

/* Sized for any CPU number the runtime lets through. */
#define CI_MAX_CPUS 8192

int ci_op_cpu_affinity(struct ci_ctx *ctx, const struct ci_op_cpu_affinity *op) {
  cpu_set_t *set = CPU_ALLOC(CI_MAX_CPUS);
  if (!set) return ci_fail(ctx, "malloc", "cpu set");
  size_t size = CPU_ALLOC_SIZE(CI_MAX_CPUS);
  CPU_ZERO_S(size, set);
  for (size_t i = 0; i < op->cpus.count; i++) {
    uint32_t cpu = ci_u32s_at(op->cpus, i);
    if (cpu < CI_MAX_CPUS) CPU_SET_S(cpu, size, set);
  }
  int rc = sched_setaffinity(0, size, set) ? ci_fail(ctx, "sched_setaffinity", NULL) : 0;
  CPU_FREE(set);
  return rc;
}

int ci_op_reset_cpu_affinity(struct ci_ctx *ctx, const struct ci_op_reset_cpu_affinity *op) {
  (void)op;
  cpu_set_t *set = CPU_ALLOC(CI_MAX_CPUS);
  if (!set) return ci_fail(ctx, "malloc", "cpu set");
  size_t size = CPU_ALLOC_SIZE(CI_MAX_CPUS);
  memset(set, 0xff, size);
  /* As runc: a failure leaves the inherited affinity and is only worth a warning. */
  if (sched_setaffinity(0, size, set))
    ci_log(ctx->channel, CI_LOG_WARNING, "could not reset the CPU affinity: %s", strerrordesc_np(errno));
  CPU_FREE(set);
  return 0;
}

/* Node numbers the kernel can have (MAX_NUMNODES is at most 1 << 10). */
#define CI_MAX_NODES 1024

int ci_op_memory_policy(struct ci_ctx *ctx, const struct ci_op_memory_policy *op) {
  unsigned long mask[CI_MAX_NODES / (8 * sizeof(unsigned long))] = {0};
  const size_t bits = 8 * sizeof(unsigned long);
  for (size_t i = 0; i < op->nodes.count; i++) {
    uint32_t node = ci_u32s_at(op->nodes, i);
    if (node >= CI_MAX_NODES) {
      errno = EINVAL;
      return ci_fail(ctx, "set_mempolicy", "node out of range");
    }
    mask[node / bits] |= 1UL << (node % bits);
  }
  /* The kernel reads maxnode - 1 bits. */
  if (syscall(SYS_set_mempolicy, (int)(op->mode | op->flags), op->nodes.count ? mask : NULL,
              op->nodes.count ? (unsigned long)CI_MAX_NODES + 1 : 0UL))
    return ci_fail(ctx, "set_mempolicy", NULL);
  return 0;
}
