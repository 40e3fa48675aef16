import { readFileSync, writeFileSync } from 'node:fs';

import { CorralError } from '../errors.js';

/**
 * The start time of a process (field 22 of /proc/PID/stat, in clock ticks since boot), or
 * undefined when there is no such process. A pid together with its start time names one
 * process for good: a reused pid has another start time.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); a zombie has exited and only waits to be reaped.
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/**
 * process.oomScoreAdj, set by the runtime while the process waits for it, before it runs
 * anything of its own (and inherited by what it execs).
 */
export function setOomScoreAdj(pid: number, value: number | undefined): void {
  if (value === undefined) return;
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(value));
  } catch (error) {
    throw new CorralError(
      'SYSTEM',
      `cannot set process.oomScoreAdj to ${value}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
