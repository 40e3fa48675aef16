import { release } from 'node:os';

import type { CgroupFiles } from './files.js';
import type { LinuxResources } from './types.js';

/**
 * One controller's part of `set`: which fields it owns, what it refuses on this host (checked
 * for every controller before anything is written) and the writes themselves, against one
 * cgroup directory.
 */
export interface ControllerWriter {
  /** The first `linux.resources` field this controller would act on, or undefined if none. */
  wants(resources: LinuxResources): string | undefined;
  /**
   * What this cgroup version cannot express, decided from the config alone: checked before any
   * cgroup is created.
   */
  refuse?(resources: LinuxResources): void;
  /** What this host lacks, seen in the cgroup's files: checked before anything is written. */
  check?(files: CgroupFiles, resources: LinuxResources): void;
  set(files: CgroupFiles, resources: LinuxResources): void;
}

/** The running kernel's version as [major, minor]. */
export function kernelVersion(text = release()): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

export function kernelAtLeast(major: number, minor: number, text?: string): boolean {
  const [haveMajor, haveMinor] = kernelVersion(text);
  return haveMajor > major || (haveMajor === major && haveMinor >= minor);
}

/** Parses "maj:min value" lines (throttle and weight_device files) into a map keyed by "maj:min". */
export function parseDeviceValues(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [device, value] = line.trim().split(/\s+/, 2);
    if (device && value !== undefined && /^\d+:\d+$/.test(device)) result.set(device, value);
  }
  return result;
}

/** Writes one "maj:min value" line; rollback writes back the device's previous value (or `reset`). */
export function writeDeviceValue(
  files: CgroupFiles,
  name: string,
  device: string,
  value: string,
  reset: string,
): void {
  let previous = reset;
  try {
    previous = parseDeviceValues(files.read(name)).get(device) ?? reset;
  } catch {
    // An unreadable file has no previous value to restore.
  }
  files.write(name, `${device} ${value}`, () => files.write(name, `${device} ${previous}`));
}
