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

  it("leaves the state root to core's default unless --root is given", () => {
    expect(parseGlobal(['spec']).global.root).toBeUndefined();
    expect(parseGlobal(['--root=/tmp/r', 'spec']).global.root).toBe('/tmp/r');
  });

  it('refuses unknown flags and missing values', () => {
    expect(() => parseGlobal(['--bogus', 'run'])).toThrow(UsageError);
    expect(() => parseGlobal(['--root'])).toThrow(/flag needs an argument: --root/);
    expect(() => parseGlobal(['--log-format', 'xml', 'run'])).toThrow(/text or json/);
  });

  it("takes runc's --rootless true, false or auto", () => {
    expect(parseGlobal(['list']).global.rootless).toBe('auto');
    expect(parseGlobal(['--rootless', 'auto', 'list']).global.rootless).toBe('auto');
    expect(parseGlobal(['--rootless=false', 'list']).global.rootless).toBe(false);
    expect(parseGlobal(['--rootless', 'true', 'list']).global.rootless).toBe(true);
    expect(() => parseGlobal(['--rootless', 'maybe', 'list'])).toThrow(/true, false or auto/);
  });
});
