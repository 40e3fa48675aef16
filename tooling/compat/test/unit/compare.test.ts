import { describe, expect, it } from 'vitest';

import { differences, expectedObservations, withDeliberate } from '../../src/case.js';
import { parseProbeOutput } from '../../src/probe.js';

const o = (label: string, value: string) => ({ label, value });

describe('comparing two runtimes’ observations', () => {
  it('lists every label whose values differ, and what only one side saw', () => {
    expect(
      differences(
        [o('exit', '0'), o('cwd', '/a'), o('only runc', 'x')],
        [o('exit', '1'), o('cwd', '/a'), o('only corral', 'y')],
      ),
    ).toEqual([
      { label: 'exit', runc: '0', corral: '1' },
      { label: 'only runc', runc: 'x', corral: undefined },
      { label: 'only corral', runc: undefined, corral: 'y' },
    ]);
  });

  it('holds runc to current runc’s value where 1.1.5 answers otherwise, adding what 1.1.5 never showed', () => {
    const expected = expectedObservations([o('exit', '1')], {
      exit: { value: '0', why: 'changed' },
      'stat./x': { value: '644', why: 'only once it runs' },
    });
    expect(expected).toEqual([o('exit', '0'), o('stat./x', '644')]);
  });

  it('holds corral to its own value where it differs on purpose, and drops labels given none', () => {
    const deliberate = { ran: { value: 'yes', why: 'spec' }, widths: { why: 'layout' } };
    expect(withDeliberate([o('ran', 'no'), o('widths', 'a'), o('exit', '0')], deliberate)).toEqual([
      o('ran', 'yes'),
      o('exit', '0'),
    ]);
  });

  it('adds corral’s own value where runc never showed the label', () => {
    expect(
      withDeliberate([o('exit', '1')], {
        exit: { value: '0', why: 'spec' },
        ran: { value: 'yes', why: 'spec' },
      }),
    ).toEqual([o('exit', '0'), o('ran', 'yes')]);
  });
});

describe('probe output', () => {
  it('takes key=value lines and ignores anything else', () => {
    expect(parseProbeOutput('cwd=/secret\nnoise line\nenv.HOME=\nstat./a b=1\n')).toEqual([
      ['cwd', '/secret'],
      ['env.HOME', ''],
    ]);
  });
});
