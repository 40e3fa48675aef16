import { readdirSync, readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { runContainer, type Spec } from '../../src/index.js';
import { bundleMaker, type ProbeReport, runInProcess, type TestBundle } from './bundle.js';

// Parts of process and linux observed from inside real containers, and refused before
// anything exists when corral cannot honour them.
const made: TestBundle[] = [];
afterEach(() => {
  for (const bundle of made.splice(0)) bundle.remove();
});

const bundleFor = bundleMaker(made);

async function probe(edit?: (spec: Spec) => void): Promise<ProbeReport> {
  const result = await runInProcess(bundleFor(['/bin/probe'], edit));
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as ProbeReport;
}

/** runContainer refuses the config, naming `field`, and leaves nothing behind. */
async function expectRefused(
  edit: (spec: Spec) => void,
  field: string,
  message: RegExp,
  code = 'INVALID_CONFIG',
): Promise<void> {
  const bundle = bundleFor(['true'], edit);
  const running = runContainer({ id: bundle.id, bundle: bundle.path, root: bundle.stateRoot });
  await expect(running).rejects.toMatchObject(
    code === 'INVALID_CONFIG'
      ? { code, field, message: expect.stringMatching(message) }
      : {
          code,
          message: expect.stringMatching(new RegExp(`^${field.replace('.', '\\.')}:? .*${message.source}`)),
        },
  );
  expect(readdirSync(bundle.stateRoot)).toEqual([]);
}

describe('linux.sysctl', () => {
  it("sets sysctls of the container's own network and IPC namespaces, not the host's", async () => {
    const hostShmmax = readFileSync('/proc/sys/kernel/shmmax', 'utf8');
    const result = await runInProcess(
      bundleFor(['cat', '/proc/sys/net/ipv4/ip_forward', '/proc/sys/kernel/shmmax'], (spec) => {
        spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel/shmmax': '123456789' };
      }),
    );
    expect(result).toMatchObject({ stdout: '1\n123456789\n', stderr: '' });
    expect(readFileSync('/proc/sys/kernel/shmmax', 'utf8')).toBe(hostShmmax);
  });

  it('refuses a sysctl of the host, or of a namespace shared with it, leaving nothing', async () => {
    await expectRefused(
      (spec) => {
        spec.linux!.sysctl = { 'kernel.panic': '1' };
      },
      'linux.sysctl["kernel.panic"]',
      /not in a kernel namespace/,
    );
    await expectRefused(
      (spec) => {
        spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
          ns.type === 'network' ? { type: 'network', path: '/proc/self/ns/net' } : ns,
        );
        spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
      },
      'linux.sysctl["net.ipv4.ip_forward"]',
      /not the host's/,
    );
  });
});

describe('process', () => {
  it('sets oomScoreAdj before the process runs, and refuses values out of range', async () => {
    expect((await probe((spec) => (spec.process!.oomScoreAdj = 500))).oomScoreAdj).toBe('500');
    await expectRefused(
      (spec) => (spec.process!.oomScoreAdj = -2000),
      'process.oomScoreAdj',
      /must be an integer from -1000 to 1000/,
    );
  });

  it('sets the scheduler, I/O priority, CPU affinity and personality it asks for', async () => {
    const report = await probe((spec) => {
      Object.assign(spec.process!, {
        ioPriority: { class: 'IOPRIO_CLASS_IDLE' },
        scheduler: { policy: 'SCHED_BATCH', nice: 5 },
        execCPUAffinity: { initial: '0', final: '0' },
      });
      Object.assign(spec.linux!, { personality: { domain: 'LINUX32' } });
    });
    // SCHED_BATCH is 3, IOPRIO_CLASS_IDLE 3 (in the top bits), PER_LINUX32 8.
    expect(report).toMatchObject({ scheduler: 3, nice: 5, affinity: [0], personality: 8 });
    expect(report.ioPriority >> 13).toBe(3);
  });

  it('refuses scheduling values the spec does not allow, naming the field', async () => {
    const cases: Array<[object, string, RegExp]> = [
      [
        { scheduler: { policy: 'SCHED_FIFO' } },
        'process.scheduler.priority',
        /must be an integer from 1 to 99/,
      ],
      [{ scheduler: { policy: 'SCHED_SOMETIMES' } }, 'process.scheduler.policy', /must be one of/],
      [{ ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 9 } }, 'process.ioPriority.priority', /./],
      [{ execCPUAffinity: { final: '3-1' } }, 'process.execCPUAffinity.final', /./],
    ];
    for (const [fields, field, message] of cases) {
      await expectRefused((spec) => Object.assign(spec.process!, fields), field, message);
    }
  });

  it('passes no descriptor of the runtime on to the container', async () => {
    expect(Object.keys((await probe()).fds)).toEqual(['0', '1', '2']);
  });

  it('resolves cwd inside the container root', async () => {
    expect((await probe((spec) => (spec.process!.cwd = '/../../../etc'))).cwd).toBe('/etc');
  });

  it('refuses what it cannot honour instead of dropping it, naming the field', async () => {
    const cases: Array<[(spec: Spec) => void, string, RegExp]> = [
      [
        (spec) => Object.assign(spec.process!, { apparmorProfile: 'x' }),
        'process.apparmorProfile',
        /AppArmor/,
      ],
      [(spec) => Object.assign(spec.process!, { selinuxLabel: 'x' }), 'process.selinuxLabel', /SELinux/],
      [(spec) => Object.assign(spec.linux!, { intelRdt: { closID: 'x' } }), 'linux.intelRdt', /./],
    ];
    for (const [edit, field, message] of cases) await expectRefused(edit, field, message, 'NOT_SUPPORTED');
  });
});
