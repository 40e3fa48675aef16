import { appendFileSync } from 'node:fs';

import type { TimingMark } from '@corral/core';

/**
 * With CORRAL_TIMING_FILE set, the command appends one JSON line to that file as it exits:
 * its arguments, when the process started (performance.timeOrigin, ms since the epoch), Node's
 * own start-up milestones and the marks the command made, all in ms since that start. The
 * benchmarks read it to show where a command's time goes.
 */
export function writeTimingMarks(path: string, marks: TimingMark[]): void {
  process.on('exit', () => {
    marks.push(['exit', performance.now()]);
    const { nodeStart, v8Start, environment, bootstrapComplete } = performance.nodeTiming;
    const line = {
      argv: process.argv.slice(2),
      timeOrigin: performance.timeOrigin,
      node: { nodeStart, v8Start, environment, bootstrapComplete },
      marks,
    };
    appendFileSync(path, `${JSON.stringify(line)}\n`);
  });
}
