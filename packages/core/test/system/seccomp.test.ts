import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { tempDir } from '@corral/tooling/test-env';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { SpecSeccomp } from '../../src/index.js';
import {
  baseConfig,
  corralBin,
  corralSync,
  disposeBundles,
  makeBundle,
  runBundle,
  type TestBundle,
} from './bundle.js';

const made: TestBundle[] = [];
afterEach(() => {
  disposeBundles(made);
});

/** A bundle with the profile, and a /marker file that reads "marker". */
function bundleWith(args: string[], seccomp: unknown, noNewPrivileges = true): TestBundle {
  const spec = baseConfig(args);
  spec.process!.noNewPrivileges = noNewPrivileges;
  spec.linux!.seccomp = seccomp as SpecSeccomp;
  const bundle = makeBundle(spec);
  made.push(bundle);
  writeFileSync(join(bundle.rootfs, 'marker'), 'marker\n');
  return bundle;
}

const corral = corralSync;

/** `create` with the container's output in a file of the bundle (not a pipe of the test's). */
function createWithOutput(bundle: TestBundle): string {
  const out = join(bundle.path, 'container.out');
  const create = ['--root', bundle.stateRoot, 'create', '--bundle', bundle.path, bundle.id];
  execFileSync('sh', ['-c', 'out="$1"; shift; exec "$@" >"$out" 2>&1', 'sh', out, corralBin, ...create], {
    timeout: 60_000,
  });
  return out;
}

function waitStopped(bundle: TestBundle): void {
  for (let i = 0; i < 500; i++) {
    if (JSON.parse(corral(bundle, 'state', bundle.id).stdout).status === 'stopped') return;
    spawnSync('sleep', ['0.02'], { timeout: 60_000 });
  }
}

