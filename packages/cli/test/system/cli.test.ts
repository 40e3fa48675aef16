import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot, tempDir } from '@corral/tooling/test-env';
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
    expect(features.linux.namespaces).toEqual(
      expect.arrayContaining(['pid', 'network', 'mount', 'ipc', 'uts']),
    );
    expect(features.linux.namespaces).not.toContain('user');
    expect(features.linux.capabilities).toContain('CAP_CHECKPOINT_RESTORE');
    expect(features.mountOptions).toEqual(expect.arrayContaining(['rbind', 'rro', 'nosuid', 'rslave']));
    expect(features.linux.seccomp).toMatchObject({ enabled: true });
    expect(features.linux.seccomp.actions).toEqual(
      expect.arrayContaining(['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO']),
    );
  });
});

describe('corral command line', () => {
  it('prints its version', () => {
    expect(execFileSync(corral, ['--version'], { encoding: 'utf8' })).toMatch(
      /^corral version \d+\.\d+\.\d+\nspec: /,
    );
  });

  it('refuses an unknown command and an unknown flag with one line and status 1', () => {
    for (const args of [['launch'], ['run', '--bogus', 'x'], ['run']]) {
      const result = spawnSync(corral, args, { encoding: 'utf8', timeout: 60_000 });
      expect(result.status).toBe(1);
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
      expect(line).toMatchObject({ level: 'error', msg: expect.stringMatching(/no config\.json in bundle/) });
      expect(JSON.parse(readFileSync(log, 'utf8'))).toMatchObject({ level: 'error' });
    } finally {
      dir.remove();
    }
  });
});
