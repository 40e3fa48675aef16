import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { CompatCase } from '../src/case.js';
import type { Mount } from '../src/config.js';
import * as probe from '../src/probe.js';
import type { Session } from '../src/session.js';

/** A tmpfs of the case's own on the host, mounted with `options`, unmounted when the run ends. */
function hostTmpfs(s: Session, name: string, options: string): string {
  const dir = join(s.work, name);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { timeout: 10_000 });
  s.onDispose(() => execFileSync('umount', ['-l', dir], { timeout: 10_000 }));
  return dir;
}

const userNamespace = (s: Session) => {
  s.config.linux.namespaces.push({ type: 'user' });
  s.config.linux.uidMappings = [{ containerID: 0, hostID: 100_000, size: 65_536 }];
  s.config.linux.gidMappings = [{ containerID: 0, hostID: 100_000, size: 65_536 }];
};

const PROPAGATION_AFTER_PIVOT =
  'issue 19: the configured propagation is applied to the new root after pivot_root (runc 1.1.5 leaves a shared root private and fails to bind an unbindable one)';
const DELIBERATE_PROPAGATION: Record<string, CompatCase['deliberate']> = {
  shared: { 'run: propagation./': { value: 'shared', why: PROPAGATION_AFTER_PIVOT } },
  rshared: { 'run: propagation./': { value: 'shared', why: PROPAGATION_AFTER_PIVOT } },
  unbindable: {
    'run: exit': { value: '0', why: PROPAGATION_AFTER_PIVOT },
    'run: propagation./': { value: 'unbindable', why: PROPAGATION_AFTER_PIVOT },
  },
  runbindable: {
    'run: exit': { value: '0', why: PROPAGATION_AFTER_PIVOT },
    'run: propagation./': { value: 'unbindable', why: PROPAGATION_AFTER_PIVOT },
  },
};

