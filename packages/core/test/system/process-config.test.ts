import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import { baseConfig, corralBin, disposeBundles, makeBundle, type TestBundle } from './bundle.js';

// Parts of process and linux observed from inside real containers, and refused before
// anything exists when corral cannot honour them.
const made: TestBundle[] = [];
afterEach(() => {
  disposeBundles(made);
});

function run(script: string, edit: (spec: Spec) => void = () => {}) {
  const spec = baseConfig(['sh', '-c', script]);
  edit(spec);
  const bundle = makeBundle(spec);
  made.push(bundle);
  const result = spawnSync(
    corralBin,
    ['--root', bundle.stateRoot, 'run', '--bundle', bundle.path, bundle.id],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    },
  );
  return { ...result, left: existsSync(join(bundle.stateRoot, bundle.id)) };
}

describe('linux.sysctl', () => {
  it("sets sysctls of the container's own network and IPC namespaces, not the host's", () => {
    const hostShmmax = readFileSync('/proc/sys/kernel/shmmax', 'utf8');
    const result = run('cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax', (spec) => {
      spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel/shmmax': '123456789' };
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1\n123456789\n');
    expect(readFileSync('/proc/sys/kernel/shmmax', 'utf8')).toBe(hostShmmax);
  });

  it('refuses a sysctl of the host, or of a namespace shared with it, leaving nothing', () => {
    const host = run('true', (spec) => {
      spec.linux!.sysctl = { 'kernel.panic': '1' };
    });
    expect(host.status).toBe(1);
    expect(host.stderr).toMatch(/linux\.sysctl\["kernel\.panic"\].*not in a kernel namespace/);
    expect(host.left).toBe(false);
    const shared = run('true', (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
        ns.type === 'network' ? { type: 'network', path: '/proc/self/ns/net' } : ns,
      );
      spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    });
    expect(shared.status).toBe(1);
    expect(shared.stderr).toMatch(/linux\.sysctl\["net\.ipv4\.ip_forward"\].*not the host's/);
    expect(shared.left).toBe(false);
  });
});

describe('process', () => {
  it('sets oomScoreAdj before the process runs, and refuses values out of range', () => {
    expect(run('cat /proc/self/oom_score_adj', (spec) => (spec.process!.oomScoreAdj = 500)).stdout).toBe(
      '500\n',
    );
    const refused = run('true', (spec) => (spec.process!.oomScoreAdj = -2000));
    expect(refused.stderr).toMatch(/process\.oomScoreAdj: must be an integer from -1000 to 1000/);
    expect(refused.left).toBe(false);
  });

  it('sets the scheduler, I/O priority, CPU affinity and personality it asks for', () => {
    const result = run('ionice -p $$; cut -d" " -f19,41 /proc/self/stat; uname -m; taskset -p $$', (spec) => {
      Object.assign(spec.process!, {
        ioPriority: { class: 'IOPRIO_CLASS_IDLE' },
        scheduler: { policy: 'SCHED_BATCH', nice: 5 },
        execCPUAffinity: { initial: '0', final: '0' },
      });
      Object.assign(spec.linux!, { personality: { domain: 'LINUX32' } });
    });
    expect(result.stderr).toBe('');
    // nice 5 and policy 3 (SCHED_BATCH) are fields 19 and 41 of /proc/PID/stat.
    expect(result.stdout).toBe("idle\n5 3\ni686\npid 1's current affinity mask: 1\n");
  });

  it('refuses scheduling values the spec does not allow, naming the field', () => {
    const cases: Array<[object, RegExp]> = [
      [
        { scheduler: { policy: 'SCHED_FIFO' } },
        /process\.scheduler\.priority: must be an integer from 1 to 99/,
      ],
      [{ scheduler: { policy: 'SCHED_SOMETIMES' } }, /process\.scheduler\.policy: must be one of/],
      [{ ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 9 } }, /process\.ioPriority\.priority/],
      [{ execCPUAffinity: { final: '3-1' } }, /process\.execCPUAffinity\.final/],
    ];
    for (const [fields, message] of cases) {
      const result = run('true', (spec) => Object.assign(spec.process!, fields));
      expect(result.stderr).toMatch(message);
      expect(result.left).toBe(false);
    }
  });

  it('passes no descriptor of the runtime on to the container', () => {
    // ls's own directory descriptor is the 3.
    expect(run('ls /proc/self/fd').stdout.split('\n').filter(Boolean).sort()).toEqual(['0', '1', '2', '3']);
  });

  it('resolves cwd inside the container root', () => {
    expect(run('pwd', (spec) => (spec.process!.cwd = '/../../../etc')).stdout).toBe('/etc\n');
  });

  it('refuses what it cannot honour instead of dropping it', () => {
    const cases: Array<[(spec: Spec) => void, RegExp]> = [
      [
        (spec) => Object.assign(spec.process!, { apparmorProfile: 'x' }),
        /process\.apparmorProfile: AppArmor/,
      ],
      [(spec) => Object.assign(spec.process!, { selinuxLabel: 'x' }), /process\.selinuxLabel: SELinux/],
      [(spec) => Object.assign(spec.linux!, { memoryPolicy: { mode: 'MPOL_BIND' } }), /linux\.memoryPolicy/],
      [(spec) => Object.assign(spec.linux!, { intelRdt: { closID: 'x' } }), /linux\.intelRdt/],
    ];
    for (const [edit, message] of cases) {
      const result = run('true', edit);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.left).toBe(false);
    }
  });
});
