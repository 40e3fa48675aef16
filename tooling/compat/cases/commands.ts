import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { CompatCase } from '../src/case.js';
import { readCgroupFile } from '../src/cgroups.js';
import { withoutNamespace } from '../src/config.js';
import type { Session } from '../src/session.js';

/** A container whose process has already exited: `stopped`. */
async function runStopped(s: Session): Promise<void> {
  await s.startDetached(['true']);
  if (!(await s.waitStatus('stopped'))) throw new Error(`${s.runtime}: the container never stopped`);
}

/** How many processes the container's cgroup holds. */
function processCount(s: Session): number {
  const procs = readCgroupFile('pids', `${s.cgroupsPath}/${s.id}`, 'cgroup.procs');
  return procs === '<missing>' ? 0 : procs.split('\n').filter(Boolean).length;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 50));

/** How many processes are left in the container's cgroup, once they have had time to die. */
async function processesLeft(s: Session): Promise<number> {
  for (let i = 0; i < 100 && processCount(s) > 0; i++) await pause();
  return processCount(s);
}

/**
 * `sh -c 'sleep 600 & sleep 600'` without a pid namespace, once its background sleep exists:
 * a signal sent before that would reach the one process there is.
 */
async function startWithTwoProcesses(s: Session): Promise<void> {
  withoutNamespace(s.config, 'pid');
  await s.startDetached(['sh', '-c', 'sleep 600 & sleep 600']);
  for (let i = 0; i < 200 && processCount(s) < 2; i++) await pause();
  if (processCount(s) < 2) throw new Error(`${s.runtime}: the background sleep never started`);
}

/** runc's errors say where the exec failed in these words; podman maps them to 127 and 126. */
const EXEC_ERRORS = ['no such file or directory', 'permission denied', 'executable file not found in $PATH'];

/** `run` of a process that cannot be executed: its exit and the phrases of its one error line. */
async function runFailing(s: Session, label: string, args: string[], ...phrases: string[]): Promise<void> {
  s.config.process.args = args;
  s.writeConfig();
  await s.cli(label, ['run', s.newId()], { errors: [...EXEC_ERRORS, ...phrases], oneLine: true });
}

