import type { CompiledSeccompFilter, InitOp, SeccompRule } from '@corral/native';

import { InvalidConfigError } from '../errors.js';
import type { SpecSeccomp } from '../spec/types.js';
import { compileSeccompCached, type SeccompProgramCache } from './seccomp-cache.js';

const EPERM = 1;

/**
 * The OCI action names and libseccomp's action values (the kernel's SECCOMP_RET_*). An action
 * that carries data (ERRNO, TRACE) gets it ORed into the low 16 bits.
 */
export const SECCOMP_ACTIONS = new Map<string, number>([
  ['SCMP_ACT_KILL', 0x00000000],
  ['SCMP_ACT_KILL_THREAD', 0x00000000],
  ['SCMP_ACT_KILL_PROCESS', 0x80000000],
  ['SCMP_ACT_TRAP', 0x00030000],
  ['SCMP_ACT_ERRNO', 0x00050000],
  ['SCMP_ACT_TRACE', 0x7ff00000],
  ['SCMP_ACT_LOG', 0x7ffc0000],
  ['SCMP_ACT_ALLOW', 0x7fff0000],
  ['SCMP_ACT_NOTIFY', 0x7fc00000],
]);

/** Actions that return a value to the caller: errnoRet applies only to these. */
const ACTIONS_WITH_DATA = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

/**
 * Calls corral-init makes between installing a filter and handing its listener over: a
 * notification on them would wait for a listener nobody holds yet.
 */
const UNNOTIFIABLE_SYSCALLS = new Set(['sendmsg']);

/** libseccomp's scmp_compare values. */
export const SECCOMP_OPERATORS = new Map<string, number>([
  ['SCMP_CMP_NE', 1],
  ['SCMP_CMP_LT', 2],
  ['SCMP_CMP_LE', 3],
  ['SCMP_CMP_EQ', 4],
  ['SCMP_CMP_GE', 5],
  ['SCMP_CMP_GT', 6],
  ['SCMP_CMP_MASKED_EQ', 7],
]);

/** The OCI architecture names and libseccomp's names for them. */
export const SECCOMP_ARCHITECTURES = new Map<string, string>([
  ['SCMP_ARCH_X86', 'x86'],
  ['SCMP_ARCH_X86_64', 'x86_64'],
  ['SCMP_ARCH_X32', 'x32'],
  ['SCMP_ARCH_ARM', 'arm'],
  ['SCMP_ARCH_AARCH64', 'aarch64'],
  ['SCMP_ARCH_MIPS', 'mips'],
  ['SCMP_ARCH_MIPS64', 'mips64'],
  ['SCMP_ARCH_MIPS64N32', 'mips64n32'],
  ['SCMP_ARCH_MIPSEL', 'mipsel'],
  ['SCMP_ARCH_MIPSEL64', 'mipsel64'],
  ['SCMP_ARCH_MIPSEL64N32', 'mipsel64n32'],
  ['SCMP_ARCH_PPC', 'ppc'],
  ['SCMP_ARCH_PPC64', 'ppc64'],
  ['SCMP_ARCH_PPC64LE', 'ppc64le'],
  ['SCMP_ARCH_S390', 's390'],
  ['SCMP_ARCH_S390X', 's390x'],
  ['SCMP_ARCH_PARISC', 'parisc'],
  ['SCMP_ARCH_PARISC64', 'parisc64'],
  ['SCMP_ARCH_RISCV64', 'riscv64'],
]);

const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;

/** seccomp(2) SECCOMP_FILTER_FLAG_* values of the flags a config may ask for. */
export const SECCOMP_FLAGS = new Map<string, number>([
  ['SECCOMP_FILTER_FLAG_TSYNC', 1],
  ['SECCOMP_FILTER_FLAG_LOG', 2],
  ['SECCOMP_FILTER_FLAG_SPEC_ALLOW', 4],
  ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 32],
]);

