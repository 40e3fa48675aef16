import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';

import { packageConfig } from '@corral/tooling/tsup';
import { writeDocs } from './src/docs/write.js';
import { COMMANDS } from './src/flags.js';

/** The commit `corral --version` names, as runc's does (`git describe --dirty --long --always`). */
function gitCommit(): string {
  try {
    return execFileSync('git', ['describe', '--dirty', '--long', '--always'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/**
 * The command line runs each entry file as a script (src/code-cache.ts), where import() fails;
 * esbuild turns ours into requires, so one left names a module from outside the bundle.
 */
function refuseDynamicImports(dir: URL): void {
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.cjs'))) {
    const found = /\bimport\((["'][^"']*["'])\)/.exec(readFileSync(new URL(name, dir), 'utf8'));
    if (found)
      throw new Error(
        `dist/entries/${name} imports ${found[1]} with import(): use require or process.getBuiltinModule`,
      );
  }
}

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const define = {
  __CORRAL_COMMIT__: JSON.stringify(gitCommit()),
  __CORRAL_VERSION__: JSON.stringify(version),
};
// The two builds below run side by side: dist is emptied once, here, rather than by either.
rmSync(new URL('./dist', import.meta.url), { recursive: true, force: true });

const ours = ['@corral/core', '@corral/cgroups', '@corral/network', '@corral/criu', '@corral/native'];

export default [
  // The library (`main` for tools that embed the command line), ESM with declarations.
  packageConfig(
    { index: 'src/index.ts' },
    { noExternal: ours.filter((name) => name !== '@corral/native'), define, clean: false },
  ),
  // The executable starts once per invocation, so it is built for start-up: CommonJS (no ESM
  // loader), one file per command with every library it uses bundled in and tree-shaken to what
  // that command runs (`state` holds no cgroup, network, seccomp or CRIU code), and a small
  // entry that picks the file. @corral/native's JavaScript is bundled too; it finds its addon
  // and corral-init in its own package by name. The manual pages and completions are written
  // from the same flag definitions once the build succeeds.
  packageConfig(
    {
      corral: 'src/corral.ts',
      ...Object.fromEntries(
        [...Object.keys(COMMANDS), 'help'].map((name) => [`entries/${name}`, `src/entries/${name}.ts`]),
      ),
    },
    {
      format: ['cjs'],
      dts: false,
      splitting: false,
      // esbuild's own tree shaking, not rollup's (tsup's `treeshake`): rollup hoists every
      // require to the top of the file, so a module that is only loaded when used (the D-Bus
      // client, CRIU's protobuf) would still load net or protobufjs on every command.
      treeshake: false,
      clean: false,
      shims: true,
      noExternal: ours,
      // From the libraries' sources, module by module, so that what a command does not use is
      // left out (their dist files are bundles already, harder to cut down).
      esbuildOptions: (options) => {
        options.conditions = ['corral-source'];
      },
      define,
      outExtension: () => ({ js: '.cjs' }),
      onSuccess: async () => {
        refuseDynamicImports(new URL('./dist/entries/', import.meta.url));
        writeDocs(new URL('.', import.meta.url).pathname, version);
      },
    },
  ),
];
