export {
  type Cidr,
  formatIp,
  formatMac,
  type IpAddress,
  parseCidr,
  parseIp,
  parseMac,
} from './address-text.js';
export {
  errnoName,
  isNetlinkError,
  NetlinkError,
  type NetlinkRequestContext,
  NetworkConfigError,
  NetworkError,
  NetworkSetupError,
} from './errors.js';
export {
  type AddressRequest,
  decodeAddress,
  encodeAddressPayload,
  type InterfaceAddress,
} from './netlink/address.js';
export { type Attribute, AttributeList, attr, encodeAttributes } from './netlink/attributes.js';
export * as constants from './netlink/constants.js';
export {
  decodeLink,
  encodeLinkPayload,
  type Link,
  type LinkRequest,
  type LinkStatistics,
} from './netlink/link.js';
export {
  decodeAck,
  decodeMessages,
  encodeMessage,
  type NetlinkAck,
  type NetlinkMessage,
} from './netlink/message.js';
export { decodeRoute, encodeRoutePayload, type Route, type RouteRequest } from './netlink/route.js';
export { NetlinkSocket, type NetlinkTransport } from './netlink/socket.js';
export { type CreateNetnsOptions, DEFAULT_NETNS_RUN_DIR, NetworkNamespace } from './netns.js';
export {
  type AddressOptions,
  type CreateVethOptions,
  type LinkChanges,
  type LinkRef,
  type RouteSpec,
  Rtnetlink,
} from './rtnetlink.js';
export { type BridgeConfig, BridgeStrategy } from './strategies/bridge.js';
export {
  createNetworks,
  destroyNetworks,
  type NetworkConfig,
  networkStatistics,
  strategyFor,
  validateNetworks,
} from './strategies/index.js';
export { type LoopbackConfig, LoopbackStrategy } from './strategies/loopback.js';
export type {
  InterfaceStatistics,
  NetworkState,
  NetworkStrategy,
  NetworkTarget,
} from './strategies/strategy.js';
export { type VethConfig, VethStrategy } from './strategies/veth.js';
export { checkInterfaceName, MAX_INTERFACE_NAME_BYTES } from './validate.js';
