import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Pidfd, protocol } from '@corral/native';
import { afterEach, describe, expect, it } from 'vitest';

import { InitProcess } from '../../src/container/process/init-process.js';
import { compileInitPlan, type Spec } from '../../src/index.js';
import { bundleMaker, corralBin, corralSync, disposeBundles, type TestBundle } from './bundle.js';
import { runcRun } from './runc.js';

// The last steps before the container's execve, in the order runc takes them: working
// directory, HOME, identity, descriptors, seccomp, and what the process inherits of corral's own
// CPU affinity. Where Debian's runc 1.1.5 behaves as current runc does, the same bundle runs under
// both; where it predates the behaviour, the kernel's own state is the proof.
const made: TestBundle[] = [];
afterEach(() => disposeBundles(made));
const bundleFor = bundleMaker(made);

/** The same bundle twice (what one runtime makes in a rootfs must not meet the other), run by each. */
function runBoth(script: string, edit?: (spec: Spec) => void, prepare?: (bundle: TestBundle) => void) {
  const [ofCorral, ofRunc] = [0, 1].map(() => {
    const bundle = bundleFor(['sh', '-c', script], edit);
    prepare?.(bundle);
    return bundle;
  }) as [TestBundle, TestBundle];
  const corral = corralSync(ofCorral, 'run', '--bundle', ofCorral.path, ofCorral.id);
  return { bundle: ofCorral, corral, runc: runcRun(ofRunc) };
}

describe('seccomp and the last steps', () => {
  // Profiles written before Linux 5.9 lack close_range; some deny getcwd. Only the container's
  // own calls may meet the filter, never corral-init's descriptor and directory work.
  const denying = (noNewPrivileges: boolean) => (spec: Spec) => {
    spec.process!.noNewPrivileges = noNewPrivileges;
    spec.process!.cwd = '/tmp';
    spec.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['close_range', 'getcwd'], action: 'SCMP_ACT_ERRNO' }],
    };
  };

  it.each([true, false])('a profile denying close_range and getcwd runs, noNewPrivileges %s', (nnp) => {
    const { corral, runc } = runBoth('echo started; cat /proc/self/status | grep ^Seccomp:', denying(nnp));
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('started\nSeccomp:\t2\n');
    expect(corral.status).toBe(0);
    // Debian's runc 1.1.5 checks its working directory with getcwd under the filter when
    // noNewPrivileges is false, and fails there; with it, it runs as corral does.
    if (nnp) expect(runc.stdout).toBe(corral.stdout);
    else expect(runc.stderr).toMatch(/failed to verify if current working directory is safe/);
  });
});

describe('process.cwd', () => {
  it('is entered before the uid switch, so a directory only root may enter works', () => {
    const { corral, runc } = runBoth(
      'pwd; id -u',
      (spec) => {
        spec.process!.cwd = '/root-only';
        spec.process!.user = { uid: 1000, gid: 1000 };
      },
      (bundle) => {
        mkdirSync(join(bundle.rootfs, 'root-only'), { mode: 0o700 });
        chmodSync(join(bundle.rootfs, 'root-only'), 0o700);
      },
    );
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('/root-only\n1000\n');
    expect(runc.stdout).toBe(corral.stdout);
  });

  it('is made when it does not exist, and a file in its place is refused', () => {
    const made = runBoth('pwd', (spec) => {
      spec.process!.cwd = '/missing/deep';
    });
    expect(made.corral.stderr).toBe('');
    expect(made.corral.stdout).toBe('/missing/deep\n');
    expect(made.runc.stdout).toBe(made.corral.stdout);
    const { bundle, corral, runc } = runBoth('true', (spec) => {
      spec.process!.cwd = '/etc/passwd';
    });
    expect(corral.status).toBe(1);
    expect(corral.stderr).toMatch(/create \/etc\/passwd \(process\.cwd\): mkdirat: ENOTDIR/);
    expect(runc.status).toBe(1);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
  });
});