export const mountCases: CompatCase[] = [
  {
    name: 'tmpcopyup copies the directory’s contents into the new tmpfs',
    issue: 19,
    async run(s) {
      s.config.mounts.push({
        destination: '/etc',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['tmpcopyup', 'nosuid'],
      });
      await s.runProbe(probe.mount('/etc'), probe.list('/etc'), probe.read('/etc/group'));
    },
  },
  {
    name: 'a tmpfs over a directory keeps its mode, owner and group',
    issue: 19,
    async run(s) {
      const data = join(s.rootfs, 'data');
      mkdirSync(data, { mode: 0o750 });
      chownSync(data, 1000, 1001);
      s.config.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
      await s.runProbe(probe.stat('/data'), probe.mount('/data'));
    },
  },
  {
    name: 'a bind source inside the rootfs that an earlier mount provides',
    issue: 19,
    async run(s) {
      const host = join(s.work, 'host-data');
      mkdirSync(join(host, 'sub'), { recursive: true });
      writeFileSync(join(host, 'sub', 'marker'), 'from the host\n');
      mkdirSync(join(s.rootfs, 'data'));
      s.config.mounts.push(
        { destination: '/data', type: 'bind', source: host, options: ['rbind'] },
        { destination: '/other', type: 'bind', source: join(s.rootfs, 'data', 'sub'), options: ['rbind'] },
      );
      await s.runProbe(probe.read('/other/marker'));
    },
  },
  {
    name: 'a mount target that is a dangling symlink is created inside the rootfs',
    issue: 19,
    async run(s) {
      symlinkSync('/nowhere/dir', join(s.rootfs, 'link'));
      s.config.mounts.push({ destination: '/link', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
      await s.runProbe(probe.exists('/nowhere/dir'), probe.mount('/nowhere/dir'), probe.stat('/link'));
    },
  },
  {
    name: 'a read-only /dev still gets /dev/pts',
    issue: 19,
    async run(s) {
      s.config.mounts.find((m) => m.destination === '/dev')!.options!.push('ro');
      await s.runProbe(probe.mount('/dev'), probe.mount('/dev/pts'), probe.exists('/dev/null'));
    },
  },
  {
    name: 'a bind mount clears the source’s nosuid, nodev and noexec unless the options name them',
    issue: 19,
    async run(s) {
      const source = hostTmpfs(s, 'flagged', 'nosuid,nodev,noexec');
      s.config.mounts.push(
        { destination: '/plain', type: 'bind', source, options: ['bind'] },
        { destination: '/readonly', type: 'bind', source, options: ['bind', 'ro'] },
        { destination: '/nosuid', type: 'bind', source, options: ['bind', 'nosuid'] },
      );
      await s.runProbe(probe.mount('/plain'), probe.mount('/readonly'), probe.mount('/nosuid'));
      // In a user namespace of its own the kernel locks the source's flags: they stay.
      userNamespace(s);
      s.config.process.args = probe.script(probe.mount('/readonly'));
      s.writeConfig();
      await s.cli('run in a user namespace', ['run', s.newId()], { stdout: 'probe' });
    },
    currentRunc: {
      'run in a user namespace: exit': {
        value: '0',
        why: 'current runc keeps the flags the kernel locks when it remounts a bind in a user namespace (1.1.5 failed: EPERM)',
      },
      'run in a user namespace: mount./readonly': { value: 'tmpfs ro nosuid nodev noexec', why: 'as above' },
      'run in a user namespace: mounts./readonly': { value: '1', why: 'as above' },
    },
  },
  {
    name: 'id-mapped bind mounts in a container with a user namespace',
    issue: 19,
    async run(s) {
      userNamespace(s);
      const host = join(s.work, 'owned');
      mkdirSync(join(host, 'sub'), { recursive: true });
      writeFileSync(join(host, 'sub', 'file'), '');
      const mapped = (options: string[], explicit: boolean): Mount => ({
        destination: '',
        type: 'bind',
        source: host,
        options,
        ...(explicit
          ? {
              uidMappings: [{ containerID: 0, hostID: 100_000, size: 65_536 }],
              gidMappings: [{ containerID: 0, hostID: 100_000, size: 65_536 }],
            }
          : {}),
      });
      // The targets exist: the container's root does not own this rootfs, so could not make them.
      for (const target of ['explicit', 'recursive', 'implied']) mkdirSync(join(s.rootfs, target));
      s.config.mounts.push(
        { ...mapped(['rbind', 'idmap'], true), destination: '/explicit' },
        { ...mapped(['rbind', 'ridmap'], true), destination: '/recursive' },
        { ...mapped(['rbind', 'idmap'], false), destination: '/implied' },
      );
      await s.runProbe(
        probe.stat('/explicit/sub/file'),
        probe.stat('/recursive/sub/file'),
        probe.stat('/implied/sub/file'),
      );
    },
    currentRunc: {
      'run: exit': {
        value: '0',
        why: 'current runc makes id-mapped mounts (1.1.5 refused them in a new user namespace)',
      },
      'run: stat./explicit/sub/file': {
        value: '644 0:0 regular empty file',
        why: 'current runc: the mount maps host root to the container’s root',
      },
      'run: stat./recursive/sub/file': {
        value: '644 0:0 regular empty file',
        why: 'current runc: ridmap, recursively',
      },
      'run: stat./implied/sub/file': {
        value: '644 0:0 regular empty file',
        why: 'current runc: idmap without mappings takes the container’s own',
      },
    },
  },
  {
    name: 'a masked path listed twice is masked once',
    issue: 19,
    async run(s) {
      s.config.linux.maskedPaths = [...(s.config.linux.maskedPaths ?? []), '/proc/keys'];
      await s.runProbe(probe.mount('/proc/keys'));
    },
    currentRunc: {
      'run: mounts./proc/keys': {
        value: '1',
        why: 'runc 1.5 masks each path once (#5275); 1.1.5 mounted /dev/null over it twice',
      },
    },
  },
  {
    name: 'masked directories share one read-only tmpfs',
    issue: 19,
    async run(s) {
      s.config.linux.maskedPaths = ['/proc/acpi', '/sys/firmware'];
      await s.runProbe(
        probe.mount('/proc/acpi'),
        probe.mount('/sys/firmware'),
        'echo "devices=$(awk \'$5 == "/proc/acpi" || $5 == "/sys/firmware" { print $3 }\' /proc/self/mountinfo | sort -u | wc -l)"',
      );
    },
    currentRunc: {
      'run: devices': {
        value: '1',
        why: 'runc 1.5 binds one read-only tmpfs over every masked directory (#5275); 1.1.5 mounted one each',
      },
    },
  },
  {
    name: 'a rootfs whose /proc is a symlink is refused',
    issue: 19,
    async run(s) {
      rmSync(join(s.rootfs, 'proc'), { recursive: true });
      symlinkSync('tmp', join(s.rootfs, 'proc'));
      s.config.process.args = ['true'];
      s.writeConfig();
      await s.cli('run', ['run', s.id], { errors: ['/proc'], oneLine: true });
    },
  },
  {
    name: 'a bundle without a /dev mount runs twice',
    issue: 19,
    async run(s) {
      s.config.mounts = s.config.mounts.filter((m) => !m.destination.startsWith('/dev'));
      s.config.process.args = probe.script('echo ran=yes');
      s.writeConfig();
      await s.cli('first run', ['run', s.id], { stdout: 'probe' });
      await s.cli('second run', ['run', s.newId()], { stdout: 'probe' });
    },
  },
  ...(['shared', 'slave', 'private', 'unbindable', 'rshared', 'runbindable'] as const).map(
    (propagation): CompatCase => ({
      name: `rootfsPropagation ${propagation}`,
      issue: 19,
      async run(s) {
        s.config.linux.rootfsPropagation = propagation;
        await s.runProbe(probe.propagation('/'));
      },
      ...(DELIBERATE_PROPAGATION[propagation] ? { deliberate: DELIBERATE_PROPAGATION[propagation] } : {}),
    }),
  ),
];
