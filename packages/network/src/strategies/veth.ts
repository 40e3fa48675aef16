import { type Cidr, cidrContains, type IpAddress } from '../address-text.js';
import { isNetlinkError, NetworkConfigError } from '../errors.js';
import type { Rtnetlink } from '../rtnetlink.js';
import { checkCidr, checkInterfaceName, checkIp, checkMac, checkMtu } from '../validate.js';
import {
  type InterfaceStatistics,
  interfaceStatistics,
  type NetworkState,
  type NetworkStrategy,
  type NetworkTarget,
  withRollback,
  withRtnetlink,
} from './strategy.js';

/** A veth pair: one end on the host (optionally in a bridge), the other in the container. */
export interface VethConfig {
  type: 'veth';
  /** The name inside the container, e.g. eth0. */
  name: string;
  /** The host end's name, e.g. veth1a2b3c. */
  hostInterfaceName: string;
  /** The container end's MAC address. */
  macAddress?: string;
  /** MTU of both ends. */
  mtu?: number;
  txQueueLength?: number;
  /** Addresses of the container end, IPv4 and IPv6, e.g. 10.0.0.2/24 and fd00::2/64. */
  addresses?: string[];
  /** IPv4 default gateway; must lie in one of the IPv4 addresses' networks. */
  gateway?: string;
  /** IPv6 default gateway; must lie in one of the IPv6 addresses' networks. */
  ipv6Gateway?: string;
  /** A bridge (on the host) that the host end joins. */
  bridge?: string;
}

interface CheckedVeth {
  addresses: Cidr[];
  gateway?: IpAddress;
  ipv6Gateway?: IpAddress;
}

const IPV4 = 2;
const IPV6 = 10;

/**
 * The veth strategy. The pair is made in one request with the peer created directly inside the
 * container's namespace under its final name, so there is never a temporary name on the host and
 * nothing to move afterwards; IPv6 addresses skip duplicate address detection (the link has
 * exactly two ends) so they work at once.
 */
export class VethStrategy implements NetworkStrategy<VethConfig> {
  readonly type = 'veth';

  validate(config: VethConfig): void {
    this.#check(config);
  }

  async create(config: VethConfig, target: NetworkTarget): Promise<NetworkState> {
    const checked = this.#check(config);
    return withRtnetlink(target.hostNetns, (host) =>
      withRtnetlink(target.netns, async (container) => {
        await this.#refuseNamesInUse(config, host, container);
        return withRollback(`veth ${config.hostInterfaceName}`, async (onFailure) => {
          await host.createVeth(config.hostInterfaceName, {
            ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
            peer: {
              name: config.name,
              netns: target.netns,
              ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
              ...(config.macAddress !== undefined ? { address: config.macAddress } : {}),
            },
          });
          // Deleting either end deletes the pair.
          onFailure(() => host.deleteLink(config.hostInterfaceName));
          if (config.txQueueLength !== undefined) {
            await host.setLink(config.hostInterfaceName, { txQueueLength: config.txQueueLength });
            await container.setLink(config.name, { txQueueLength: config.txQueueLength });
          }
          if (config.bridge !== undefined)
            await host.setLink(config.hostInterfaceName, { master: config.bridge });
          await host.setLink(config.hostInterfaceName, { up: true });
          for (const [i, text] of (config.addresses ?? []).entries()) {
            await container.addAddress(config.name, text, { noDad: checked.addresses[i]?.family === IPV6 });
          }
          await container.setLink(config.name, { up: true });
          for (const gateway of [config.gateway, config.ipv6Gateway]) {
            if (gateway === undefined) continue;
            await container.addRoute({ destination: 'default', gateway, device: config.name });
          }
          return { type: 'veth', created: true };
        });
      }),
    );
  }

  /** Restores traffic: the host end rejoins its bridge and comes up. */
  async attach(config: VethConfig, target: NetworkTarget): Promise<void> {
    this.#check(config);
    await withRtnetlink(target.hostNetns, async (host) => {
      if (config.bridge !== undefined)
        await host.setLink(config.hostInterfaceName, { master: config.bridge });
      await host.setLink(config.hostInterfaceName, { up: true });
    });
  }

  /** Cuts traffic: the host end leaves its bridge and goes down; addresses and routes stay. */
  async detach(config: VethConfig, target: NetworkTarget): Promise<void> {
    this.#check(config);
    await withRtnetlink(target.hostNetns, async (host) => {
      if (config.bridge !== undefined) await host.setLink(config.hostInterfaceName, { master: null });
      await host.setLink(config.hostInterfaceName, { up: false });
    });
  }

