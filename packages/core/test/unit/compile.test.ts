import { describe, expect, it } from 'vitest';

import {
  CorralError,
  compileInitPlan,
  defaultSpec,
  InitError,
  InvalidConfigError,
  initFailure,
  type Spec,
} from '../../src/index.js';

const bundle = '/bundles/demo';

function spec(edit?: (s: Spec) => void): Spec {
  const s = defaultSpec();
  s.mounts = s.mounts!.filter((m) => m.type !== 'cgroup');
  edit?.(s);
  return s;
}

function opNames(s: Spec): string[] {
  return compileInitPlan(s, { bundle }).ops.map((op) => op.op);
}

describe('compileInitPlan', () => {
  it('clones the new namespaces in one step and waits for the runtime', () => {
    const plan = compileInitPlan(spec(), { bundle });
    const clone = plan.ops[plan.cloneIndex];
    // pid | network | ipc | uts | mount
    expect(clone).toEqual({
      op: 'clone',
      flags: 0x20000000n | 0x40000000n | 0x08000000n | 0x04000000n | 0x00020000n,
    });
    expect(plan.ops[plan.cloneIndex + 1]).toEqual({ op: 'waitGo' });
  });

  it('joins namespaces given by path before the clone, in join order', () => {
    const plan = compileInitPlan(
      spec((s) => {
        s.linux!.namespaces = [
          { type: 'mount' },
          { type: 'network', path: '/run/netns/a' },
          { type: 'ipc', path: '/proc/9/ns/ipc' },
        ];
        s.hostname = undefined;
      }),
      { bundle },
    );
    expect(plan.ops.slice(0, plan.cloneIndex + 1)).toEqual([
      { op: 'joinNamespace', nstype: 0x08000000, path: '/proc/9/ns/ipc' },
      { op: 'joinNamespace', nstype: 0x40000000, path: '/run/netns/a' },
      { op: 'clone', flags: 0x00020000n },
    ]);
  });

  it('orders the steps: rootfs, mounts, devices, pivot, masks, cwd, identity, lookup, exec', () => {
    const names = opNames(spec());
    const order = [
      'waitGo',
      'resetCpuAffinity',
      'openRootfs',
      'mountFs',
      'mknod',
      'symlink',
      'pivotRoot',
      'maskPath',
      'readonlyPath',
      'remountReadonly',
      'sethostname',
      'rlimit',
      'chdir',
      'homeFromPasswd',
      'setgroups',
      'setgid',
      'setuid',
      'resolveExec',
      'closeDescriptors',
      'capabilities',
      'noNewPrivileges',
      'exec',
    ];
    const positions = order.map((name) => names.indexOf(name));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(names.at(-1)).toBe('exec');
  });

  it('resolves the rootfs and bind sources against the bundle', () => {
    const plan = compileInitPlan(
      spec((s) => {
        s.mounts!.push({
          destination: '/data',
          type: 'bind',
          source: '/',
          options: ['rbind', 'ro', 'nosuid', 'rprivate'],
        });
      }),
      { bundle },
    );
    expect(plan.ops).toContainEqual({ op: 'openRootfs', path: '/bundles/demo/rootfs' });
    expect(plan.ops).toContainEqual({
      op: 'mountBind',
      source: '/',
      target: '/data',
      flags: 1 | 8, // recursive, make the target
      attrSet: 0x1n | 0x2n,
      attrClear: 0n,
      // What a remount with "ro,nosuid" clears: nodev, noexec, nodiratime, nosymfollow.
      attrReset: 0x4n | 0x8n | 0x80n | 0x200000n,
      recursiveSet: 0n,
      recursiveClear: 0n,
      propagation: 1 << 18,
      userns: 0,
    });
  });

  it('binds a source inside the rootfs by its place in the root, and keeps what a bare bind names nothing of', () => {
    const plan = compileInitPlan(
      spec((s) => {
        s.mounts!.push({ destination: '/b', type: 'bind', source: 'rootfs/a/sub', options: ['rbind'] });
      }),
      { bundle },
    );
    expect(plan.ops).toContainEqual(
      expect.objectContaining({ op: 'mountBind', source: '/a/sub', flags: 1 | 4 | 8, attrReset: 0n }),
    );
  });

  it('passes filesystem options through and attributes as flags', () => {
    const plan = compileInitPlan(spec(), { bundle });
    expect(plan.ops).toContainEqual({
      op: 'mountFs',
      fstype: 'tmpfs',
      source: 'tmpfs',
      target: '/dev',
      attrSet: 0x2n | 0x20n,
      propagation: 0,
      flags: 1 | 2, // make the directory, keep its mode
      options: ['mode=755', 'size=65536k'],
      tryOptions: [],
    });
    const index = plan.ops.findIndex((op) => op.op === 'mountFs' && op.target === '/dev');
    expect(plan.describe[index]).toBe('mount tmpfs on /dev (mounts[1])');
  });

  it('creates the default devices after /dev is mounted', () => {
    const plan = compileInitPlan(spec(), { bundle });
    const devMount = plan.ops.findIndex((op) => op.op === 'mountFs' && op.target === '/dev');
    const nulls = plan.ops.findIndex((op) => op.op === 'mknod' && op.path === '/dev/null');
    expect(nulls).toBeGreaterThan(devMount);
    expect(plan.ops[nulls]).toEqual({
      op: 'mknod',
      path: '/dev/null',
      mode: 0o020666,
      major: 1,
      minor: 3,
      uid: 0,
      gid: 0,
    });
    expect(plan.ops.filter((op) => op.op === 'mknod')).toHaveLength(6);
  });

  it('adds config devices and does not duplicate a default one', () => {
    const plan = compileInitPlan(
      spec((s) => {
        s.linux!.devices = [
          { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 },
          { path: '/dev/net/tun', type: 'c', major: 10, minor: 200, uid: 5, gid: 6 },
        ];
      }),
      { bundle },
    );
    const mknods = plan.ops.filter((op) => op.op === 'mknod');
    expect(mknods).toHaveLength(7);
    expect(mknods).toContainEqual({
      op: 'mknod',
      path: '/dev/null',
      mode: 0o020600,
      major: 1,
      minor: 3,
      uid: 0,
      gid: 0,
    });
    expect(plan.ops).toContainEqual({ op: 'mkdir', path: '/dev/net', mode: 0o755 });
  });

  it('turns capability names into masks and keeps ambient within inheritable', () => {
    const plan = compileInitPlan(
      spec((s) => {
        s.process!.capabilities = {
          bounding: ['CAP_KILL', 'CAP_CHOWN'],
          effective: ['CAP_KILL'],
          permitted: ['CAP_KILL', 'CAP_CHOWN'],
          inheritable: ['CAP_CHOWN'],
          ambient: ['CAP_KILL', 'CAP_CHOWN'],
        };
      }),
      { bundle },
    );
    expect(plan.ops).toContainEqual({
      op: 'capabilities',
      bounding: (1n << 5n) | 1n,
      effective: 1n << 5n,
      permitted: (1n << 5n) | 1n,
      inheritable: 1n,
      ambient: 1n,
    });
  });

  it('always sets the groups, the gid and the uid', () => {
    const plan = compileInitPlan(
      spec((s) => {
        s.process!.user = { uid: 1000, gid: 100, umask: 0o27 };
      }),
      { bundle },
    );
    expect(plan.ops).toContainEqual({ op: 'setgroups', gids: [] });
    expect(plan.ops).toContainEqual({ op: 'setgid', gid: 100 });
    expect(plan.ops).toContainEqual({ op: 'setuid', uid: 1000 });
    expect(plan.ops).toContainEqual({ op: 'umask', mask: 0o27 });
  });

  it('chroots instead of pivoting with noPivot', () => {
    const names = compileInitPlan(spec(), { bundle, noPivot: true }).ops.map((op) => op.op);
    expect(names).toContain('chroot');
    expect(names).not.toContain('pivotRoot');
  });

  it('refuses a config that would mount on the host or cannot be honoured', () => {
    expect(() =>
      compileInitPlan(
        spec((s) => {
          s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== 'mount');
        }),
        { bundle },
      ),
    ).toThrow(InvalidConfigError);
    expect(() =>
      compileInitPlan(
        spec((s) => {
          s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== 'uts');
        }),
        { bundle },
      ),
    ).toThrow(/hostname: setting a hostname needs a uts namespace/);
    // A joined one may be named, as the spec allows and runc does.
    const joined = compileInitPlan(
      spec((s) => {
        s.linux!.namespaces = s.linux!.namespaces!.map((ns) =>
          ns.type === 'uts' ? { type: 'uts', path: '/proc/1/ns/uts' } : ns,
        );
        s.hostname = 'named';
      }),
      { bundle },
    );
    expect(joined.ops).toContainEqual({ op: 'sethostname', name: 'named' });
    expect(() =>
      compileInitPlan(
        spec((s) => {
          s.linux!.namespaces!.push({ type: 'user' });
        }),
        { bundle },
      ),
    ).toThrow(CorralError);
  });

  it('names the mount at fault when a bind source is missing', () => {
    expect(() =>
      compileInitPlan(
        spec((s) => {
          s.mounts!.push({ destination: '/x', type: 'bind', source: '/no/such/source' });
        }),
        { bundle },
      ),
    ).toThrow(/mounts\[6\]\.source: cannot bind \/no\/such\/source: ENOENT/);
  });
});

