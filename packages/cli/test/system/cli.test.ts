import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { busyboxRootfs, repoRoot, tempDir, uniqueName } from '@corral/tooling/test-env';
import { describe, expect, it } from 'vitest';

const corral = join(repoRoot, 'bin/corral');

describe('corral spec', () => {
  it("writes the same config.json as runc's spec", () => {
    const ours = tempDir('spec-corral');
    const theirs = tempDir('spec-runc');
    try {
      execFileSync(corral, ['spec'], { cwd: ours.path });
      execFileSync('runc', ['spec'], { cwd: theirs.path });
      const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(read(ours.path)).toEqual(read(theirs.path));
    } finally {
      ours.remove();
      theirs.remove();
    }
  });

  it("writes the same --rootless config.json as runc's, and it runs", () => {
    const ours = tempDir('spec-rootless-corral');
    const theirs = tempDir('spec-rootless-runc');
    try {
      execFileSync(corral, ['spec', '--rootless'], { cwd: ours.path, timeout: 60_000 });
      execFileSync('runc', ['spec', '--rootless'], { cwd: theirs.path, timeout: 60_000 });
      const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      const config = read(ours.path);
      expect(config).toEqual(read(theirs.path));
      // Run as root here, the current user is host root: mapped to the container's root alone.
      config.process.terminal = false;
      config.process.args = ['sh', '-c', 'cat /proc/self/uid_map; echo x >/dev/null && echo null-works'];
      writeFileSync(join(ours.path, 'config.json'), JSON.stringify(config));
      cpSync(busyboxRootfs, join(ours.path, 'rootfs'), { recursive: true, verbatimSymlinks: true });
      const state = join(ours.path, 'state');
      const result = spawnSync(corral, ['--root', state, 'run', '-b', ours.path, uniqueName('rootless')], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.stderr).toBe('');
      expect(result.stdout.replace(/[ \t]+/g, ' ')).toBe(' 0 0 1\nnull-works\n');
      expect(readdirSync(state)).toEqual([]);
    } finally {
      ours.remove();
      theirs.remove();
    }
  });

  it('refuses to overwrite an existing config.json', () => {
    const dir = tempDir('spec-twice');
    try {
      execFileSync(corral, ['spec', '-b', dir.path]);
      const second = spawnSync(corral, ['spec', '-b', dir.path], { encoding: 'utf8' });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/config\.json exists\. Remove it first/);
    } finally {
      dir.remove();
    }
  });
});

describe('corral features', () => {
  it('says what corral supports, and not what it does not yet', () => {
    const features = JSON.parse(execFileSync(corral, ['features'], { encoding: 'utf8' }));
    expect(features.ociVersionMax).toBe('1.2.0');
    expect([...features.linux.namespaces].sort()).toEqual([
      'cgroup',
      'ipc',
      'mount',
      'network',
      'pid',
      'time',
      'user',
      'uts',
    ]);
    expect(features.linux.capabilities).toContain('CAP_CHECKPOINT_RESTORE');
    expect(features.mountOptions).toEqual(expect.arrayContaining(['rbind', 'rro', 'nosuid', 'rslave']));
    expect(features.linux.seccomp).toMatchObject({ enabled: true });
    expect(features.linux.seccomp.actions).toEqual(
      expect.arrayContaining(['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO']),
    );
  });
});

describe('corral command line', () => {
  it("prints its version in runc's lines, with the commit it was built from", () => {
    expect(execFileSync(corral, ['--version'], { encoding: 'utf8' })).toMatch(
      /^corral version \d+\.\d+\.\d+\ncommit: [0-9a-f]{7,}(-dirty)?\nspec: 1\.2\.0\nnode: v\d+\.\d+\.\d+\nlibseccomp: \d+\.\d+\.\d+\n$/,
    );
  });

  it('refuses an unknown command (status 3, as runc) and an unknown flag (status 1) with one line', () => {
    for (const [args, status] of [
      [['launch'], 3],
      [['run', '--bogus', 'x'], 1],
      [['run'], 1],
    ] as const) {
      const result = spawnSync(corral, args, { encoding: 'utf8', timeout: 60_000 });
      expect(result.status).toBe(status);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('reports errors as JSON lines with --log-format json, and to --log', () => {
    const dir = tempDir('log');
    try {
      const log = join(dir.path, 'corral.log');
      const result = spawnSync(corral, ['--log', log, '--log-format', 'json', 'run', '-b', dir.path, 'x'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).toBe(1);
      const line = JSON.parse(result.stderr);
      expect(line).toMatchObject({
        level: 'error',
        msg: expect.stringMatching(/JSON specification file config\.json not found in /),
      });
      expect(JSON.parse(readFileSync(log, 'utf8'))).toMatchObject({ level: 'error' });
    } finally {
      dir.remove();
    }
  });
});
