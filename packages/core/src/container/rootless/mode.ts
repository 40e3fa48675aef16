import { readFileSync } from 'node:fs';

/** runc's global --rootless: `true`, `false`, or `auto` (decided from who runs the runtime). */
export type RootlessSetting = 'auto' | boolean;

/** What corral does without the host's root, decided once per command as runc decides it. */
export interface RootlessMode {
  /**
   * The runtime is not root (runc's RootlessEUID): the user namespace is made with the ids the
   * user owns, setgroups stays denied, and what only the host's root may do is refused.
   */
  euid: boolean;
  /**
   * cgroups may not be the runtime's to make (runc's RootlessCgroups): a cgroup is made only
   * where the user may write, device rules that cannot be set are skipped, and a container
   * without limits goes without a cgroup when there is none it may make.
   */
  cgroups: boolean;
  /** The runtime itself runs in a user namespace: device nodes are bound from the host, never made. */
  inUserNamespace: boolean;
}

/**
 * Whether a uid_map is another user namespace's than the host's, as runc's libcontainer/userns
 * reads it: the host's maps every id to itself (`0 0 4294967295`), and a map that is still empty
 * is not the host's either.
 */
export function isUserNamespaceMap(uidMap: string): boolean {
  const first = uidMap.split('\n')[0]!.trim();
  if (first === '') return true;
  const match = /^(\d+)\s+(\d+)\s+(\d+)/.exec(first);
  // Unreadable as a map: taken for the host's, as runc takes it.
  if (!match) return false;
  return !(match[1] === '0' && match[2] === '0' && match[3] === '4294967295');
}

let inUserNamespace: boolean | undefined;

/** Whether this process runs in a user namespace other than the host's. */
export function runningInUserNamespace(): boolean {
  if (inUserNamespace === undefined) {
    try {
      inUserNamespace = isUserNamespaceMap(readFileSync('/proc/self/uid_map', 'utf8'));
    } catch {
      // No uid_map: a kernel without user namespaces.
      inUserNamespace = false;
    }
  }
  return inUserNamespace;
}

/** The effective uid of the runtime. */
export function runtimeUid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * runc's rootless decision: the ids by the effective uid alone; cgroups by the flag, else (auto)
 * rootless when not root, or root of a user namespace, which cannot know that it owns the cgroup
 * it is in.
 */
export function rootlessMode(setting: RootlessSetting = 'auto'): RootlessMode {
  const euid = runtimeUid() !== 0;
  const userns = runningInUserNamespace();
  return { euid, cgroups: setting === 'auto' ? euid || userns : setting, inUserNamespace: userns };
}

/** Whether runc would keep its state under $XDG_RUNTIME_DIR (runc's shouldHonorXDGRuntimeDir). */
export function honorsXdgRuntimeDir(env: NodeJS.ProcessEnv = process.env): boolean {
  if (!env.XDG_RUNTIME_DIR) return false;
  if (runtimeUid() !== 0) return true;
  // Root of the host keeps /run/corral, whatever its session says (/run/user/0).
  if (!runningInUserNamespace()) return false;
  return env.USER !== 'root';
}
