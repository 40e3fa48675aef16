import { describe, expect, it } from 'vitest';

import { compileExecPlan, compileInitPlan, defaultSpec, type Spec, validateSpec } from '../../src/index.js';
import { NAMESPACE_FLAGS } from '../../src/plan/namespaces.js';

const bundle = '/bundles/demo';
const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWTIME = 0x80n;

function spec(edit?: (s: Spec) => void): Spec {
  const s = defaultSpec();
  s.mounts = s.mounts!.filter((m) => m.type !== 'cgroup');
  edit?.(s);
  return s;
}

function withUser(s: Spec): void {
  s.linux!.namespaces!.push({ type: 'user' });
  s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
}

const ops = (plan: { ops: ReadonlyArray<{ op: string }> }) => plan.ops.map((op) => op.op);

/** Compiles after validating, as launch does. */
function compile(s: Spec) {
  return compileInitPlan(validateSpec(s), { bundle });
}

describe('time namespace', () => {
  it('is unshared before the clone with its offsets, so the process enters it already shifted', () => {
    const plan = compile(
      spec((s) => {
        s.linux!.namespaces!.push({ type: 'time' });
        s.linux!.timeOffsets = { boottime: { secs: 86400 }, monotonic: { secs: -5, nanosecs: 7 } };
      }),
    );
    const before = plan.ops.slice(0, plan.cloneIndex);
    expect(before).toEqual([
      { op: 'unshare', flags: CLONE_NEWTIME },
      {
        op: 'timeOffsets',
        monotonicSecs: BigInt.asUintN(64, -5n),
        monotonicNanosecs: 7,
        boottimeSecs: 86400n,
        boottimeNanosecs: 0,
      },
    ]);
    const clone = plan.ops[plan.cloneIndex];
    expect(clone?.op === 'clone' && clone.flags & CLONE_NEWTIME).toBe(0n);
  });

  it('makes the cgroup namespace after the runtime has put the process in its cgroup', () => {
    const plan = compile(spec((s) => s.linux!.namespaces!.push({ type: 'cgroup' })));
    const clone = plan.ops[plan.cloneIndex];
    expect(clone?.op === 'clone' && clone.flags & 0x02000000n).toBe(0n);
    const go = plan.ops.findIndex((op) => op.op === 'waitGo');
    const unshare = plan.ops.findIndex((op) => op.op === 'unshare' && op.flags === 0x02000000n);
    expect(unshare).toBeGreaterThan(go);
  });

  it.each([
    [
      'offsets without a time namespace',
      (s: Spec) => (s.linux!.timeOffsets = { boottime: { secs: 1 } }),
      /linux\.timeOffsets: time offsets need a time namespace/,
    ],
    [
      'offsets for a joined time namespace',
      (s: Spec) => {
        s.linux!.namespaces!.push({ type: 'time', path: '/proc/1/ns/time' });
        s.linux!.timeOffsets = { boottime: { secs: 1 } };
      },
      /linux\.timeOffsets: a joined time namespace/,
    ],
    [
      'an unknown clock',
      (s: Spec) => (s.linux!.timeOffsets = { realtime: { secs: 1 } } as never),
      /linux\.timeOffsets\.realtime: unknown clock/,
    ],
    [
      'an offset the kernel cannot hold',
      (s: Spec) => (s.linux!.timeOffsets = { monotonic: { secs: 2 ** 40 } }),
      /linux\.timeOffsets\.monotonic\.secs: must be an integer from -4611686018/,
    ],
    [
      'nanoseconds past a second',
      (s: Spec) => (s.linux!.timeOffsets = { boottime: { nanosecs: 1e9 } }),
      /linux\.timeOffsets\.boottime\.nanosecs/,
    ],
  ])('refuses %s', (_, edit, message) => {
    expect(() => compile(spec(edit))).toThrow(message);
  });
});

