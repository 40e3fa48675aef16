import { notSupported } from './errors.js';
import { parseKeyValues, readCgroupFile } from './files.js';
import type { FreezerState } from './types.js';

/** What a v1 freezer.state says. */
export function v1FreezerState(dir: string): FreezerState | 'freezing' {
  const state = readCgroupFile(dir, 'freezer.state').trim();
  return state === 'FROZEN' ? 'frozen' : state === 'FREEZING' ? 'freezing' : 'thawed';
}

/** What v2 says: cgroup.freeze is what was asked, cgroup.events' `frozen` whether it is done. */
export function v2FreezerState(dir: string): FreezerState | 'freezing' {
  if (readCgroupFile(dir, 'cgroup.freeze').trim() !== '1') return 'thawed';
  return parseKeyValues(readCgroupFile(dir, 'cgroup.events')).frozen === 1 ? 'frozen' : 'freezing';
}

/**
 * The freezer state of a cgroup from the paths its manager reported (getPaths()), without
 * making a manager: the v1 freezer where it is mounted, as the v1 and hybrid drivers freeze
 * there, else cgroup.freeze on v2. For a command that only reads a status.
 */
export function freezerStateOf(paths: Readonly<Record<string, string>>): FreezerState | 'freezing' {
  if (paths.freezer !== undefined) return v1FreezerState(paths.freezer);
  if (paths[''] !== undefined) return v2FreezerState(paths['']);
  throw notSupported('the freezer controller is not mounted on this host');
}
