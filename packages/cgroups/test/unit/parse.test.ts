import { describe, expect, it } from 'vitest';

import { parseKeyValues } from '../../src/files.js';
import { parseMemoryEvents } from '../../src/index.js';
import { pageSizeName, parseBlkioEntries, parseIoStat } from '../../src/stats.js';

describe('cgroup file parsers', () => {
  it('reads v2 memory.events counters', () => {
    const text = 'low 0\nhigh 3\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n';
    expect(parseMemoryEvents(text)).toEqual({ oom: 2, oomKill: 1, max: 12 });
    expect(parseMemoryEvents('')).toEqual({ oom: 0, oomKill: 0, max: 0 });
  });

  it('reads key/value files with max as Infinity', () => {
    expect(parseKeyValues('usage_usec 10\nnr_periods 0\nlimit max\n')).toEqual({
      usage_usec: 10,
      nr_periods: 0,
      limit: Infinity,
    });
  });

  it('reads v1 blkio entries and drops the closing summary line', () => {
    expect(parseBlkioEntries('8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n')).toEqual([
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 0 },
      { major: 8, minor: 0, op: 'Total', value: 4096 },
    ]);
  });

  it('reads v2 io.stat into the v1 entry shape', () => {
    const { bytes, ios } = parseIoStat('259:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n');
    expect(bytes).toEqual([
      { major: 259, minor: 0, op: 'Read', value: 100 },
      { major: 259, minor: 0, op: 'Write', value: 200 },
    ]);
    expect(ios.map((e) => e.value)).toEqual([1, 2]);
  });

  it('names huge page sizes as cgroup files do', () => {
    expect(pageSizeName(2048 * 1024)).toBe('2MB');
    expect(pageSizeName(1048576 * 1024)).toBe('1GB');
    expect(pageSizeName(64 * 1024)).toBe('64KB');
  });
});
