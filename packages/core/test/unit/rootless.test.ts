import { describe, expect, it } from 'vitest';

import { isUserNamespaceMap } from '../../src/container/rootless/mode.js';
import { covers, describeRanges, subordinateRanges } from '../../src/container/rootless/subids.js';
import { compileExecPlan, compileInitPlan, defaultSpec, rootlessSpec, type Spec } from '../../src/index.js';

describe('isUserNamespaceMap (runc: libcontainer/userns)', () => {
  it("takes the host's identity map for the host, anything else for a user namespace", () => {
    expect(isUserNamespaceMap('         0          0 4294967295\n')).toBe(false);
    expect(isUserNamespaceMap('         0       1001          1\n')).toBe(true);
    expect(isUserNamespaceMap('0 0 4294967294\n')).toBe(true);
    // A namespace whose map is not written yet.
    expect(isUserNamespaceMap('')).toBe(true);
    expect(isUserNamespaceMap('garbage')).toBe(false);
  });
});

describe('subordinate ids (/etc/subuid, /etc/subgid)', () => {
  const file =
    'alice:100000:65536\nbob:165536:65536\n# a comment\n1001:300000:10\nalice:165536:100\nbroken\n';

  it("finds a user's ranges by name and by uid, in file order", () => {
    expect(subordinateRanges(file, { name: 'alice', uid: 1001 })).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 10 },
      { start: 165536, count: 100 },
    ]);
    expect(subordinateRanges(file, { name: undefined, uid: 1002 })).toEqual([]);
  });

  it('covers a mapping with one range or ranges that follow one another, as newuidmap checks', () => {
    const ranges = subordinateRanges(file, { name: 'alice', uid: 1001 });
    expect(covers(ranges, { start: 100000, count: 65536 })).toBe(true);
    expect(covers(ranges, { start: 100000, count: 65636 })).toBe(true);
    expect(covers(ranges, { start: 100000, count: 65637 })).toBe(false);
    expect(covers(ranges, { start: 99999, count: 2 })).toBe(false);
    expect(covers(ranges, { start: 300005, count: 5 })).toBe(true);
    expect(describeRanges(ranges)).toBe('100000-165535, 300000-300009, 165536-165635');
    expect(describeRanges([])).toBe('none');
  });
});

describe('the plan of a runtime that is not root', () => {
  const ops = (plan: { ops: Array<{ op: string }> }) => plan.ops.map((op) => op.op);
  // The cgroup mount's plan is cgroup-mount.test.ts's.
  const withoutCgroupMount = (spec: Spec) => ({
    ...spec,
    mounts: spec.mounts!.filter((mount) => mount.type !== 'cgroup'),
  });

  it('keeps its process dumpable from before the clone until the maps are written, and sets no groups', () => {
    const spec = withoutCgroupMount(rootlessSpec(1001, 1001));
    const plan = ops(compileInitPlan(spec, { bundle: '/b', rootless: true }));
    const clone = plan.indexOf('clone');
    expect(plan.slice(clone - 1, clone + 3)).toEqual(['dumpable', 'clone', 'waitGo', 'dumpable']);
    expect(plan).not.toContain('setgroups');
    expect(ops(compileInitPlan(spec, { bundle: '/b' }))).not.toContain('dumpable');
    expect(ops(compileInitPlan(spec, { bundle: '/b' }))).toContain('setgroups');
  });

  it('sets no groups in an exec either', () => {
    const spec = rootlessSpec(1001, 1001);
    expect(ops(compileExecPlan(spec, spec.process!, 3, { rootless: true }))).not.toContain('setgroups');
    expect(ops(compileExecPlan(spec, spec.process!, 3))).toContain('setgroups');
  });

  it('binds the devices from the host when the runtime is in a user namespace', () => {
    const spec = withoutCgroupMount(defaultSpec());
    const bound = compileInitPlan(spec, { bundle: '/b', bindDevices: true }).ops;
    expect(bound.some((op) => op.op === 'mknod')).toBe(false);
    expect(bound).toContainEqual(
      expect.objectContaining({ op: 'mountBind', source: '/dev/null', target: '/dev/null' }),
    );
    expect(compileInitPlan(spec, { bundle: '/b' }).ops.some((op) => op.op === 'mknod')).toBe(true);
  });
});
