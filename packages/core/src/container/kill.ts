import type { ContainerDir } from '../state/state-dir.js';
import { openInit, underLock } from './operation.js';

/** `kill`: a signal to the container's init, by pidfd. */
export async function killContainer(dir: ContainerDir, signal: number): Promise<void> {
  await underLock(dir, 'kill', async ({ state }) => {
    const init = openInit(state, 'kill');
    try {
      init.signal(signal);
    } finally {
      init.close();
    }
  });
}
