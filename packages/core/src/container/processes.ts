import { readdirSync, readlinkSync } from 'node:fs';

import type { ContainerDir } from '../state/state-dir.js';
import { cgroupOf, recordedCgroup } from './cgroup.js';
import { deriveStatus } from './status.js';

/**
 * `ps`: the pids of the container's processes: every process in its cgroup, or without one, in
 * its init's pid namespace (or, without one of its own, the init alone). A container made
 * rootless without a cgroup has no such list: a user cannot see which pid namespace the processes
 * of its other ids are in.
 */
export async function containerProcesses(dir: ContainerDir): Promise<number[]> {
  const state = dir.readState();
  if ((await deriveStatus(dir, state)) === 'stopped') return [];
  const cgroup = state.rootless ? cgroupOf(state, 'list its processes') : recordedCgroup(state.cgroupPaths);
  if (cgroup?.exists()) return (await cgroup.getPids({ recursive: true })).sort((a, b) => a - b);
  const nsOf = (pid: number | string) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
      return undefined;
    }
  };
  const initNs = nsOf(state.pid);
  const ownsNamespace = initNs !== undefined && initNs !== nsOf('self');
  if (!ownsNamespace) return [state.pid];
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && nsOf(entry) === initNs)
    .map(Number)
    .sort((a, b) => a - b);
}
