import { ociStateOf } from './oci-state.js';
import type { ContainerStateFile } from './state-dir.js';

/** The file in a container's directory that holds its front plan. */
export const FRONT_PLAN_FILE = 'front';

const CGROUP_ROOT = '/sys/fs/cgroup/';
/** A state view longer than this (annotations by the kilobyte) is left to the command line. */
const MAX_STATE_VIEW = 16384;

/**
 * What the command line's C front (packages/cli/src/front) needs to `start`, `kill`, `delete`,
 * show the `state` of and `list` the container without Node, and to `checkpoint` it: the init's
 * pid and start time, the cgroup directories to remove (in the order teardown removes them),
 * where the freezer tells a paused container, the state view around the pid and status that the
 * front derives (with list's bundle and creation time), and what a dump tells CRIU (`criu-*`
 * lines, from dumpPlan when given). Made only
 * for a container whose commands need nothing more: whole (not creating), without
 * poststart or poststop hooks, lent network devices, a systemd unit or a rootless cgroup, and
 * with a pid namespace of its own, so that nothing of it outlives its init. Undefined otherwise,
 * and the Node command line does them all.
 */
export function frontPlan(state: ContainerStateFile, dumpPlan?: () => string[]): string | undefined {
  const { config } = state;
  if (state.creating || !state.pid || !/^\d+$/.test(state.pidStartTime)) return undefined;
  if (config.hooks?.poststart?.length || config.hooks?.poststop?.length) return undefined;
  if (state.netDevices?.length || state.systemdUnit || state.rootless) return undefined;
  if (!config.linux?.namespaces?.some((ns) => ns.type === 'pid' && !ns.path)) return undefined;
  const paths = state.cgroupPaths ?? {};
  const { '': unified, ...v1 } = paths;
  const dirs = [...new Set(Object.values(v1)), ...(unified === undefined ? [] : [unified])];
  if (!dirs.every(isPlainCgroupDir)) return undefined;
  const lines = ['corral-front 1', `pid ${state.pid}`, `pid-start-time ${state.pidStartTime}`];
  for (const dir of dirs) lines.push(`cgroup ${dir}`);
  if (paths.freezer !== undefined) lines.push(`v1-freezer ${paths.freezer}`);
  else if (unified !== undefined) lines.push(`v2-freezer ${unified}`);
  lines.push(...stateView(state), ...(dumpPlan?.() ?? []));
  return `${lines.join('\n')}\n`;
}

/** A directory the front will remove: under /sys/fs/cgroup, one line, no `..` in it. */
function isPlainCgroupDir(dir: string): boolean {
  return dir.startsWith(CGROUP_ROOT) && !dir.includes('\n') && !dir.split('/').includes('..');
}

/**
 * `state`'s JSON (ociStateOf, compact) in two parts, before the pid and after the status, for the
 * front to join around the ones it derives and indent as JSON.stringify(state, null, 2) does.
 * An id has no quotes in it, so the first `,"pid":` is the pid's.
 */
function stateView(state: ContainerStateFile): string[] {
  const view = JSON.stringify(ociStateOf(state, 'running'));
  const middle = `,"pid":${state.pid},"status":"running",`;
  const at = view.indexOf(middle);
  if (at < 0 || view.length > MAX_STATE_VIEW) return [];
  const lines = [`state-head ${view.slice(0, at)}`, `state-tail ${view.slice(at + middle.length)}`];
  // `list`'s table shows these two as they are.
  if (!`${state.bundle}${state.created}`.includes('\n'))
    lines.push(`list-bundle ${state.bundle}`, `list-created ${state.created}`);
  return lines;
}
