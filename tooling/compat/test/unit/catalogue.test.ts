import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { allCases } from '../../cases/index.js';
import { PENDING } from '../../src/pending.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the case catalogue', () => {
  it('names each case once', () => {
    const names = allCases.map((c) => c.name);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });

  it('keeps no pending entry for a case that does not exist', () => {
    const names = new Set(allCases.map((c) => c.name));
    expect(Object.keys(PENDING).filter((name) => !names.has(name))).toEqual([]);
  });

  it('lists every deliberate difference in the README', () => {
    const missing = allCases.flatMap((c) =>
      Object.keys(c.deliberate ?? {})
        .filter(() => !readme.includes(c.name))
        .map((label) => `${c.name}: ${label}`),
    );
    expect(missing).toEqual([]);
  });
});