describe('initFailure', () => {
  it("turns corral-init's report into an error in the config's terms", () => {
    const plan = compileInitPlan(spec(), { bundle });
    const index = plan.ops.findIndex((op) => op.op === 'mountFs' && op.target === '/proc');
    const error = initFailure(plan, {
      opIndex: index,
      errno: 1,
      syscall: 'fsmount',
      path: '/proc',
      message: '',
    });
    expect(error).toBeInstanceOf(InitError);
    expect(error).toMatchObject({
      stage: 'container',
      opIndex: index,
      syscall: 'fsmount',
      errnoCode: 'EPERM',
      code: 'SYSTEM',
    });
    expect(error.message).toBe('mount proc on /proc (mounts[0]): fsmount: EPERM');
    const early = initFailure(plan, {
      opIndex: plan.cloneIndex,
      errno: 22,
      syscall: 'clone3',
      path: '',
      message: '',
    });
    expect(early.stage).toBe('runtime');
    expect(early.message).toBe('start the container process: clone3: EINVAL');
  });
});

describe('args[0] lookup', () => {
  it('looks args[0] up on the process PATH after the identity is set, before the process is ready', () => {
    const plan = compileInitPlan(
      spec((s) => {
        s.process!.args = ['nope'];
        s.process!.env = ['PATH=/a', 'TERM=xterm', 'PATH=/b:/c'];
      }),
      { bundle, execFifo: '/run/x/exec.fifo' },
    );
    const names = plan.ops.map((op) => op.op);
    const lookup = names.indexOf('resolveExec');
    expect(plan.ops[lookup]).toEqual({ op: 'resolveExec', file: 'nope', searchPath: '/b:/c' });
    expect(lookup).toBeGreaterThan(names.indexOf('setuid'));
    expect(lookup).toBeLessThan(names.indexOf('signalReady'));
    expect(plan.ops.at(-1)).toMatchObject({ op: 'exec', args: ['nope'] });
  });

  it("words a failed lookup as Go's exec.LookPath, which tools match on", () => {
    const text = (args: string[], report: { errno: number; syscall: string; message: string }) => {
      const plan = compileInitPlan(
        spec((s) => (s.process!.args = args)),
        { bundle },
      );
      const opIndex = plan.ops.findIndex((op) => op.op === 'resolveExec');
      return initFailure(plan, { opIndex, path: args[0]!, ...report }).message;
    };
    expect(text(['/nope'], { errno: 2, syscall: 'stat', message: 'No such file or directory' })).toBe(
      'exec: "/nope": stat /nope: no such file or directory',
    );
    expect(text(['nope'], { errno: 2, syscall: 'lookpath', message: '' })).toBe(
      'exec: "nope": executable file not found in $PATH',
    );
    expect(text(['/etc/passwd'], { errno: 13, syscall: '', message: 'Permission denied' })).toBe(
      'exec: "/etc/passwd": permission denied',
    );
  });
});

describe('the process environment', () => {
  const envOf = (env: string[] | undefined) => {
    const plan = compileInitPlan(
      spec((s) => {
        s.process!.env = env;
      }),
      { bundle },
    );
    return {
      env: plan.ops.find((op) => op.op === 'exec')!.env,
      home: plan.ops.some((op) => op.op === 'homeFromPasswd'),
    };
  };

  it('keeps the last value of each name where it last appears, and asks for HOME when unset or empty', () => {
    expect(envOf(['A=1', 'B=2', 'A=3'])).toEqual({ env: ['B=2', 'A=3'], home: true });
    expect(envOf(['HOME=', 'A=1'])).toEqual({ env: ['A=1'], home: true });
    expect(envOf(['HOME=/h', 'HOME='])).toEqual({ env: [], home: true });
    expect(envOf(['HOME=/h'])).toEqual({ env: ['HOME=/h'], home: false });
    // No environment at all gets none, as with current runc.
    expect(envOf(undefined)).toEqual({ env: [], home: false });
  });
});
