import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { CompatCase } from '../src/case.js';
import { cgroupDir, createCgroup, joinCgroup } from '../src/cgroups.js';
import * as probe from '../src/probe.js';
import type { Session } from '../src/session.js';

/** These cases read v1 controller files from the host. */
const hybridOrLegacy = () =>
  existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? 'needs cgroup v1 controllers (a legacy or hybrid host)'
    : undefined;

const hasRtGroups = () => existsSync(join(cgroupDir('cpu', '/'), 'cpu.rt_runtime_us'));

function readCpuset(s: Session, level: string): string {
  try {
    return readFileSync(join(cgroupDir('cpuset', `${s.cgroupsPath}/${level}`), 'cpuset.cpus'), 'utf8').trim();
  } catch {
    return '<missing>';
  }
}

/** `run` of a process that prints what it sees, with the case's resources. */
async function runWith(s: Session, resources: Record<string, unknown>, ...lines: string[]): Promise<void> {
  s.config.linux.resources = { ...s.config.linux.resources, ...resources };
  await s.runProbe(...lines);
}

/** `run -d` of a long sleep, the container's resources observed from the host. */
async function runDetached(s: Session, resources: Record<string, unknown>): Promise<void> {
  s.config.linux.resources = { ...s.config.linux.resources, ...resources };
  s.config.process.args = ['sleep', '600'];
  s.writeConfig();
  await s.cli('run -d', ['run', '-d', s.id]);
}

