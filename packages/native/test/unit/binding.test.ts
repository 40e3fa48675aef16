import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { tempDir } from '@corral/tooling/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addonPath, loadAddon } from '../../src/binding.js';
import { initBinaryPath } from '../../src/init-binary.js';

let dir: ReturnType<typeof tempDir>;

beforeAll(() => {
  dir = tempDir('binding');
});
afterAll(() => dir.remove());

describe('the addon of this checkout', () => {
  it('is the build from source, with corral-init beside it', () => {
    expect(addonPath()).toMatch(/\/packages\/native\/build\/Release\/corral_native\.node$/);
    expect(initBinaryPath()).toMatch(/\/packages\/native\/build\/Release\/corral-init$/);
  });
});

describe('an addon that cannot be used', () => {
  it('names the library it is missing, in one line', () => {
    // An addon linked against a library that is then removed, as on a machine without it.
    const root = join(dir.path, 'missing-library');
    const release = join(root, 'build', 'Release');
    mkdirSync(release, { recursive: true });
    writeFileSync(join(root, 'gone.c'), 'int gone(void) { return 1; }\n');
    writeFileSync(join(root, 'addon.c'), 'int gone(void);\nint call(void) { return gone(); }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(root, 'libcorral-gone.so'), join(root, 'gone.c')]);
    execFileSync('cc', [
      '-shared',
      '-fPIC',
      '-o',
      join(release, 'corral_native.node'),
      join(root, 'addon.c'),
      `-L${root}`,
      '-lcorral-gone',
    ]);
    rmSync(join(root, 'libcorral-gone.so'));
    expect(() => loadAddon(addonPath(root))).toThrow(
      new RegExp(
        `^@corral/native: cannot load ${release}/corral_native.node: libcorral-gone.so: cannot open shared object file: No such file or directory; build one from source with [^\\n]*$`,
      ),
    );
  });

  it('says when no binary fits this machine, in one line', () => {
    const root = join(dir.path, 'no-prebuild');
    mkdirSync(join(root, 'prebuilds', 'linux-sparc'), { recursive: true });
    expect(() => addonPath(root)).toThrow(
      new RegExp(
        `^@corral/native: no build for linux-${process.arch} in ${root}; build one from source with [^\\n]*$`,
      ),
    );
  });

  it('wants corral-init beside the addon', () => {
    const root = join(dir.path, 'no-init');
    mkdirSync(join(root, 'prebuilds', `linux-${process.arch}`), { recursive: true });
    writeFileSync(join(root, 'prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node'), '');
    expect(() => initBinaryPath(addonPath(root))).toThrow(
      `@corral/native: corral-init is missing (looked for ${join(root, 'prebuilds', `linux-${process.arch}`, 'corral-init')}); reinstall @corral/native`,
    );
  });
});
