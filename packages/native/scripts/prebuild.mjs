// The binaries the package ships, one directory per architecture in prebuildify's layout
// (prebuilds/linux-ARCH/node.napi.glibc.node, found by node-gyp-build), with corral-init beside
// the addon and build.json recording the digest of the sources they came from.
//   node scripts/prebuild.mjs --arch arm64   build one target (cross-compiled when not this machine's)
//   node scripts/prebuild.mjs --stale        build every target that is missing or stale
//   node scripts/prebuild.mjs --check        fail unless every target is there and fresh
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch as hostArch, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import {
  ADDON_FILE,
  INIT_FILE,
  nodeGypRebuild,
  PREBUILD_TARGETS,
  packageDir,
  prebuildDir,
  seccompLibrary,
  sourcesDigest,
} from './native-build.mjs';

/** ELF e_machine of each target, checked so that a wrong compiler cannot slip a binary in. */
const ELF_MACHINE = { x64: 62, arm64: 183 };

function elfMachine(path) {
  const fd = openSync(path, 'r');
  const header = Buffer.alloc(20);
  readSync(fd, header, 0, 20, 0);
  return header.readUInt32BE(0) === 0x7f454c46 ? header.readUInt16LE(18) : -1;
}

/** Why the target's prebuild cannot ship as it is, or undefined when it can. */
export function prebuildProblem(arch, digest = sourcesDigest()) {
  const dir = prebuildDir(arch);
  for (const file of [ADDON_FILE, INIT_FILE, 'build.json']) {
    if (!existsSync(join(dir, file))) return `${join(dir, file)} is missing`;
  }
  const recorded = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8'));
  if (recorded.sources !== digest) return `${dir} was built from other sources`;
  return undefined;
}

/** Copies a node-gyp Release directory into the target's prebuild directory, stripped. */
export function storePrebuild(arch, releaseDir) {
  const dir = prebuildDir(arch);
  const addon = join(releaseDir, 'corral_native.node');
  const init = join(releaseDir, 'corral-init');
  for (const file of [addon, init]) {
    if (elfMachine(file) !== ELF_MACHINE[arch]) throw new Error(`${file} is not a linux-${arch} binary`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(addon, join(dir, ADDON_FILE));
  copyFileSync(init, join(dir, INIT_FILE));
  chmodSync(join(dir, INIT_FILE), 0o755);
  const strip = arch === hostArch() ? 'strip' : `${PREBUILD_TARGETS[arch]}-strip`;
  const stripped = spawnSync(strip, ['--strip-unneeded', join(dir, ADDON_FILE), join(dir, INIT_FILE)], {
    stdio: 'inherit',
  });
  if (stripped.status !== 0) throw new Error(`prebuild linux-${arch}: ${strip} failed`);
  const build = { sources: sourcesDigest(), napi: 9, libc: 'glibc', builtOn: `linux-${hostArch()}` };
  writeFileSync(join(dir, 'build.json'), `${JSON.stringify(build, null, 2)}\n`);
}

/**
 * Builds one target in a scratch directory, so a cross build never touches build/ (where the
 * workspace loads this machine's addon from). The scratch directory holds binding.gyp and links
 * to the sources and node_modules, so the paths in binding.gyp resolve as in the package.
 */
function buildTarget(arch) {
  const triplet = PREBUILD_TARGETS[arch];
  const cross = arch !== hostArch();
  const tools = cross
    ? { CC: `${triplet}-gcc`, CXX: `${triplet}-g++`, LINK: `${triplet}-g++`, AR: `${triplet}-ar` }
    : {};
  const cc = tools.CC ?? process.env.CC ?? 'cc';
  if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      `prebuild linux-${arch}: ${cc} is not installed (Debian: crossbuild-essential-${arch} and libseccomp-dev:${arch})`,
    );
  }
  const scratch = mkdtempSync(join(tmpdir(), `corral-prebuild-${arch}-`));
  try {
    copyFileSync(join(packageDir, 'binding.gyp'), join(scratch, 'binding.gyp'));
    symlinkSync(join(packageDir, 'src'), join(scratch, 'src'));
    symlinkSync(join(packageDir, 'node_modules'), join(scratch, 'node_modules'));
    const env = {
      ...process.env,
      ...tools,
      PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    };
    const status = nodeGypRebuild(
      scratch,
      [`--arch=${arch}`],
      [`-Dseccomp_library=${seccompLibrary(cc)}`],
      env,
    );
    if (status !== 0) throw new Error(`prebuild linux-${arch}: node-gyp exited with ${status}`);
    storePrebuild(arch, join(scratch, 'build', 'Release'));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main() {
  const { values } = parseArgs({
    options: { arch: { type: 'string' }, stale: { type: 'boolean' }, check: { type: 'boolean' } },
  });
  const archs = Object.keys(PREBUILD_TARGETS);
  if (values.arch !== undefined) {
    if (!archs.includes(values.arch)) throw new Error(`--arch must be one of ${archs.join(', ')}`);
    buildTarget(values.arch);
    return;
  }
  const digest = sourcesDigest();
  for (const arch of archs) {
    const problem = prebuildProblem(arch, digest);
    if (problem === undefined) continue;
    if (values.check)
      throw new Error(`prebuild linux-${arch}: ${problem}; run node scripts/prebuild.mjs --stale`);
    if (values.stale) buildTarget(arch);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