describe('HOME', () => {
  it.each([
    ['is the user’s home from the container’s /etc/passwd when unset', 0, ['PATH=/bin'], '/root'],
    ['replaces an empty HOME', 0, ['PATH=/bin', 'HOME='], '/root'],
    ['is / for a user whose entry says so', 65534, ['PATH=/bin'], '/'],
    ['is / for a uid /etc/passwd does not list', 4321, ['PATH=/bin'], '/'],
    ['is kept when the config sets it', 0, ['HOME=/srv', 'PATH=/bin'], '/srv'],
  ])('%s', (_, uid, env, home) => {
    const { corral, runc } = runBoth('echo "$HOME"', (spec) => {
      spec.process!.user = { uid, gid: uid };
      spec.process!.env = env;
    });
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe(`${home}\n`);
    expect(runc.stdout).toBe(corral.stdout);
  });

  it("falls back to / when /etc/passwd is missing, and corral-init's log line says why", async () => {
    const bundle = bundleFor(['sh', '-c', 'echo "$HOME" >/home-was'], (spec) => {
      spec.process!.env = ['PATH=/bin'];
    });
    rmSync(join(bundle.rootfs, 'etc/passwd'));
    const plan = compileInitPlan(JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8')), {
      bundle: bundle.path,
    });
    const lines: Array<[number, string]> = [];
    const init = await InitProcess.start(plan, ['ignore', 'ignore', 'ignore'], {
      log: (level, line) => lines.push([level, line]),
    });
    let child: Pidfd | undefined;
    try {
      ({ child } = await init.handshake({
        childStarted: async () => {},
        beforeGo: async () => undefined,
        until: 'exec',
      }));
      await child.exited();
    } finally {
      init.close();
      child?.close();
    }
    expect(readFileSync(join(bundle.rootfs, 'home-was'), 'utf8')).toBe('/\n');
    expect(lines).toEqual([
      [
        protocol.LogLevel.debug,
        'HOME not set in process.env, and /etc/passwd could not be read: No such file or directory',
      ],
    ]);
  });

  it('keeps the last value of a name given twice, in the place it last appears', () => {
    const bundle = bundleFor(['/bin/env'], (spec) => {
      spec.process!.env = ['A=1', 'PATH=/bin', 'A=2', 'HOME=/h'];
    });
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.stdout).toBe('PATH=/bin\nA=2\nHOME=/h\n');
  });
});

describe('CPU affinity', () => {
  const allowed = 'grep Cpus_allowed_list /proc/self/status | cut -f2';
  /** corral run started with only CPU 0 of its own. */
  function runPinned(bundle: TestBundle) {
    const result = spawnSync(
      'taskset',
      ['-c', '0', corralBin, '--root', bundle.stateRoot, 'run', '--bundle', bundle.path, bundle.id],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (result.error) throw result.error;
    return result;
  }
  const all = spawnSync('sh', ['-c', allowed], { encoding: 'utf8' }).stdout;

  it("drops corral's own for every CPU the container's cgroup allows when the config sets none", () => {
    const result = runPinned(bundleFor(['sh', '-c', allowed]));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(all);
  });

  it('keeps execCPUAffinity.initial when no final is set, and ends on final when it is', () => {
    const initial = runPinned(
      bundleFor(['sh', '-c', allowed], (spec) => {
        Object.assign(spec.process!, { execCPUAffinity: { initial: '1' } });
      }),
    );
    expect(initial.stdout).toBe('1\n');
    const final = runPinned(
      bundleFor(['sh', '-c', allowed], (spec) => {
        Object.assign(spec.process!, { execCPUAffinity: { initial: '0', final: '1' } });
      }),
    );
    expect(final.stdout).toBe('1\n');
  });
});

describe('linux.memoryPolicy', () => {
  const policyOf = "sed -n 's/^[0-9a-f]* \\([a-z:0-9=-]*\\) .*stack.*/\\1/p' /proc/self/numa_maps";

  it.each([
    [{ mode: 'MPOL_BIND', nodes: '0' }, 'bind:0'],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, 'interleave=static:0'],
    [{ mode: 'MPOL_PREFERRED', nodes: '0' }, 'prefer:0'],
  ])('%j is the policy the process runs under', (policy, shown) => {
    const bundle = bundleFor(['sh', '-c', policyOf], (spec) => {
      spec.linux!.memoryPolicy = policy;
    });
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${shown}\n`);
  });

  it.each([
    [{ mode: 'MPOL_BIND' }, /linux\.memoryPolicy\.nodes: MPOL_BIND needs at least one node/],
    [{ mode: 'MPOL_LOCAL', nodes: '0' }, /linux\.memoryPolicy\.nodes: MPOL_LOCAL takes no nodes/],
    [{ mode: 'MPOL_FASTEST' }, /linux\.memoryPolicy\.mode: invalid memory policy mode "MPOL_FASTEST"/],
    [
      { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] },
      /exclude each other/,
    ],
    [{ mode: 'MPOL_BIND', nodes: '3-1' }, /linux\.memoryPolicy\.nodes: has an impossible range 3-1/],
  ])('refuses %j, leaving nothing', (policy, message) => {
    const bundle = bundleFor(['true'], (spec) => {
      spec.linux!.memoryPolicy = policy;
    });
    const result = corralSync(bundle, 'run', '--bundle', bundle.path, bundle.id);
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(1);
    expect(existsSync(join(bundle.stateRoot, bundle.id))).toBe(false);
  });
});