const ENOSPC = 28;
const mkdirFails = {
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  syscalls: [
    // A name no kernel has is skipped, as other runtimes skip it, and the rest still applies.
    { names: ['no_such_syscall', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSPC },
  ],
};
const tryMkdir = ['sh', '-c', 'mkdir /tmp/made 2>&1; echo "status $?"; ls -d /tmp/made 2>/dev/null; true'];

describe('linux.seccomp: what the container sees', () => {
  it('makes a filtered syscall fail with the errnoRet asked for', async () => {
    const result = await runBundle(bundleWith(tryMkdir, mkdirFails));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      "mkdir: can't create directory '/tmp/made': No space left on device\nstatus 1\n",
    );
  });

  it('filters the same without no_new_privs, the filter going in before capabilities are dropped', async () => {
    const result = await runBundle(bundleWith(tryMkdir, mkdirFails, false));
    expect(result.stdout).toContain('No space left on device');
    const grep = await runBundle(bundleWith(['grep', 'NoNewPrivs', '/proc/self/status'], mkdirFails, false));
    expect(grep.stdout.replace(/\s+/g, ' ')).toBe('NoNewPrivs: 0 ');
  });

  it('returns EPERM when no errnoRet is given, and reports filtering in /proc', async () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
    };
    const result = await runBundle(
      bundleWith(['sh', '-c', 'mkdir /tmp/x 2>&1; grep "^Seccomp:" /proc/self/status'], profile),
    );
    expect(result.stdout.replace(/\s+/g, ' ')).toBe(
      "mkdir: can't create directory '/tmp/x': Operation not permitted Seccomp: 2 ",
    );
  });

  it('runs under an allow-list: the listed syscalls work, every other one fails with the default', async () => {
    const needed = [
      // What corral-init does after installing the filter.
      'close_range',
      'fcntl',
      'newfstatat',
      'stat',
      'access',
      'faccessat',
      'faccessat2',
      'execve',
      // What busybox sh, echo and cat do (sh starts cat as a child of its own).
      'clone',
      'clone3',
      'fork',
      'vfork',
      'wait4',
      'arch_prctl',
      'brk',
      'close',
      'dup2',
      'exit',
      'exit_group',
      'getpid',
      'getppid',
      'getrandom',
      'getuid',
      'geteuid',
      'getgid',
      'getegid',
      'ioctl',
      'mmap',
      'munmap',
      'mprotect',
      'openat',
      'open',
      'prctl',
      'prlimit64',
      'read',
      'readlink',
      'rseq',
      'rt_sigaction',
      'rt_sigprocmask',
      'rt_sigreturn',
      'sendfile',
      'set_robust_list',
      'set_tid_address',
      'uname',
      'write',
      'fstat',
      'lseek',
    ];
    const profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: ENOSPC,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: needed, action: 'SCMP_ACT_ALLOW' }],
    };
    const result = await runBundle(
      bundleWith(['sh', '-c', 'echo allowed; cat /marker; mkdir /tmp/x 2>&1; true'], profile),
    );
    expect(result.stdout).toBe(
      "allowed\nmarker\nmkdir: can't create directory '/tmp/x': No space left on device\n",
    );
  });

  it('compares syscall arguments: personality(PER_LINUX32) fails, personality(PER_LINUX) does not', async () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['personality'],
          action: 'SCMP_ACT_ERRNO',
          args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }],
        },
      ],
    };
    const result = await runBundle(
      bundleWith(['sh', '-c', 'linux64 echo 64 ok; linux32 echo 32 ok 2>&1; true'], profile),
    );
    expect(result.stdout).toMatch(/^64 ok\n.*Operation not permitted\n$/);
  });

  it('applies a masked comparison: the rule matches only the bits it masks', async () => {
    // openat's flags (argument 2) with O_CREAT (0o100) set: creating fails, reading works.
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['openat'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: ENOSPC,
          args: [{ index: 2, value: 0o100, valueTwo: 0o100, op: 'SCMP_CMP_MASKED_EQ' }],
        },
        {
          names: ['open'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: ENOSPC,
          args: [{ index: 1, value: 0o100, valueTwo: 0o100, op: 'SCMP_CMP_MASKED_EQ' }],
        },
      ],
    };
    const result = await runBundle(
      bundleWith(['sh', '-c', 'cat /marker; echo x 2>&1 >/tmp/new || echo "create failed"'], profile),
    );
    expect(result.stdout).toMatch(/^marker\n.*No space left on device\ncreate failed\n$/s);
  });

  it('filters a container made with create and started with start', () => {
    const bundle = bundleWith(['sh', '-c', 'mkdir /tmp/made 2>/tmp/err; cat /tmp/err'], mkdirFails);
    const out = createWithOutput(bundle);
    expect(corral(bundle, 'start', bundle.id).status).toBe(0);
    waitStopped(bundle);
    expect(readFileSync(out, 'utf8')).toBe(
      "mkdir: can't create directory '/tmp/made': No space left on device\n",
    );
  });

  it('gives a process exec-ed into the container the same filter', async () => {
    const bundle = bundleWith(['sleep', '60'], mkdirFails);
    const started = spawnSync(
      corralBin,
      ['--root', bundle.stateRoot, 'run', '--detach', '--bundle', bundle.path, bundle.id],
      { stdio: 'ignore', timeout: 60_000 },
    );
    expect(started.status).toBe(0);
    const inside = corral(bundle, 'exec', bundle.id, ...tryMkdir);
    expect(inside.stdout).toContain('No space left on device');
    expect(inside.stdout).not.toContain('/tmp/made\n');
  });
});

