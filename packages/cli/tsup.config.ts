import { packageConfig } from '@corral/tooling/tsup';

export default packageConfig({ index: 'src/index.ts', corral: 'src/corral.ts' });
