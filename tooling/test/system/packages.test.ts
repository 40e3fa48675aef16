import { execFile, execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageReadmeExamples } from '../../readme-examples.js';
import { repoRoot, tempDir } from '../../test-env.js';

/**
 * The packages as npm users get them: packed, checked as npm's tools check them, installed with
 * a plain `npm install` into an empty project outside the workspace with no compiler on PATH,
 * then every README's marked example run verbatim, and the packages type-checked from
 * TypeScript under both module resolutions.
 */
const packagesDir = join(repoRoot, 'packages');
const packages = readdirSync(packagesDir)
  .filter((name) => existsSync(join(packagesDir, name, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);
const examples = packageReadmeExamples(packagesDir);

const work = tempDir('packages');
const tarballs = join(work.path, 'tarballs');
const app = join(work.path, 'app');
const tarballOf = new Map<string, string>();
const node = process.execPath;
const nodeBin = dirname(node);
/** A PATH with node and sh and nothing else: no cc, make or python for a build to find. */
const bareBin = join(work.path, 'bare-bin');
const run = (command: string, args: string[], options: Parameters<typeof spawnSync>[2] = {}) =>
  spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20, ...options });

function npmCli(): string {
  const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  return realpathSync(npm);
}

beforeAll(() => {
  mkdirSync(tarballs);
  mkdirSync(app);
  mkdirSync(bareBin);
  symlinkSync(node, join(bareBin, 'node'));
  symlinkSync('/bin/sh', join(bareBin, 'sh'));
  for (const { dir, manifest } of packages) {
    // pnpm pack runs the package's prepack (native: rebuild any stale prebuild) and applies
    // publishConfig, as pnpm publish does.
    const packed = run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(packagesDir, dir) });
    if (packed.status !== 0) throw new Error(`pnpm pack ${dir} failed:\n${packed.stderr}${packed.stdout}`);
    tarballOf.set(
      manifest.name,
      join(tarballs, `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`),
    );
  }
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'app', private: true, type: 'module' })}\n`,
  );
  const installed = run(
    node,
    [
      npmCli(),
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...tarballOf.values(),
      '@types/node@24',
    ],
    { cwd: app, env: { ...process.env, PATH: bareBin } },
  );
  if (installed.status !== 0) throw new Error(`npm install failed:\n${installed.stderr}${installed.stdout}`);
}, 900_000);

afterAll(() => work.remove());

describe.each(packages.map(({ manifest }) => [manifest.name as string]))('the %s tarball', (name) => {
  const entries = () =>
    execFileSync('tar', ['-tzf', tarballOf.get(name)!], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((entry) => entry.replace(/^package\//, ''));

  it('holds its licence and README, and nothing of tests or TypeScript sources', () => {
    const files = entries();
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']));
    expect(readFileSync(join(repoRoot, 'LICENSE'), 'utf8')).toContain('Apache License');
    expect(
      files.filter((file) => /(^|\/)(test|tests|__tests__)\/|\.test\.|(?<!\.d)\.ts$/.test(file)),
    ).toEqual([]);
  });

  it('passes publint in strict mode', async () => {
    const tarball = readFileSync(tarballOf.get(name)!);
    const { messages, pkg } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.length) },
      strict: true,
      level: 'suggestion',
    });
    expect(messages.map((message) => formatMessage(message, pkg))).toEqual([]);
  });

  it('has the types every resolution finds (are-the-types-wrong, ESM-only)', () => {
    const attw = run(join(repoRoot, 'node_modules/.bin/attw'), [
      tarballOf.get(name)!,
      '--profile',
      'esm-only',
      '--format',
      'ascii',
    ]);
    expect(attw.stderr).toBe('');
    expect(attw.status, attw.stdout).toBe(0);
  });
});

describe('npm install of the tarballs, outside the workspace and without a compiler', () => {
  it('had no compiler, make or python on its PATH', () => {
    for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3']) {
      expect(run('sh', ['-c', `command -v ${tool}`], { env: { PATH: bareBin } }).status).not.toBe(0);
    }
  });

  it('installed real copies, not links into the workspace, and built nothing', () => {
    for (const name of tarballOf.keys()) {
      const installed = join(app, 'node_modules', name);
      expect(lstatSync(installed).isSymbolicLink()).toBe(false);
      expect(realpathSync(installed).startsWith(`${app}/`)).toBe(true);
    }
    // The prebuilt addon and corral-init serve: no source build happened.
    expect(existsSync(join(app, 'node_modules/@corral/native/build'))).toBe(false);
    expect(readdirSync(join(app, 'node_modules/@corral/native/prebuilds')).sort()).toEqual([
      'linux-arm64',
      'linux-x64',
    ]);
  });

  it('gives a working corral command with its manual and completions', () => {
    const corral = join(app, 'node_modules/.bin/corral');
    expect(run(corral, ['--version']).stdout).toMatch(/^corral version \d+\.\d+\.\d+\ncommit: /);
    expect(run(corral, ['help', 'run']).stdout).toMatch(/^NAME:\n {3}corral run - /);
    const man = run('man', ['-l', join(app, 'node_modules/@corral/cli/man/corral-run.8')], {
      env: { ...process.env, MANWIDTH: '80' },
    });
    expect(man.stdout).toMatch(/^NAME\n {7}corral-run - /m);
    expect(readdirSync(join(app, 'node_modules/@corral/cli/completions')).sort()).toEqual([
      '_corral',
      'corral.bash',
      'corral.fish',
    ]);
  });
});

describe('the README examples, run verbatim from the installed packages', () => {
  it('exist for every package but core, whose README is being written', () => {
    const documented = new Set(examples.map((example) => example.packageName));
    for (const { dir } of packages) if (dir !== 'core') expect(documented).toContain(dir);
  });

  it.each(
    examples.map((example) => [`${example.packageName}: ${example.file}`, example] as const),
  )('%s', (_, example) => {
    const dir = join(app, 'examples', example.packageName);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, example.file);
    writeFileSync(file, example.code);
    const [command, args] = example.file.endsWith('.sh') ? ['sh', ['-e', file]] : [node, [file]];
    const result = run(command, args, {
      cwd: dir,
      timeout: 180_000,
      env: {
        ...process.env,
        PATH: `${join(app, 'node_modules/.bin')}:${nodeBin}:${process.env.PATH}`,
        CORRAL_CRIU: join(repoRoot, 'tooling/criu/criu'),
      },
    });
    expect(result.status, `${example.origin}\n${result.stdout}\n${result.stderr}`).toBe(0);
  });
});

describe('TypeScript importing every package', () => {
  const names = () => [...tarballOf.keys()];
  const check = () => `${names()
    .map((name, i) => `import * as package${i} from '${name}';`)
    .join('\n')}
