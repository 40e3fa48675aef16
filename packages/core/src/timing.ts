/**
 * Timing marks: where the time of one command or one container goes, for the benchmarks
 * (tooling/bench). Off unless someone collects them; an off mark is one property read, and
 * `performance` (which Node loads on first use) is only touched when they are on. The list lives
 * on globalThis so that every copy of this module (the command line bundles it into each of its
 * files) adds to the same one.
 */
const MARKS = Symbol.for('corral.timing-marks');

/** A mark: its name and the time in ms since the process started (performance.now()). */
export type TimingMark = [name: string, at: number];

type Holder = { [MARKS]?: TimingMark[] };

/** Notes that `name` happened now, if marks are being collected. */
export function timingMark(name: string): void {
  (globalThis as Holder)[MARKS]?.push([name, performance.now()]);
}

/** Starts collecting marks (again, from none); returns the list they go into. */
export function collectTimingMarks(): TimingMark[] {
  const marks: TimingMark[] = [];
  (globalThis as Holder)[MARKS] = marks;
  return marks;
}