describe('linux.seccomp: SCMP_ACT_NOTIFY', () => {
  const agentSource = fileURLToPath(new URL('./fixtures/seccomp-agent.c', import.meta.url));
  let agentDir: ReturnType<typeof tempDir>;
  let agentBin: string;
  const agents: ChildProcess[] = [];

  beforeAll(() => {
    agentDir = tempDir('seccomp-agent');
    agentBin = join(agentDir.path, 'seccomp-agent');
    execFileSync('cc', ['-std=gnu11', '-Wall', '-Wextra', '-Werror', '-o', agentBin, agentSource], {
      timeout: 60_000,
    });
  });
  afterEach(() => {
    for (const agent of agents.splice(0)) agent.kill('SIGKILL');
  });
  afterAll(() => agentDir.remove());

  /** Starts the agent on a socket in the bundle; resolves once it listens. */
  async function startAgent(bundle: TestBundle): Promise<{ socket: string; stateFile: string }> {
    const socket = join(bundle.path, 'agent.sock');
    const stateFile = join(bundle.path, 'agent-state.json');
    agents.push(spawn(agentBin, [socket, stateFile], { stdio: 'inherit' }));
    for (let i = 0; i < 200 && !existsSync(socket); i++) await sleep(10);
    return { socket, stateFile };
  }

  function notifyProfile(socket: string) {
    return {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: socket,
      listenerMetadata: 'agent-test',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
    };
  }

  it('hands the listener and the seccomp state to the agent, which answers for the kernel', async () => {
    const bundle = bundleWith(tryMkdir, {});
    const agent = await startAgent(bundle);
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.linux.seccomp = notifyProfile(agent.socket);
    bundle.writeConfig(spec);
    const result = await runBundle(bundle);
    expect(result.stderr).toBe('');
    // The agent said "done" without making the directory: the answer came from it, not the kernel.
    expect(result.stdout).toBe('status 0\n');
    const state = JSON.parse(readFileSync(agent.stateFile, 'utf8'));
    expect(state).toMatchObject({
      fds: ['seccompFd'],
      metadata: 'agent-test',
      state: { id: bundle.id, status: 'creating', bundle: bundle.path },
    });
    expect(state.pid).toBe(state.state.pid);
    // mkdir is 83 and mkdirat 258 on x86_64.
    expect(readFileSync(`${agent.stateFile}.log`, 'utf8')).toMatch(/^notified (83|258)\n$/);
  });

  it('hands the listener over at create, before the process waits to be started', async () => {
    const bundle = bundleWith(tryMkdir, {});
    const agent = await startAgent(bundle);
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    spec.linux.seccomp = notifyProfile(agent.socket);
    bundle.writeConfig(spec);
    const out = createWithOutput(bundle);
    // The agent writes the state once it has it; create does not wait for that.
    for (let i = 0; i < 200 && !existsSync(agent.stateFile); i++) await sleep(10);
    expect(JSON.parse(readFileSync(agent.stateFile, 'utf8')).state.status).toBe('creating');
    expect(corral(bundle, 'start', bundle.id).status).toBe(0);
    waitStopped(bundle);
    expect(readFileSync(out, 'utf8')).toBe('status 0\n');
  });

  it('hands an exec-ed process its own listener, with its own pid', async () => {
    const bundle = bundleWith(['sleep', '60'], {});
    const agent = await startAgent(bundle);
    const spec = JSON.parse(readFileSync(join(bundle.path, 'config.json'), 'utf8'));
    // An agent serves one connection, the container's own listener; the exec gets a new agent.
    spec.linux.seccomp = notifyProfile(agent.socket);
    bundle.writeConfig(spec);
    const started = spawnSync(
      corralBin,
      ['--root', bundle.stateRoot, 'run', '--detach', '--bundle', bundle.path, bundle.id],
      { stdio: 'ignore', timeout: 60_000 },
    );
    expect(started.status).toBe(0);
    for (const first of agents.splice(0)) first.kill('SIGKILL');
    const second = await startAgentAt(bundle, agent.socket);
    const inside = corral(bundle, 'exec', bundle.id, ...tryMkdir);
    expect(inside.stdout).toBe('status 0\n');
    const state = JSON.parse(readFileSync(second, 'utf8'));
    expect(state.state).toMatchObject({ id: bundle.id, status: 'running' });
    expect(state.pid).not.toBe(state.state.pid);
  });

  /** A fresh agent on the same socket path (the old one is gone): returns its state file. */
  async function startAgentAt(bundle: TestBundle, socket: string): Promise<string> {
    const stateFile = join(bundle.path, 'agent-exec-state.json');
    spawnSync('rm', ['-f', socket], { timeout: 60_000 });
    agents.push(spawn(agentBin, [socket, stateFile], { stdio: 'inherit' }));
    for (let i = 0; i < 200 && !existsSync(socket); i++) await sleep(10);
    return stateFile;
  }
});

describe('linux.seccomp: what is refused before anything is made', () => {
  it.each([
    [
      'an unknown action',
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_BOGUS' }] },
      /linux\.seccomp\.syscalls\[0\]\.action: unknown seccomp action "SCMP_ACT_BOGUS"/,
    ],
    [
      'an unknown architecture',
      { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] },
      /linux\.seccomp\.architectures\[0\]: unknown architecture "SCMP_ARCH_VAX"/,
    ],
    [
      'an unknown operator',
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          {
            names: ['personality'],
            action: 'SCMP_ACT_ERRNO',
            args: [{ index: 0, value: 8, op: 'SCMP_CMP_ABOUT' }],
          },
        ],
      },
      /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_ABOUT"/,
    ],
    [
      'a notify action without a listener',
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
      /linux\.seccomp\.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY/,
    ],
  ])('refuses %s, naming the field, and leaves no state', async (_, profile, message) => {
    const bundle = bundleWith(['true'], profile);
    const result = await runBundle(bundle);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(readdirSync(bundle.stateRoot)).toEqual([]);
  });
});
