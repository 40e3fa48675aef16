// Builds the addon and corral-init from source for this machine with node-gyp, into
// build/Release (which node-gyp-build prefers over any prebuild). With --prebuild the result is
// also stored in prebuilds/linux-ARCH, the layout the package ships.
import { arch } from 'node:os';
import { join } from 'node:path';

import { buildFromSource, packageDir } from './native-build.mjs';
import { storePrebuild } from './prebuild.mjs';

const status = buildFromSource();
if (status === 0 && process.argv.includes('--prebuild'))
  storePrebuild(arch(), join(packageDir, 'build', 'Release'));
process.exit(status);
