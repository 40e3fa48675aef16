import { describe, expect, it } from 'vitest';
import { interpretDeviceProgram } from '../../src/devices/ebpf.js';
import {
  assembleDeviceProgram,
  deviceRuleLine,
  effectiveDeviceRules,
  encodeInstructions,
  normalizeDeviceRule,
  withDefaultDevices,
} from '../../src/index.js';

const allowed = (
  rules: ReturnType<typeof withDefaultDevices>,
  type: 'b' | 'c',
  major: number,
  minor: number,
  access: string,
) => interpretDeviceProgram(assembleDeviceProgram(rules), { type, major, minor, access }) === 1;

describe('device rules', () => {
  it('fills in defaults and canonical access order', () => {
    expect(normalizeDeviceRule({ allow: true, access: 'wr' })).toEqual({
      allow: true,
      type: 'a',
      major: -1,
      minor: -1,
      access: 'rw',
    });
  });

  it('writes v1 devices.allow/deny lines', () => {
    const lines = withDefaultDevices([{ allow: true, type: 'b', major: 8, minor: 0, access: 'r' }]).map(
      deviceRuleLine,
    );
    expect(lines[0]).toBe('a');
    expect(lines).toContain('b 8:0 r');
    expect(lines).toContain('c *:* m');
    expect(lines).toContain('c 1:3 rwm');
    expect(lines).toContain('c 136:* rwm');
  });

  it('keeps only what follows the last catch-all rule, newest first', () => {
    const rules = [
      { allow: true, type: 'c', major: 1, minor: 1, access: 'rwm' },
      { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'r' },
    ] as const;
    const effective = effectiveDeviceRules(rules.map((r) => ({ ...r })));
    expect(effective.defaultAllow).toBe(false);
    expect(effective.rules.map(deviceRuleLine)).toEqual(['c 1:5 r', 'c 1:3 rwm']);
  });
});

describe('the cgroup device eBPF program', () => {
  const rules = withDefaultDevices([
    { allow: true, type: 'b', major: 8, minor: 0, access: 'r' },
    { allow: false, type: 'c', major: 1, minor: 9, access: 'w' },
  ]);

  it('allows the default devices and denies the rest', () => {
    expect(allowed(rules, 'c', 1, 3, 'rw')).toBe(true); // /dev/null
    expect(allowed(rules, 'c', 136, 7, 'rw')).toBe(true); // a pty
    expect(allowed(rules, 'c', 10, 200, 'rw')).toBe(false); // /dev/net/tun is not a default
    expect(allowed(rules, 'c', 10, 200, 'm')).toBe(true); // but mknod of anything is
    expect(allowed(rules, 'b', 8, 1, 'r')).toBe(false);
  });

  it('checks access as a subset of what the rule names', () => {
    expect(allowed(rules, 'b', 8, 0, 'r')).toBe(true);
    expect(allowed(rules, 'b', 8, 0, 'rw')).toBe(false);
  });

  it('lets a later rule override an earlier one', () => {
    // The defaults (later) allow /dev/urandom rwm again after the config denied writing it.
    expect(allowed(rules, 'c', 1, 9, 'w')).toBe(true);
    const denyLast = [
      ...rules,
      normalizeDeviceRule({ allow: false, type: 'c', major: 1, minor: 9, access: 'w' }),
    ];
    expect(allowed(denyLast, 'c', 1, 9, 'w')).toBe(false);
    expect(allowed(denyLast, 'c', 1, 9, 'r')).toBe(true);
  });

  it('defaults to allow when no catch-all rule is given, as a new v1 cgroup does', () => {
    const only = [normalizeDeviceRule({ allow: false, type: 'c', major: 1, minor: 5 })];
    expect(allowed(only, 'c', 1, 5, 'r')).toBe(false);
    expect(allowed(only, 'c', 1, 3, 'r')).toBe(true);
  });

  it('compares majors of 2^31 and above as unsigned 32-bit numbers', () => {
    const big = [
      normalizeDeviceRule({ allow: false }),
      normalizeDeviceRule({ allow: true, type: 'c', major: 4294967295, minor: 0 }),
    ];
    expect(allowed(big, 'c', 4294967295, 0, 'r')).toBe(true);
    expect(allowed(big, 'c', 2147483647, 0, 'r')).toBe(false);
  });

  it('encodes struct bpf_insn: opcode, dst|src<<4, s16 off, s32 imm', () => {
    const bytes = encodeInstructions(assembleDeviceProgram([normalizeDeviceRule({ allow: false })]));
    // ldxw r2, [r1+0]
    expect([...bytes.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]);
    // and32 r2, 0xffff
    expect([...bytes.subarray(8, 16)]).toEqual([0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]);
    // The program ends: mov64 r0, 0; exit
    expect([...bytes.subarray(bytes.length - 16)]).toEqual([
      0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });
});
