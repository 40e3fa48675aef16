import { expect, it } from 'vitest';

import { renderOpsHeader } from '../../src/protocol/ops-header.js';

// corral-init's op table is generated from OPS; a stale header fails here (CI runs this), and
// `vitest run -u` on this file writes the fresh one.
it('src/init/ops.h is the one OPS renders', async () => {
  await expect(renderOpsHeader()).toMatchFileSnapshot('../../src/init/ops.h');
});
