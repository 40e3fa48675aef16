import type { Cidr } from './address-text.js';
import { isNetlinkError, NetworkConfigError } from './errors.js';
import { decodeAddress, encodeAddressPayload, type InterfaceAddress } from './netlink/address.js';
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  AF_UNSPEC,
  IFA_F_NODAD,
  IFF_UP,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTEXT_FILTER_VF,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTPROT_BOOT,
} from './netlink/constants.js';
import { decodeLink, encodeLinkPayload, type Link, type LinkRequest } from './netlink/link.js';
import { decodeRoute, encodeRoutePayload, type Route, type RouteRequest } from './netlink/route.js';
import { NetlinkSocket, type NetlinkTransport } from './netlink/socket.js';
import type { NetworkNamespace } from './netns.js';
import { checkCidr, checkInterfaceName, checkIp, checkMac, checkMtu } from './validate.js';

/** A link by name or by index. */
export type LinkRef = string | number;

export interface CreateVethOptions {
  /** The namespace the first end is made in (default: the socket's own). */
  netns?: NetworkNamespace;
  mtu?: number;
  address?: string;
  peer: {
    name: string;
    /** The namespace the peer is made in (default: the same as the first end). */
    netns?: NetworkNamespace;
    mtu?: number;
    address?: string;
  };
}

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  address?: string;
  name?: string;
  /** A bridge to enslave the link to, or null to release it. */
  master?: LinkRef | null;
  /** Moves the link into this namespace (with `name`, it is renamed on the way). */
  netns?: NetworkNamespace;
  /** Moves the link into the namespace of this process (IFLA_NET_NS_PID). */
  netnsPid?: number;
  txQueueLength?: number;
}

export interface AddressOptions {
  /** Skip IPv6 duplicate address detection, so the address is usable at once. */
  noDad?: boolean;
  /** Replace an existing equal address instead of failing with EEXIST. */
  replace?: boolean;
}

export interface RouteSpec {
  /** `default`, or a network such as 10.1.0.0/16; `default` needs `family` or a gateway. */
  destination: string;
  gateway?: string;
  device?: LinkRef;
  family?: 'inet' | 'inet6';
  table?: number;
  priority?: number;
}

/**
 * rtnetlink over one socket: links, addresses and routes in the namespace the socket was opened
 * in. Inputs are checked before any request is sent; refusals from the kernel are NetlinkErrors
 * that name the request, the interface and the errno.
 */
export class Rtnetlink {
  readonly socket: NetlinkTransport;

  /** Usually made by `open()`; any transport (a recording one in tests) will do. */
  constructor(socket: NetlinkTransport) {
    this.socket = socket;
  }

  /** Opens a socket in the caller's namespace, or inside `netns`. */
  static open(netns?: NetworkNamespace): Rtnetlink {
    try {
      return new Rtnetlink(NetlinkSocket.open(netns?.fd));
    } catch (error) {
      // setns refuses a namespace file of another kind (pid, mnt...) with EINVAL.
      const { syscall, code } = error as NodeJS.ErrnoException;
      if (netns && syscall === 'setns' && code === 'EINVAL') {
        throw new NetworkConfigError('netns', netns.path, 'is not a network namespace');
      }
      throw error;
    }
  }

  close(): void {
    this.socket.close();
  }

  // ---- links ----

  async listLinks(): Promise<Link[]> {
    const payload = encodeLinkPayload({ family: AF_PACKET, extMask: RTEXT_FILTER_VF });
    return (await this.socket.dump(RTM_GETLINK, payload)).map(decodeLink);
  }

  /** The link, or undefined when there is none by that name or index. */
  async getLink(ref: LinkRef): Promise<Link | undefined> {
    const request: LinkRequest = typeof ref === 'number' ? { index: ref } : { name: ref };
    if (typeof ref === 'string') checkInterfaceName('link', ref);
    try {
      const reply = await this.socket.get(RTM_GETLINK, encodeLinkPayload(request), {
        interface: String(ref),
      });
      return decodeLink(reply);
    } catch (error) {
      if (isNetlinkError(error, 'ENODEV')) return undefined;
      throw error;
    }
  }

  /** The link; a missing one is a NetworkConfigError naming it. */
  async requireLink(ref: LinkRef, field = 'link'): Promise<Link> {
    const link = await this.getLink(ref);
    if (!link) throw new NetworkConfigError(field, ref, 'no such interface');
    return link;
  }

