import { describe, expect, it } from 'vitest';

import { splitAtPositional } from '../../src/args.js';

const options = {
  user: { type: 'string', short: 'u' },
  env: { type: 'string', short: 'e', multiple: true },
  tty: { type: 'boolean', short: 't' },
} as const;

describe('splitAtPositional', () => {
  it('stops at the container id, leaving the command and its own flags alone', () => {
    expect(splitAtPositional(['-u', '1000', '--env=A=b', '-t', 'box', 'sh', '-c', 'echo'], options)).toEqual([
      ['-u', '1000', '--env=A=b', '-t'],
      ['box', 'sh', '-c', 'echo'],
    ]);
  });

  it('knows inline values and the -- separator', () => {
    expect(splitAtPositional(['-u1000', '--', '-box'], options)).toEqual([['-u1000'], ['-box']]);
    expect(splitAtPositional(['--user', 'x'], options)).toEqual([['--user', 'x'], []]);
  });
});
