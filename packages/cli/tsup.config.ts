import { packageConfig } from '@corral/tooling/tsup';

// The command starts once per invocation, so core and the libraries it uses are bundled into
// it: fewer files to resolve and load. @corral/native stays external: it finds its compiled
// addon and corral-init relative to its own package.
export default packageConfig(
  { index: 'src/index.ts', corral: 'src/corral.ts' },
  { noExternal: ['@corral/core', '@corral/cgroups', '@corral/network', '@corral/criu'] },
);
