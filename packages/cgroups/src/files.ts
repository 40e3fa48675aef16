import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { systemError } from './errors.js';

/**
 * The files of one cgroup directory, as per-controller writers see them. Writes go through a
 * journal so that a failure part way can put back what was there before.
 */
export interface CgroupFiles {
  readonly path: string;
  has(name: string): boolean;
  read(name: string): string;
  /** Writes a value; `undo` (default: write back the previous content) restores it on rollback. */
  write(name: string, value: string, undo?: () => void): void;
}

/** Writes to the real cgroup filesystem, journaled for rollback. */
export class JournaledCgroupFiles implements CgroupFiles {
  readonly path: string;
  #journal: WriteJournal;

  constructor(path: string, journal: WriteJournal) {
    this.path = path;
    this.#journal = journal;
  }

  has(name: string): boolean {
    return existsSync(join(this.path, name));
  }

  read(name: string): string {
    return readCgroupFile(this.path, name);
  }

  write(name: string, value: string, undo?: () => void): void {
    let restore = undo;
    if (!restore) {
      let previous: string | undefined;
      try {
        previous = this.read(name).trim();
      } catch {
        previous = undefined;
      }
      if (previous !== undefined) restore = () => writeCgroupFile(this.path, name, previous);
    }
    writeCgroupFile(this.path, name, value);
    if (restore) this.#journal.record(`${this.path}/${name}`, restore);
  }
}

/** What was written, in order, and how to undo each write. */
export class WriteJournal {
  #entries: Array<{ what: string; undo: () => void }> = [];

  #rollingBack = false;

  record(what: string, undo: () => void): void {
    // Writes made while undoing are not themselves undone.
    if (!this.#rollingBack) this.#entries.push({ what, undo });
  }

  /** Undoes every write, newest first; returns the undo steps that failed (best effort). */
  rollback(): Error[] {
    const failures: Error[] = [];
    const entries = this.#entries.reverse();
    this.#entries = [];
    this.#rollingBack = true;
    for (const entry of entries) {
      try {
        entry.undo();
      } catch (error) {
        failures.push(systemError('restore', entry.what, error));
      }
    }
    this.#rollingBack = false;
    return failures;
  }
}

export function readCgroupFile(dir: string, name: string): string {
  const path = join(dir, name);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw systemError('read', path, error);
  }
}

export function writeCgroupFile(dir: string, name: string, value: string): void {
  const path = join(dir, name);
  try {
    writeFileSync(path, value);
  } catch (error) {
    throw systemError(`write "${value}" to`, path, error);
  }
}

/** A file holding one number, or "max" (returned as Infinity). */
export function parseCgroupNumber(text: string): number {
  const value = text.trim();
  return value === 'max' ? Number.POSITIVE_INFINITY : Number(value);
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) as a map. */
export function parseKeyValues(text: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) result[key] = value === 'max' ? Number.POSITIVE_INFINITY : Number(value);
  }
  return result;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