/** Flags that mean something only with a notification listener: left out without one. */
const LISTENER_FLAGS = new Set(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']);

const MAX_ARGS = 6;
/** SECCOMP_RET_DATA holds 16 bits. */
const MAX_RET = 0xffff;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf(table: ReadonlyMap<string, unknown>, value: unknown, path: string, what: string): void {
  if (typeof value !== 'string')
    throw new InvalidConfigError(path, `must be a string, got ${describe(value)}`);
  if (!table.has(value)) throw new InvalidConfigError(path, `unknown ${what} ${JSON.stringify(value)}`);
}

function action(value: unknown, path: string): void {
  oneOf(SECCOMP_ACTIONS, value, path, 'seccomp action');
}

function errnoRet(value: unknown, actionName: string, path: string): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_RET)
    throw new InvalidConfigError(path, `must be an integer from 0 to ${MAX_RET}, got ${describe(value)}`);
  if (!ACTIONS_WITH_DATA.has(actionName))
    throw new InvalidConfigError(
      path,
      `applies only to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${actionName}`,
    );
}

function stringList(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) throw new InvalidConfigError(path, `must be an array, got ${describe(value)}`);
  value.forEach((item, i) => {
    if (typeof item !== 'string')
      throw new InvalidConfigError(`${path}[${i}]`, `must be a string, got ${describe(item)}`);
  });
  return value as string[];
}

function uint64(value: unknown, path: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new InvalidConfigError(path, `must be a non-negative integer, got ${describe(value)}`);
}

