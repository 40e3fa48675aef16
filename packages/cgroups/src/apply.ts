import { existsSync } from 'node:fs';

import type { ControllerWriter } from './controller.js';
import { CgroupError } from './errors.js';
import { JournaledCgroupFiles, WriteJournal } from './files.js';
import type { LinuxResources } from './types.js';
import { validateResources } from './validate.js';

/** One controller's writer bound to the directory it writes in. */
export interface WriteTarget {
  dir: string;
  writer: ControllerWriter;
}

/**
 * Validates, prepares (enables v2 controllers after refusing unavailable ones), lets every writer refuse what the host lacks, and only then writes, in order. A
 * failed write undoes the writes before it; the error keeps any failures of the undo as well.
 */
export function writeResources(
  resources: LinuxResources,
  targets: readonly WriteTarget[],
  prepare?: () => void,
): void {
  validateResources(resources);
  for (const { dir } of targets) {
    if (!existsSync(dir))
      throw new CgroupError('SYSTEM', `${dir} does not exist: call apply() before set()`, { path: dir });
  }
  for (const { writer } of targets) writer.refuse?.(resources);
  const journal = new WriteJournal();
  const bound = targets.map(({ dir, writer }) => ({ writer, files: new JournaledCgroupFiles(dir, journal) }));
  // Enabling v2 controllers makes the files the checks read.
  prepare?.();
  for (const { writer, files } of bound) writer.check?.(files, resources);
  try {
    for (const { writer, files } of bound) writer.set(files, resources);
  } catch (error) {
    const undoFailures = journal.rollback();
    if (undoFailures.length === 0) throw error;
    throw new CgroupError(
      'SYSTEM',
      `${(error as Error).message} (and restoring the previous values failed: ${undoFailures.map((e) => e.message).join('; ')})`,
      { cause: new AggregateError([error, ...undoFailures]) },
    );
  }
}
