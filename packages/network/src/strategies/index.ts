import { NetworkConfigError, NetworkSetupError } from '../errors.js';
import { type BridgeConfig, BridgeStrategy } from './bridge.js';
import { type LoopbackConfig, LoopbackStrategy } from './loopback.js';
import type { InterfaceStatistics, NetworkState, NetworkStrategy, NetworkTarget } from './strategy.js';
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

/**
 * Checks a container's whole list of networks, as libcontainer's config.Networks: each config,
 * and that no two veths share a name on either side. Field names are `networks[i].field`.
 */
export function validateNetworks(configs: NetworkConfig[]): void {
  const seen = new Map<string, number>();
  for (const [i, config] of configs.entries()) {
    try {
      strategyFor(config).validate(config);
    } catch (error) {
      if (error instanceof NetworkConfigError) {
        throw new NetworkConfigError(`networks[${i}].${error.field}`, error.value, error.problem);
      }
      throw error;
    }
    if (config.type !== 'veth') continue;
    for (const [field, key] of [
      ['name', `container:${config.name}`],
      ['hostInterfaceName', `host:${config.hostInterfaceName}`],
    ] as const) {
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        throw new NetworkConfigError(
          `networks[${i}].${field}`,
          config[field],
          `also used by networks[${earlier}]`,
        );
      }
      seen.set(key, i);
    }
  }
}

/**
 * Creates every network in order. All configs are checked first; when one fails to be created,
 * those made before it are destroyed (newest first) and a NetworkSetupError is thrown.
 */
export async function createNetworks(
  configs: NetworkConfig[],
  target: NetworkTarget,
): Promise<NetworkState[]> {
  validateNetworks(configs);
  const states: NetworkState[] = [];
  for (const [i, config] of configs.entries()) {
    try {
      states.push(await strategyFor(config).create(config, target));
    } catch (error) {
      // The failing strategy has undone its own part; what came before it is undone here.
      if (i === 0) throw error;
      const cleanupErrors = await destroyEach(configs.slice(0, i), target, states);
      throw new NetworkSetupError(`networks[${i}] (${config.type})`, error, cleanupErrors);
    }
  }
  return states;
}

/** Destroys every network (newest first), going on past failures and then reporting them. */
export async function destroyNetworks(
  configs: NetworkConfig[],
  target: NetworkTarget,
  states: NetworkState[] = [],
): Promise<void> {
  const errors = await destroyEach(configs, target, states);
  if (errors.length > 0) throw new NetworkSetupError('destroying networks', errors[0], errors.slice(1));
}

/** Statistics of every network that has some, as libcontainer's Stats.Interfaces. */
export async function networkStatistics(
  configs: NetworkConfig[],
  target: NetworkTarget,
): Promise<InterfaceStatistics[]> {
  const statistics: InterfaceStatistics[] = [];
  for (const config of configs) {
    if (config.type !== 'veth') continue;
    const counters = await strategyFor(config).statistics(config, target);
    if (counters) statistics.push(counters);
  }
  return statistics;
}

async function destroyEach(configs: NetworkConfig[], target: NetworkTarget, states: NetworkState[]) {
  const errors: unknown[] = [];
  for (let i = configs.length - 1; i >= 0; i--) {
    const config = configs[i] as NetworkConfig;
    try {
      await strategyFor(config).destroy(config, target, states[i]);
    } catch (error) {
      errors.push(error);
    }
  }
  return errors;
}
