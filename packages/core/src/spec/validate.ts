import { InvalidConfigError } from '../errors.js';
import { CAPABILITIES } from '../plan/capabilities.js';
import { RLIMITS } from '../plan/rlimits.js';
import { validateSeccomp } from '../plan/seccomp.js';
import { foldKeys, RESOURCES } from './go-keys.js';
import type { NamespaceType, Spec, TimeClock } from './types.js';

const NAMESPACE_TYPES: ReadonlySet<string> = new Set<NamespaceType>([
  'pid',
  'network',
  'mount',
  'ipc',
  'uts',
  'user',
  'cgroup',
  'time',
]);
// The kernel keeps a shifted clock below KTIME_SEC_MAX / 2 seconds.
const MAX_CLOCK_OFFSET = 4611686018;
const TIME_CLOCKS: ReadonlySet<string> = new Set<TimeClock>(['monotonic', 'boottime']);
const HOOK_KINDS = [
  'prestart',
  'createRuntime',
  'createContainer',
  'startContainer',
  'poststart',
  'poststop',
] as const;
const CAPABILITY_SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;
const PROPAGATIONS = new Set([
  '',
  'private',
  'rprivate',
  'slave',
  'rslave',
  'shared',
  'rshared',
  'unbindable',
  'runbindable',
]);

type Kind = 'string' | 'boolean' | 'object' | 'array' | 'uint32' | 'uint64';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

function check(value: unknown, path: string, kind: Kind): void {
  const ok =
    kind === 'string'
      ? typeof value === 'string'
      : kind === 'boolean'
        ? typeof value === 'boolean'
        : kind === 'object'
          ? typeof value === 'object' && value !== null && !Array.isArray(value)
          : kind === 'array'
            ? Array.isArray(value)
            : kind === 'uint32'
              ? Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff
              : Number.isSafeInteger(value) && (value as number) >= 0;
  if (!ok) {
    const wanted =
      kind === 'uint32'
        ? 'an integer from 0 to 4294967295'
        : kind === 'uint64'
          ? 'a non-negative integer'
          : kind === 'array' || kind === 'object'
            ? `an ${kind}`
            : `a ${kind}`;
    throw new InvalidConfigError(path, `must be ${wanted}, got ${describe(value)}`);
  }
}

function optional(value: unknown, path: string, kind: Kind): void {
  if (value !== undefined) check(value, path, kind);
}

function stringList(value: unknown, path: string): void {
  check(value, path, 'array');
  for (const [i, item] of (value as unknown[]).entries()) check(item, `${path}[${i}]`, 'string');
}

function absolutePath(value: unknown, path: string): void {
  check(value, path, 'string');
  if (!(value as string).startsWith('/'))
    throw new InvalidConfigError(path, `must be an absolute path, got ${JSON.stringify(value)}`);
}

/**
 * Checks every field corral reads, before anything is created, and names the field at fault.
 * Returns the same object typed as a Spec, read as runc reads it: a missing process.user is
 * uid and gid 0, resource keys match their fields as Go's decoder matches them, and what runc
 * only warns about (unknown capabilities, kernel memory) is dropped with a line in `warnings`.
 */