export const commandCases: CompatCase[] = [
  {
    name: 'kill of a stopped container: "container not running", exit 1',
    issue: 20,
    async run(s) {
      await runStopped(s);
      await s.cli('kill', ['kill', s.id, 'KILL'], { errors: ['container not running'], stdout: 'none' });
    },
  },
  {
    name: 'kill --all of a stopped container: exit 0',
    issue: 20,
    async run(s) {
      await runStopped(s);
      await s.cli('kill --all', ['kill', '--all', s.id, 'KILL']);
    },
  },
  {
    name: 'kill --all signals every process of a container without a pid namespace',
    issue: 20,
    async run(s) {
      await startWithTwoProcesses(s);
      await s.cli('kill --all', ['kill', '--all', s.id, 'KILL']);
      s.observe('processes left in its cgroup', await processesLeft(s));
    },
  },
  {
    name: 'kill --all reaches what a stopped container’s init left in its cgroup',
    issue: 20,
    async run(s) {
      withoutNamespace(s.config, 'pid');
      // The init exits once its child exists; the child stays in the cgroup of a stopped container.
      await s.startDetached(['sh', '-c', 'sleep 600 & exit 0']);
      if (!(await s.waitStatus('stopped'))) throw new Error(`${s.runtime}: the container never stopped`);
      if (processCount(s) !== 1) throw new Error(`${s.runtime}: the init left ${processCount(s)} processes`);
      await s.cli('kill --all', ['kill', '--all', s.id, 'KILL']);
      s.observe('processes left in its cgroup', await processesLeft(s));
    },
  },
  {
    name: 'kill KILL of a container without a pid namespace kills every process in it',
    issue: 20,
    async run(s) {
      await startWithTwoProcesses(s);
      await s.cli('kill', ['kill', s.id, 'KILL']);
      s.observe('processes left in its cgroup', await processesLeft(s));
    },
    currentRunc: {
      'processes left in its cgroup': {
        value: '0',
        why: 'runc 1.2 sends a SIGKILL to every process of a container without a pid namespace of its own, with or without --all (runc #3825, #3864)',
      },
    },
  },
  {
    name: 'kill KILL of a paused container ends it',
    issue: 20,
    async run(s) {
      await s.startDetached();
      await s.quiet(['pause', s.id]);
      await s.cli('kill', ['kill', s.id, 'KILL']);
      s.observe('stopped afterwards', await s.waitStatus('stopped'));
    },
  },
  {
    name: 'kill with signal 0 checks that the container is alive',
    issue: 20,
    async run(s) {
      await s.startDetached();
      await s.cli('kill 0', ['kill', s.id, '0']);
      s.observe('status afterwards', await s.status());
    },
  },
  {
    name: 'exec into a paused container exits 255',
    issue: 20,
    async run(s) {
      await s.startDetached();
      await s.quiet(['pause', s.id]);
      await s.cli('exec', ['exec', s.id, 'true'], { errors: ['paused'], oneLine: true });
      await s.quiet(['resume', s.id]);
    },
  },
  {
    name: 'exec into a container that does not exist exits 255',
    issue: 20,
    async run(s) {
      await s.cli('exec', ['exec', 'no-such-container', 'true'], {
        errors: ['does not exist'],
        oneLine: true,
      });
    },
  },
  {
    name: 'an unknown command exits as runc does',
    issue: 20,
    async run(s) {
      await s.cli('frobnicate', ['frobnicate'], { stdout: 'none', oneLine: true });
    },
  },
  {
    name: '--pid-file in a missing directory: one line, nothing left behind',
    issue: 20,
    async run(s) {
      s.config.process.args = ['sleep', '600'];
      s.writeConfig();
      await s.cli('run -d', ['run', '-d', '--pid-file', join(s.work, 'missing', 'pid'), s.id], {
        oneLine: true,
      });
      s.observe('container left', (await s.status()) !== '<gone>');
    },
  },
  {
    name: 'list as a user who cannot read the state root: one line',
    issue: 20,
    async run(s) {
      chmodSync(s.root, 0o700);
      await s.cli('list', ['list'], {
        prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
        stdout: 'none',
        errors: ['permission denied'],
        oneLine: true,
      });
    },
  },
  {
    name: 'list with a state root that is not a directory: one line',
    issue: 20,
    async run(s) {
      const file = join(s.work, 'not-a-directory');
      writeFileSync(file, '');
      await s.cli('list', ['--root', file, 'list'], {
        noRoot: true,
        stdout: 'none',
        errors: ['not a directory'],
        oneLine: true,
      });
    },
  },
  {
    name: 'list with a state root that does not exist',
    issue: 20,
    async run(s) {
      const missing = join(s.work, 'missing');
      await s.cli('list', ['--root', missing, 'list']);
      await s.cli('list -q', ['--root', missing, 'list', '-q']);
    },
  },
  {
    name: 'state of a container that does not exist: "does not exist"',
    issue: 20,
    async run(s) {
      await s.cli('state', ['state', 'no-such-container'], {
        stdout: 'none',
        errors: ['does not exist'],
        oneLine: true,
      });
      await s.cli('delete', ['delete', 'no-such-container'], {
        stdout: 'none',
        errors: ['does not exist'],
        oneLine: true,
      });
      await s.cli('delete --force', ['delete', '--force', 'no-such-container']);
    },
  },
  {
    name: 'start of a running container: "cannot start an already running container"',
    issue: 20,
    async run(s) {
      await s.startDetached();
      await s.cli('start', ['start', s.id], {
        stdout: 'none',
        errors: ['cannot start an already running container'],
      });
    },
  },
  {
    name: 'delete of a running container: "cannot delete container ... that is not stopped: running"',
    issue: 20,
    async run(s) {
      await s.startDetached();
      await s.cli('delete', ['delete', s.id], {
        stdout: 'none',
        errors: [`cannot delete container ${s.id} that is not stopped: running`.replace(s.id, '$ID')],
      });
      s.observe('status afterwards', await s.status());
    },
  },
  {
    name: "a missing command: runc's exec error, which podman maps to 127",
    issue: 20,
    async run(s) {
      await runFailing(s, 'run', ['/run.sh'], 'exec: "/run.sh": stat /run.sh: no such file or directory');
      await runFailing(s, 'run (PATH)', ['no-such-command']);
    },
  },
  {
    name: "a command that is not executable: runc's exec error, which podman maps to 126",
    issue: 20,
    async run(s) {
      await runFailing(s, 'run', ['/etc/passwd'], 'exec: "/etc/passwd": permission denied');
    },
  },
  {
    name: "invalid configurations give runc's messages",
    issue: 20,
    async run(s) {
      await s.cli('no config.json', ['run', '--bundle', s.work, s.id], {
        errors: ['JSON specification file config.json not found'],
        oneLine: true,
      });
      s.writeConfig('{"ociVersion": "1.0.2", "process": ');
      await s.cli('broken JSON', ['run', s.newId()], { oneLine: true });
      const noRoot = { ...s.config, root: undefined };
      s.writeConfig(noRoot);
      await s.cli('no root', ['run', s.newId()], { errors: ['root must be specified'] });
      const noArgs = { ...s.config, process: { ...s.config.process, args: [] } };
      s.writeConfig(noArgs);
      await s.cli('no args', ['run', s.newId()], { errors: ['args must not be empty'] });
      const badNs = { ...s.config, linux: { ...s.config.linux, namespaces: [{ type: 'bogus' }] } };
      s.writeConfig(badNs);
      await s.cli('unknown namespace', ['run', s.newId()], { errors: ['namespace', 'does not exist'] });
    },
  },
  {
    name: '--debug writes runc-style debug lines in the chosen log format',
    issue: 20,
    async run(s) {
      s.config.process.args = ['true'];
      s.writeConfig();
      const log = join(s.work, 'debug.log');
      await s.cli('run', ['--debug', '--log', log, '--log-format', 'json', 'run', s.id]);
      const lines = s.readWork('debug.log').replace('<missing>', '').split('\n').filter(Boolean);
      const parsed = lines.map((line) => {
        try {
          return JSON.parse(line) as { level?: string; msg?: string; time?: string };
        } catch {
          return undefined;
        }
      });
      s.observe(
        'every log line is JSON',
        parsed.every((entry) => entry !== undefined),
      );
      s.observe(
        'the log has debug lines',
        parsed.some((entry) => entry?.level === 'debug'),
      );
      s.observe(
        'every line has level, msg and time',
        parsed.every((e) => e?.level && e.msg && e.time),
      );
      s.observe(
        'the container process is among them',
        parsed.some((e) => /init|nsexec/.test(e?.msg ?? '')),
      );
    },
  },
  {
    name: 'update takes -1 for unlimited',
    issue: 20,
    async run(s) {
      s.config.linux.resources = {
        ...s.config.linux.resources,
        memory: { limit: 64 << 20 },
        pids: { limit: 50 },
      };
      await s.startDetached();
      await s.cli('update', ['update', '--memory', '-1', '--memory-swap', '-1', '--pids-limit', '-1', s.id]);
      s.observeCgroupFile('memory', 'memory.limit_in_bytes');
      s.observeCgroupFile('pids', 'pids.max');
    },
  },
  {
    name: 'state reports the ociVersion the runtime implements',
    issue: 20,
    async run(s) {
      s.config.ociVersion = '1.0.0';
      await s.startDetached();
      const version = (await s.quiet(['--version'])).stdout;
      const implemented = /^spec: (\S+)/m.exec(version)?.[1];
      const state = JSON.parse((await s.quiet(['state', s.id])).stdout) as { ociVersion: string };
      s.observe('state ociVersion is the spec version of --version', state.ociVersion === implemented);
    },
  },
  {
    name: 'list --format json fills owner',
    issue: 20,
    async run(s) {
      await s.startDetached();
      await s.cli('list', ['list', '--format', 'json'], { json: ['0.owner', '0.status', '0.id'] });
    },
  },
  {
    name: "features lists every mount option and libseccomp's version",
    issue: 20,
    async run(s) {
      const features = JSON.parse((await s.quiet(['features'])).stdout) as {
        mountOptions: string[];
        annotations?: Record<string, string>;
      };
      for (const option of RUNC_MOUNT_OPTIONS) {
        s.observe(`features lists mount option ${option}`, features.mountOptions.includes(option));
      }
      s.observe(
        'annotation io.github.seccomp.libseccomp.version',
        features.annotations?.['io.github.seccomp.libseccomp.version'] ?? '<absent>',
      );
    },
    currentRunc: {
      'features lists mount option acl': {
        value: 'false',
        why: 'current runc no longer lists acl and noacl, which cannot be mapped to MS_POSIXACL (runc issue 3738)',
      },
      'features lists mount option noacl': { value: 'false', why: 'as acl (runc issue 3738)' },
    },
  },
  {
    name: "--help, help and --version follow runc's layout",
    issue: 20,
    async run(s) {
      const help = (await s.quiet(['--help'])).stdout;
      for (const section of ['NAME:', 'USAGE:', 'VERSION:', 'COMMANDS:', 'GLOBAL OPTIONS:']) {
        s.observe(`--help has ${section}`, help.includes(`\n${section}`) || help.startsWith(section));
      }
      const topic = (await s.quiet(['help', 'kill'])).stdout;
      s.observe('help kill has USAGE:', topic.includes('USAGE:'));
      const version = (await s.quiet(['--version'])).stdout;
      s.observe(
        '--version has commit and spec lines',
        /^commit: /m.test(version) && /^spec: /m.test(version),
      );
    },
  },
];

