// Interfaces between the pure VRRP core and the kernel. Each has a real adapter in src/net and a fake
// in tests. Nothing here touches a socket.

export type Family = 'inet' | 'inet6';

/** One received protocol-112 datagram, as the transport saw it. */
export interface ReceivedPacket {
  /** The VRRP message itself (IP header stripped). */
  payload: Buffer;
  /** Source address of the IP packet (no %scope suffix). */
  source: string;
  /** Destination address when the transport can see it (IPv4 always; IPv6 only with the native addon). */
  destination?: string | undefined;
  /** IPv4 TTL / IPv6 hop limit when known; undefined when the kernel did not tell us. */
  ttl?: number | undefined;
  /** Receiving interface index when known. */
  ifindex?: number | undefined;
  /**
   * performance.now() (the realTimers clock) when the socket callback got the packet, before any parsing:
   * the Master_Down_Timer should restart from here (keepalived uses the time epoll returned), not from
   * whenever the engine got round to it.
   */
  receivedAt?: number | undefined;
  /**
   * Set by an `ipsecAh` transport (IPv4, protocol 51): the AH header's sequence number and SPI, and why its
   * ICV/SPI check failed (the engine drops those; the replay check is the instance's, see AhSequence).
   */
  ah?: { sequence: number; spi: string; failure?: { reason: 'icv' | 'spi'; message: string } | undefined } | undefined;
}

/** Per-send data (VrrpTransport.send). */
export interface SendOptions {
  /** AH sequence number of this advert (required by an `ipsecAh` transport). */
  ahSequence?: number | undefined;
  /**
   * IPv4 VRRPv3 unicast: the pseudo-header destination of the checksum instead of each peer's address
   * (keepalived's old_unicast_checksum computes it with the multicast group).
   */
  v3ChecksumDestination?: string | undefined;
}

export interface TransportOptions {
  family: Family;
  /** Interface to bind to and join the multicast group on. */
  interface: string;
  /** Source address to send from (mcast_src_ip / unicast_src_ip / interface primary or link-local). */
  sourceAddress?: string | undefined;
  /** Multicast group (224.0.0.18 / ff02::12 by default); ignored when unicastPeers is non-empty. */
  multicastGroup?: string | undefined;
  unicastPeers?: string[] | undefined;
  /** TTL for unicast sends (multicast always 255). */
  unicastTtl?: number | undefined;
  /**
   * keepalived `v3_checksum_as_v2` (IPv4 only): send VRRPv3 checksums exactly as given. By default the
   * transport recomputes an IPv4 VRRPv3 checksum with the pseudo-header of the real source and each real
   * destination (unicast peers differ from the group the codec may have assumed).
   */
  v3ChecksumAsV2?: boolean | undefined;
  /**
   * VRRPv2 `auth_type AH` (IPv4 only): IP protocol 51, each advert wrapped in an AH header with an
   * HMAC-MD5-96 ICV keyed with `password` (src/vrrp/ipsec-ah.ts); received packets carry `ah`.
   */
  ipsecAh?: { password: string } | undefined;
}

/** Sends and receives VRRP adverts for one (interface, family, group-or-peers). */
export interface VrrpTransport {
  /** Send one VRRP message (already checksummed by the codec) to the group or every unicast peer. */
  send(payload: Buffer, options?: SendOptions): Promise<void>;
  onPacket(handler: (packet: ReceivedPacket) => void): void;
  onError(handler: (error: Error) => void): void;
  close(): void;
}

export interface VirtualAddress {
  family: Family;
  address: string;
  prefixLength: number;
  interface: string;
  broadcast?: string | undefined;
  scope?: 'global' | 'site' | 'link' | 'host' | 'nowhere' | number | undefined;
  label?: string | undefined;
  /** keepalived `no_track`: an external delete does not move the instance to BACKUP. */
  noTrack?: boolean | undefined;
  /** `peer ADDR`: a point-to-point address. */
  peer?: string | undefined;
  /** IFA_F_HOMEADDRESS / MANAGETEMPADDR / NOPREFIXROUTE / MCAUTOJOIN bits (`home`, `mngtmpaddr`, …). */
  flags?: number | undefined;
  /** `-nodad`: IPv6 duplicate address detection runs (by default it is skipped, as keepalived does). */
  dad?: boolean | undefined;
  /** IPv6 preferred lifetime in seconds; undefined = forever. keepalived deprecates a /128 VIP (0). */
  preferredLifetime?: number | undefined;
}