describe('joining namespaces', () => {
  it('joins every namespace but user and mount first, then user, then mount', () => {
    const plan = compile(
      spec((s) => {
        s.linux!.namespaces = [
          { type: 'mount', path: '/proc/9/ns/mnt' },
          { type: 'user', path: '/proc/9/ns/user' },
          { type: 'network', path: '/run/netns/a' },
          { type: 'uts', path: '/proc/9/ns/uts' },
        ];
        delete s.hostname; // the joined uts namespace is someone else's to name
      }),
    );
    const joins = plan.ops.filter((op) => op.op === 'joinNamespace').map((op) => op.path);
    expect(joins).toEqual(['/proc/9/ns/uts', '/run/netns/a', '/proc/9/ns/user', '/proc/9/ns/mnt']);
    expect(plan.describe[1]).toBe('join network namespace /run/netns/a (linux.namespaces[2].path)');
  });

  it("an exec joins all of the init's namespaces at once, through its pidfd", () => {
    const s = spec(withUser);
    const plan = compileExecPlan(s, s.process!, 4);
    const joins = plan.ops.filter((op) => op.op === 'joinNamespace' || op.op === 'joinPidfd');
    const all = (s.linux!.namespaces ?? []).reduce(
      (flags, ns) => flags | Number(NAMESPACE_FLAGS[ns.type]),
      0,
    );
    expect(joins).toEqual([{ op: 'joinPidfd', nstype: all, fd: 4 }]);
    expect(all & Number(CLONE_NEWUSER)).toBeTruthy();
  });
});

describe('the cgroup entry', () => {
  const entry = { startIn: 5, tasksFiles: [6, 7] };
  const around = (plan: ReturnType<typeof compile>) =>
    plan.ops.slice(plan.cloneIndex - 1, plan.cloneIndex + 2).map((op) => op.op);

  it('starts the init in its cgroup2 directory, and it moves itself into the v1 ones first thing', () => {
    const plan = compileInitPlan(validateSpec(spec()), { bundle, cgroupEntry: entry });
    expect(around(plan)).toEqual(['startInCgroup', 'clone', 'enterCgroups']);
    expect(plan.ops[plan.cloneIndex - 1]).toEqual({ op: 'startInCgroup', fd: 5 });
    expect(plan.ops[plan.cloneIndex + 1]).toEqual({ op: 'enterCgroups', fds: [6, 7] });
    // Still before the runtime lets it go on, and so before the cgroup namespace is made.
    const names = plan.ops.map((op) => op.op);
    expect(names.indexOf('enterCgroups')).toBeLessThan(names.indexOf('waitGo'));
    expect(ops(compile(spec()))).not.toContain('enterCgroups');
  });

  it("an exec starts in the cgroup from the host cgroup namespace, then joins the container's", () => {
    const s = spec((s) => s.linux!.namespaces!.push({ type: 'cgroup' }));
    const plan = compileExecPlan(s, s.process!, 4, { cgroupEntry: entry });
    const cgroupns = Number(NAMESPACE_FLAGS.cgroup);
    const all = (s.linux!.namespaces ?? []).reduce(
      (flags, ns) => flags | Number(NAMESPACE_FLAGS[ns.type]),
      0,
    );
    expect(plan.ops.slice(0, 6)).toEqual([
      { op: 'joinPidfd', nstype: all & ~cgroupns, fd: 4 },
      { op: 'startInCgroup', fd: 5 },
      { op: 'clone', flags: 0n },
      { op: 'enterCgroups', fds: [6, 7] },
      { op: 'joinPidfd', nstype: cgroupns, fd: 4 },
      { op: 'waitGo' },
    ]);
    // Without a cgroup2 directory to start in, all at once as before.
    const v1 = compileExecPlan(s, s.process!, 4, { cgroupEntry: { tasksFiles: [5] } });
    expect(v1.ops[0]).toEqual({ op: 'joinPidfd', nstype: all, fd: 4 });
  });
});

