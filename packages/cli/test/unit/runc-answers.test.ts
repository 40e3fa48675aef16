import { describe, expect, it } from 'vitest';

import { describeSystemError } from '../../src/args.js';
import { parseSignal } from '../../src/commands/lifecycle.js';
import { joinNegativeValues } from '../../src/commands/resources.js';

describe('arguments and errors as runc reads and words them', () => {
  it('takes -1 as the value of an update flag, and leaves other arguments alone', () => {
    expect(joinNegativeValues(['--memory', '-1', '--pids-limit', '-1', '--cpu-share', '512', 'ct'])).toEqual([
      '--memory=-1',
      '--pids-limit=-1',
      '--cpu-share',
      '512',
      'ct',
    ]);
    expect(joinNegativeValues(['--memory=-1', '-r', '-'])).toEqual(['--memory=-1', '-r', '-']);
  });

  it('accepts signal 0, the liveness check, and names as numbers', () => {
    expect(parseSignal('0')).toBe(0);
    expect(parseSignal('KILL')).toBe(9);
    expect(() => parseSignal('65')).toThrow(/unknown signal/);
  });

  it('words a system error as runc does, and leaves other errors to their stack', () => {
    const error = Object.assign(new Error("EACCES: permission denied, scandir '/run/x'"), { code: 'EACCES' });
    expect(describeSystemError(error)).toBe('permission denied');
    expect(describeSystemError(new Error('something else'))).toBeUndefined();
  });
});
