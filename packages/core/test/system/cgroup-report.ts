import { parseProcCgroup } from '@corral/cgroups';

import type { Spec } from '../../src/index.js';

// What a container reports of its cgroup view, for the tests on this host and in the test VM.

/** Its /proc/self/cgroup, its mounts, and its memory limit as its own cgroup files show it. */
export function report(limitFile: string): string[] {
  return ['sh', '-c', `cat /proc/self/cgroup; echo ==; cat /proc/self/mountinfo; echo ==; cat ${limitFile}`];
}

/** The config's cgroup mount as runc's default spec has it, a 64 MiB limit and a test cgroup. */
export function withCgroupMount(options: { cgroupns: boolean; rw?: boolean }) {
  return (spec: Spec) => {
    spec.mounts!.push({
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', options.rw ? 'rw' : 'ro'],
    });
    if (options.cgroupns) spec.linux!.namespaces!.push({ type: 'cgroup' });
    spec.linux!.resources = { memory: { limit: 64 << 20 } };
  };
}

export interface View {
  cgroup: Map<string, string>;
  /** The mounts under /sys/fs/cgroup: mount point -> [root, fstype, options]. */
  mounts: Map<string, [string, string, string]>;
  limit: string;
}

export function parseView(output: string): View {
  const [cgroup = '', mountinfo = '', limit = ''] = output.split('==\n');
  const mounts = new Map<string, [string, string, string]>();
  for (const line of mountinfo.split('\n')) {
    const [fields = '', rest = ''] = line.split(' - ');
    const [, , , root = '', point = '', options = ''] = fields.split(' ');
    if (point.startsWith('/sys/fs/cgroup')) mounts.set(point, [root, rest.split(' ')[0] ?? '', options]);
  }
  return { cgroup: parseProcCgroup(cgroup), mounts, limit: limit.trim() };
}
