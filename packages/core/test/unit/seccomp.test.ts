import { compileSeccompFilter, protocol } from '@corral/native';
import { describe, expect, it } from 'vitest';

import {
  compileExecPlan,
  compileInitPlan,
  defaultSpec,
  InvalidConfigError,
  runtimeFeatures,
  type Spec,
  type SpecSeccomp,
  validateSpec,
} from '../../src/index.js';
import { compileSeccomp, SECCOMP_ARCHITECTURES, validateSeccomp } from '../../src/plan/seccomp.js';

const bundle = '/bundles/demo';
const mkdirEperm = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
};

function spec(seccomp: unknown, edit?: (s: Spec) => void): Spec {
  const s = defaultSpec();
  s.mounts = s.mounts!.filter((m) => m.type !== 'cgroup');
  s.linux!.seccomp = seccomp as SpecSeccomp;
  edit?.(s);
  return s;
}

describe('validateSeccomp', () => {
  it("accepts a profile in the spec's shape", () => {
    expect(() =>
      validateSpec(
        spec({
          defaultAction: 'SCMP_ACT_ERRNO',
          defaultErrnoRet: 38,
          architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
          flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
          syscalls: [
            { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
            {
              names: ['personality'],
              action: 'SCMP_ACT_ALLOW',
              args: [{ index: 0, value: 4294967295, op: 'SCMP_CMP_EQ' }],
            },
            { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
          ],
        }),
      ),
    ).not.toThrow();
  });

  it.each([
    ['a profile that is not an object', [], /linux\.seccomp: must be an object, got an array/],
    ['a missing defaultAction', {}, /linux\.seccomp\.defaultAction: must be a string, got undefined/],
    [
      'an unknown default action',
      { defaultAction: 'SCMP_ACT_MAYBE' },
      /linux\.seccomp\.defaultAction: unknown seccomp action "SCMP_ACT_MAYBE"/,
    ],
    [
      'an errnoRet on an action that returns nothing',
      { defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 },
      /linux\.seccomp\.defaultErrnoRet: applies only to SCMP_ACT_ERRNO and SCMP_ACT_TRACE/,
    ],
    [
      'an errnoRet out of range',
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }],
      },
      /linux\.seccomp\.syscalls\[0\]\.errnoRet: must be an integer from 0 to 65535/,
    ],
    [
      'an unknown architecture',
      { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_PDP11'] },
      /linux\.seccomp\.architectures\[1\]: unknown architecture "SCMP_ARCH_PDP11"/,
    ],
    [
      'an unknown flag',
      { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] },
      /linux\.seccomp\.flags\[0\]: unknown seccomp flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"/,
    ],
    [
      'a rule without names',
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] },
      /linux\.seccomp\.syscalls\[0\]\.names: must name at least one syscall/,
    ],
    [
      'an unknown rule action',
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['mkdir'], action: 'ALLOW' },
        ],
      },
      /linux\.seccomp\.syscalls\[3\]\.action: unknown seccomp action "ALLOW"/,
    ],
    [
      'an argument index past the sixth',
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['x'], action: 'SCMP_ACT_LOG', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] },
        ],
      },
      /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be an integer from 0 to 5/,
    ],
    [
      'a negative argument value',
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['x'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] },
        ],
      },
      /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: must be a non-negative integer/,
    ],
    [
      'an unknown operator',
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['x'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: 1, op: 'SCMP_CMP_LIKE' }] },
        ],
      },
      /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_LIKE"/,
    ],
  ])('refuses %s, naming the field', (_, profile, message) => {
    expect(() => validateSpec(spec(profile))).toThrow(InvalidConfigError);
    expect(() => validateSpec(spec(profile))).toThrow(message);
  });

  it.each([
    [
      'SCMP_ACT_NOTIFY as the default action',
      { defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/run/agent.sock' },
      /linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be the default action/,
    ],
    [
      'SCMP_ACT_NOTIFY without a listenerPath',
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
      /linux\.seccomp\.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY/,
    ],
    [
      'SCMP_ACT_NOTIFY on the call that hands the listener over',
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: '/run/agent.sock',
        syscalls: [{ names: ['read', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }],
      },
      /linux\.seccomp\.syscalls\[0\]\.names: SCMP_ACT_NOTIFY cannot apply to sendmsg/,
    ],
  ])('refuses %s', (_, profile, message) => {
    expect(() => validateSeccomp(profile)).toThrow(message);
  });
});