/** Adds and removes VIPs through rtnetlink. Both operations are idempotent. */
export interface AddressManager {
  add(vip: VirtualAddress): Promise<void>;
  remove(vip: VirtualAddress): Promise<void>;
  /** Whether the address is currently configured on its interface. */
  has(vip: VirtualAddress): Promise<boolean>;
  /**
   * Called when an address is deleted from an interface by anyone (RTM_DELADDR), and, after notifications
   * were lost (ENOBUFS, a failed event socket reopened), for each VIP added here that a re-read no longer finds.
   */
  onAddressRemoved(handler: (family: Family, address: string, ifindex: number) => void): void;
  close(): void;
}

export interface LinkState {
  name: string;
  index: number;
  up: boolean;
  /** Whether the link has a carrier (IFF_RUNNING / IFF_LOWER_UP). */
  running: boolean;
  mac?: string | undefined;
}

/** Link state from rtnetlink: a snapshot, then events. */
export interface LinkWatcher {
  get(name: string): LinkState | undefined;
  onChange(handler: (link: LinkState) => void): void;
  close(): void;
}

/** Gratuitous ARP (IPv4) and unsolicited neighbour advertisement (IPv6) for one VIP. */
export interface Announcer {
  announce(interfaceName: string, vip: { family: Family; address: string }): Promise<void>;
  close(): void;
}

/** One VIP as the no-accept firewall sees it: its interface matters only for IPv6 link-local addresses. */
export interface FirewallVip {
  family: Family;
  address: string;
  interface: string;
}

/** What the no-accept firewall needs to know about one VRRP instance (all of them, on every change). */
export interface FirewallInstance {
  name: string;
  state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';
  /** The config model's resolved `accept` (false under vrrp_strict / `no_accept`, true for the address owner). */
  accept: boolean;
  /** virtual_ipaddress and virtual_ipaddress_excluded: keepalived drops both. */
  vips: readonly FirewallVip[];
}

/**
 * keepalived's no_accept firewall (nftables table `keepalived`): drops traffic to and from the VIPs of
 * MASTER instances that must not accept it (RFC 5798 §6.4.3 Accept_Mode). Operations are serialised.
 */
export interface NoAcceptFirewallPort {
  /** Brings the kernel tables in line with these instances (the complete list every time). */
  update(instances: readonly FirewallInstance[]): Promise<void>;
  /** Deletes the tables. Later updates do nothing. */
  close(): Promise<void>;
}

/** An address with a prefix length; length 0 is `default` (the address is then the family's zero address). */
export interface IpPrefix {
  address: string;
  prefixLength: number;
}

/** rtnetlink route types (RTN_*), by the names keepalived and iproute2 use. */
export type RouteType = 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat' | 'xresolve';

/** The RTA_METRICS a route may carry (RTAX_*), each a u32. */
export type RouteMetric = 'mtu' | 'window' | 'ssthresh' | 'cwnd' | 'advmss' | 'reordering' | 'hoplimit' | 'initcwnd' | 'initrwnd';

/** One route, as keepalived's ip_route_t sends it (vrrp_iproute.c netlink_route). Plain data. */
export interface IpRoute {
  family: Family;
  /** Prefix length 0: `default`. */
  destination: IpPrefix;
  /** Unset: unicast, and a delete matches any type (keepalived sets rtm_type on delete only when configured). */
  type?: RouteType | undefined;
  /** `src`: RTA_PREFSRC. */
  preferredSource?: string | undefined;
  /** `from` (IPv6 source routing): RTA_SRC. */
  source?: IpPrefix | undefined;
  /** `via [inet|inet6] ADDR`: RTA_GATEWAY, or RTA_VIA when its family is not the route's. */
  via?: { family: Family; address: string } | undefined;
  /** `dev`/`oif`: resolved to its index at each add and remove. */
  interface?: string | undefined;
  /** Unset: RT_SCOPE_UNIVERSE on add, RT_SCOPE_NOWHERE (any) on delete. */
  scope?: number | undefined;
  /** 254 (main) unless configured. */
  table: number;
  /** `metric`/`priority`/`preference`: RTA_PRIORITY. */
  metric?: number | undefined;
  /** RTPROT_*; keepalived's routes carry 18 (RTPROT_KEEPALIVED) unless `no_track` and `protocol` say otherwise. */
  protocol: number;
  tos?: number | undefined;
  /** RTNH_F_ONLINK. */
  onlink?: boolean | undefined;
  metrics?: Partial<Record<RouteMetric, number>> | undefined;
  /** Metrics configured with `lock` (RTAX_LOCK). */
  locked?: RouteMetric[] | undefined;
  /** keepalived's default `prepend` (NLM_F_CREATE only); `add` adds NLM_F_EXCL, `append` NLM_F_APPEND. */
  mode?: 'prepend' | 'add' | 'append' | undefined;
}

