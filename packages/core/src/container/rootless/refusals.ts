import { lstatSync, readFileSync } from 'node:fs';

import { InvalidConfigError } from '../../errors.js';
import { createsUserNamespace, findNamespace, mapToHost } from '../../plan/namespaces.js';
import { RLIMITS } from '../../plan/rlimits.js';
import type { Spec } from '../../spec/types.js';
import type { RootlessMode } from './mode.js';

/** RLIMIT_* name -> the row of /proc/self/limits that shows it. */
const LIMIT_ROWS: Record<string, string> = {
  RLIMIT_CPU: 'Max cpu time',
  RLIMIT_FSIZE: 'Max file size',
  RLIMIT_DATA: 'Max data size',
  RLIMIT_STACK: 'Max stack size',
  RLIMIT_CORE: 'Max core file size',
  RLIMIT_RSS: 'Max resident set',
  RLIMIT_NPROC: 'Max processes',
  RLIMIT_NOFILE: 'Max open files',
  RLIMIT_MEMLOCK: 'Max locked memory',
  RLIMIT_AS: 'Max address space',
  RLIMIT_LOCKS: 'Max file locks',
  RLIMIT_SIGPENDING: 'Max pending signals',
  RLIMIT_MSGQUEUE: 'Max msgqueue size',
  RLIMIT_NICE: 'Max nice priority',
  RLIMIT_RTPRIO: 'Max realtime priority',
  RLIMIT_RTTIME: 'Max realtime timeout',
};

/** The hard limits of this process, from /proc/self/limits (Node has no getrlimit). */
function hardLimits(): Map<string, number> {
  const limits = new Map<string, number>();
  const text = readFileSync('/proc/self/limits', 'utf8');
  for (const [name, row] of Object.entries(LIMIT_ROWS)) {
    const line = text.split('\n').find((l) => l.startsWith(row));
    const hard = line?.slice(row.length).trim().split(/\s+/)[1];
    if (hard !== undefined) limits.set(name, hard === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hard));
  }
  return limits;
}

/**
 * A hard limit can only be raised with CAP_SYS_RESOURCE in the host's user namespace, which a
 * user (or root of a user namespace) lacks: a limit above this process's own is refused before
 * anything exists. Lower ones the container's init sets as usual.
 */
function checkRlimits(spec: Spec): void {
  const rlimits = spec.process?.rlimits ?? [];
  if (rlimits.length === 0) return;
  const hard = hardLimits();
  rlimits.forEach((limit, i) => {
    const current = hard.get(limit.type);
    if (current === undefined || !RLIMITS.has(limit.type) || limit.hard <= current) return;
    throw new InvalidConfigError(
      `process.rlimits[${i}]`,
      `${limit.type} hard ${limit.hard} is above this user's own hard limit ${current}, which only the host's root may raise`,
    );
  });
}

/** `uid=N` and `gid=N` options must name ids of the container's namespace (runc's rootlessEUIDMount). */
function checkMountIds(spec: Spec): void {
  if (!createsUserNamespace(spec)) return;
  (spec.mounts ?? []).forEach((mount, i) => {
    (mount.options ?? []).forEach((option, j) => {
      const match = /^(uid|gid)=(\d+)$/.exec(option);
      if (!match) return;
      const mappings = match[1] === 'uid' ? spec.linux!.uidMappings! : spec.linux!.gidMappings!;
      if (mapToHost(mappings, Number(match[2])) !== undefined) return;
      throw new InvalidConfigError(
        `mounts[${i}].options[${j}]`,
        `${option}: ${match[1]} ${match[2]} is not mapped in linux.${match[1]}Mappings`,
      );
    });
  });
}

/** A device of the config is bound from the host's node of that path, which must be there. */
function checkBoundDevices(spec: Spec): void {
  (spec.linux?.devices ?? []).forEach((device, i) => {
    const host = lstatSync(device.path, { throwIfNoEntry: false });
    if (host?.isCharacterDevice() || host?.isBlockDevice() || host?.isFIFO()) return;
    throw new InvalidConfigError(
      `linux.devices[${i}]`,
      `${device.path} is not a device on the host: corral binds a rootless container's devices from the host's, as it cannot make them`,
    );
  });
}

/**
 * What a user cannot have, refused before anything exists with the field at fault, as runc
 * refuses it (a user namespace, additional groups) or as the kernel would half-way through
 * (host interfaces, id-mapped mounts of host filesystems, raised limits).
 */
export function refuseUnprivileged(spec: Spec, mode: RootlessMode): void {
  if (mode.euid) {
    if (!findNamespace(spec, 'user')) {
      throw new InvalidConfigError(
        'linux.namespaces',
        `corral runs as uid ${process.geteuid!()}, not root: a rootless container needs a user namespace (corral spec --rootless writes one)`,
      );
    }
    if (spec.process?.user.additionalGids?.length) {
      throw new InvalidConfigError(
        'process.user.additionalGids',
        'a rootless container cannot set additional groups: setgroups is not allowed to it',
      );
    }
    const [device] = Object.keys(spec.linux?.netDevices ?? {});
    if (device !== undefined) {
      throw new InvalidConfigError(
        `linux.netDevices[${JSON.stringify(device)}]`,
        "moving a host interface into the container takes CAP_NET_ADMIN in the host's network namespace, which a rootless container does not have",
      );
    }
    (spec.mounts ?? []).forEach((mount, i) => {
      for (const key of ['uidMappings', 'gidMappings'] as const) {
        if (!mount[key]?.length) continue;
        throw new InvalidConfigError(
          `mounts[${i}].${key}`,
          "an id-mapped mount of a host filesystem takes CAP_SYS_ADMIN in the host's user namespace, which a rootless container does not have",
        );
      }
    });
    checkMountIds(spec);
  }
  if (mode.euid || mode.inUserNamespace) {
    checkRlimits(spec);
    checkBoundDevices(spec);
  }
}
