// The IPVS data model shared by the netlink client (src/ipvs/client.ts), the reconciler and lvsadm.
// Plain data: no byte order, no attributes. The kernel's meaning of each field is in
// include/uapi/linux/ip_vs.h; the netlink encoding lives only in src/ipvs/codec.ts.

export type AddressFamily = 'inet' | 'inet6';

/** IPPROTO_* numbers as the kernel uses them. */
export type Protocol = 'tcp' | 'udp' | 'sctp';
export const PROTOCOL_NUMBER: Record<Protocol, number> = { tcp: 6, udp: 17, sctp: 132 };

/** Forwarding methods (IP_VS_CONN_F_*), ipvsadm -m / -i / -g, printed Masq / Tunnel / Route / Local. */
export type ForwardMethod = 'masq' | 'local' | 'tunnel' | 'route' | 'bypass';
export const FORWARD_METHOD_NUMBER: Record<ForwardMethod, number> = {
  masq: 0,
  local: 1,
  tunnel: 2,
  route: 3,
  bypass: 4,
};

/** IP_VS_SVC_F_* flags. SCHED1..3 are spelled per scheduler by ipvsadm (sh-fallback, sh-port, mh-...). */
export const SERVICE_FLAGS = {
  persistent: 0x1,
  hashed: 0x2,
  onePacket: 0x4,
  sched1: 0x8,
  sched2: 0x10,
  sched3: 0x20,
} as const;

export type TunnelType = 'ipip' | 'gue' | 'gre';
export const TUNNEL_TYPE_NUMBER: Record<TunnelType, number> = { ipip: 0, gue: 1, gre: 2 };

/** What identifies a virtual service: protocol+address+port, or a firewall mark (with a family). */
export type ServiceKey =
  | { kind: 'addr'; family: AddressFamily; protocol: Protocol; address: string; port: number }
  | { kind: 'fwmark'; family: AddressFamily; fwmark: number };

export interface Stats {
  conns: bigint;
  inPkts: bigint;
  outPkts: bigint;
  inBytes: bigint;
  outBytes: bigint;
  cps: bigint;
  inPps: bigint;
  outPps: bigint;
  inBps: bigint;
  outBps: bigint;
}

export interface Service {
  key: ServiceKey;
  /** Scheduler name: rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos. */
  scheduler: string;
  /** IP_VS_SVC_F_* bits, without HASHED (kernel-internal). */
  flags: number;
  /** Persistence timeout in seconds (meaningful when flags has PERSISTENT). */
  timeout: number;
  /** IPv4: the dotted mask (e.g. "255.255.255.255"); IPv6: prefix length as a string ("128"). */
  netmask: string;
  /** Persistence engine name ("sip") or undefined. */
  persistenceEngine?: string | undefined;
  /** Only in replies from the kernel. */
  stats?: Stats | undefined;
}

export interface Destination {
  family: AddressFamily;
  address: string;
  port: number;
  forward: ForwardMethod;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  tunnelType?: TunnelType | undefined;
  tunnelPort?: number | undefined;
  /** IPVS_TUNNEL_ENCAP_FLAG_*: 0 nocsum, 1 csum, 2 remcsum. */
  tunnelFlags?: number | undefined;
  /** Only in replies from the kernel. */
  activeConns?: number | undefined;
  inactiveConns?: number | undefined;
  persistConns?: number | undefined;
  stats?: Stats | undefined;
  /**
   * An IPv4 address as its host-order 32-bit word, when the reader already had it (the /proc/net/ip_vs
   * parser): a sorted listing of 10,000 destinations then does not parse 10,000 dotted quads back. Never
   * sent to the kernel; `address` is what counts.
   */
  addressWord?: number | undefined;
}

export interface Timeouts {
  /** Seconds; 0 in a SET means "leave unchanged". */
  tcp: number;
  tcpFin: number;
  udp: number;
}

export interface SyncDaemon {
  state: 'master' | 'backup';
  mcastInterface: string;
  syncId: number;
  maxLen?: number | undefined;
  mcastGroup?: string | undefined;
  mcastPort?: number | undefined;
  mcastTtl?: number | undefined;
}

export interface Info {
  /** e.g. 0x010201 for 1.2.1 */
  version: number;
  connTableSize: number;
}

/** A service with its destinations: one row of the desired or actual table. */
export interface ServiceEntry {
  service: Service;
  destinations: Destination[];
}

/**
 * Errors from the kernel, mapped once. `errno` is the positive errno (EEXIST 17, ESRCH 3, ENOENT 2, ...);
 * `op` is the operation that failed, so messages can follow ipvsadm's per-operation wording.
 */
export type IpvsOperation =
  | 'add-service'
  | 'edit-service'
  | 'del-service'
  | 'get-service'
  | 'add-dest'
  | 'edit-dest'
  | 'del-dest'
  | 'get-dest'
  | 'start-daemon'
  | 'stop-daemon'
  | 'get-daemon'
  | 'set-timeout'
  | 'get-timeout'
  | 'get-info'
  | 'zero'
  | 'flush'
  | 'resolve-family';

export class IpvsError extends Error {
  constructor(
    readonly op: IpvsOperation,
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'IpvsError';
  }
}

/**
 * The verbs of the IPVS client. The netlink implementation is src/ipvs/client.ts; tests may supply fakes.
 * Every method rejects with IpvsError, never with a bare string.
 */
export interface IpvsApi {
  getInfo(): Promise<Info>;
  getServices(): Promise<Service[]>;
  getService(key: ServiceKey): Promise<Service>;
  getDestinations(key: ServiceKey): Promise<Destination[]>;
  addService(service: Service): Promise<void>;
  editService(service: Service): Promise<void>;
  delService(key: ServiceKey): Promise<void>;
  addDestination(key: ServiceKey, dest: Destination): Promise<void>;
  editDestination(key: ServiceKey, dest: Destination): Promise<void>;
  delDestination(key: ServiceKey, dest: Pick<Destination, 'family' | 'address' | 'port'>): Promise<void>;
  getTimeouts(): Promise<Timeouts>;
  setTimeouts(timeouts: Timeouts): Promise<void>;
  getDaemons(): Promise<SyncDaemon[]>;
  startDaemon(daemon: SyncDaemon): Promise<void>;
  stopDaemon(state: SyncDaemon['state']): Promise<void>;
  zero(key?: ServiceKey): Promise<void>;
  flush(): Promise<void>;
  close(): void;
}