/** fib rule actions (FR_ACT_*). */
export type RuleAction = 'table' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

/** One policy routing rule, as keepalived's ip_rule_t sends it (vrrp_iprule.c netlink_rule). Plain data. */
export interface IpRule {
  family: Family;
  /** FRA_PRIORITY: always set (keepalived numbers rules without one from 16384 down). */
  priority: number;
  from?: IpPrefix | undefined;
  to?: IpPrefix | undefined;
  /** `not`: FIB_RULE_INVERT. */
  invert?: boolean | undefined;
  tos?: number | undefined;
  fwmark?: number | undefined;
  /** `fwmark M/MASK`: FRA_FWMASK. */
  fwmask?: number | undefined;
  /** `iif`/`dev` and `oif`: interface names (FRA_IIFNAME / FRA_OIFNAME); the interface need not exist. */
  iif?: string | undefined;
  oif?: string | undefined;
  action: RuleAction;
  /** For action `table` (absent with l3mdev). */
  table?: number | undefined;
  /** For action `goto`. */
  gotoTarget?: number | undefined;
  l3mdev?: boolean | undefined;
  suppressPrefixLength?: number | undefined;
  uidRange?: { start: number; end: number } | undefined;
  /** FRA_PROTOCOL: 18 (RTPROT_KEEPALIVED) unless `no_track` and `protocol` say otherwise. */
  protocol?: number | undefined;
}

/**
 * Adds and removes routes and rules through rtnetlink (virtual_routes/rules, static_routes/rules).
 * Idempotent: an entry already there (EEXIST) is added, an absent one (ESRCH/ENOENT) removed. Errors name
 * the entry as `ip route`/`ip rule` would print it.
 */
export interface RouteManager {
  addRoute(route: IpRoute): Promise<void>;
  removeRoute(route: IpRoute): Promise<void>;
  addRule(rule: IpRule): Promise<void>;
  removeRule(rule: IpRule): Promise<void>;
  close(): void;
}

/** Per-interface IPv4 sysctls a LinkManager sets through rtnetlink (IPV4_DEVCONF_*). */
export type Ipv4ConfName = 'rp_filter' | 'arp_filter' | 'arp_ignore' | 'promote_secondaries' | 'accept_local';

/** A link with its type: what a VMAC look-up compares (macvlan, mode, lower device, MAC). */
export interface LinkDetail extends LinkState {
  /** IFLA_INFO_KIND: "macvlan", "veth", …; undefined for a plain device. */
  kind?: string | undefined;
  /** IFLA_LINK: the lower device's index. */
  parentIndex?: number | undefined;
  /** IFLA_MACVLAN_MODE (1 private, 2 vepa, 4 bridge, 8 passthru, 16 source). */
  macvlanMode?: number | undefined;
}

/**
 * Creates, configures and deletes links (keepalived's VMACs: vrrp_vmac.c, vrrp_if_config.c). Requests go
 * out one at a time on one rtnetlink socket; errors name the link and the errno.
 */
export interface LinkManager {
  list(): Promise<LinkDetail[]>;
  get(name: string): Promise<LinkDetail | undefined>;
  /** A private-mode macvlan (NLM_F_CREATE|NLM_F_EXCL); resolves with the new link. */
  createMacvlan(o: { name: string; parentIndex: number; mac: string }): Promise<LinkDetail>;
  /** RTM_DELLINK; a link already gone (ENODEV) is a success. */
  deleteLink(index: number): Promise<void>;
  setUp(index: number): Promise<void>;
  /** IFLA_INET6_ADDR_GEN_MODE none: no automatic IPv6 link-local address. */
  setAddrGenModeNone(index: number): Promise<void>;
  setIpv4Conf(index: number, values: Partial<Record<Ipv4ConfName, number>>): Promise<void>;
  /** An address with IFA_F_NODAD (IPv6); already there (EEXIST) is a success. */
  addAddress(a: { family: Family; address: string; prefixLength: number; ifindex: number; preferredLifetime?: number | undefined }): Promise<void>;
  /** The interface's first usable IPv6 link-local address (not tentative or DAD-failed), if any. */
  ipv6LinkLocal(index: number): Promise<string | undefined>;
  /** /proc/sys/PATH as a number (undefined when absent or not a number); PATH like `net/ipv4/conf/all/rp_filter`. */
  readSysctl(path: string): Promise<number | undefined>;
  writeSysctl(path: string, value: number): Promise<void>;
  close(): void;
}
