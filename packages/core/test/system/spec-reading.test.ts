import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Spec } from '../../src/index.js';
import { bundleMaker, corralBin, corralSync, disposeBundles, type TestBundle } from './bundle.js';
import { detachedSync, runc, runcId, runcRun } from './runc.js';

// Configs as runc reads them: what it fills in, what it only warns about, keys in another
// case. The same bundle under Debian's runc and corral.
const made: TestBundle[] = [];
const helpers: ChildProcess[] = [];
afterEach(() => {
  for (const helper of helpers.splice(0)) helper.kill('SIGKILL');
  disposeBundles(made);
});
const bundleFor = bundleMaker(made);

/** Two copies of a bundle (one per runtime), with the same edit. */
function twoBundles(args: string[], edit?: (spec: Spec) => void): [TestBundle, TestBundle] {
  return [bundleFor(args, edit), bundleFor(args, edit)];
}

describe('exec --process', () => {
  it.each([
    ['without user', {}, 'uid=0(root) gid=0(root)'],
    ['without user.gid', { user: { uid: 1000 } }, 'uid=1000 gid=0(root)'],
  ])('takes a process %s, as uid and gid 0', (_, user, id) => {
    const [ofCorral, ofRunc] = twoBundles(['sleep', '60']);
    const processFile = (bundle: TestBundle) => {
      const path = join(bundle.path, 'process.json');
      writeFileSync(path, JSON.stringify({ args: ['id'], cwd: '/', env: ['PATH=/bin'], ...user }));
      return path;
    };
    const ofCorralRun = [
      '--root',
      ofCorral.stateRoot,
      'run',
      '--detach',
      '--bundle',
      ofCorral.path,
      ofCorral.id,
    ];
    expect(detachedSync(corralBin, ofCorralRun, join(ofCorral.path, 'run.out')).status).toBe(0);
    const corral = corralSync(ofCorral, 'exec', '--process', processFile(ofCorral), ofCorral.id);
    const ofRuncRun = [
      '--root',
      join(ofRunc.path, 'runc-state'),
      'run',
      '--detach',
      '--bundle',
      ofRunc.path,
      runcId(ofRunc),
    ];
    expect(detachedSync('runc', ofRuncRun, join(ofRunc.path, 'run.out')).status).toBe(0);
    const ofRuncExec = runc(ofRunc, 'exec', '--process', processFile(ofRunc), runcId(ofRunc));
    runc(ofRunc, 'delete', '--force', runcId(ofRunc));
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe(`${id}\n`);
    expect(ofRuncExec.stdout).toBe(corral.stdout);
  });
});

describe('linux.resources', () => {
  it('reads keys in another case as the fields Go matches them to', () => {
    const cgroups = [0, 1].map(() => `/corral-test-case-${Math.random().toString(36).slice(2)}`);
    const bundles = cgroups.map((cgroup) =>
      bundleFor(['sleep', '60'], (spec) => {
        spec.linux!.cgroupsPath = cgroup;
        spec.linux!.resources = { ...spec.linux!.resources, CPU: { Shares: 512 }, Pids: { LIMIT: 77 } };
      }),
    ) as [TestBundle, TestBundle];
    const shares = (cgroup: string) =>
      `${readFileSync(`/sys/fs/cgroup/cpu${cgroup}/cpu.shares`, 'utf8').trim()} ${readFileSync(`/sys/fs/cgroup/pids${cgroup}/pids.max`, 'utf8').trim()}`;
    const [ofCorral, ofRunc] = bundles;
    const created = detachedSync(
      corralBin,
      ['--root', ofCorral.stateRoot, 'create', '--bundle', ofCorral.path, ofCorral.id],
      join(ofCorral.path, 'create.out'),
    );
    expect(created).toEqual({ status: 0, output: '' });
    const ofRuncCreate = [
      '--root',
      join(ofRunc.path, 'runc-state'),
      'create',
      '--bundle',
      ofRunc.path,
      runcId(ofRunc),
    ];
    expect(detachedSync('runc', ofRuncCreate, join(ofRunc.path, 'create.out')).status).toBe(0);
    try {
      expect(shares(cgroups[0]!)).toBe('512 77');
      expect(shares(cgroups[1]!)).toBe('512 77');
    } finally {
      runc(ofRunc, 'delete', '--force', runcId(ofRunc));
    }
  });

  it('warns about kernel memory and goes on without it, as runc does', () => {
    const [ofCorral, ofRunc] = twoBundles(['true'], (spec) => {
      spec.linux!.resources = { ...spec.linux!.resources, memory: { kernel: 1 << 26, limit: 1 << 28 } };
    });
    const corral = corralSync(ofCorral, 'run', '--bundle', ofCorral.path, ofCorral.id);
    const ofRuncRun = runcRun(ofRunc);
    expect(corral.status).toBe(0);
    expect(corral.stderr).toBe('corral: warning: Kernel memory settings are ignored and will be removed\n');
    expect(ofRuncRun.status).toBe(0);
    expect(ofRuncRun.stderr).toContain('Kernel memory settings are ignored and will be removed');
  });
});

describe('process.capabilities', () => {
  it("leaves out a capability it does not know, with runc's warning", () => {
    const [ofCorral, ofRunc] = twoBundles(['sh', '-c', 'grep CapBnd /proc/self/status'], (spec) => {
      spec.process!.capabilities!.bounding!.push('CAP_BOGUS');
    });
    const corral = corralSync(ofCorral, 'run', '--bundle', ofCorral.path, ofCorral.id);
    const ofRuncRun = runcRun(ofRunc);
    expect(corral.stderr).toBe(
      'corral: warning: ignoring unknown or unavailable capabilities: [CAP_BOGUS]\n',
    );
    expect(ofRuncRun.stderr).toContain('ignoring unknown or unavailable capabilities: [CAP_BOGUS]');
    expect(corral.stdout).toBe(ofRuncRun.stdout);
  });
});

describe('hostname', () => {
  it('is set in a uts namespace the container joins', () => {
    const names = ['corral-joined', 'runc-joined'];
    const holders = names.map(() => {
      const holder = spawn('unshare', ['--uts', 'sleep', '60'], { stdio: 'ignore' });
      helpers.push(holder);
      return holder;
    });
    // unshare execs sleep once the namespace is made: wait for that.
    for (const holder of holders) {
      for (let i = 0; i < 500 && readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() !== 'sleep'; i++) {
        spawnSync('sleep', ['0.01']);
      }
    }
    const [ofCorral, ofRunc] = names.map((name, i) =>
      bundleFor(['hostname'], (spec) => {
        spec.hostname = name;
        spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
          ns.type === 'uts' ? { type: 'uts', path: `/proc/${holders[i]!.pid}/ns/uts` } : ns,
        );
      }),
    ) as [TestBundle, TestBundle];
    const corral = corralSync(ofCorral, 'run', '--bundle', ofCorral.path, ofCorral.id);
    const ofRuncRun = runcRun(ofRunc);
    expect(corral.stderr).toBe('');
    expect(corral.stdout).toBe('corral-joined\n');
    expect(ofRuncRun.stdout).toBe('runc-joined\n');
    const inNamespace = spawnSync('nsenter', ['-u', '-t', String(holders[0]!.pid), 'hostname'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(inNamespace.stdout).toBe('corral-joined\n');
    expect(existsSync(join(ofCorral.stateRoot, ofCorral.id))).toBe(false);
  });
});
