import { readFileSync } from 'node:fs';

/** The log lines quoted in a CriuError. */
const LOG_TAIL_LINES = 20;

/** The last non-empty lines of a CRIU log, or undefined when there is none (yet). */
export function readLogTail(path: string | undefined): string[] | undefined {
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0);
  return lines.length > 0 ? lines.slice(-LOG_TAIL_LINES) : undefined;
}

/**
 * The most specific error line of a log: the last `Error (file:line): ...`, skipping CRIU's
 * closing summaries (`Dumping FAILED.`), with the source location left out.
 */
export function lastErrorLine(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /Error \([^)]*\): (.*)$/.exec(lines[i]!);
    if (match && !/FAILED\.?$/.test(match[1]!)) return match[1]!.trim();
  }
  return undefined;
}