describe('user namespace', () => {
  it('is created by the clone, and the process becomes its root before any mount', () => {
    const plan = compile(spec(withUser));
    const clone = plan.ops[plan.cloneIndex];
    expect(clone?.op === 'clone' && clone.flags & CLONE_NEWUSER).toBe(CLONE_NEWUSER);
    const names = plan.ops.map((op) => op.op);
    const becomeRoot = names.indexOf('setgroups');
    expect(plan.ops.slice(becomeRoot, becomeRoot + 3)).toEqual([
      { op: 'setgroups', gids: [] },
      { op: 'setgid', gid: 0 },
      { op: 'setuid', uid: 0 },
    ]);
    // Only the runtime's own paths are opened before: every mount comes after.
    expect(becomeRoot).toBeGreaterThan(names.indexOf('openRootfs'));
    expect(becomeRoot).toBeLessThan(names.indexOf('mountFs'));
  });

  it("binds the host's devices instead of making nodes", () => {
    const plan = compile(spec(withUser));
    expect(plan.ops.some((op) => op.op === 'mknod')).toBe(false);
    expect(plan.ops).toContainEqual({ op: 'mkfile', path: '/dev/null', mode: 0 });
    expect(plan.ops).toContainEqual({
      op: 'mountBind',
      source: '/dev/null',
      target: '/dev/null',
      flags: 0,
      attrSet: 0n,
      attrClear: 0n,
      attrReset: 0n,
      recursiveSet: 0n,
      recursiveClear: 0n,
      propagation: 0,
      userns: 0,
    });
  });

  it.each([
    [
      'no uid mappings',
      (s: Spec) => delete s.linux!.uidMappings,
      /linux\.uidMappings: a new user namespace needs uid mappings/,
    ],
    [
      'no gid mappings',
      (s: Spec) => delete s.linux!.gidMappings,
      /linux\.gidMappings: a new user namespace needs gid mappings/,
    ],
    [
      'mappings without a user namespace',
      (s: Spec) => (s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== 'user')),
      /linux\.uidMappings: id mappings need a new user namespace/,
    ],
    [
      'mappings beside a joined user namespace',
      (s: Spec) => (s.linux!.namespaces!.find((ns) => ns.type === 'user')!.path = '/proc/1/ns/user'),
      /linux\.uidMappings: a joined user namespace keeps its own mappings/,
    ],
    [
      'an empty range',
      (s: Spec) => (s.linux!.uidMappings![0]!.size = 0),
      /linux\.uidMappings\[0\]\.size: must not be 0/,
    ],
    [
      'a range past the last id',
      (s: Spec) => (s.linux!.gidMappings![0]!.hostID = 4294967295),
      /linux\.gidMappings\[0\]: the range runs past the last id/,
    ],
    [
      'overlapping host ranges',
      (s: Spec) => s.linux!.uidMappings!.push({ containerID: 70000, hostID: 100010, size: 5 }),
      /linux\.uidMappings\[1\]: its host ids overlap linux\.uidMappings\[0\]/,
    ],
    [
      'overlapping container ranges',
      (s: Spec) => s.linux!.uidMappings!.push({ containerID: 10, hostID: 900000, size: 5 }),
      /linux\.uidMappings\[1\]: its container ids overlap linux\.uidMappings\[0\]/,
    ],
    [
      'no mapping of root',
      (s: Spec) => (s.linux!.uidMappings = [{ containerID: 1000, hostID: 1000, size: 1 }]),
      /linux\.uidMappings: must map container id 0/,
    ],
    [
      'an unmapped process uid',
      (s: Spec) => (s.process!.user.uid = 70000),
      /process\.user\.uid: uid 70000 is not in linux\.uidMappings/,
    ],
    [
      'an unmapped additional gid',
      (s: Spec) => (s.process!.user.additionalGids = [5, 70000]),
      /process\.user\.additionalGids\[1\]: gid 70000 is not in linux\.gidMappings/,
    ],
    [
      'a negative host id',
      (s: Spec) => (s.linux!.uidMappings![0]!.hostID = -1),
      /linux\.uidMappings\[0\]\.hostID: must be an integer/,
    ],
  ])('refuses %s, naming the field', (_, edit, message) => {
    expect(() =>
      compile(
        spec((s) => {
          withUser(s);
          edit(s);
        }),
      ),
    ).toThrow(message);
  });
});

describe('bind sources in a user namespace', () => {
  it('are opened before the process becomes root, each for its own bind', () => {
    const plan = compile(
      spec((s) => {
        withUser(s);
        s.mounts!.push({ destination: '/data', type: 'bind', source: '/', options: ['rbind'] });
      }),
    );
    const names = plan.ops.map((op) => op.op);
    const becomeRoot = names.indexOf('setgroups');
    const early = plan.ops.flatMap((op, i) => (op.op === 'openMountSource' ? [i] : []));
    const binds = plan.ops.filter((op) => op.op === 'mountBind');
    expect(early.length).toBe(binds.length);
    expect(early.every((i) => i > names.indexOf('openRootfs') && i < becomeRoot)).toBe(true);
    expect(plan.ops).toContainEqual({ op: 'openMountSource', source: '/', flags: 1, userns: 0 });
    const rootBind = early.find((i) => (plan.ops[i] as { source: string }).source === '/')!;
    expect(plan.describe[rootBind]).toBe('open / early, to bind / on /data (mounts[6])');
  });
});
