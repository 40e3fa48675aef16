import { closeSync, openSync } from 'node:fs';

import { CgroupError } from './errors.js';
import type { CgroupEntry, CgroupEntryPaths } from './types.js';

/**
 * Opens the entry of cgroups that exist: the cgroup2 directory, and each v1 tasks file for
 * writing (the kernel checks the opener's credentials, so the process that writes "0" to it
 * needs none). Nothing stays open when one fails.
 */
export function openCgroupEntry(paths: CgroupEntryPaths): CgroupEntry {
  const opened: number[] = [];
  const open = (path: string, flags: string) => {
    try {
      const fd = openSync(path, flags);
      opened.push(fd);
      return fd;
    } catch (error) {
      for (const fd of opened) closeSync(fd);
      throw new CgroupError('SYSTEM', `open ${path}: ${(error as Error).message}`, { path, cause: error });
    }
  };
  const startIn = paths.startIn === undefined ? undefined : open(paths.startIn, 'r');
  const tasksFiles = paths.tasksFiles.map((path) => open(path, 'w'));
  return {
    ...(startIn === undefined ? {} : { startIn }),
    tasksFiles,
    close() {
      for (const fd of opened.splice(0)) closeSync(fd);
    },
  };
}