  async createVeth(name: string, options: CreateVethOptions): Promise<void> {
    checkInterfaceName('name', name);
    checkInterfaceName('peer.name', options.peer.name);
    const request: LinkRequest = {
      name,
      kind: 'veth',
      ...linkSettings('', options),
      peer: { name: options.peer.name, ...linkSettings('peer.', options.peer) },
    };
    if (options.netns) request.netnsFd = options.netns.fd;
    if (options.peer.netns && request.peer) request.peer.netnsFd = options.peer.netns.fd;
    await this.socket.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeLinkPayload(request), {
      interface: name,
      operation: `create veth ${name} (peer ${options.peer.name})`,
    });
  }

  async createBridge(name: string, options: { mtu?: number; address?: string } = {}): Promise<void> {
    checkInterfaceName('name', name);
    const request: LinkRequest = { name, kind: 'bridge', ...linkSettings('', options) };
    await this.socket.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeLinkPayload(request), {
      interface: name,
      operation: `create bridge ${name}`,
    });
  }

  /** Changes a link in one request (ip link set). */
  async setLink(ref: LinkRef, changes: LinkChanges): Promise<void> {
    const request: LinkRequest = { ...linkSettings('', changes) };
    if (changes.name !== undefined) request.name = checkInterfaceName('name', changes.name);
    if (changes.netns) request.netnsFd = changes.netns.fd;
    if (changes.netnsPid !== undefined) {
      if (!Number.isInteger(changes.netnsPid) || changes.netnsPid <= 0) {
        throw new NetworkConfigError('netnsPid', changes.netnsPid, 'expected a positive pid');
      }
      request.netnsPid = changes.netnsPid;
    }
    if (changes.txQueueLength !== undefined) request.txQueueLength = changes.txQueueLength;
    if (changes.up !== undefined) {
      request.flags = changes.up ? IFF_UP : 0;
      request.change = IFF_UP;
    }
    const index = await this.#index(ref);
    if (changes.master !== undefined)
      request.master = changes.master === null ? 0 : await this.#index(changes.master);
    request.index = index;
    await this.socket.request(RTM_NEWLINK, 0, encodeLinkPayload(request), {
      interface: String(ref),
      operation: `set link ${describeChanges(changes)}`,
    });
  }

  async deleteLink(ref: LinkRef): Promise<void> {
    const request: LinkRequest =
      typeof ref === 'number' ? { index: ref } : { name: checkInterfaceName('link', ref) };
    await this.socket.request(RTM_DELLINK, 0, encodeLinkPayload(request), {
      interface: String(ref),
      operation: 'delete link',
    });
  }

  // ---- addresses ----

  async listAddresses(
    filter: { family?: 'inet' | 'inet6'; link?: LinkRef } = {},
  ): Promise<InterfaceAddress[]> {
    const index = filter.link === undefined ? 0 : await this.#index(filter.link);
    const family = filter.family === undefined ? AF_UNSPEC : familyNumber(filter.family);
    const payload = encodeAddressPayload({ family, index });
    const addresses = (await this.socket.dump(RTM_GETADDR, payload)).map(decodeAddress);
    return addresses.filter(
      (a) => (index === 0 || a.index === index) && (family === AF_UNSPEC || a.family === family),
    );
  }

  async addAddress(ref: LinkRef, cidrText: string, options: AddressOptions = {}): Promise<void> {
    const cidr = checkCidr('address', cidrText);
    const index = await this.#index(ref);
    const flags = options.noDad && cidr.family === AF_INET6 ? IFA_F_NODAD : 0;
    const create = NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL);
    await this.socket.request(RTM_NEWADDR, create, encodeAddressPayload(addressRequest(cidr, index, flags)), {
      interface: String(ref),
      operation: `add address ${cidrText}`,
    });
  }

  async deleteAddress(ref: LinkRef, cidrText: string): Promise<void> {
    const cidr = checkCidr('address', cidrText);
    const index = await this.#index(ref);
    await this.socket.request(RTM_DELADDR, 0, encodeAddressPayload(addressRequest(cidr, index, 0)), {
      interface: String(ref),
      operation: `delete address ${cidrText}`,
    });
  }

  // ---- routes ----

  /** Routes of the main table (or `table`), of one family or both. */
  async listRoutes(filter: { family?: 'inet' | 'inet6'; table?: number } = {}): Promise<Route[]> {
    const family = filter.family === undefined ? AF_UNSPEC : familyNumber(filter.family);
    const table = filter.table ?? RT_TABLE_MAIN;
    // With strict checking (NETLINK_GET_STRICT_CHK) the kernel filters on the table itself.
    const payload = encodeRoutePayload({ family, tableId: table });
    const routes = (await this.socket.dump(RTM_GETROUTE, payload)).map(decodeRoute);
    return routes.filter((r) => r.table === table && (family === AF_UNSPEC || r.family === family));
  }

  async addRoute(spec: RouteSpec): Promise<void> {
    const request = await this.#routeRequest(spec);
    await this.socket.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, encodeRoutePayload(request), {
      ...(spec.device !== undefined ? { interface: String(spec.device) } : {}),
      operation: `add route ${describeRoute(spec)}`,
    });
  }

  async deleteRoute(spec: RouteSpec): Promise<void> {
    const request = await this.#routeRequest(spec);
    // A deletion matches on what it names: protocol and type 0 and scope RT_SCOPE_NOWHERE match any.
    Object.assign(request, { protocol: 0, type: 0, scope: 255 });
    await this.socket.request(RTM_DELROUTE, 0, encodeRoutePayload(request), {
      ...(spec.device !== undefined ? { interface: String(spec.device) } : {}),
      operation: `delete route ${describeRoute(spec)}`,
    });
  }

  async #routeRequest(spec: RouteSpec): Promise<RouteRequest> {
    const gateway = spec.gateway === undefined ? undefined : checkIp('gateway', spec.gateway);
    let family = spec.family === undefined ? gateway?.family : familyNumber(spec.family);
    let destination: Cidr | undefined;
    if (spec.destination !== 'default') {
      destination = checkCidr('destination', spec.destination);
      family ??= destination.family;
    }
    if (family === undefined) {
      throw new NetworkConfigError('family', spec.family, 'a default route without a gateway needs a family');
    }
    if ((gateway && gateway.family !== family) || (destination && destination.family !== family)) {
      throw new NetworkConfigError(
        'gateway',
        spec.gateway,
        'the gateway and destination are of different families',
      );
    }
    if (!gateway && spec.device === undefined) {
      throw new NetworkConfigError('device', spec.device, 'a route needs a gateway or a device');
    }
    const table = spec.table ?? RT_TABLE_MAIN;
    const request: RouteRequest = {
      family,
      destinationLength: destination?.prefixLength ?? 0,
      table: table > 255 ? 0 : table,
      protocol: RTPROT_BOOT,
      scope: gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
      type: RTN_UNICAST,
    };
    if (table > 255) request.tableId = table;
    if (destination) request.destination = destination.bytes;
    if (gateway) request.gateway = gateway.bytes;
    if (spec.priority !== undefined) request.priority = spec.priority;
    if (spec.device !== undefined) request.outputInterface = await this.#index(spec.device);
    return request;
  }

  async #index(ref: LinkRef): Promise<number> {
    if (typeof ref === 'number') return ref;
    return (await this.requireLink(ref)).index;
  }
}

