// What every build of the addon and corral-init shares: node-gyp against the headers of the Node
// that runs the script, the prebuild layout node-gyp-build reads, and the digest of the sources a
// prebuild came from.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** prebuildify's name for a Node-API build against glibc: any Node with Node-API 9 loads it. */
export const ADDON_FILE = 'node.napi.glibc.node';
export const INIT_FILE = 'corral-init';

/** The prebuilds the package ships, and the GNU triplet of each one's cross toolchain. */
export const PREBUILD_TARGETS = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
};

export function prebuildDir(arch) {
  return join(packageDir, 'prebuilds', `linux-${arch}`);
}

/** The files a build reads: a prebuild whose digest differs from these is stale. */
export function sourcesDigest() {
  const hash = createHash('sha256');
  const files = ['binding.gyp', 'src/protocol/protocol.h'];
  for (const dir of ['src/addon', 'src/init']) {
    for (const name of readdirSync(join(packageDir, dir)).sort()) files.push(`${dir}/${name}`);
  }
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(packageDir, file)));
  }
  return hash.digest('hex');
}

/**
 * libseccomp's static archive where the compiler finds one, so the addon needs nothing but
 * glibc at run time; the shared library otherwise (distributions without libseccomp.a).
 */
export function seccompLibrary(cc) {
  const result = spawnSync(cc, ['-print-file-name=libseccomp.a'], { encoding: 'utf8' });
  const path = result.status === 0 ? result.stdout.trim() : '';
  return path.startsWith('/') && existsSync(path) ? '-l:libseccomp.a' : '-lseccomp';
}

/**
 * Runs `node-gyp rebuild` in `dir` (a directory holding binding.gyp) with gyp variables
 * (`-Dname=value`), and returns its exit status.
 */
export function nodeGypRebuild(dir, args, gypVariables, env = process.env) {
  const require = createRequire(join(packageDir, 'package.json'));
  const nodeGypBin = join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
  const nodeDir = dirname(dirname(process.execPath));
  const all = [nodeGypBin, 'rebuild', ...args, '--jobs=max'];
  // A Node from the npm registry or nodejs.org carries its headers: no download needed.
  if (existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) all.push(`--nodedir=${nodeDir}`);
  all.push('--', ...gypVariables);
  const result = spawnSync(process.execPath, all, { cwd: dir, stdio: 'inherit', env });
  return result.status ?? 1;
}

/** Builds for this machine into build/Release, where node-gyp-build looks first. */
export function buildFromSource() {
  const cc = process.env.CC ?? 'cc';
  return nodeGypRebuild(packageDir, [], [`-Dseccomp_library=${seccompLibrary(cc)}`]);
}
