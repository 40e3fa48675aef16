import { type CompiledSeccompFilter, compileSeccompFilter, type SeccompFilterSpec } from '@corral/native';
import { describe, expect, it } from 'vitest';

import { compileSeccompCached, programKey, type SeccompProgramCache } from '../../src/plan/seccomp-cache.js';

const ALLOW = 0x7fff0000;
const ERRNO = 0x00050000;

/** A filter no other test compiles: this process has no program for it yet. */
function freshFilter(): SeccompFilterSpec {
  const errno = 1 + Math.floor(Math.random() * 4000);
  return {
    defaultAction: ALLOW,
    architectures: [],
    rules: [{ names: ['mkdir'], action: ERRNO | errno, args: [] }],
  };
}

/** A store that records what it is asked and told. */
function recordingStore(found?: CompiledSeccompFilter) {
  const calls: string[] = [];
  const store: SeccompProgramCache = {
    get: (key) => {
      calls.push(`get ${key === programKey(filterOf(key)) ? 'key' : 'bad key'}`);
      return found;
    },
    set: () => calls.push('set'),
  };
  return { store, calls };
}
const filterOf = (key: string) => JSON.parse(key)[3] as SeccompFilterSpec;

describe('compileSeccompCached', () => {
  it('compiles what neither this process nor the store has, and gives it to the store', () => {
    const filter = freshFilter();
    const { store, calls } = recordingStore();
    const compiled = compileSeccompCached(filter, store);
    expect(compiled.program).toEqual(compileSeccompFilter(filter).program);
    expect(calls).toEqual(['get key', 'set']);
    // The process keeps it: the store is not asked again.
    expect(compileSeccompCached(filter, store)).toBe(compiled);
    expect(calls).toEqual(['get key', 'set']);
  });

  it("takes the store's program for the key instead of compiling", () => {
    const filter = freshFilter();
    const kept = { program: Buffer.from(compileSeccompFilter(filter).program), unknownSyscalls: [] };
    const { store, calls } = recordingStore(kept);
    expect(compileSeccompCached(filter, store)).toBe(kept);
    expect(calls).toEqual(['get key']);
  });

  it('keys on the filter, libseccomp, the kernel and the architecture', () => {
    const filter = freshFilter();
    const [library, kernel, arch, spec] = JSON.parse(programKey(filter));
    expect(library).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof kernel).toBe('string');
    expect(arch).toBe(process.arch);
    expect(spec).toEqual(filter);
    expect(programKey(freshFilter())).not.toBe(programKey(filter));
  });

  it('keeps nothing of a filter that does not compile', () => {
    const bad: SeccompFilterSpec = { defaultAction: ALLOW, architectures: ['no-such-arch'], rules: [] };
    const { store, calls } = recordingStore();
    expect(() => compileSeccompCached(bad, store)).toThrow();
    expect(calls).toEqual(['get key']);
  });
});
