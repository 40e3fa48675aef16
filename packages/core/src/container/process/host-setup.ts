import { chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { CgroupManager, LinuxResources } from '@corral/cgroups';
import { type Pidfd, sendDescriptor } from '@corral/native';

import { SystemError } from '../../errors.js';
import { createsUserNamespace, idMapText, mapToHost } from '../../plan/namespaces.js';
import type { IdMapping, Spec } from '../../spec/types.js';
import { asCorralError } from '../cgroup.js';
import { lendNetDevices, type NetDevice } from '../net-devices.js';
import { type IdMapWriting, runMappingTool } from '../rootless/id-maps.js';

/**
 * What the runtime does on the host for a process while it waits at step 2 of the handshake,
 * before it runs anything of its own: the init gets all of it, an exec'd process the parts that
 * apply to it (its oom_score_adj, --pidfd-socket, the container's cgroup).
 */
export interface HostSetup {
  /** process.oomScoreAdj, inherited by what the process execs. */
  oomScoreAdj?: number;
  /** runc's --pidfd-socket: where a pidfd of the process goes. */
  pidfdSocket?: string;
  /** The maps of the process's new user namespace, and how a runtime that is not root writes them. */
  idMaps?: { uid: readonly IdMapping[]; gid: readonly IdMapping[]; writing?: IdMapWriting };
  /**
   * The cgroup the process joins, with the limits to set on it (the init's only); `entered`:
   * the process was started in it or moves itself in (a CgroupEntry), so it is not moved by pid.
   */
  cgroup?: { manager: CgroupManager; resources?: LinuxResources; entered?: boolean };
  /** The host ids of the container's root, who gets its cgroup2 directory (a delegation). */
  delegateTo?: { uid: number; gid: number };
  /** Host interfaces moved into the process's network namespace (linux.netDevices). */
  netDevices?: readonly NetDevice[];
}

/** Does the host-side setup, in the order the process needs it: ids before limits, limits before devices. */
export async function setUpHost(
  child: Pidfd,
  setup: HostSetup,
  debug: (message: string) => void = () => {},
): Promise<void> {
  if (setup.oomScoreAdj !== undefined) {
    setOomScoreAdj(child.pid, setup.oomScoreAdj);
    debug(`oom_score_adj ${setup.oomScoreAdj}`);
  }
  if (setup.pidfdSocket) {
    sendPidfd(setup.pidfdSocket, child);
    debug(`pidfd sent to ${setup.pidfdSocket}`);
  }
  if (setup.idMaps) {
    await writeIdMaps(child.pid, setup.idMaps);
    debug(`uid_map and gid_map of pid ${child.pid} written`);
  }
  if (setup.cgroup) {
    try {
      if (!setup.cgroup.entered) await setup.cgroup.manager.apply(child.pid);
      const paths = Object.values(setup.cgroup.manager.getPaths()).join(' ');
      debug(`pid ${child.pid} ${setup.cgroup.entered ? 'enters' : 'joined'} ${paths}`);
      if (setup.cgroup.resources) {
        await setup.cgroup.manager.set(setup.cgroup.resources);
        debug('linux.resources written to the cgroup');
      }
    } catch (error) {
      throw asCorralError(error);
    }
    if (setup.delegateTo) delegateCgroup(setup.cgroup.manager.getPaths(), setup.delegateTo);
  }
  if (setup.netDevices?.length) {
    await lendNetDevices(setup.netDevices, child.pid);
    debug(`network devices ${setup.netDevices.map((d) => d.name).join(' ')} moved in`);
  }
}

/** The id maps of a config that makes a user namespace of its own. */
export function idMapsOf(spec: Spec, writing?: IdMapWriting): HostSetup['idMaps'] {
  if (!createsUserNamespace(spec)) return undefined;
  return { uid: spec.linux!.uidMappings!, gid: spec.linux!.gidMappings!, ...(writing ? { writing } : {}) };
}

/** The host ids the container's root has, when it has a user namespace of its own. */
export function hostRoot(spec: Spec): { uid: number; gid: number } | undefined {
  if (!createsUserNamespace(spec)) return undefined;
  return { uid: mapToHost(spec.linux!.uidMappings!, 0)!, gid: mapToHost(spec.linux!.gidMappings!, 0)! };
}

/** Written while the process waits, before it runs anything of its own. */
function setOomScoreAdj(pid: number, value: number): void {
  const path = `/proc/${pid}/oom_score_adj`;
  try {
    writeFileSync(path, String(value));
  } catch (error) {
    throw SystemError.from(`set process.oomScoreAdj to ${value}`, error, path);
  }
}

/** --pidfd-socket: hands a pidfd of the process to whoever listens there. */
function sendPidfd(socketPath: string, pidfd: Pidfd): void {
  try {
    sendDescriptor(socketPath, pidfd.fd, 'pidfd');
  } catch (error) {
    throw SystemError.from(`send the pidfd to ${socketPath}`, error, socketPath);
  }
}

/**
 * Writes the id maps of the process's new user namespace. The runtime does it (not
 * corral-init): it learns the pid at childStarted, is in the parent namespace as the kernel
 * requires of the writer, and the process waits for GO until the maps exist, so no second round
 * trip with corral-init is needed. For root, setgroups stays "allow": the container's root may
 * set its own groups as runc's does. A user writes its own id alone, after denying setgroups as
 * the kernel requires, and anything more through newuidmap and newgidmap, as runc does.
 */
async function writeIdMaps(pid: number, maps: NonNullable<HostSetup['idMaps']>): Promise<void> {
  const writing = maps.writing ?? {};
  if (writing.denySetgroups) writeProcFile(pid, 'setgroups', 'deny\n', 'linux.gidMappings');
  for (const [file, mappings, field, tool] of [
    ['uid_map', maps.uid, 'linux.uidMappings', writing.uidTool],
    ['gid_map', maps.gid, 'linux.gidMappings', writing.gidTool],
  ] as const) {
    if (tool) await runMappingTool(tool, pid, mappings, field);
    else writeProcFile(pid, file, idMapText(mappings), field);
  }
}

function writeProcFile(pid: number, file: string, text: string, field: string): void {
  const path = `/proc/${pid}/${file}`;
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw SystemError.from(`write ${path} (${field})`, error, path);
  }
}

const DELEGATE_LIST = '/sys/kernel/cgroup/delegate';

/**
 * Hands the container's cgroup2 directory to its root, as a delegation: the directory and the
 * files the kernel lists as safe to delegate, so the container can make and fill sub-cgroups
 * while its limits (owned by host root) stay out of its reach.
 */
function delegateCgroup(paths: Record<string, string>, owner: { uid: number; gid: number }): void {
  const dir = paths[''];
  if (!dir) return;
  const files = existsSync(DELEGATE_LIST)
    ? readFileSync(DELEGATE_LIST, 'utf8').split('\n').filter(Boolean)
    : ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'];
  let path = dir;
  try {
    chownSync(dir, owner.uid, owner.gid);
    for (const file of files) {
      path = join(dir, file);
      if (existsSync(path)) chownSync(path, owner.uid, owner.gid);
    }
  } catch (error) {
    throw SystemError.from(`delegate the cgroup ${dir} to the container's root`, error, path);
  }
}
