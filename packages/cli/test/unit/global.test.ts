import { describe, expect, it } from 'vitest';

import { UsageError } from '../../src/args.js';
import { parseGlobal } from '../../src/global.js';

describe('parseGlobal', () => {
  it("splits runc's global flags from the command", () => {
    const parsed = parseGlobal(['--root', '/tmp/r', '--log-format=json', '--debug', 'run', '-b', 'x', 'id']);
    expect(parsed.global).toMatchObject({ root: '/tmp/r', logFormat: 'json', debug: true });
    expect(parsed.command).toBe('run');
    expect(parsed.rest).toEqual(['-b', 'x', 'id']);
  });

  it('defaults the state root to /run/corral', () => {
    expect(parseGlobal(['spec']).global.root).toBe('/run/corral');
  });

  it('refuses unknown flags and missing values', () => {
    expect(() => parseGlobal(['--bogus', 'run'])).toThrow(UsageError);
    expect(() => parseGlobal(['--root'])).toThrow(/flag needs an argument: --root/);
    expect(() => parseGlobal(['--log-format', 'xml', 'run'])).toThrow(/text or json/);
  });

  it('takes --rootless false or auto, and says it cannot do true', () => {
    expect(parseGlobal(['--rootless', 'auto', 'list']).command).toBe('list');
    expect(parseGlobal(['--rootless=false', 'list']).command).toBe('list');
    expect(() => parseGlobal(['--rootless', 'true', 'list'])).toThrow(/not supported/);
    expect(() => parseGlobal(['--rootless', 'maybe', 'list'])).toThrow(/true, false or auto/);
  });
});
