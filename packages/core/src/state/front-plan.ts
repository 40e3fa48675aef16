import type { ContainerStateFile } from './state-dir.js';

/** The file in a container's directory that holds its front plan. */
export const FRONT_PLAN_FILE = 'front';

const CGROUP_ROOT = '/sys/fs/cgroup/';

/**
 * What the command line's C front (packages/cli/src/front) needs to `start`, `kill` and
 * `delete` the container without Node: the init's pid and start time, the cgroup directories to remove (in
 * the order teardown removes them) and where the freezer tells a paused container. Made only
 * for a container whose start, kill and delete need nothing more: whole (not creating), without
 * poststart or poststop hooks, lent network devices, a systemd unit or a rootless cgroup, and
 * with a pid namespace of its own, so that nothing of it outlives its init. Undefined otherwise,
 * and the Node command line does them all.
 */
export function frontPlan(state: ContainerStateFile): string | undefined {
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
  return `${lines.join('\n')}\n`;
}

/** A directory the front will remove: under /sys/fs/cgroup, one line, no `..` in it. */
function isPlainCgroupDir(dir: string): boolean {
  return dir.startsWith(CGROUP_ROOT) && !dir.includes('\n') && !dir.split('/').includes('..');
}
