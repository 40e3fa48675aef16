import { readFileSync } from 'node:fs';

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
