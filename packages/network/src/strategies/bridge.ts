import { formatIp } from '../address-text.js';
import { isNetlinkError, NetworkConfigError } from '../errors.js';
import type { Rtnetlink } from '../rtnetlink.js';
import { checkCidr, checkInterfaceName, checkMtu } from '../validate.js';
import {
  type InterfaceStatistics,
  interfaceStatistics,
  type NetworkState,
  type NetworkStrategy,
  type NetworkTarget,
  withRollback,
  withRtnetlink,
} from './strategy.js';

/** A bridge in the host namespace that veth host ends can join. */
export interface BridgeConfig {
  type: 'bridge';
  name: string;
  mtu?: number;
  /** Addresses of the bridge itself (the containers' gateway), e.g. 10.0.0.1/24. */
  addresses?: string[];
  /** Use a bridge of that name if one exists (default true); false refuses it. */
  reuse?: boolean;
}

/**
 * Creates a bridge, or reuses one of the same name. `destroy` removes it only when `create` made
 * it and no interface is left in it. It lives in the host namespace: the target's `netns` is not
 * touched. `attach` brings it up; `detach` leaves it alone (its ports are detached one by one).
 */
export class BridgeStrategy implements NetworkStrategy<BridgeConfig> {
  readonly type = 'bridge';

  validate(config: BridgeConfig): void {
    if (config?.type !== 'bridge') throw new NetworkConfigError('type', config?.type, 'expected "bridge"');
    checkInterfaceName('name', config.name);
    if (config.mtu !== undefined) checkMtu('mtu', config.mtu);
    if (config.addresses !== undefined && !Array.isArray(config.addresses)) {
      throw new NetworkConfigError('addresses', config.addresses, 'expected an array of CIDRs');
    }
    for (const [i, text] of (config.addresses ?? []).entries()) checkCidr(`addresses[${i}]`, text);
    if (config.reuse !== undefined && typeof config.reuse !== 'boolean') {
      throw new NetworkConfigError('reuse', config.reuse, 'expected true or false');
    }
  }

  async create(config: BridgeConfig, target: NetworkTarget): Promise<NetworkState> {
    this.validate(config);
    return withRtnetlink(target.hostNetns, async (host) => {
      const existing = await host.getLink(config.name);
      if (existing && existing.kind !== 'bridge') {
        throw new NetworkConfigError(
          'name',
          config.name,
          `is in use by a ${existing.kind ?? 'plain'} link, not a bridge`,
        );
      }
      if (existing && config.reuse === false) {
        throw new NetworkConfigError('name', config.name, 'a bridge of that name exists and reuse is false');
      }
      return withRollback(`bridge ${config.name}`, async (onFailure) => {
        if (!existing) {
          await host.createBridge(config.name, config.mtu !== undefined ? { mtu: config.mtu } : {});
          onFailure(() => host.deleteLink(config.name));
        } else if (config.mtu !== undefined && existing.mtu !== config.mtu) {
          await host.setLink(config.name, { mtu: config.mtu });
        }
        const present = new Set((await host.listAddresses({ link: config.name })).map((a) => a.cidr));
        for (const text of config.addresses ?? []) {
          const cidr = checkCidr('addresses', text);
          if (present.has(canonicalCidr(text))) continue;
          await host.addAddress(config.name, text, { noDad: cidr.family === 10 });
          if (existing) onFailure(() => host.deleteAddress(config.name, text));
        }
        await host.setLink(config.name, { up: true });
        return { type: 'bridge', created: !existing };
      });
    });
  }

  async attach(config: BridgeConfig, target: NetworkTarget): Promise<void> {
    this.validate(config);
    await withRtnetlink(target.hostNetns, (host) => host.setLink(config.name, { up: true }));
  }

  async detach(config: BridgeConfig): Promise<void> {
    this.validate(config);
  }

  async destroy(config: BridgeConfig, target: NetworkTarget, state?: NetworkState): Promise<void> {
    this.validate(config);
    if (!state?.created) return;
    await withRtnetlink(target.hostNetns, async (host) => {
      const bridge = await host.getLink(config.name);
      if (!bridge || bridge.kind !== 'bridge') return;
      if (await hasPorts(host, bridge.index)) return;
      try {
        await host.deleteLink(bridge.index);
      } catch (error) {
        if (!isNetlinkError(error, 'ENODEV')) throw error;
      }
    });
  }

  async statistics(config: BridgeConfig, target: NetworkTarget): Promise<InterfaceStatistics | undefined> {
    this.validate(config);
    const link = await withRtnetlink(target.hostNetns, (host) => host.requireLink(config.name, 'name'));
    return link.statistics && interfaceStatistics(config.name, link.statistics, false);
  }
}

async function hasPorts(host: Rtnetlink, index: number): Promise<boolean> {
  return (await host.listLinks()).some((link) => link.master === index);
}

function canonicalCidr(text: string): string {
  const cidr = checkCidr('addresses', text);
  return `${formatIp(cidr.bytes)}/${cidr.prefixLength}`;
}
