import { statSync } from 'node:fs';

import { InvalidConfigError } from '../errors.js';
import type { NamespaceType, Spec } from '../spec/types.js';

// The IPC namespace's sysctls; everything under fs.mqueue is the IPC namespace's too.
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/**
 * The namespace a sysctl belongs to, or undefined when it is the whole host's and a container
 * must never set it.
 */
function namespaceOf(name: string): NamespaceType | undefined {
  if (IPC_SYSCTLS.has(name) || name.startsWith('fs.mqueue.')) return 'ipc';
  if (name.startsWith('net.')) return 'network';
  if (name === 'kernel.domainname') return 'uts';
  return undefined;
}

const PROC_NS_NAME: Partial<Record<NamespaceType, string>> = { ipc: 'ipc', network: 'net', uts: 'uts' };

/** Whether a namespace file may be the one the runtime itself is in (so: the host's). */
function isHostNamespace(type: NamespaceType, path: string): boolean {
  try {
    const joined = statSync(path);
    const ours = statSync(`/proc/self/ns/${PROC_NS_NAME[type]}`);
    return joined.ino === ours.ino && joined.dev === ours.dev;
  } catch {
    return true; // Not shown to differ.
  }
}

/**
 * linux.sysctl as (path under /proc/sys, value) pairs, each checked to change only a namespace
 * the container has of its own: a sysctl of the host, or of a namespace it shares with the
 * host, is refused naming the key.
 */
export function compileSysctls(spec: Spec): Array<{ name: string; value: string; field: string }> {
  const sysctl = spec.linux?.sysctl;
  if (sysctl === undefined) return [];
  if (typeof sysctl !== 'object' || sysctl === null || Array.isArray(sysctl))
    throw new InvalidConfigError('linux.sysctl', 'must be an object of names and values');
  const namespaces = spec.linux?.namespaces ?? [];
  return Object.entries(sysctl).map(([key, value]) => {
    const path = `linux.sysctl[${JSON.stringify(key)}]`;
    if (typeof value !== 'string')
      throw new InvalidConfigError(path, `must be a string, got ${JSON.stringify(value)}`);
    const name = key.replaceAll('/', '.');
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(name))
      throw new InvalidConfigError(path, 'is not a sysctl name');
    if (name === 'kernel.hostname') throw new InvalidConfigError(path, 'set the hostname field instead');
    const type = namespaceOf(name);
    if (!type) throw new InvalidConfigError(path, 'is not in a kernel namespace a container can own');
    const ns = namespaces.find((candidate) => candidate.type === type);
    if (!ns || (ns.path && isHostNamespace(type, ns.path)))
      throw new InvalidConfigError(path, `needs a ${type} namespace that is not the host's`);
    return { name: name.replaceAll('.', '/'), value, field: path };
  });
}
