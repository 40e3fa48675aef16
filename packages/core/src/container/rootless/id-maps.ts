import { accessSync, constants, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';

import { CorralError, InvalidConfigError } from '../../errors.js';
import { createsUserNamespace } from '../../plan/namespaces.js';
import type { IdMapping, Spec } from '../../spec/types.js';
import type { RootlessMode } from './mode.js';
import { covers, describeRanges, type IdRange, readSubordinateRanges } from './subids.js';

/** How the maps of a new user namespace are written when the runtime is not the host's root. */
export interface IdMapWriting {
  /** newuidmap's path, for maps beyond the user's own uid; written directly without one. */
  uidTool?: string;
  /** newgidmap's path, likewise. */
  gidTool?: string;
  /** setgroups is denied before gid_map is written: the kernel's rule for an unprivileged single-line map. */
  denySetgroups?: boolean;
}

const KINDS = {
  uid: { field: 'linux.uidMappings', file: '/etc/subuid', tool: 'newuidmap', self: '/proc/self/uid_map' },
  gid: { field: 'linux.gidMappings', file: '/etc/subgid', tool: 'newgidmap', self: '/proc/self/gid_map' },
} as const;

/** A program on PATH, as the shell would find it (Go's exec.LookPath, which runc uses). */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function userName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

const span = (m: IdMapping) => `${m.hostID}-${m.hostID + m.size - 1}`;

/**
 * A user's maps: its own id alone is written directly (runc's single-entry mapping, with
 * setgroups denied for gids); anything more goes through newuidmap and newgidmap, which allow
 * the ranges /etc/subuid and /etc/subgid give the user. Checked here, before anything exists,
 * so that a range the user does not own is named rather than refused half-way by the tool.
 */
function userMaps(spec: Spec, kind: 'uid' | 'gid'): { tool?: string; own: boolean } {
  const { field, file, tool } = KINDS[kind];
  const mappings = kind === 'uid' ? spec.linux!.uidMappings! : spec.linux!.gidMappings!;
  const id = kind === 'uid' ? process.geteuid!() : process.getegid!();
  const single = (m: IdMapping) => m.size === 1 && m.hostID === id;
  if (mappings.length === 1 && single(mappings[0]!)) return { own: true };
  const name = userName();
  const who = name ?? `${kind} ${id}`;
  const ranges = readSubordinateRanges(file, { name, uid: process.geteuid!() });
  mappings.forEach((m, i) => {
    if (single(m) || covers(ranges, { start: m.hostID, count: m.size })) return;
    throw new InvalidConfigError(
      `${field}[${i}]`,
      `host ${kind}s ${span(m)} are not ${who}'s to map: ${file} gives ${who} ${describeRanges(ranges)}${m.size === 1 ? '' : ` (and ${kind} ${id} alone is ${who}'s own)`}`,
    );
  });
  const path = findOnPath(tool);
  if (!path) {
    throw new InvalidConfigError(
      field,
      `maps more than ${kind} ${id} alone, which takes ${tool} (Debian's uidmap package), and there is none on PATH`,
    );
  }
  return { tool: path, own: false };
}

/** The ids of the user namespace corral runs in, as ranges of its own ids (the first column of its map). */
function ownNamespaceRanges(kind: 'uid' | 'gid'): IdRange[] {
  return readFileSync(KINDS[kind].self, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((fields) => fields.length === 3 && fields.every(Number.isFinite))
    .map(([inside, , count]) => ({ start: inside!, count: count! }));
}

/** Root of a user namespace writes the maps itself, of ids its own namespace maps. */
function checkMappedInOwnNamespace(spec: Spec, kind: 'uid' | 'gid'): void {
  const { field, self } = KINDS[kind];
  const mappings = kind === 'uid' ? spec.linux!.uidMappings! : spec.linux!.gidMappings!;
  const ranges = ownNamespaceRanges(kind);
  mappings.forEach((m, i) => {
    if (covers(ranges, { start: m.hostID, count: m.size })) return;
    throw new InvalidConfigError(
      `${field}[${i}]`,
      `host ${kind}s ${span(m)} are not mapped in the user namespace corral runs in (${self} maps ${describeRanges(ranges)})`,
    );
  });
}

/**
 * How the new user namespace's maps get written, checked before anything exists: undefined for
 * the host's root (which writes any map), else the rootless way.
 */
export function planIdMapWriting(spec: Spec, mode: RootlessMode): IdMapWriting | undefined {
  if (!createsUserNamespace(spec)) return undefined;
  if (mode.euid) {
    const uid = userMaps(spec, 'uid');
    const gid = userMaps(spec, 'gid');
    return {
      ...(uid.tool ? { uidTool: uid.tool } : {}),
      ...(gid.tool ? { gidTool: gid.tool } : {}),
      denySetgroups: gid.own,
    };
  }
  if (mode.inUserNamespace) {
    checkMappedInOwnNamespace(spec, 'uid');
    checkMappedInOwnNamespace(spec, 'gid');
  }
  return undefined;
}

/** newuidmap PID inside outside count..., as runc runs it; its complaint becomes the error. */
export function runMappingTool(
  tool: string,
  pid: number,
  mappings: readonly IdMapping[],
  field: string,
): Promise<void> {
  const args = [String(pid), ...mappings.flatMap((m) => [m.containerID, m.hostID, m.size].map(String))];
  return new Promise((resolve, reject) => {
    // Loaded only here (see runHooks).
    const { execFile } = process.getBuiltinModule('node:child_process');
    execFile(tool, args, { timeout: 10_000, encoding: 'utf8' }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const said = stderr.trim().split('\n').pop() || error.message;
      reject(new CorralError('SYSTEM', `${tool} ${args.join(' ')} (${field}): ${said}`, { cause: error }));
    });
  });
}