describe('compileSeccomp', () => {
  it('every architecture corral names is one libseccomp knows', () => {
    for (const name of SECCOMP_ARCHITECTURES.values()) {
      expect(() =>
        compileSeccompFilter({ defaultAction: 0x7fff0000, architectures: [name], rules: [] }),
      ).not.toThrow();
    }
  });

  it('carries the program as u32 words and the flags the kernel takes', () => {
    const step = compileSeccomp({
      ...mkdirEperm,
      flags: [
        'SECCOMP_FILTER_FLAG_LOG',
        'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
        'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
      ],
    });
    // LOG | SPEC_ALLOW; WAIT_KILLABLE_RECV means nothing without a listener and the kernel refuses it.
    expect(step.op.flags).toBe(2 | 4);
    expect(step.op.program.length % 2).toBe(0);
    const program = Buffer.alloc(step.op.program.length * 4);
    step.op.program.forEach((word, i) => {
      program.writeUInt32LE(word, 4 * i);
    });
    // The last instructions return the actions: EPERM (0x00050001) for mkdir, ALLOW otherwise.
    const returns = [];
    for (let at = 0; at < program.length; at += 8)
      if (program.readUInt16LE(at) === 0x06) returns.push(program.readUInt32LE(at + 4));
    expect(returns).toEqual(expect.arrayContaining([0x00050001, 0x7fff0000]));
    // The op encodes: the plan can carry it.
    expect(protocol.decodePlan(protocol.encodePlan([step.op]))).toEqual([step.op]);
  });

  it('asks for a listener when a rule notifies, and says where it goes', () => {
    const step = compileSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      listenerMetadata: 'x=1',
      flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    });
    // NEW_LISTENER | WAIT_KILLABLE_RECV
    expect(step.op.flags).toBe(8 | 32);
    expect(step.listener).toEqual({ path: '/run/agent.sock', metadata: 'x=1' });
  });

  it('says which syscall names it skipped', () => {
    const step = compileSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'not_a_syscall'], action: 'SCMP_ACT_ERRNO' }],
    });
    expect(step.description).toBe(
      'install the seccomp filter (linux.seccomp; unknown syscalls skipped: not_a_syscall)',
    );
  });

  it('leaves out rules whose action is the default, which libseccomp would refuse', () => {
    expect(() =>
      compileSeccomp({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    ).not.toThrow();
  });
});

describe('where the plan installs the filter', () => {
  const opsOf = (s: Spec) => compileInitPlan(s, { bundle }).ops.map((op) => op.op);

  it('with no_new_privs: last before exec, after the identity and capabilities are set', () => {
    const ops = opsOf(spec(mkdirEperm, (s) => (s.process!.noNewPrivileges = true)));
    expect(ops.slice(-2)).toEqual(['seccomp', 'exec']);
    expect(ops.indexOf('seccomp')).toBeGreaterThan(ops.indexOf('capabilities'));
    expect(ops.indexOf('seccomp')).toBeGreaterThan(ops.indexOf('noNewPrivileges'));
  });

  it('without no_new_privs: after descriptors and cwd, before the capabilities drop CAP_SYS_ADMIN', () => {
    const ops = opsOf(spec(mkdirEperm, (s) => (s.process!.noNewPrivileges = false)));
    const seccomp = ops.indexOf('seccomp');
    expect(seccomp).toBeGreaterThan(ops.lastIndexOf('chdir'));
    expect(seccomp).toBeGreaterThan(ops.indexOf('closeDescriptors'));
    expect(seccomp).toBeGreaterThan(ops.indexOf('resolveExec'));
    expect(ops[seccomp - 1]).toBe('raiseCapabilities');
    expect(seccomp).toBeLessThan(ops.indexOf('capabilities'));
  });

  it('with a listener: before the exec FIFO wait, so that create can hand the listener over', () => {
    const notify = {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    };
    const plan = compileInitPlan(spec(notify), { bundle, execFifo: '/run/corral/x/exec.fifo' });
    const ops = plan.ops.map((op) => op.op);
    expect(ops.indexOf('seccomp')).toBeLessThan(ops.indexOf('signalReady'));
    expect(ops.indexOf('seccomp')).toBeGreaterThan(ops.indexOf('capabilities'));
    expect(plan.seccompListener).toEqual({ path: '/run/agent.sock', metadata: '' });
  });

  it('gives an exec plan the same filter', () => {
    const s = spec(mkdirEperm);
    const init = compileInitPlan(s, { bundle }).ops.find((op) => op.op === 'seccomp');
    const exec = compileExecPlan(s, s.process!, 4).ops.find((op) => op.op === 'seccomp');
    expect(exec).toEqual(init);
  });

  it('adds nothing without linux.seccomp', () => {
    expect(opsOf(spec(undefined))).not.toContain('seccomp');
  });
});

describe('runtimeFeatures', () => {
  it('reports seccomp with the tables the compiler uses', () => {
    const { seccomp } = runtimeFeatures().linux;
    expect(seccomp.enabled).toBe(true);
    expect(seccomp.actions).toContain('SCMP_ACT_ERRNO');
    expect(seccomp.actions).toContain('SCMP_ACT_NOTIFY');
    expect(seccomp.operators).toContain('SCMP_CMP_MASKED_EQ');
    expect(seccomp.archs).toContain('SCMP_ARCH_X86_64');
    expect(seccomp.knownFlags).toContain('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV');
    expect(seccomp.supportedFlags).toEqual(seccomp.knownFlags);
  });
});
