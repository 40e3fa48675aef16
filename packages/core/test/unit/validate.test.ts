import { describe, expect, it } from 'vitest';

import { defaultSpec, validateContainerId, validateSpec } from '../../src/index.js';

function withEdit(edit: (s: Record<string, any>) => void): unknown {
  const s = JSON.parse(JSON.stringify(defaultSpec()));
  edit(s);
  return s;
}

describe('validateSpec', () => {
  it("accepts runc's default config", () => {
    expect(() => validateSpec(defaultSpec())).not.toThrow();
  });

  it('refuses a config that is not an object', () => {
    expect(() => validateSpec([])).toThrow(/invalid config: must be an object, got an array/);
  });

  it.each([
    ['a missing ociVersion', (s: any) => delete s.ociVersion, /ociVersion: must be a string/],
    ['a missing root.path', (s: any) => delete s.root.path, /root\.path: must be a string/],
    ['missing process.args', (s: any) => delete s.process.args, /args must not be empty \(process\.args\)/],
    ['empty process.args', (s: any) => (s.process.args = []), /args must not be empty \(process\.args\)/],
    [
      'an empty program name',
      (s: any) => (s.process.args = ['']),
      /process\.args\[0\]: must name the program/,
    ],
    ['no root', (s: any) => delete s.root, /root must be specified \(root\)/],
    ['no process', (s: any) => delete s.process, /process property must not be empty \(process\)/],
    ['an empty cwd', (s: any) => (s.process.cwd = ''), /Cwd property must not be empty \(process\.cwd\)/],
    [
      'a non-string arg',
      (s: any) => (s.process.args = ['sh', 3]),
      /process\.args\[1\]: must be a string, got 3/,
    ],
    ['a relative cwd', (s: any) => (s.process.cwd = 'tmp'), /Cwd must be an absolute path \(process\.cwd\)/],
    ['a negative uid', (s: any) => (s.process.user.uid = -1), /process\.user\.uid: must be an integer/],
    [
      'an env entry without =',
      (s: any) => (s.process.env = ['PATH']),
      /process\.env\[0\]: must be KEY=value/,
    ],
    [
      'an unknown rlimit',
      (s: any) => (s.process.rlimits[0].type = 'RLIMIT_FUN'),
      /process\.rlimits\[0\]\.type: unknown rlimit/,
    ],
    [
      'a soft limit above the hard one',
      (s: any) => (s.process.rlimits[0].soft = 4096),
      /process\.rlimits\[0\]: soft limit 4096 is above hard limit 1024/,
    ],
    [
      'an unknown namespace',
      (s: any) => s.linux.namespaces.push({ type: 'moon' }),
      /namespace "moon" does not exist \(linux\.namespaces\[5\]\.type\)/,
    ],
    [
      'a namespace given twice',
      (s: any) => s.linux.namespaces.push({ type: 'pid' }),
      /the pid namespace is given twice/,
    ],
    [
      'a mount without destination',
      (s: any) => delete s.mounts[2].destination,
      /mounts\[2\]\.destination: must be a string/,
    ],
    [
      'a bad propagation',
      (s: any) => (s.linux.rootfsPropagation = 'sideways'),
      /linux\.rootfsPropagation: unknown propagation/,
    ],
    [
      'a bad device type',
      (s: any) => (s.linux.devices = [{ path: '/dev/x', type: 'z' }]),
      /linux\.devices\[0\]\.type: must be one of/,
    ],
  ])('refuses %s, naming the field', (_, edit, message) => {
    expect(() => validateSpec(withEdit(edit as (s: Record<string, any>) => void))).toThrow(message);
  });
});

describe('validateContainerId', () => {
  it.each(['abc', 'a_b-c.d+e', 'x'.repeat(200)])('accepts %s', (id) => {
    expect(() => validateContainerId(id)).not.toThrow();
  });
  it.each(['', '.', '..', '../x', 'a/b', 'sp ace', 'ü'])('refuses %j', (id) => {
    expect(() => validateContainerId(id)).toThrow(/container id/);
  });
});

describe('what runc reads leniently', () => {
  it("leaves out an unknown capability with a warning in runc's words", () => {
    const raw = JSON.parse(JSON.stringify(defaultSpec()));
    raw.process.capabilities.bounding.push('CAP_FLY');
    raw.process.capabilities.effective.push('CAP_FLY', 'CAP_SWIM');
    const warnings: string[] = [];
    const spec = validateSpec(raw, warnings);
    expect(spec.process!.capabilities!.bounding).not.toContain('CAP_FLY');
    expect(warnings).toEqual(['ignoring unknown or unavailable capabilities: [CAP_FLY CAP_SWIM]']);
  });

  it('reads resource keys as Go matches fields, and drops kernel memory with a warning', () => {
    const raw = JSON.parse(JSON.stringify(defaultSpec()));
    raw.linux.resources = {
      CPU: { Shares: 512, cpus: '0' },
      Memory: { Limit: 1 << 20, kernel: 1 << 20 },
      blockio: { WEIGHTDEVICE: [{ Major: 8, minor: 0, Weight: 10 }] },
      unified: { 'Memory.Max': '1' },
      cpu: { quota: 1000 },
    };
    const warnings: string[] = [];
    const spec = validateSpec(raw, warnings);
    expect(spec.linux!.resources).toEqual({
      // Two keys of one field fill the same value, as Go decodes them.
      cpu: { shares: 512, cpus: '0', quota: 1000 },
      memory: { limit: 1 << 20 },
      blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 10 }] },
      unified: { 'Memory.Max': '1' },
    });
    expect(warnings).toEqual(['Kernel memory settings are ignored and will be removed']);
  });

  it('takes a process without a user, or a user without a gid, as uid and gid 0', () => {
    const raw = JSON.parse(JSON.stringify(defaultSpec()));
    delete raw.process.user;
    expect(validateSpec(raw).process!.user).toEqual({ uid: 0, gid: 0 });
    raw.process.user = { uid: 1000 };
    expect(validateSpec(raw).process!.user).toEqual({ uid: 1000, gid: 0 });
  });
});
