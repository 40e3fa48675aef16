import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { tempDir } from '@corral/tooling/test-env';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

// node-gyp-build looks in $<PACKAGE NAME>_PREBUILD instead of the package when it is set.
const OVERRIDE = '@CORRAL/NATIVE_PREBUILD';
let dir: ReturnType<typeof tempDir>;

/** binding.ts as a fresh module, resolving the addon from `root`. */
async function freshBinding(root: string) {
  vi.resetModules();
  process.env[OVERRIDE] = root;
  return {
    binding: await import('../../src/binding.js'),
    initBinary: await import('../../src/init-binary.js'),
  };
}

beforeAll(() => {
  dir = tempDir('binding');
});
afterEach(() => {
  delete process.env[OVERRIDE];
});
afterAll(() => dir.remove());

describe('an addon that cannot be used', () => {
  it('names the library it is missing, in one line', async () => {
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
      join(release, 'addon.node'),
      join(root, 'addon.c'),
      `-L${root}`,
      '-lcorral-gone',
    ]);
    rmSync(join(root, 'libcorral-gone.so'));
    const { binding } = await freshBinding(root);
    expect(() => binding.binding()).toThrow(
      new RegExp(
        `^@corral/native: cannot load ${release}/addon.node: libcorral-gone.so: cannot open shared object file: No such file or directory; build one from source with [^\\n]*$`,
      ),
    );
  });

  it('says when no binary fits this machine, in one line', async () => {
    const root = join(dir.path, 'no-prebuild');
    mkdirSync(join(root, 'prebuilds', 'linux-sparc'), { recursive: true });
    const { binding } = await freshBinding(root);
    expect(() => binding.addonPath()).toThrow(
      new RegExp(
        `^@corral/native: No native build was found for platform=linux arch=${process.arch} [^\\n]*; build one from source with [^\\n]*$`,
      ),
    );
  });

  it('wants corral-init beside the addon', async () => {
    const root = join(dir.path, 'no-init');
    mkdirSync(join(root, 'prebuilds', `linux-${process.arch}`), { recursive: true });
    writeFileSync(join(root, 'prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node'), '');
    const { initBinary } = await freshBinding(root);
    expect(() => initBinary.initBinaryPath()).toThrow(
      `@corral/native: corral-init is missing (looked for ${join(root, 'prebuilds', `linux-${process.arch}`, 'corral-init')}); reinstall @corral/native`,
    );
  });
});
