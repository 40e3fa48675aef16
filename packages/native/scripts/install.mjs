// npm runs this once the package is in place, where install scripts are allowed (npm and pnpm
// ask before running a dependency's: the prebuilds work without it). A prebuilt addon that loads on this machine, with
// corral-init beside it, is used as it is: no compiler is needed. Where none fits (another
// architecture, musl, a glibc older than the prebuild's) or with `--build-from-source`, the
// addon is built from source with node-gyp.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch } from 'node:os';
import { dirname, join } from 'node:path';

import { buildFromSource, INIT_FILE, packageDir } from './native-build.mjs';

const require = createRequire(import.meta.url);

/** Why the binary node-gyp-build would load cannot be used here, or undefined when it can. */
function unusableBinary() {
  try {
    const addon = require('node-gyp-build').resolve(packageDir);
    require(addon);
    if (!existsSync(join(dirname(addon), INIT_FILE))) return `${INIT_FILE} is missing beside ${addon}`;
    return undefined;
  } catch (error) {
    return error.message.split('\n')[0];
  }
}

const fromSource = process.env.npm_config_build_from_source === 'true';
const problem = fromSource ? 'a build from source was asked for' : unusableBinary();
if (problem !== undefined) {
  console.error(`@corral/native: building from source for linux-${arch()}: ${problem}`);
  const status = buildFromSource();
  if (status !== 0) {
    console.error(
      '@corral/native: the build from source failed; it needs a C and C++ compiler, make, python3 ' +
        "and libseccomp's headers (Debian and Ubuntu: build-essential python3 libseccomp-dev)",
    );
    process.exit(status);
  }
}
