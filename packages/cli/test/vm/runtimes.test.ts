import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { cpuSharesToCpuWeight, cpuSharesToCpuWeightLinear, type LinuxResources } from '@corral/cgroups';
import { repoRoot, uniqueName } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { baseConfig, makeBundle, type TestBundle } from '../../../core/test/system/bundle.js';

// Inside the test VM (cgroup v2, systemd): corral beside Debian's runc and crun, on the same
// bundle, read back from the kernel's own files.
const corral = join(repoRoot, 'bin/corral');
const RUNTIMES = { corral, runc: 'runc', crun: 'crun' } as const;
type Runtime = keyof typeof RUNTIMES;
const disk = readFileSync('/sys/block/vda/dev', 'utf8').trim();
const [major, minor] = disk.split(':').map(Number) as [number, number];

const RESOURCES: LinuxResources = {
  memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 },
  cpu: { shares: 512, quota: 50_000, period: 100_000, burst: 10_000, cpus: '0', mems: '0' },
  pids: { limit: 64 },
  blockIO: {
    weight: 500,
    throttleReadBpsDevice: [{ major, minor, rate: 1 << 20 }],
    throttleWriteIOPSDevice: [{ major, minor, rate: 200 }],
  },
  hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }],
  unified: { 'memory.high': String(48 << 20), 'memory.oom.group': '1' },
};
const FILES = [
  'memory.max',
  'memory.low',
  'memory.swap.max',
  'memory.high',
  'memory.oom.group',
  'cpu.weight',
  'cpu.max',
  'cpu.max.burst',
  'cpuset.cpus',
  'cpuset.mems',
  'pids.max',
  'io.weight',
  'io.max',
  'hugetlb.2MB.max',
  'hugetlb.2MB.rsvd.max',
];

interface Started {
  runtime: Runtime;
  bundle: TestBundle;
  cgroup: string;
}

