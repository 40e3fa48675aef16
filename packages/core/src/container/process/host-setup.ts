import { chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CorralError } from '../errors.js';
import { createsUserNamespace, idMapText, mapToHost } from '../plan/namespaces.js';
import type { Spec } from '../spec/types.js';

/**
 * Writes the id maps of the container process's new user namespace. The runtime does it (not
 * corral-init): it learns the pid at childStarted, is root in the parent namespace as the
 * kernel requires of the writer, and the process waits for GO until the maps exist, so no
 * second round trip with corral-init is needed. setgroups stays "allow": the writer is
 * privileged, and the container's root may set its own groups as runc's does.
 */
export function writeIdMaps(spec: Spec, pid: number): void {
  if (!createsUserNamespace(spec)) return;
  const linux = spec.linux!;
  for (const [file, mappings] of [
    ['uid_map', linux.uidMappings!],
    ['gid_map', linux.gidMappings!],
  ] as const) {
    const path = `/proc/${pid}/${file}`;
    try {
      writeFileSync(path, idMapText(mappings));
    } catch (error) {
      const field = file === 'uid_map' ? 'linux.uidMappings' : 'linux.gidMappings';
      throw new CorralError('SYSTEM', `write ${path} (${field}): ${(error as NodeJS.ErrnoException).code}`, {
        cause: error,
      });
    }
  }
}

/** The host ids the container's root has, when it has a user namespace of its own. */
export function hostRoot(spec: Spec): { uid: number; gid: number } | undefined {
  if (!createsUserNamespace(spec)) return undefined;
  return { uid: mapToHost(spec.linux!.uidMappings!, 0)!, gid: mapToHost(spec.linux!.gidMappings!, 0)! };
}

const DELEGATE_LIST = '/sys/kernel/cgroup/delegate';

/**
 * Hands the container's cgroup2 directory to its root, as a delegation: the directory and the
 * files the kernel lists as safe to delegate, so the container can make and fill sub-cgroups
 * while its limits (owned by host root) stay out of its reach.
 */
export function delegateCgroup(paths: Record<string, string>, owner: { uid: number; gid: number }): void {
  const dir = paths[''];
  if (!dir) return;
  const files = existsSync(DELEGATE_LIST)
    ? readFileSync(DELEGATE_LIST, 'utf8').split('\n').filter(Boolean)
    : ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'];
  try {
    chownSync(dir, owner.uid, owner.gid);
    for (const file of files) {
      const path = join(dir, file);
      if (existsSync(path)) chownSync(path, owner.uid, owner.gid);
    }
  } catch (error) {
    throw new CorralError(
      'SYSTEM',
      `delegate the cgroup ${dir} to the container's root: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
