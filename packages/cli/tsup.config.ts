import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { packageConfig } from '@corral/tooling/tsup';

import { writeDocs } from './src/docs/write.js';

/** The commit `corral --version` names, as runc's does (`git describe --dirty --long --always`). */
function gitCommit(): string {
  try {
    return execFileSync('git', ['describe', '--dirty', '--long', '--always'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

// The command starts once per invocation, so core and the libraries it uses are bundled into
// it: fewer files to resolve and load. @corral/native stays external: it finds its compiled
// addon and corral-init relative to its own package. The manual pages and completions are
// written from the same flag definitions once the build succeeds.
export default packageConfig(
  { index: 'src/index.ts', corral: 'src/corral.ts' },
  {
    noExternal: ['@corral/core', '@corral/cgroups', '@corral/network', '@corral/criu'],
    define: { __CORRAL_COMMIT__: JSON.stringify(gitCommit()) },
    onSuccess: async () => writeDocs(new URL('.', import.meta.url).pathname, version),
  },
);