export const cgroupCases: CompatCase[] = [
  {
    name: 'pids.limit 0 writes 1',
    issue: 20,
    unsupported: hybridOrLegacy,
    async run(s) {
      await runDetached(s, { pids: { limit: 0 } });
      s.observeCgroupFile('pids', 'pids.max');
    },
    currentRunc: {
      'cgroup pids pids.max': {
        value: '1',
        why: 'current runc maps a zero limit to 1, as systemd has no TasksMax=0 (1.1.5 left pids.max alone)',
      },
    },
  },
  {
    name: 'pids.limit -1 writes max',
    issue: 20,
    unsupported: hybridOrLegacy,
    async run(s) {
      await runDetached(s, { pids: { limit: -1 } });
      s.observeCgroupFile('pids', 'pids.max');
    },
  },
  {
    name: 'a cgroupsPath that holds processes is refused',
    issue: 20,
    unsupported: hybridOrLegacy,
    async run(s) {
      const path = s.config.linux.cgroupsPath!;
      createCgroup(path);
      const squatter = spawn('sleep', ['600'], { stdio: 'ignore' });
      try {
        joinCgroup(path, squatter.pid!);
        s.config.process.args = ['true'];
        s.writeConfig();
        await s.cli('run', ['run', s.id], { errors: ["container's cgroup is not empty"] });
        s.observe('the other process still runs', squatter.exitCode === null && squatter.signalCode === null);
        s.observe('container left', (await s.status()) !== '<gone>');
      } finally {
        squatter.kill('SIGKILL');
      }
    },
    currentRunc: {
      'run: exit': { value: '1', why: 'current runc refuses a non-empty cgroup (1.1.5 warned and ran)' },
      'run: error says "container\'s cgroup is not empty"': {
        value: 'true',
        why: 'current runc: "container\'s cgroup is not empty: N process(es) found"',
      },
    },
  },
  {
    name: 'a frozen cgroupsPath is refused',
    issue: 20,
    unsupported: hybridOrLegacy,
    async run(s) {
      const path = s.config.linux.cgroupsPath!;
      createCgroup(path);
      writeFileSync(join(cgroupDir('freezer', path), 'freezer.state'), 'FROZEN');
      s.config.process.args = ['true'];
      s.writeConfig();
      // A runtime that waits for the frozen process would wait for ever.
      await s.cli('run -d', ['run', '-d', s.id], {
        errors: ["container's cgroup unexpectedly frozen"],
        timeoutMs: 30_000,
      });
      s.observe('container left', (await s.status()) !== '<gone>');
    },
  },
  {
    name: 'a new parent cgroup gets its cpuset before the process joins',
    issue: 20,
    unsupported: hybridOrLegacy,
    async run(s) {
      s.config.linux.cgroupsPath = `${s.cgroupsPath}/middle/${s.id}`;
      await runWith(s, {}, probe.cgroup('cpuset'));
      s.observe('middle cpuset.cpus', readCpuset(s, 'middle'));
    },
  },
  {
    name: 'an existing parent cgroup with no cpuset gets its parent’s',
    issue: 20,
    unsupported: hybridOrLegacy,
    async run(s) {
      createCgroup(`${s.cgroupsPath}/empty`, { emptyCpuset: true });
      s.config.linux.cgroupsPath = `${s.cgroupsPath}/empty/${s.id}`;
      await runWith(s, {}, probe.cgroup('cpuset'));
      s.observe('empty cpuset.cpus', readCpuset(s, 'empty'));
    },
  },
  {
    name: 'rt runtime and period are written in the order the kernel takes',
    issue: 20,
    unsupported: () => hybridOrLegacy() ?? (hasRtGroups() ? undefined : 'needs CONFIG_RT_GROUP_SCHED'),
    async run(s) {
      // A child's real-time budget comes out of its parents': give the case's parents some.
      const parents = ['/corral-compat', s.cgroupsPath];
      createCgroup(s.cgroupsPath);
      try {
        for (const [i, dir] of parents.entries()) {
          writeFileSync(join(cgroupDir('cpu', dir), 'cpu.rt_runtime_us'), String(i === 0 ? 50_000 : 20_000));
        }
        await runDetached(s, { cpu: { realtimeRuntime: 10_000, realtimePeriod: 1_000_000 } });
        s.observeCgroupFile('cpu', 'cpu.rt_runtime_us');
        s.observeCgroupFile('cpu', 'cpu.rt_period_us');
        // A period shorter than the runtime now in place: the runtime must go first.
        await s.cli('update', ['update', '--cpu-rt-period', '5000', '--cpu-rt-runtime', '50', s.id]);
        s.observeCgroupFile('cpu', 'cpu.rt_runtime_us');
        s.observeCgroupFile('cpu', 'cpu.rt_period_us');
      } finally {
        await s.quiet(['delete', '--force', s.id]);
        for (const dir of [...parents].reverse()) {
          try {
            writeFileSync(join(cgroupDir('cpu', dir), 'cpu.rt_runtime_us'), '0');
          } catch {
            // Removed already, or a sibling still holds a budget.
          }
        }
      }
    },
    currentRunc: {
      'update: exit': {
        value: '0',
        why: 'current runc writes the runtime first when the kernel refuses the new period (1.1.5 failed with EINVAL)',
      },
      'cgroup cpu cpu.rt_runtime_us #2': { value: '50', why: 'the update applied (current runc)' },
      'cgroup cpu cpu.rt_period_us #2': { value: '5000', why: 'the update applied (current runc)' },
    },
  },
  {
    name: 'a deny-all device rule blocks /dev/kmsg',
    issue: 20,
    unsupported: hybridOrLegacy,
    async run(s) {
      s.config.mounts.push({
        destination: '/dev/kmsg',
        source: '/dev/kmsg',
        type: 'bind',
        options: ['bind'],
      });
      for (const set of ['bounding', 'effective', 'permitted'] as const)
        s.config.process.capabilities![set].push('CAP_MKNOD');
      await runWith(
        s,
        { devices: [{ allow: false, access: 'rwm' }] },
        probe.canRead('/dev/kmsg'),
        'mknod /tmp/kmsg c 1 11',
        probe.canRead('/tmp/kmsg'),
        probe.canWrite('/tmp/kmsg'),
      );
    },
  },
  {
    name: 'the cgroup mount is read-write when the config says rw',
    issue: 20,
    async run(s) {
      const cgroupMount = s.config.mounts.find((m) => m.type === 'cgroup')!;
      cgroupMount.options = cgroupMount.options!.filter((o) => o !== 'ro').concat('rw');
      await runWith(s, {}, probe.mount('/sys/fs/cgroup'), probe.mount('/sys/fs/cgroup/cpu'));
    },
  },
];