/** Every mount option Debian's runc 1.1.5 lists in `features`. */
const RUNC_MOUNT_OPTIONS = [
  'acl',
  'async',
  'atime',
  'bind',
  'defaults',
  'dev',
  'diratime',
  'dirsync',
  'exec',
  'iversion',
  'lazytime',
  'loud',
  'mand',
  'noacl',
  'noatime',
  'nodev',
  'nodiratime',
  'noexec',
  'noiversion',
  'nolazytime',
  'nomand',
  'norelatime',
  'nostrictatime',
  'nosuid',
  'nosymfollow',
  'private',
  'ratime',
  'rbind',
  'rdev',
  'rdiratime',
  'relatime',
  'remount',
  'rexec',
  'rnoatime',
  'rnodev',
  'rnodiratime',
  'rnoexec',
  'rnorelatime',
  'rnostrictatime',
  'rnosuid',
  'rnosymfollow',
  'ro',
  'rprivate',
  'rrelatime',
  'rro',
  'rrw',
  'rshared',
  'rslave',
  'rstrictatime',
  'rsuid',
  'rsymfollow',
  'runbindable',
  'rw',
  'shared',
  'silent',
  'slave',
  'strictatime',
  'suid',
  'symfollow',
  'sync',
  'tmpcopyup',
  'unbindable',
];
