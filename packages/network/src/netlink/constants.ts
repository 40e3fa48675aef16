// Numbers from the kernel's uapi headers (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
// linux/if_addr.h, linux/veth.h, linux/if.h). They are part of the kernel ABI and never change.

/** Netlink message types every family shares. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

/** nlmsg_flags. */
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
/** Modifiers of GET requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** Modifiers of NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Flags of an NLMSG_ERROR reply. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Attributes of an extended ack (after the nlmsgerr). */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

/** Attribute type bits that are flags, not part of the type. */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** rtnetlink message types. */
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const RTM_NAMES: Record<number, string> = {
  [NLMSG_ERROR]: 'NLMSG_ERROR',
  [NLMSG_DONE]: 'NLMSG_DONE',
  [RTM_NEWLINK]: 'RTM_NEWLINK',
  [RTM_DELLINK]: 'RTM_DELLINK',
  [RTM_GETLINK]: 'RTM_GETLINK',
  [RTM_SETLINK]: 'RTM_SETLINK',
  [RTM_NEWADDR]: 'RTM_NEWADDR',
  [RTM_DELADDR]: 'RTM_DELADDR',
  [RTM_GETADDR]: 'RTM_GETADDR',
  [RTM_NEWROUTE]: 'RTM_NEWROUTE',
  [RTM_DELROUTE]: 'RTM_DELROUTE',
  [RTM_GETROUTE]: 'RTM_GETROUTE',
};

/** Address families. */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_PACKET = 17;

/** ifinfomsg.ifi_flags. */
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

/** Link attributes (IFLA_*). */
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_STATS64 = 23;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
export const VETH_INFO_PEER = 1;
/** IFLA_EXT_MASK bit that `ip link show` sets: include VF information. */
export const RTEXT_FILTER_VF = 1;

/** IFLA_OPERSTATE values (RFC 2863). */
export const OPERSTATES = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
] as const;

/** Address attributes (IFA_*) and flags. */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_CACHEINFO = 6;
export const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

/** Route scopes, tables, protocols, types and attributes (RTA_*). */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;
export const RTA_PREF = 20;
