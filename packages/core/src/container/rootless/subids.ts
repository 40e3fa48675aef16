import { readFileSync } from 'node:fs';

/** A range of host ids: `start` up to `start + count - 1`. */
export interface IdRange {
  start: number;
  count: number;
}

/** Who the ranges of /etc/subuid and /etc/subgid are looked up for: its lines name a user or a uid. */
export interface SubidOwner {
  name: string | undefined;
  uid: number;
}

/** The ranges /etc/subuid (or /etc/subgid) gives to a user, in file order. */
export function subordinateRanges(text: string, owner: SubidOwner): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who === undefined || start === undefined || count === undefined) continue;
    if (who !== owner.name && who !== String(owner.uid)) continue;
    if (!/^\d+$/.test(start) || !/^\d+$/.test(count) || Number(count) === 0) continue;
    ranges.push({ start: Number(start), count: Number(count) });
  }
  return ranges;
}

/** The ranges of a subordinate id file; none when the file is missing or unreadable. */
export function readSubordinateRanges(file: string, owner: SubidOwner): IdRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return subordinateRanges(text, owner);
}

/**
 * Whether the ranges cover every id of `wanted`, as shadow's newuidmap checks a mapping: ranges
 * that follow one another count as one.
 */
export function covers(ranges: readonly IdRange[], wanted: IdRange): boolean {
  let start = wanted.start;
  const end = wanted.start + wanted.count;
  while (start < end) {
    const range = ranges.find((r) => start >= r.start && start < r.start + r.count);
    if (!range) return false;
    start = range.start + range.count;
  }
  return true;
}

/** `100000-165535, 200000-265535`, or `none`. */
export function describeRanges(ranges: readonly IdRange[]): string {
  return ranges.length ? ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ') : 'none';
}
