import type { InitOp } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import type { Spec, SpecProcess } from '../spec/types.js';

const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};
const SCHED_FLAGS: Record<string, bigint> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01n,
  SCHED_FLAG_RECLAIM: 0x02n,
  SCHED_FLAG_DL_OVERRUN: 0x04n,
  SCHED_FLAG_KEEP_POLICY: 0x08n,
  SCHED_FLAG_KEEP_PARAMS: 0x10n,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20n,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40n,
};
const IOPRIO_CLASSES: Record<string, number> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
};
const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

function integer(value: unknown, path: string, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    throw new InvalidConfigError(
      path,
      `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  return value as number;
}

function oneOf<T>(table: Record<string, T>, value: unknown, path: string): T {
  if (typeof value !== 'string' || !(value in table))
    throw new InvalidConfigError(
      path,
      `must be one of ${Object.keys(table).join(', ')}, got ${JSON.stringify(value)}`,
    );
  return table[value]!;
}

/** "0-3,7" as numbers below `limit`; the kernel decides which exist. */
function numberList(value: unknown, path: string, limit: number, what: string): number[] {
  if (typeof value !== 'string' || !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value))
    throw new InvalidConfigError(
      path,
      `must be a ${what} list such as "0-3,7", got ${JSON.stringify(value)}`,
    );
  const numbers = new Set<number>();
  for (const range of value.split(',')) {
    const [low, high = low] = range.split('-').map(Number) as [number, number?];
    if (high! < low || high! >= limit) throw new InvalidConfigError(path, `has an impossible range ${range}`);
    for (let n = low; n <= high!; n++) numbers.add(n);
  }
  return [...numbers];
}

const cpuList = (value: unknown, path: string) => numberList(value, path, 8192, 'CPU');

interface Scheduler {
  policy?: unknown;
  nice?: unknown;
  priority?: unknown;
  flags?: unknown;
  runtime?: unknown;
  deadline?: unknown;
  period?: unknown;
}

function schedulerOp(scheduler: Scheduler): InitOp {
  const path = 'process.scheduler';
  const policy = oneOf(SCHED_POLICIES, scheduler.policy, `${path}.policy`);
  const realtime = policy === SCHED_POLICIES.SCHED_FIFO || policy === SCHED_POLICIES.SCHED_RR;
  const priority = realtime ? integer(scheduler.priority, `${path}.priority`, 1, 99) : 0;
  if (!realtime && scheduler.priority !== undefined && scheduler.priority !== 0)
    throw new InvalidConfigError(`${path}.priority`, 'only SCHED_FIFO and SCHED_RR take a priority');
  const nice = scheduler.nice === undefined ? 0 : integer(scheduler.nice, `${path}.nice`, -20, 19);
  let flags = 0n;
  if (scheduler.flags !== undefined) {
    if (!Array.isArray(scheduler.flags)) throw new InvalidConfigError(`${path}.flags`, 'must be an array');
    scheduler.flags.forEach((flag, i) => {
      flags |= oneOf(SCHED_FLAGS, flag, `${path}.flags[${i}]`);
    });
  }
  const nanoseconds = (field: 'runtime' | 'deadline' | 'period') => {
    const value = scheduler[field];
    if (value === undefined) return 0n;
    if (!Number.isSafeInteger(value) || (value as number) < 0)
      throw new InvalidConfigError(
        `${path}.${field}`,
        `must be a non-negative integer, got ${JSON.stringify(value)}`,
      );
    return BigInt(value as number);
  };
  return {
    op: 'scheduler',
    policy,
    flags,
    nice: nice >>> 0, // two's complement on the wire
    priority,
    runtime: nanoseconds('runtime'),
    deadline: nanoseconds('deadline'),
    period: nanoseconds('period'),
  };
}

/**
 * The ops for process.scheduler, process.ioPriority, process.execCPUAffinity.final and
 * linux.personality, which the process sets on itself while it still has the privilege to.
 * execCPUAffinity.initial is for corral-init itself: see initialAffinityOp.
 */
export function processAttributeOps(process: SpecProcess, spec: Spec): Array<{ op: InitOp; why: string }> {
  const ops: Array<{ op: InitOp; why: string }> = [];
  const fields = process as unknown as Record<string, Record<string, unknown> | undefined>;
  if (fields.scheduler)
    ops.push({ op: schedulerOp(fields.scheduler), why: 'set the scheduler (process.scheduler)' });
  const io = fields.ioPriority;
  if (io) {
    ops.push({
      op: {
        op: 'ioPriority',
        ioClass: oneOf(IOPRIO_CLASSES, io.class, 'process.ioPriority.class'),
        level: integer(io.priority ?? 0, 'process.ioPriority.priority', 0, 7),
      },
      why: 'set the I/O priority (process.ioPriority)',
    });
  }
  const personality = (spec.linux as Record<string, Record<string, unknown> | undefined> | undefined)
    ?.personality;
  if (personality) {
    if (Array.isArray(personality.flags) && personality.flags.length > 0)
      throw new InvalidConfigError('linux.personality.flags', 'no personality flags are supported');
    ops.push({
      op: {
        op: 'personality',
        domain: oneOf(PERSONALITY_DOMAINS, personality.domain, 'linux.personality.domain'),
      },
      why: 'set the personality (linux.personality)',
    });
  }
  const final = fields.execCPUAffinity?.final;
  if (final !== undefined) {
    ops.push({
      op: { op: 'cpuAffinity', cpus: cpuList(final, 'process.execCPUAffinity.final') },
      why: 'set the CPU affinity (process.execCPUAffinity.final)',
    });
  }
  return ops;
}

/** execCPUAffinity.initial: corral-init's own affinity, before it joins the container's cgroup. */
export function initialAffinityOp(process: SpecProcess): { op: InitOp; why: string } | undefined {
  const initial = (process as unknown as Record<string, Record<string, unknown> | undefined>).execCPUAffinity
    ?.initial;
  if (initial === undefined) return undefined;
  return {
    op: { op: 'cpuAffinity', cpus: cpuList(initial, 'process.execCPUAffinity.initial') },
    why: 'set the CPU affinity (process.execCPUAffinity.initial)',
  };
}

const MEMORY_POLICY_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
const MEMORY_POLICY_FLAGS: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};
// The kernel's MAX_NUMNODES is at most 1 << 10.
const MAX_NUMA_NODES = 1024;

/** linux.memoryPolicy as set_mempolicy(2) takes it, checked as runc checks it. */
export function memoryPolicyOp(spec: Spec): InitOp | undefined {
  const policy = (spec.linux as Record<string, unknown> | undefined)?.memoryPolicy as
    | Record<string, unknown>
    | undefined;
  if (policy === undefined) return undefined;
  const path = 'linux.memoryPolicy';
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy))
    throw new InvalidConfigError(path, 'must be an object');
  // runc's words for a name it does not know (libcontainer/specconv).
  const known = (table: Record<string, number>, name: unknown, at: string, what: string): number => {
    if (typeof name !== 'string' || !Object.hasOwn(table, name))
      throw new InvalidConfigError(at, `invalid memory policy ${what} ${JSON.stringify(name)}`);
    return table[name]!;
  };
  const modeName = policy.mode as string;
  const mode = known(MEMORY_POLICY_MODES, modeName, `${path}.mode`, 'mode');
  const nodes =
    policy.nodes === undefined || policy.nodes === ''
      ? []
      : numberList(policy.nodes, `${path}.nodes`, MAX_NUMA_NODES, 'node');
  let flags = 0;
  if (policy.flags !== undefined) {
    if (!Array.isArray(policy.flags)) throw new InvalidConfigError(`${path}.flags`, 'must be an array');
    policy.flags.forEach((flag, i) => {
      flags |= known(MEMORY_POLICY_FLAGS, flag, `${path}.flags[${i}]`, 'flag');
    });
  }
  const exclusive = MEMORY_POLICY_FLAGS.MPOL_F_STATIC_NODES! | MEMORY_POLICY_FLAGS.MPOL_F_RELATIVE_NODES!;
  if ((flags & exclusive) === exclusive)
    throw new InvalidConfigError(
      `${path}.flags`,
      'MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other',
    );
  if ((modeName === 'MPOL_DEFAULT' || modeName === 'MPOL_LOCAL') && nodes.length > 0)
    throw new InvalidConfigError(`${path}.nodes`, `${modeName} takes no nodes`);
  const needsNodes = ['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_PREFERRED_MANY', 'MPOL_WEIGHTED_INTERLEAVE'];
  if (needsNodes.includes(modeName) && nodes.length === 0)
    throw new InvalidConfigError(`${path}.nodes`, `${modeName} needs at least one node`);
  return { op: 'memoryPolicy', mode, flags, nodes };
}
