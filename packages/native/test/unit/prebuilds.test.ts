import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADDON_FILE, INIT_FILE, PREBUILD_TARGETS, prebuildDir } from '../../scripts/native-build.mjs';
import { loadGoldenVectors } from '../golden/vectors.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const FILE_ARCH = { x64: 'x86-64', arm64: 'ARM aarch64' } as const;
const LOADER = { x64: 'ld-linux-x86-64.so.2', arm64: 'ld-linux-aarch64.so.1' } as const;
const options = { encoding: 'utf8', timeout: 60_000 } as const;

describe.each(Object.keys(PREBUILD_TARGETS) as Array<keyof typeof FILE_ARCH>)('prebuild linux-%s', (arch) => {
  const dir = prebuildDir(arch);

  it('is a Node-API addon that needs nothing but glibc', () => {
    const addon = join(dir, ADDON_FILE);
    expect(execFileSync('file', ['-b', addon], options)).toMatch(
      new RegExp(`^ELF 64-bit LSB shared object, ${FILE_ARCH[arch]}`),
    );
    const needed = [...execFileSync('readelf', ['-d', addon], options).matchAll(/\(NEEDED\).*\[(.*)\]/g)];
    expect(needed.map((match) => match[1]).sort()).toEqual([LOADER[arch], 'libc.so.6']);
    // libseccomp is linked in and kept private: nothing of it is exported to other addons.
    const symbols = execFileSync('readelf', ['--dyn-syms', '-W', addon], options);
    expect(symbols).toMatch(/ UND .*\bnapi_create_function\b/);
    expect(symbols).not.toMatch(/ (?!UND)\S+ seccomp_init\b/);
  });

  it('has a static corral-init beside it', () => {
    expect(execFileSync('file', ['-b', join(dir, INIT_FILE)], options)).toMatch(
      new RegExp(`^ELF 64-bit LSB pie executable, ${FILE_ARCH[arch]}.*static-pie linked`),
    );
  });
});

describe('the linux-x64 prebuild', () => {
  it('loads in this Node and reaches libseccomp', () => {
    const module = { exports: {} as { seccompVersion(): string } };
    process.dlopen(module, join(prebuildDir('x64'), ADDON_FILE));
    expect(module.exports.seccompVersion()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

/**
 * corral-init's plan decoder built for arm64 as the prebuild is (the same cross compiler) and run
 * under qemu-user: every golden vector must decode to what the same decoder prints on x86-64,
 * and mutated plans must never crash it.
 */
describe('corral-init decoder on arm64 under qemu-user', () => {
  let scratch: string;
  const checker = (arch: string) => join(scratch, `plan-check-${arch}`);
  const build = (compiler: string, output: string) =>
    execFileSync(compiler, [
      '-std=gnu11',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-O2',
      '-static',
      '-I',
      join(packageDir, 'src/protocol'),
      '-I',
      join(packageDir, 'src/init'),
      join(packageDir, 'test/c/plan-check.c'),
      join(packageDir, 'src/init/decode.c'),
      join(packageDir, 'src/init/channel.c'),
      '-o',
      output,
    ]);
  const arm64 = (args: string[], input: Buffer) =>
    spawnSync('qemu-aarch64', [checker('arm64'), ...args], { input, ...options });

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'corral-plan-check-arm64-'));
    build(`${PREBUILD_TARGETS.arm64}-gcc`, checker('arm64'));
    build('cc', checker('x64'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is an arm64 binary', () => {
    expect(execFileSync('file', ['-b', checker('arm64')], options)).toMatch(/ARM aarch64/);
  });

  it.each(loadGoldenVectors().map((v) => [v.name, v] as const))('decodes %s as on x86-64', (_, vector) => {
    const result = arm64(['dump'], vector.bytes);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(execFileSync(checker('x64'), ['dump'], { input: vector.bytes, ...options }));
  });

  it('survives mutated plans', () => {
    const result = arm64(['fuzz', '5000'], loadGoldenVectors()[1]!.bytes);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      execFileSync(checker('x64'), ['fuzz', '5000'], { input: loadGoldenVectors()[1]!.bytes, ...options }),
    );
  });
});