function linkSettings(prefix: string, options: { mtu?: number; address?: string }): LinkRequest {
  const settings: LinkRequest = {};
  if (options.mtu !== undefined) settings.mtu = checkMtu(`${prefix}mtu`, options.mtu);
  if (options.address !== undefined) settings.address = checkMac(`${prefix}address`, options.address);
  return settings;
}

function familyNumber(family: 'inet' | 'inet6'): number {
  if (family === 'inet') return AF_INET;
  if (family === 'inet6') return AF_INET6;
  throw new NetworkConfigError('family', family, 'expected inet or inet6');
}

function addressRequest(cidr: Cidr, index: number, flags: number) {
  return {
    family: cidr.family,
    prefixLength: cidr.prefixLength,
    index,
    flags,
    local: cidr.bytes,
    address: cidr.bytes,
  };
}

function describeChanges(changes: LinkChanges): string {
  const parts: string[] = [];
  if (changes.up !== undefined) parts.push(changes.up ? 'up' : 'down');
  if (changes.mtu !== undefined) parts.push(`mtu ${changes.mtu}`);
  if (changes.address !== undefined) parts.push(`address ${changes.address}`);
  if (changes.name !== undefined) parts.push(`name ${changes.name}`);
  if (changes.master !== undefined)
    parts.push(changes.master === null ? 'nomaster' : `master ${changes.master}`);
  if (changes.netns) parts.push(`netns ${changes.netns.path}`);
  if (changes.netnsPid !== undefined) parts.push(`netns pid ${changes.netnsPid}`);
  return parts.join(' ');
}

function describeRoute(spec: RouteSpec): string {
  return [
    spec.destination,
    spec.gateway && `via ${spec.gateway}`,
    spec.device !== undefined && `dev ${spec.device}`,
  ]
    .filter(Boolean)
    .join(' ');
}