export function validateSpec(raw: unknown, warnings: string[] = []): Spec {
  check(raw, '', 'object');
  const spec = raw as Spec;
  check(spec.ociVersion, 'ociVersion', 'string');
  if (spec.root === undefined) throw InvalidConfigError.inRuncWords('root', 'root must be specified');
  check(spec.root, 'root', 'object');
  check(spec.root?.path, 'root.path', 'string');
  if (!spec.root?.path) throw new InvalidConfigError('root.path', 'must not be empty');
  optional(spec.root?.readonly, 'root.readonly', 'boolean');
  optional(spec.hostname, 'hostname', 'string');
  optional(spec.domainname, 'domainname', 'string');

  if (spec.process === undefined)
    throw InvalidConfigError.inRuncWords('process', 'process property must not be empty');
  check(spec.process, 'process', 'object');
  const process = spec.process!;
  optional(process.terminal, 'process.terminal', 'boolean');
  if (
    process.oomScoreAdj !== undefined &&
    !(Number.isInteger(process.oomScoreAdj) && process.oomScoreAdj >= -1000 && process.oomScoreAdj <= 1000)
  ) {
    throw new InvalidConfigError(
      'process.oomScoreAdj',
      `must be an integer from -1000 to 1000, got ${describe(process.oomScoreAdj)}`,
    );
  }
  if (process.consoleSize !== undefined) {
    check(process.consoleSize, 'process.consoleSize', 'object');
    for (const side of ['height', 'width'] as const) {
      const value = process.consoleSize[side];
      if (!Number.isInteger(value) || value < 0 || value > 0xffff)
        throw new InvalidConfigError(
          `process.consoleSize.${side}`,
          `must be an integer from 0 to 65535, got ${describe(value)}`,
        );
    }
  }
  if (process.args === undefined || (Array.isArray(process.args) && process.args.length === 0))
    throw InvalidConfigError.inRuncWords('process.args', 'args must not be empty');
  stringList(process.args, 'process.args');
  if (process.args[0] === '') throw new InvalidConfigError('process.args[0]', 'must name the program to run');
  if (process.env !== undefined) stringList(process.env, 'process.env');
  process.env?.forEach((entry, i) => {
    if (entry.indexOf('=') < 1)
      throw new InvalidConfigError(`process.env[${i}]`, `must be KEY=value, got ${JSON.stringify(entry)}`);
  });
  if (!process.cwd) throw InvalidConfigError.inRuncWords('process.cwd', 'Cwd property must not be empty');
  check(process.cwd, 'process.cwd', 'string');
  if (!process.cwd.startsWith('/'))
    throw InvalidConfigError.inRuncWords('process.cwd', 'Cwd must be an absolute path');
  // Go's zero values, as runc decodes a process without a user or a gid.
  process.user ??= { uid: 0, gid: 0 };
  check(process.user, 'process.user', 'object');
  process.user.uid ??= 0;
  process.user.gid ??= 0;
  check(process.user.uid, 'process.user.uid', 'uint32');
  check(process.user.gid, 'process.user.gid', 'uint32');
  optional(process.user.umask, 'process.user.umask', 'uint32');
  if (process.user.additionalGids !== undefined) {
    check(process.user.additionalGids, 'process.user.additionalGids', 'array');
    for (const [i, gid] of process.user.additionalGids.entries()) {
      check(gid, `process.user.additionalGids[${i}]`, 'uint32');
    }
  }
  optional(process.noNewPrivileges, 'process.noNewPrivileges', 'boolean');
  if (process.capabilities !== undefined) {
    check(process.capabilities, 'process.capabilities', 'object');
    const unknown = new Set<string>();
    for (const set of CAPABILITY_SETS) {
      const names = process.capabilities[set];
      if (names === undefined) continue;
      stringList(names, `process.capabilities.${set}`);
      for (const name of names) if (!CAPABILITIES.has(name)) unknown.add(name);
      process.capabilities[set] = names.filter((name) => CAPABILITIES.has(name));
    }
    // runc's words: a capability this kernel or build does not know is left out, not an error.
    if (unknown.size)
      warnings.push(`ignoring unknown or unavailable capabilities: [${[...unknown].join(' ')}]`);
  }
  if (process.rlimits !== undefined) {
    check(process.rlimits, 'process.rlimits', 'array');
    const seen = new Set<string>();
    process.rlimits.forEach((limit, i) => {
      const path = `process.rlimits[${i}]`;
      check(limit, path, 'object');
      check(limit.type, `${path}.type`, 'string');
      if (!RLIMITS.has(limit.type))
        throw new InvalidConfigError(`${path}.type`, `unknown rlimit ${JSON.stringify(limit.type)}`);
      if (seen.has(limit.type)) throw new InvalidConfigError(`${path}.type`, `${limit.type} is given twice`);
      seen.add(limit.type);
      check(limit.soft, `${path}.soft`, 'uint64');
      check(limit.hard, `${path}.hard`, 'uint64');
      if (limit.soft > limit.hard)
        throw new InvalidConfigError(path, `soft limit ${limit.soft} is above hard limit ${limit.hard}`);
    });
  }

  if (spec.mounts !== undefined) {
    check(spec.mounts, 'mounts', 'array');
    spec.mounts.forEach((mount, i) => {
      const path = `mounts[${i}]`;
      check(mount, path, 'object');
      check(mount.destination, `${path}.destination`, 'string');
      if (!mount.destination) throw new InvalidConfigError(`${path}.destination`, 'must not be empty');
      optional(mount.type, `${path}.type`, 'string');
      optional(mount.source, `${path}.source`, 'string');
      if (mount.options !== undefined) stringList(mount.options, `${path}.options`);
    });
  }

  if (spec.hooks !== undefined) {
    check(spec.hooks, 'hooks', 'object');
    for (const kind of HOOK_KINDS) {
      const hooks = spec.hooks[kind];
      if (hooks === undefined) continue;
      check(hooks, `hooks.${kind}`, 'array');
      for (const [i, hook] of hooks.entries()) {
        const path = `hooks.${kind}[${i}]`;
        check(hook, path, 'object');
        absolutePath(hook.path, `${path}.path`);
        if (hook.args !== undefined) stringList(hook.args, `${path}.args`);
        if (hook.env !== undefined) stringList(hook.env, `${path}.env`);
        if (hook.timeout !== undefined && !(Number.isInteger(hook.timeout) && hook.timeout > 0)) {
          throw new InvalidConfigError(
            `${path}.timeout`,
            `must be a positive integer of seconds, got ${describe(hook.timeout)}`,
          );
        }
      }
    }
  }

  const linux = spec.linux;
  if (linux !== undefined) {
    check(linux, 'linux', 'object');
    if (linux.namespaces !== undefined) {
      check(linux.namespaces, 'linux.namespaces', 'array');
      const seen = new Set<string>();
      linux.namespaces.forEach((ns, i) => {
        const path = `linux.namespaces[${i}]`;
        check(ns, path, 'object');
        check(ns.type, `${path}.type`, 'string');
        if (!NAMESPACE_TYPES.has(ns.type))
          throw InvalidConfigError.inRuncWords(
            `${path}.type`,
            `namespace ${JSON.stringify(ns.type)} does not exist`,
          );
        if (seen.has(ns.type))
          throw new InvalidConfigError(`${path}.type`, `the ${ns.type} namespace is given twice`);
        seen.add(ns.type);
        if (ns.path !== undefined) absolutePath(ns.path, `${path}.path`);
      });
    }
    for (const field of ['uidMappings', 'gidMappings'] as const) {
      const mappings = linux[field];
      if (mappings === undefined) continue;
      check(mappings, `linux.${field}`, 'array');
      mappings.forEach((mapping, i) => {
        const path = `linux.${field}[${i}]`;
        check(mapping, path, 'object');
        check(mapping.containerID, `${path}.containerID`, 'uint32');
        check(mapping.hostID, `${path}.hostID`, 'uint32');
        check(mapping.size, `${path}.size`, 'uint32');
      });
    }
    if (linux.timeOffsets !== undefined) {
      check(linux.timeOffsets, 'linux.timeOffsets', 'object');
      for (const [clock, offset] of Object.entries(linux.timeOffsets)) {
        const path = `linux.timeOffsets.${clock}`;
        if (!TIME_CLOCKS.has(clock))
          throw new InvalidConfigError(path, 'unknown clock: a time namespace shifts monotonic and boottime');
        check(offset, path, 'object');
        if (
          offset.secs !== undefined &&
          !(Number.isInteger(offset.secs) && Math.abs(offset.secs) <= MAX_CLOCK_OFFSET)
        )
          throw new InvalidConfigError(
            `${path}.secs`,
            `must be an integer from -${MAX_CLOCK_OFFSET} to ${MAX_CLOCK_OFFSET}, got ${describe(offset.secs)}`,
          );
        if (
          offset.nanosecs !== undefined &&
          !(Number.isInteger(offset.nanosecs) && offset.nanosecs >= 0 && offset.nanosecs < 1e9)
        ) {
          throw new InvalidConfigError(
            `${path}.nanosecs`,
            `must be an integer from 0 to 999999999, got ${describe(offset.nanosecs)}`,
          );
        }
      }
    }
    if (linux.maskedPaths !== undefined) stringList(linux.maskedPaths, 'linux.maskedPaths');
    for (const [i, p] of (linux.maskedPaths ?? []).entries()) absolutePath(p, `linux.maskedPaths[${i}]`);
    if (linux.readonlyPaths !== undefined) stringList(linux.readonlyPaths, 'linux.readonlyPaths');
    for (const [i, p] of (linux.readonlyPaths ?? []).entries()) absolutePath(p, `linux.readonlyPaths[${i}]`);
    optional(linux.rootfsPropagation, 'linux.rootfsPropagation', 'string');
    if (linux.rootfsPropagation !== undefined && !PROPAGATIONS.has(linux.rootfsPropagation)) {
      throw new InvalidConfigError(
        'linux.rootfsPropagation',
        `unknown propagation ${JSON.stringify(linux.rootfsPropagation)}`,
      );
    }
    if (linux.devices !== undefined) {
      check(linux.devices, 'linux.devices', 'array');
      linux.devices.forEach((device, i) => {
        const path = `linux.devices[${i}]`;
        check(device, path, 'object');
        absolutePath(device.path, `${path}.path`);
        if (!['c', 'u', 'b', 'p'].includes(device.type)) {
          throw new InvalidConfigError(
            `${path}.type`,
            `must be one of c, u, b, p, got ${describe(device.type)}`,
          );
        }
        if (device.type !== 'p') {
          check(device.major, `${path}.major`, 'uint32');
          check(device.minor, `${path}.minor`, 'uint32');
        }
        optional(device.fileMode, `${path}.fileMode`, 'uint32');
        optional(device.uid, `${path}.uid`, 'uint32');
        optional(device.gid, `${path}.gid`, 'uint32');
      });
    }
    if (linux.seccomp !== undefined) validateSeccomp(linux.seccomp);
    if (linux.resources !== undefined) readResources(linux, warnings);
  }
  return spec;
}

/** linux.resources as runc reads them: keys matched as Go matches fields, kernel memory dropped. */
function readResources(linux: NonNullable<Spec['linux']>, warnings: string[]): void {
  check(linux.resources, 'linux.resources', 'object');
  const resources = foldKeys(linux.resources, RESOURCES) as Record<string, unknown>;
  const memory = resources.memory as Record<string, unknown> | undefined;
  if (memory && typeof memory === 'object' && memory.kernel !== undefined) {
    // The kernel no longer applies it (runc's words, and runc ignores it too).
    delete memory.kernel;
    warnings.push('Kernel memory settings are ignored and will be removed');
  }
  linux.resources = resources;
}
