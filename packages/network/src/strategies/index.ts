import { NetworkConfigError } from '../errors.js';
import { type BridgeConfig, BridgeStrategy } from './bridge.js';
import { type LoopbackConfig, LoopbackStrategy } from './loopback.js';
import type { NetworkStrategy } from './strategy.js';
import { type VethConfig, VethStrategy } from './veth.js';

export type NetworkConfig = LoopbackConfig | VethConfig | BridgeConfig;

const strategies = {
  loopback: new LoopbackStrategy(),
  veth: new VethStrategy(),
  bridge: new BridgeStrategy(),
};

/** The strategy for a config's `type`; an unknown type is a NetworkConfigError. */
export function strategyFor<C extends NetworkConfig>(config: C): NetworkStrategy<C> {
  const type = (config as { type?: unknown } | undefined)?.type;
  if (typeof type !== 'string' || !Object.hasOwn(strategies, type)) {
    throw new NetworkConfigError('type', type, `expected one of ${Object.keys(strategies).join(', ')}`);
  }
  return strategies[type as keyof typeof strategies] as unknown as NetworkStrategy<C>;
}
