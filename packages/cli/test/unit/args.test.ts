import { describe, expect, it } from 'vitest';

import { HelpRequest, parseCommandArgs, splitAtPositional } from '../../src/args.js';
import { commandHelp } from '../../src/help.js';

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

describe('COMMAND --help', () => {
  it("asks for the command's help, without a container id", () => {
    for (const flag of ['--help', '-h']) {
      expect(() => parseCommandArgs('exec', ['-t', flag])).toThrow(HelpRequest);
    }
    let help = '';
    try {
      parseCommandArgs('exec', ['--help']);
    } catch (error) {
      help = (error as Error).message;
    }
    expect(help).toBe(commandHelp('exec'));
  });

  it('is no help as the value of a flag', () => {
    expect(() => parseCommandArgs('exec', ['-u', '--help', 'box'])).not.toThrow(HelpRequest);
    expect(parseCommandArgs('exec', ['--user=-h', 'box']).values.user).toBe('-h');
  });
});
