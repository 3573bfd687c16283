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
}

/** Sends and receives VRRP adverts for one (interface, family, group-or-peers). */
export interface VrrpTransport {
  /** Send one VRRP message (already checksummed by the codec) to the group or every unicast peer. */
  send(payload: Buffer): Promise<void>;
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
