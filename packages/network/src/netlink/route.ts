import { formatIp } from '../address-text.js';
import { type Attribute, AttributeList, attr, encodeAttributes } from './attributes.js';
import { RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC, RTA_PRIORITY, RTA_TABLE } from './constants.js';

/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags. */
export const RTMSG_LEN = 12;

/** What an RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE carries. */
export interface RouteRequest {
  family: number;
  destinationLength?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  flags?: number;
  /** RTA_DST: the network; absent for a default route. */
  destination?: Uint8Array;
  gateway?: Uint8Array;
  preferredSource?: Uint8Array;
  priority?: number;
  /** RTA_OIF: the output interface index. */
  outputInterface?: number;
  /** RTA_TABLE, for tables above 255 (rtm_table then holds RT_TABLE_UNSPEC). */
  tableId?: number;
}

export function encodeRoutePayload(request: RouteRequest): Buffer {
  const header = Buffer.alloc(RTMSG_LEN);
  header.writeUInt8(request.family, 0);
  header.writeUInt8(request.destinationLength ?? 0, 1);
  header.writeUInt8(request.table ?? 0, 4);
  header.writeUInt8(request.protocol ?? 0, 5);
  header.writeUInt8(request.scope ?? 0, 6);
  header.writeUInt8(request.type ?? 0, 7);
  header.writeUInt32LE(request.flags ?? 0, 8);
  const attributes: Attribute[] = [];
  if (request.destination) attributes.push(attr.bytes(RTA_DST, request.destination));
  if (request.preferredSource) attributes.push(attr.bytes(RTA_PREFSRC, request.preferredSource));
  if (request.gateway) attributes.push(attr.bytes(RTA_GATEWAY, request.gateway));
  if (request.priority !== undefined) attributes.push(attr.u32(RTA_PRIORITY, request.priority));
  if (request.outputInterface !== undefined) attributes.push(attr.u32(RTA_OIF, request.outputInterface));
  if (request.tableId !== undefined) attributes.push(attr.u32(RTA_TABLE, request.tableId));
  return Buffer.concat([header, encodeAttributes(attributes)]);
}

/** A route as the kernel describes it in RTM_NEWROUTE. */
export interface Route {
  family: number;
  destinationLength: number;
  /** `network/length`, or `default`. */
  destination: string;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  gateway?: string;
  outputInterface?: number;
  priority?: number;
  preferredSource?: string;
}

export function decodeRoute(payload: Buffer): Route {
  if (payload.length < RTMSG_LEN) throw new RangeError('truncated rtmsg');
  const attributes = AttributeList.decode(payload.subarray(RTMSG_LEN));
  const destinationLength = payload.readUInt8(1);
  const destination = attributes.get(RTA_DST);
  const route: Route = {
    family: payload.readUInt8(0),
    destinationLength,
    destination:
      destination && destinationLength > 0 ? `${formatIp(destination)}/${destinationLength}` : 'default',
    table: attributes.u32(RTA_TABLE) ?? payload.readUInt8(4),
    protocol: payload.readUInt8(5),
    scope: payload.readUInt8(6),
    type: payload.readUInt8(7),
  };
  const gateway = attributes.get(RTA_GATEWAY);
  if (gateway) route.gateway = formatIp(gateway);
  const outputInterface = attributes.u32(RTA_OIF);
  if (outputInterface !== undefined) route.outputInterface = outputInterface;
  const priority = attributes.u32(RTA_PRIORITY);
  if (priority !== undefined) route.priority = priority;
  const preferredSource = attributes.get(RTA_PREFSRC);
  if (preferredSource) route.preferredSource = formatIp(preferredSource);
  return route;
}