  /**
   * Removes the pair by its host end (the container end goes with it). A pair already gone, as
   * when the container's namespace died and the kernel removed it, is not an error.
   */
  async destroy(config: VethConfig, target: NetworkTarget): Promise<void> {
    this.#check(config);
    await withRtnetlink(target.hostNetns, (host) => deleteIfPresent(host, config.hostInterfaceName));
  }

  /**
   * The container's view of its traffic, read from the host end with receive and transmit
   * swapped (what the host end sends, the container receives), as libcontainer reports it.
   */
  async statistics(config: VethConfig, target: NetworkTarget): Promise<InterfaceStatistics | undefined> {
    this.#check(config);
    const link = await withRtnetlink(target.hostNetns, (host) =>
      host.requireLink(config.hostInterfaceName, 'hostInterfaceName'),
    );
    return link.statistics && interfaceStatistics(config.hostInterfaceName, link.statistics, true);
  }

  async #refuseNamesInUse(config: VethConfig, host: Rtnetlink, container: Rtnetlink): Promise<void> {
    if (await host.getLink(config.hostInterfaceName)) {
      throw new NetworkConfigError(
        'hostInterfaceName',
        config.hostInterfaceName,
        'an interface of that name exists on the host',
      );
    }
    if (await container.getLink(config.name)) {
      throw new NetworkConfigError(
        'name',
        config.name,
        "an interface of that name exists in the container's namespace",
      );
    }
    if (config.bridge !== undefined) {
      const bridge = await host.getLink(config.bridge);
      if (!bridge) throw new NetworkConfigError('bridge', config.bridge, 'no such bridge on the host');
      if (bridge.kind !== 'bridge')
        throw new NetworkConfigError(
          'bridge',
          config.bridge,
          `is a ${bridge.kind ?? 'plain'} link, not a bridge`,
        );
    }
  }

  #check(config: VethConfig): CheckedVeth {
    if (config?.type !== 'veth') throw new NetworkConfigError('type', config?.type, 'expected "veth"');
    checkInterfaceName('name', config.name);
    checkInterfaceName('hostInterfaceName', config.hostInterfaceName);
    if (config.bridge !== undefined) checkInterfaceName('bridge', config.bridge);
    if (config.macAddress !== undefined) checkMac('macAddress', config.macAddress);
    if (config.mtu !== undefined) checkMtu('mtu', config.mtu);
    if (
      config.txQueueLength !== undefined &&
      (!Number.isInteger(config.txQueueLength) ||
        config.txQueueLength < 0 ||
        config.txQueueLength > 0xffffffff)
    ) {
      throw new NetworkConfigError('txQueueLength', config.txQueueLength, 'expected a non-negative integer');
    }
    if (config.addresses !== undefined && !Array.isArray(config.addresses)) {
      throw new NetworkConfigError('addresses', config.addresses, 'expected an array of CIDRs');
    }
    const addresses = (config.addresses ?? []).map((text, i) => checkCidr(`addresses[${i}]`, text));
    const checked: CheckedVeth = { addresses };
    if (config.gateway !== undefined) {
      checked.gateway = checkGateway('gateway', config.gateway, IPV4, addresses);
    }
    if (config.ipv6Gateway !== undefined) {
      checked.ipv6Gateway = checkGateway('ipv6Gateway', config.ipv6Gateway, IPV6, addresses);
    }
    return checked;
  }
}

function checkGateway(field: string, text: string, family: number, addresses: Cidr[]): IpAddress {
  const gateway = checkIp(field, text);
  if (gateway.family !== family) {
    throw new NetworkConfigError(field, text, `expected an ${family === IPV4 ? 'IPv4' : 'IPv6'} address`);
  }
  // Every IPv6 interface has a link-local address, so an fe80::/10 gateway is always reachable.
  const linkLocal =
    family === IPV6 && gateway.bytes[0] === 0xfe && ((gateway.bytes[1] as number) & 0xc0) === 0x80;
  if (!linkLocal && !addresses.some((cidr) => cidrContains(cidr, gateway))) {
    throw new NetworkConfigError(
      field,
      text,
      'the gateway is not inside the network of any of the addresses',
    );
  }
  return gateway;
}

async function deleteIfPresent(rt: Rtnetlink, name: string): Promise<void> {
  try {
    await rt.deleteLink(name);
  } catch (error) {
    if (!isNetlinkError(error, 'ENODEV')) throw error;
  }
}
