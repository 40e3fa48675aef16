import { NetworkConfigError } from '../errors.js';
import type { NetworkState, NetworkStrategy, NetworkTarget } from './strategy.js';
import { withRtnetlink } from './strategy.js';

export interface LoopbackConfig {
  type: 'loopback';
}

/** Brings `lo` up in the container's namespace; nothing to attach, detach or remove. */
export class LoopbackStrategy implements NetworkStrategy<LoopbackConfig> {
  readonly type = 'loopback';

  validate(config: LoopbackConfig): void {
    if (config?.type !== 'loopback')
      throw new NetworkConfigError('type', config?.type, 'expected "loopback"');
  }

  async create(config: LoopbackConfig, target: NetworkTarget): Promise<NetworkState> {
    this.validate(config);
    await withRtnetlink(target.netns, (rt) => rt.setLink('lo', { up: true }));
    return { type: 'loopback', created: false };
  }

  async attach(): Promise<void> {}
  async detach(): Promise<void> {}
  async destroy(): Promise<void> {}

  async statistics(): Promise<undefined> {
    return undefined;
  }
}