function cli(runtime: Runtime, bundle: TestBundle, ...args: string[]) {
  return spawnSync(RUNTIMES[runtime], ['--root', bundle.stateRoot, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

/** `run -d` of the bundle, its stdio on /dev/null so no pipe of ours is held. */
function startDetached(runtime: Runtime, bundle: TestBundle): void {
  const result = spawnSync(
    'sh',
    [
      '-c',
      'exec "$@" </dev/null >/dev/null 2>"$0"',
      join(bundle.path, 'err'),
      RUNTIMES[runtime],
      '--root',
      bundle.stateRoot,
      'run',
      '-d',
      '--bundle',
      bundle.path,
      bundle.id,
    ],
    { timeout: 120_000 },
  );
  if (result.status !== 0)
    throw new Error(`${runtime} run: ${readFileSync(join(bundle.path, 'err'), 'utf8')}`);
}

function start(
  runtime: Runtime,
  args: string[],
  edit: (spec: ReturnType<typeof baseConfig>) => void = () => {},
  prepare: (bundle: TestBundle) => void = () => {},
): Started {
  const name = uniqueName(runtime);
  const spec = baseConfig(args);
  // Debian's crun 1.8 refuses ociVersion 1.2.0; nothing here needs it.
  spec.ociVersion = '1.0.2';
  spec.linux!.cgroupsPath = `/corral-test/${name}`;
  edit(spec);
  const bundle = makeBundle(spec);
  prepare(bundle);
  startDetached(runtime, bundle);
  return { runtime, bundle, cgroup: `/sys/fs/cgroup/corral-test/${name}` };
}

function stop({ runtime, bundle, cgroup }: Started): void {
  cli(runtime, bundle, 'delete', '--force', bundle.id);
  bundle.remove();
  // Deleted through cgroup.kill: nothing of the cgroup is left.
  expect(existsSync(cgroup), `${runtime}: ${cgroup}`).toBe(false);
}

const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').trim();

/** Every leaf of a JSON value as "path: type", the shape a consumer of `events --stats` decodes. */
function shape(value: unknown, path = ''): string[] {
  if (value === null) return [`${path}: null`];
  if (Array.isArray(value)) return [`${path}: array`, ...(value.length ? shape(value[0], `${path}[]`) : [])];
  if (typeof value === 'object')
    return Object.entries(value as object).flatMap(([key, v]) => shape(v, path ? `${path}.${key}` : key));
  return [`${path}: ${typeof value}`];
}

describe('corral beside runc and crun on a cgroup v2 host', () => {
  const started: Started[] = [];
  const of = (runtime: Runtime) => started.find((s) => s.runtime === runtime)!;

  beforeAll(() => {
    for (const runtime of Object.keys(RUNTIMES) as Runtime[]) {
      started.push(
        start(
          runtime,
          ['sleep', '600'],
          (spec) => (spec.linux!.resources = RESOURCES as Record<string, unknown>),
        ),
      );
    }
  });
  afterAll(() => {
    for (const s of started.splice(0)) stop(s);
  });

  it('leaves the same values in the kernel files as runc and crun, field by field', () => {
    const values = (runtime: Runtime) =>
      Object.fromEntries(FILES.map((file) => [file, read(of(runtime).cgroup, file)]));
    const mine = values('corral');
    // Where Debian's runc 1.1.5 and crun 1.8.1 predate current runc, corral follows current runc:
    // cpu.weight from the shares curve of runc 1.3 and crun 1.23 (1024 shares -> weight 100),
    // cpu.max.burst (runc 1.2) and the hugetlb reservation limit (runc 1.2).
    const newer = {
      'cpu.weight': String(cpuSharesToCpuWeight(512)),
      'cpu.max.burst': '10000',
      'hugetlb.2MB.rsvd.max': String(4 << 20),
    };
    const older = {
      'cpu.weight': String(cpuSharesToCpuWeightLinear(512)),
      'cpu.max.burst': '0',
      'hugetlb.2MB.rsvd.max': 'max',
    };
    expect(mine).toMatchObject(newer);
    for (const peer of ['runc', 'crun'] as const) {
      expect({ ...values(peer), ...newer }, peer).toEqual(mine);
      expect(values(peer), peer).toMatchObject(older);
    }
    expect(mine['memory.swap.max']).toBe(String(32 << 20));
    expect(mine['io.max']).toBe(`${disk} rbps=1048576 wbps=max riops=max wiops=200`);
  });

  it("prints events --stats in runc's shape, with the v2 fields", () => {
    const stats = (runtime: Runtime) => {
      const result = cli(runtime, of(runtime).bundle, 'events', '--stats', of(runtime).bundle.id);
      expect(result.stderr).toBe('');
      return JSON.parse(result.stdout) as { type: string; data: Record<string, any> };
    };
    const runc = stats('runc');
    const mine = stats('corral');
    expect(mine.type).toBe('stats');
    // runc leaves out zeros and empty lists (Go's omitempty); what it prints, corral prints too.
    const ours = shape(mine.data);
    // Entries of lists only where both have some (I/O counted depends on what was cached).
    const hasEntries = (leaf: string) =>
      !leaf.includes('[]') || ours.some((o) => o.startsWith(leaf.slice(0, leaf.indexOf('[]') + 2)));
    const theirs = shape(runc.data).filter((leaf) => !leaf.startsWith('memory.raw.') && hasEntries(leaf));
    expect(theirs.filter((leaf) => !ours.includes(leaf))).toEqual([]);
    expect(Object.keys(mine.data.memory.raw).sort()).toEqual(Object.keys(runc.data.memory.raw).sort());
    for (const path of ['memory.usage.limit', 'memory.swap.limit', 'pids.limit']) {
      const get = (data: Record<string, any>) => path.split('.').reduce((v, k) => v?.[k], data);
      expect(get(mine.data), path).toBe(get(runc.data));
    }
    expect(mine.data.memory.swap.limit).toBe(96 << 20);
    // The v2 fields: pressure stall information of cpu, memory and io.
    for (const key of ['cpu', 'memory']) expect(Object.keys(mine.data[key].psi)).toEqual(['some', 'full']);
  });

  it('lists the processes of cgroup.procs with ps, as runc does', () => {
    for (const runtime of ['corral', 'runc'] as const) {
      const { bundle, cgroup } = of(runtime);
      const result = cli(runtime, bundle, 'ps', '--format', 'json', bundle.id);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual(read(cgroup, 'cgroup.procs').split('\n').map(Number));
    }
  });

  it('pauses and resumes through cgroup.freeze, as runc does', () => {
    for (const runtime of ['corral', 'runc'] as const) {
      const { bundle, cgroup } = of(runtime);
      expect(cli(runtime, bundle, 'pause', bundle.id).status).toBe(0);
      expect([read(cgroup, 'cgroup.freeze'), read(cgroup, 'cgroup.events')]).toEqual([
        '1',
        expect.stringMatching(/^frozen 1$/m),
      ]);
      expect(JSON.parse(cli(runtime, bundle, 'state', bundle.id).stdout).status).toBe('paused');
      expect(cli(runtime, bundle, 'resume', bundle.id).status).toBe(0);
      expect([read(cgroup, 'cgroup.freeze'), read(cgroup, 'cgroup.events')]).toEqual([
        '0',
        expect.stringMatching(/^frozen 0$/m),
      ]);
      expect(JSON.parse(cli(runtime, bundle, 'state', bundle.id).stdout).status).toBe('running');
    }
  });
});

describe('on a cgroup v2 host, as with runc', () => {
  it('reports each OOM kill once in events', async () => {
    const counts: Record<string, number> = {};
    for (const runtime of ['corral', 'runc'] as const) {
      // Two processes allocating past the limit, one after the other, once the test says go.
      const script =
        'while [ ! -e /data/go ]; do sleep 0.2; done; for i in 1 2; do dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 1; done; touch /data/done; sleep 600';
      const s = start(
        runtime,
        ['sh', '-c', script],
        (spec) => {
          spec.linux!.resources = { memory: { limit: 32 << 20, swap: 32 << 20 } };
          spec.mounts!.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'rw'] });
        },
        (bundle) => mkdirSync(join(bundle.path, 'data')),
      );
      let events: ChildProcess | undefined;
      try {
        events = spawn(
          RUNTIMES[runtime],
          ['--root', s.bundle.stateRoot, 'events', '--interval', '60s', s.bundle.id],
          {
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        );
        let output = '';
        events.stdout?.on('data', (chunk) => {
          output += chunk;
        });
        // The first stats line says events is watching.
        for (let i = 0; i < 600 && !output.includes('"stats"'); i++)
          await new Promise((r) => setTimeout(r, 100));
        writeFileSync(join(s.bundle.path, 'data', 'go'), '');
        for (let i = 0; i < 600 && !existsSync(join(s.bundle.path, 'data', 'done')); i++)
          await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, 2000));
        counts[runtime] = output.split('\n').filter((line) => line.includes('"type":"oom"')).length;
        expect(read(s.cgroup, 'memory.events')).toMatch(/^oom_kill 2$/m);
      } finally {
        events?.kill();
        stop(s);
      }
    }
    // Debian's runc 1.1.5 reports a third event for these two kills; corral one per kill.
    expect(counts.corral).toBe(2);
    expect(counts.runc).toBeGreaterThanOrEqual(2);
  });

  it('enforces device rules with its eBPF program: a denied device cannot be opened, an allowed one can', () => {
    const outputs: Record<string, { stdout: string; stderr: string }> = {};
    // mknod of any device is allowed (runc's default rules); opening one is the program's call.
    const script =
      'mknod /dev/t-null c 1 3 && echo x > /dev/t-null && echo null=open; mknod /dev/t-kmsg c 1 11 && { head -c 1 /dev/t-kmsg >/dev/null 2>&1 || echo kmsg=denied; }';
    for (const runtime of ['corral', 'runc'] as const) {
      const spec = baseConfig(['sh', '-c', script]);
      spec.ociVersion = '1.0.2';
      spec.linux!.cgroupsPath = `/corral-test/${uniqueName(runtime)}`;
      spec.process!.capabilities!.bounding!.push('CAP_MKNOD');
      spec.process!.capabilities!.effective!.push('CAP_MKNOD');
      spec.process!.capabilities!.permitted!.push('CAP_MKNOD');
      const bundle = makeBundle(spec);
      try {
        const { stdout, stderr } = cli(runtime, bundle, 'run', '--bundle', bundle.path, bundle.id);
        outputs[runtime] = { stdout, stderr };
      } finally {
        cli(runtime, bundle, 'delete', '--force', bundle.id);
        bundle.remove();
      }
    }
    const expected = { stdout: 'null=open\nkmsg=denied\n', stderr: '' };
    expect(outputs).toEqual({ corral: expected, runc: expected });
  });
});
