import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

import type { CompatCase } from '../src/case.js';
import * as probe from '../src/probe.js';

/** A seccomp profile that allows everything but `denied`, which fails with EPERM. */
function denying(...denied: string[]): Record<string, unknown> {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: denied, action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
}

const GETCWD_UNDER_THE_FILTER =
  "issue 19: only the container's own execve runs under its filter; runc checks its working directory (getcwd) under the filter when noNewPrivileges is false";

/** The CPUs online here: what a container may use when its config names none. */
const cpuCount = () => cpus().length;

export const processCases: CompatCase[] = [
  ...(['close_range', 'getcwd'] as const).map(
    (denied): CompatCase => ({
      name: `a seccomp profile that denies ${denied}, with and without noNewPrivileges`,
      issue: 19,
      async run(s) {
        s.config.linux.seccomp = denying(denied);
        for (const noNewPrivileges of [false, true]) {
          s.config.process.noNewPrivileges = noNewPrivileges;
          s.config.process.args = probe.script('echo ran=yes');
          s.writeConfig();
          await s.cli(`run (noNewPrivileges ${noNewPrivileges})`, ['run', s.newId()], { stdout: 'probe' });
        }
      },
      ...(denied === 'getcwd'
        ? {
            deliberate: {
              'run (noNewPrivileges false): exit': { value: '0', why: GETCWD_UNDER_THE_FILTER },
              'run (noNewPrivileges false): ran': { value: 'yes', why: GETCWD_UNDER_THE_FILTER },
            },
          }
        : {}),
    }),
  ),
  {
    name: 'process.cwd that only root can enter, for a non-root user',
    issue: 19,
    async run(s) {
      mkdirSync(join(s.rootfs, 'secret'), { mode: 0o700 });
      chmodSync(join(s.rootfs, 'secret'), 0o700);
      s.config.process.user = { uid: 65534, gid: 65534 };
      s.config.process.cwd = '/secret';
      await s.runProbe(probe.cwd, probe.ids);
    },
  },
  {
    name: 'HOME comes from /etc/passwd when the config leaves it unset',
    issue: 19,
    async run(s) {
      s.config.process.env = (s.config.process.env ?? []).filter((e) => !e.startsWith('HOME='));
      await s.runProbe(probe.env('HOME'));
      s.config.process.user = { uid: 65534, gid: 65534 };
      s.config.process.args = probe.script(probe.env('HOME'));
      s.writeConfig();
      await s.cli('run as nobody', ['run', s.newId()], { stdout: 'probe' });
    },
  },
  {
    name: 'HOME comes from /etc/passwd when the config sets it empty',
    issue: 19,
    async run(s) {
      s.config.process.env = [...(s.config.process.env ?? []).filter((e) => !e.startsWith('HOME=')), 'HOME='];
      await s.runProbe(probe.env('HOME'));
    },
  },
  {
    name: 'the runtime’s own CPU affinity does not leak into the container',
    issue: 19,
    unsupported: () => (cpuCount() < 2 ? 'needs two CPUs' : undefined),
    async run(s) {
      s.config.process.args = probe.script(probe.status('Cpus_allowed_list'));
      s.writeConfig();
      await s.cli('run under taskset', ['run', s.id], { stdout: 'probe', prefix: ['taskset', '-c', '0'] });
    },
    currentRunc: {
      'run under taskset: status.Cpus_allowed_list': {
        value: `0-${cpuCount() - 1}`,
        why: 'current runc resets the init’s affinity to every CPU it may use once its cgroup is set, when the config sets none (1.1.5 passed its own on)',
      },
    },
  },
  {
    name: 'execCPUAffinity initial and final',
    issue: 19,
    unsupported: () => (cpuCount() < 2 ? 'needs two CPUs' : undefined),
    async run(s) {
      s.config.process.execCPUAffinity = { initial: '1', final: '0' };
      await s.runProbe(probe.status('Cpus_allowed_list'));
    },
    currentRunc: {
      'run: status.Cpus_allowed_list': {
        value: '0',
        why: 'current runc applies process.execCPUAffinity, the final set after the exec (1.1.5 ignored the field)',
      },
    },
  },
  {
    name: 'linux.memoryPolicy is applied',
    issue: 19,
    async run(s) {
      // The policy itself shows only through get_mempolicy(2) (numa_maps shows a mapping's own
      // policy, not the process's), which busybox cannot call: for now, that the process runs.
      s.config.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' };
      await s.runProbe('echo ran=yes');
    },
  },
  {
    name: 'linux.memoryPolicy with an unknown mode is refused as runc refuses it',
    issue: 19,
    async run(s) {
      s.config.linux.memoryPolicy = { mode: 'MPOL_SOMETIMES', nodes: '0' };
      s.config.process.args = ['true'];
      s.writeConfig();
      await s.cli('run', ['run', s.id], { errors: ['invalid memory policy mode'], oneLine: true });
    },
    currentRunc: {
      'run: exit': { value: '1', why: 'current runc validates linux.memoryPolicy (1.1.5 ignored it)' },
      'run: error says "invalid memory policy mode"': {
        value: 'true',
        why: 'current runc: invalid memory policy mode "MPOL_SOMETIMES"',
      },
    },
  },
  {
    name: 'a pty clears ONLCR and belongs to the process’s user',
    issue: 19,
    async run(s) {
      s.config.process.terminal = true;
      s.config.process.user = { uid: 65534, gid: 65534 };
      s.config.process.args = probe.script(probe.terminal);
      s.writeConfig();
      await s.cli('run on a terminal', ['run', s.id], { stdout: 'probe', tty: true });
    },
  },
  {
    name: 'exec --process takes a process without user or without user.gid',
    issue: 19,
    async run(s) {
      await s.startDetached();
      const processFile = join(s.work, 'process.json');
      const base = { cwd: '/', env: ['PATH=/bin'], args: probe.script(probe.ids) };
      writeFileSync(processFile, JSON.stringify(base));
      await s.cli('exec without user', ['exec', '--process', processFile, s.id], { stdout: 'probe' });
      writeFileSync(processFile, JSON.stringify({ ...base, user: { uid: 65534 } }));
      await s.cli('exec without gid', ['exec', '--process', processFile, s.id], { stdout: 'probe' });
    },
  },
  {
    name: 'a resource key in another case is read as Go’s decoder reads it',
    issue: 19,
    async run(s) {
      s.config.linux.resources = { ...s.config.linux.resources, CPU: { Shares: 512 }, Pids: { Limit: 77 } };
      s.config.process.args = ['sleep', '600'];
      s.writeConfig();
      await s.cli('run -d', ['run', '-d', s.id]);
      s.observeCgroupFile('cpu', 'cpu.shares');
      s.observeCgroupFile('pids', 'pids.max');
    },
  },
  {
    name: 'linux.resources.memory.kernel is warned about and ignored',
    issue: 19,
    async run(s) {
      s.config.linux.resources = {
        ...s.config.linux.resources,
        memory: { kernel: 64 << 20, limit: 128 << 20 },
      };
      s.config.process.args = ['sleep', '600'];
      s.writeConfig();
      await s.cli('run -d', ['run', '-d', s.id], { errors: ['kernel memory'] });
      s.observeCgroupFile('memory', 'memory.limit_in_bytes');
    },
  },
  {
    name: 'an unknown capability is warned about and ignored',
    issue: 19,
    async run(s) {
      s.config.process.capabilities!.bounding.push('CAP_NOT_A_THING');
      s.config.process.capabilities!.effective.push('CAP_NOT_A_THING');
      s.config.process.capabilities!.permitted.push('CAP_NOT_A_THING');
      s.config.process.args = probe.script(probe.status('CapEff'));
      s.writeConfig();
      await s.cli('run', ['run', s.id], { stdout: 'probe', errors: ['CAP_NOT_A_THING'] });
    },
  },
  {
    name: 'a hostname in a joined uts namespace is set',
    issue: 19,
    async run(s) {
      // The first container's uts namespace, joined by the second.
      await s.startDetached();
      const pid = await s.pid();
      const joined = s.newId();
      s.config.linux.namespaces = s.config.linux.namespaces.map((ns) =>
        ns.type === 'uts' ? { type: 'uts', path: `/proc/${pid}/ns/uts` } : ns,
      );
      s.config.hostname = 'joined-host';
      s.config.linux.cgroupsPath = `${s.cgroupsPath}/${joined}`;
      s.config.process.args = probe.script(probe.hostname);
      s.writeConfig();
      await s.cli('run in the joined namespace', ['run', joined], { stdout: 'probe' });
    },
  },
  {
    name: 'annotations up to Kubernetes’ 256 KiB limit',
    issue: 19,
    async run(s) {
      s.config.annotations = {
        'io.example/big': 'x'.repeat(140 * 1024),
        'io.example/other': 'y'.repeat(100 * 1024),
      };
      await s.runProbe('echo ran=yes');
    },
  },
  {
    name: 'args and env near Linux’s argument limit',
    issue: 19,
    async run(s) {
      s.config.process.env = [...(s.config.process.env ?? []), `BIG=${'e'.repeat(100 * 1024)}`];
      s.config.process.args = [
        '/bin/sh',
        '-c',
        'echo "args=$#"; printf "big=%s\\n" "$(printf %s "$BIG" | wc -c)"',
        'sh',
        ...Array(2000).fill('a'.repeat(60)),
      ];
      s.writeConfig();
      await s.cli('run', ['run', s.id], { stdout: 'probe' });
    },
  },
];
