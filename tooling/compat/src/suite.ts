import { beforeAll, describe, it } from 'vitest';

import {
  type CompatCase,
  describeDifferences,
  differences,
  expectedObservations,
  withDeliberate,
} from './case.js';
import { removeLeftoverCgroups } from './cgroups.js';
import { PENDING } from './pending.js';
import { type Observation, type RuntimeName, Session } from './session.js';

/** With this set, pending cases run too, and one that now passes fails until it leaves the list. */
const RUN_PENDING = process.env.CORRAL_COMPAT_PENDING === '1';

async function observe(runtime: RuntimeName, compatCase: CompatCase): Promise<Observation[]> {
  const session = new Session(runtime);
  try {
    await compatCase.run(session);
    return session.observations;
  } finally {
    await session.dispose();
  }
}

/** Runs a case under runc, then under corral, and throws with every difference there is. */
export async function compareRuntimes(compatCase: CompatCase): Promise<void> {
  const runc = await observe('runc', compatCase);
  const corral = await observe('corral', compatCase);
  if (process.env.CORRAL_COMPAT_VERBOSE === '1') {
    const show = (list: Observation[]) =>
      list.map((o) => `  ${o.label} = ${JSON.stringify(o.value)}`).join('\n');
    console.info(`${compatCase.name}\nrunc:\n${show(runc)}\ncorral:\n${show(corral)}`);
  }
  const unheld = Object.fromEntries(
    Object.entries(compatCase.deliberate ?? {}).filter(([, { value }]) => value === undefined),
  );
  const found = differences(
    withDeliberate(expectedObservations(runc, compatCase.currentRunc), compatCase.deliberate),
    withDeliberate(corral, unheld),
  );
  const pending = PENDING[compatCase.name];
  if (pending && found.length === 0) {
    throw new Error(`${compatCase.name}: corral now answers as runc does; take it off the pending list`);
  }
  if (found.length > 0 && !pending) {
    throw new Error(
      `${compatCase.name}: corral differs from runc in ${found.length} observation(s):\n${describeDifferences(found)}`,
    );
  }
  if (found.length > 0) console.info(`still pending: ${compatCase.name}\n${describeDifferences(found)}`);
}

/** Registers one vitest test per case; pending ones are skipped with their reason in the title. */
export function compatSuite(title: string, cases: readonly CompatCase[]): void {
  describe(title, () => {
    beforeAll(removeLeftoverCgroups);
    for (const compatCase of cases) {
      const pending = PENDING[compatCase.name];
      const unsupported = compatCase.unsupported?.();
      const name = pending ? `${compatCase.name} (pending: ${pending})` : compatCase.name;
      if (unsupported) it.skip(`${compatCase.name} (${unsupported})`, () => {});
      else if (pending && !RUN_PENDING) it.skip(name, () => {});
      else it(name, () => compareRuntimes(compatCase));
    }
  });
}
