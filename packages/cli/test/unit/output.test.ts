import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { tempDir } from '@corral/tooling/test-env';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { Reporter } from '../../src/output.js';

/** What the reporter wrote to stderr while `act` ran. */
function stderrOf(act: () => void): string {
  let written = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    written += String(chunk);
    return true;
  });
  try {
    act();
  } finally {
    vi.restoreAllMocks();
  }
  return written;
}

afterEach(() => vi.restoreAllMocks());

describe('Reporter', () => {
  it('writes --debug lines to the --log file alone, in its format', () => {
    const dir = tempDir('reporter');
    const log = join(dir.path, 'log.json');
    const reporter = new Reporter('json', log);
    expect(stderrOf(() => reporter.debug('step 2: the process is pid 7'))).toBe('');
    const [line] = readFileSync(log, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(line!)).toEqual({
      level: 'debug',
      msg: 'step 2: the process is pid 7',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    dir.remove();
  });

  it('writes --debug lines to stderr when there is no --log file', () => {
    expect(stderrOf(() => new Reporter('text').debug('go sent'))).toBe('corral: debug: go sent\n');
  });
});
