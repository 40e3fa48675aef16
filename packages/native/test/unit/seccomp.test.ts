import { describe, expect, it } from 'vitest';

import { compileSeccompFilter, seccompLibraryVersion } from '../../src/seccomp.js';

const ALLOW = 0x7fff0000;
const ERRNO_EPERM = 0x00050001;
const SCMP_CMP_EQ = 4;

/** The program as [code, jt, jf, k] tuples. */
function instructions(program: Buffer): Array<[number, number, number, number]> {
  const out: Array<[number, number, number, number]> = [];
  for (let at = 0; at < program.length; at += 8) {
    out.push([program.readUInt16LE(at), program[at + 2]!, program[at + 3]!, program.readUInt32LE(at + 4)]);
  }
  return out;
}

describe('compileSeccompFilter (libseccomp)', () => {
  it('reports the library version', () => {
    expect(seccompLibraryVersion()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('returns whole sock_filter instructions that return the actions asked for', () => {
    const { program, unknownSyscalls } = compileSeccompFilter({
      defaultAction: ALLOW,
      architectures: ['x86_64'],
      rules: [{ names: ['mkdirat'], action: ERRNO_EPERM, args: [] }],
    });
    expect(unknownSyscalls).toEqual([]);
    expect(program.length % 8).toBe(0);
    const returns = instructions(program)
      .filter(([code]) => code === 0x06) // BPF_RET | BPF_K
      .map(([, , , k]) => k);
    expect(returns).toContain(ALLOW);
    expect(returns).toContain(ERRNO_EPERM);
    // mkdirat is 258 on x86_64: the program compares the syscall number with it.
    expect(instructions(program).some(([code, , , k]) => code === 0x15 && k === 258)).toBe(true);
  });

  it('skips syscall names it does not know and says which', () => {
    const { unknownSyscalls } = compileSeccompFilter({
      defaultAction: ALLOW,
      architectures: [],
      rules: [{ names: ['no_such_call', 'mkdirat'], action: ERRNO_EPERM, args: [] }],
    });
    expect(unknownSyscalls).toEqual(['no_such_call']);
  });

  it('compiles argument comparisons, several on one argument as separate rules', () => {
    const compile = (args: Array<{ index: number; value: bigint }>) =>
      compileSeccompFilter({
        defaultAction: ALLOW,
        architectures: [],
        rules: [
          {
            names: ['personality'],
            action: ERRNO_EPERM,
            args: args.map((a) => ({ ...a, op: SCMP_CMP_EQ, valueTwo: 0n })),
          },
        ],
      }).program;
    expect(compile([{ index: 0, value: 8n }]).length).toBeGreaterThan(0);
    expect(
      compile([
        { index: 0, value: 8n },
        { index: 0, value: 0x20000n },
      ]).length,
    ).toBeGreaterThan(0);
  });

  it('refuses an architecture libseccomp does not know', () => {
    expect(() => compileSeccompFilter({ defaultAction: ALLOW, architectures: ['vax'], rules: [] })).toThrow(
      /architecture vax/,
    );
  });

  it('refuses a rule whose action libseccomp cannot use, naming the rule', () => {
    expect(() =>
      compileSeccompFilter({
        defaultAction: ALLOW,
        architectures: [],
        rules: [{ names: ['mkdirat'], action: 0x12345678, args: [], where: 'syscalls[0]' }],
      }),
    ).toThrow(/syscalls\[0\] \(mkdirat\)/);
  });
});