/** Checks linux.seccomp before anything is created; names the field at fault. */
export function validateSeccomp(value: unknown, path = 'linux.seccomp'): SpecSeccomp {
  if (!isObject(value)) throw new InvalidConfigError(path, `must be an object, got ${describe(value)}`);
  action(value.defaultAction, `${path}.defaultAction`);
  // Every call after the filter, the runtime's own included, would wait on the listener.
  if (value.defaultAction === 'SCMP_ACT_NOTIFY')
    throw new InvalidConfigError(`${path}.defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action');
  errnoRet(value.defaultErrnoRet, value.defaultAction as string, `${path}.defaultErrnoRet`);
  if (value.architectures !== undefined) {
    stringList(value.architectures, `${path}.architectures`).forEach((arch, i) => {
      oneOf(SECCOMP_ARCHITECTURES, arch, `${path}.architectures[${i}]`, 'architecture');
    });
  }
  if (value.flags !== undefined) {
    stringList(value.flags, `${path}.flags`).forEach((flag, i) => {
      oneOf(SECCOMP_FLAGS, flag, `${path}.flags[${i}]`, 'seccomp flag');
    });
  }
  for (const field of ['listenerPath', 'listenerMetadata'] as const) {
    if (value[field] !== undefined && typeof value[field] !== 'string')
      throw new InvalidConfigError(`${path}.${field}`, `must be a string, got ${describe(value[field])}`);
  }
  if (value.syscalls !== undefined) {
    if (!Array.isArray(value.syscalls))
      throw new InvalidConfigError(`${path}.syscalls`, `must be an array, got ${describe(value.syscalls)}`);
    value.syscalls.forEach((rule: unknown, i) => {
      const at = `${path}.syscalls[${i}]`;
      if (!isObject(rule)) throw new InvalidConfigError(at, `must be an object, got ${describe(rule)}`);
      const names = stringList(rule.names, `${at}.names`);
      if (names.length === 0) throw new InvalidConfigError(`${at}.names`, 'must name at least one syscall');
      action(rule.action, `${at}.action`);
      const blocked = rule.action === 'SCMP_ACT_NOTIFY' && names.find((n) => UNNOTIFIABLE_SYSCALLS.has(n));
      if (blocked)
        throw new InvalidConfigError(
          `${at}.names`,
          `SCMP_ACT_NOTIFY cannot apply to ${blocked}: the runtime hands the listener over with it`,
        );
      errnoRet(rule.errnoRet, rule.action as string, `${at}.errnoRet`);
      if (rule.args === undefined) return;
      if (!Array.isArray(rule.args))
        throw new InvalidConfigError(`${at}.args`, `must be an array, got ${describe(rule.args)}`);
      rule.args.forEach((arg: unknown, j) => {
        const argAt = `${at}.args[${j}]`;
        if (!isObject(arg)) throw new InvalidConfigError(argAt, `must be an object, got ${describe(arg)}`);
        if (!Number.isInteger(arg.index) || (arg.index as number) < 0 || (arg.index as number) >= MAX_ARGS)
          throw new InvalidConfigError(
            `${argAt}.index`,
            `must be an integer from 0 to ${MAX_ARGS - 1}, got ${describe(arg.index)}`,
          );
        uint64(arg.value, `${argAt}.value`);
        if (arg.valueTwo !== undefined) uint64(arg.valueTwo, `${argAt}.valueTwo`);
        oneOf(SECCOMP_OPERATORS, arg.op, `${argAt}.op`, 'operator');
      });
    });
  }
  const notifies = (value.syscalls as Array<{ action?: unknown }> | undefined)?.some(
    (rule) => rule.action === 'SCMP_ACT_NOTIFY',
  );
  if (notifies && !value.listenerPath)
    throw new InvalidConfigError(`${path}.listenerPath`, 'is required when a rule uses SCMP_ACT_NOTIFY');
  return value as unknown as SpecSeccomp;
}

function actionValue(name: string, ret: number | undefined): number {
  const base = SECCOMP_ACTIONS.get(name)!;
  return ACTIONS_WITH_DATA.has(name) ? (base | (ret ?? EPERM)) >>> 0 : base;
}

/** The compiled filter as a plan op, and what the plan says about it. */
export interface SeccompStep {
  op: Extract<InitOp, { op: 'seccomp' }>;
  description: string;
  /** Where the notification listener goes (linux.seccomp.listenerPath), when a rule notifies. */
  listener?: { path: string; metadata: string };
}

/**
 * Compiles a validated linux.seccomp with libseccomp into the op that installs it. Syscall names
 * this libseccomp does not know are skipped (a profile written for newer kernels still loads);
 * a rule with the default action is left out, since it changes nothing.
 */
export function compileSeccomp(seccomp: SpecSeccomp, cache?: SeccompProgramCache): SeccompStep {
  const defaultAction = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet);
  const rules: SeccompRule[] = [];
  (seccomp.syscalls ?? []).forEach((rule, i) => {
    const value = actionValue(rule.action, rule.errnoRet);
    if (value === defaultAction) return;
    rules.push({
      names: rule.names,
      action: value,
      where: `linux.seccomp.syscalls[${i}]`,
      args: (rule.args ?? []).map((arg) => ({
        index: arg.index,
        op: SECCOMP_OPERATORS.get(arg.op)!,
        value: BigInt(arg.value),
        valueTwo: BigInt(arg.valueTwo ?? 0),
      })),
    });
  });
  let compiled: CompiledSeccompFilter;
  try {
    compiled = compileSeccompCached(
      {
        defaultAction,
        architectures: (seccomp.architectures ?? []).map((arch) => SECCOMP_ARCHITECTURES.get(arch)!),
        rules,
      },
      cache,
    );
  } catch (error) {
    throw new InvalidConfigError('linux.seccomp', (error as Error).message, { cause: error });
  }
  const notifies = (seccomp.syscalls ?? []).some((rule) => rule.action === 'SCMP_ACT_NOTIFY');
  let flags = notifies ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  for (const flag of seccomp.flags ?? [])
    if (notifies || !LISTENER_FLAGS.has(flag)) flags |= SECCOMP_FLAGS.get(flag)!;
  const { program } = compiled;
  const words = Array.from({ length: program.length / 4 }, (_, i) => program.readUInt32LE(4 * i));
  const skipped = compiled.unknownSyscalls.length
    ? `; unknown syscalls skipped: ${[...new Set(compiled.unknownSyscalls)].join(', ')}`
    : '';
  return {
    op: { op: 'seccomp', flags, program: words },
    description: `install the seccomp filter (linux.seccomp${skipped})`,
    listener: notifies
      ? { path: seccomp.listenerPath!, metadata: seccomp.listenerMetadata ?? '' }
      : undefined,
  };
}