import { detectCgroupMode } from '@corral/cgroups';
import { main } from '@corral/cli';
import { seqpacketPair } from '@corral/native';

export const modules = [${names()
    .map((_, i) => `package${i}`)
    .join(', ')}];
export const mode: 'legacy' | 'hybrid' | 'unified' = detectCgroupMode();
export const status: Promise<number> = main(['--version']);
export const pair: [number, number] = seqpacketPair();
// Real types, not any: a wrong call is an error.
// @ts-expect-error detectCgroupMode takes no arguments
detectCgroupMode(1);
`;

  it('type-checks under moduleResolution node16 and bundler, the README examples in TypeScript too', async () => {
    writeFileSync(join(app, 'check.ts'), check());
    const tsExamples = examples.filter((example) => example.file.endsWith('.ts'));
    for (const example of tsExamples) {
      mkdirSync(join(app, 'examples', example.packageName), { recursive: true });
      writeFileSync(join(app, 'examples', example.packageName, example.file), example.code);
    }
    const resolutions = {
      node16: { module: 'node16', moduleResolution: 'node16' },
      bundler: { module: 'esnext', moduleResolution: 'bundler' },
    };
    // The two programs are independent: check them side by side.
    const results = await Promise.all(
      Object.entries(resolutions).map(([resolution, options]) => {
        const config = join(app, `tsconfig.${resolution}.json`);
        writeFileSync(
          config,
          JSON.stringify({
            compilerOptions: { ...options, target: 'es2022', strict: true, noEmit: true, types: ['node'] },
            files: [
              'check.ts',
              ...tsExamples.map((example) => `examples/${example.packageName}/${example.file}`),
            ],
          }),
        );
        return new Promise<string>((resolve) =>
          execFile(
            node,
            [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', config],
            { cwd: app, timeout: 300_000 },
            (error, stdout, stderr) =>
              resolve(`${error ? `${resolution}: ${error.message}\n` : ''}${stdout}${stderr}`),
          ),
        );
      }),
    );
    expect(results).toEqual(['', '']);
  });
});
