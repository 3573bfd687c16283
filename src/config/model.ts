// The typed keepalived.conf model that the VRRP engine, the checkers and the IPVS reconciler consume.
// Plain data only (JSON-serialisable, no classes, no functions). Every block carries the file and
// line it came from so runtime messages can point back at the configuration.
//
// All defaults and inheritance (global → instance for GARP/strict settings, virtual server →
// real server → checker for timers) are resolved by the parser: a consumer never needs to apply a
// keepalived default itself. Durations are milliseconds (keepalived keeps µs, so values may be
// fractional); counts are plain integers.

import type { AddressFamily, ForwardMethod, Protocol, TunnelType } from '../ipvs/types.js';
import type { IpRoute, IpRule } from '../net/types.js';

export type { AddressFamily, ForwardMethod, Protocol, TunnelType };
export type { IpPrefix, IpRoute, IpRule, RouteMetric, RouteType, RuleAction } from '../net/types.js';

export interface SourceLocation {
  file: string;
  line: number;
}

/**
 * `error` and `warning` are keepalived's configuration errors (`-t` exits 5 for either); `unsupported` is an
 * accepted keepalived keyword that lvskeeper does not act on (printed and logged as a warning, `-t` exits 0);
 * `info` is lvskeeper's note (deprecated spellings and the like).
 */
export type Severity = 'error' | 'warning' | 'unsupported' | 'info';

export interface Diagnostic {
  severity: Severity;
  file: string;
  line: number;
  message: string;
  /** The keyword the message is about, when there is one. */
  keyword?: string;
}

/** A script to run with its own arguments, and the user/group to run it as (`"cmd args" [user[:group]]`). */
export interface ScriptCommand {
  /** The command line exactly as configured (split with shell rules by the runner). */
  command: string;
  user?: string | undefined;
  group?: string | undefined;
  location: SourceLocation;
}

export interface FifoSetting {
  path: string;
  script?: ScriptCommand | undefined;
  location: SourceLocation;
}

/** A block kept verbatim: each line's words, for features we parse but do not interpret yet. */
export interface RawLine {
  words: string[];
  location: SourceLocation;
}

// ---------------------------------------------------------------------------------------------
// global_defs

export interface LvsSyncDaemon {
  interface: string;
  /** `inst VI_x`: the VRRP instance whose state drives master/backup sync. */
  instance?: string | undefined;
  syncId?: number | undefined;
  maxlen?: number | undefined;
  port: number; // 8848
  ttl?: number | undefined;
  group?: string | undefined; // 224.0.0.81
  location: SourceLocation;
}

export interface LvsTimeouts {
  /** Seconds, as `ipvsadm --set`; undefined = leave the kernel's value. */
  tcp?: number | undefined;
  tcpFin?: number | undefined;
  udp?: number | undefined;
  location: SourceLocation;
}

export interface GlobalDefs {
  location: SourceLocation;
  /** Default: the host name. */
  routerId: string;
  notificationEmail: string[];
  notificationEmailFrom?: string | undefined;
  smtpServer?: { address: string; port: number } | undefined;
  smtpConnectTimeoutMs: number; // 30 s
  smtpAlert: boolean | undefined;
  smtpAlertVrrp: boolean | undefined;
  smtpAlertChecker: boolean | undefined;
  /** Default (keepalived): the local host name, else "localhost" in HELO. */
  smtpHeloName?: string | undefined;
  /** `startup_script`: run before the VRRP and checker processes start; they start when it ends or times out. */
  startupScript?: ScriptCommand | undefined;
  /** `startup_script_timeout`, seconds 1..1000 (keepalived's default 10). */
  startupScriptTimeoutS?: number | undefined;
  /** `shutdown_script`: run after both processes have stopped. */
  shutdownScript?: ScriptCommand | undefined;
  shutdownScriptTimeoutS?: number | undefined;
  /** `no_email_faults`: no mail for FAULT transitions. Optional: absent from older fixtures. */
  noEmailFaults?: boolean | undefined;
  /** `no_checker_emails`: a checker mails only when its real server's state changes. */
  noCheckerEmails?: boolean | undefined;
  checkerLogAllFailures: boolean;

  vrrpMcastGroup4: string; // 224.0.0.18
  vrrpMcastGroup6: string; // ff02::12
  vrrpVersion: 2 | 3; // 2
  vrrpGarpMasterDelayMs: number; // 5000 (0 = no second burst)
  vrrpGarpMasterRepeat: number; // 5
  vrrpGarpMasterRefreshMs: number; // 0 = off
  vrrpGarpMasterRefreshRepeat: number; // 1
  vrrpGarpLowerPrioDelayMs: number; // = master delay
  vrrpGarpLowerPrioRepeat: number; // = master repeat
  vrrpGarpIntervalMs: number; // 0
  vrrpGnaIntervalMs: number; // 0
  /** Top-level `net_namespace NAME`: the daemon runs in that network namespace (`-s` overrides it). */
  netNamespace?: string | undefined;
  /** Top-level `instance NAME`: pid files named lvskeeper_NAME.pid, … in /run/lvskeeper/. */
  instanceName?: string | undefined;
  /** Top-level `use_pid_dir` (also implied by net_namespace and instance): pid files in /run/lvskeeper/. */
  usePidDir?: boolean | undefined;
  /** `vmac_prefix`: generated VMAC names (default "vrrp"). */
  vmacPrefix?: string | undefined;
  /** `vmac_addr_prefix`: generated names of use_vmac_addr / per-VIP use_vmac VMACs (default vmac_prefix). */
  vmacAddrPrefix?: string | undefined;
  vrrpMinGarp: boolean;
  vrrpStrict: boolean;
  vrrpSkipCheckAdvAddr: boolean;
  /** `vrrp_notify_priority_changes`: the default of every instance's notify_priority_changes. */
  vrrpNotifyPriorityChanges: boolean;
  vrrpCheckUnicastSrc: boolean;
  vrrpLowerPrioNoAdvert: boolean;
  vrrpHigherPrioSendAdvert: boolean;
  vrrpDownTimerAdverts: number; // 3, 1..100
  vrrpStartupDelayMs: number; // 0
  dynamicInterfaces: boolean;

  scriptUser?: { user: string; group?: string | undefined } | undefined;
  enableScriptSecurity: boolean;
  notifyFifo?: FifoSetting | undefined;
  vrrpNotifyFifo?: FifoSetting | undefined;
  lvsNotifyFifo?: FifoSetting | undefined;

  lvsSyncDaemon?: LvsSyncDaemon | undefined;
  lvsTimeouts?: LvsTimeouts | undefined;
  /** Flush every IPVS entry at start. */
  lvsFlush: boolean;
  /** At stop: 'off' = delete what we added, 'all' = flush all of IPVS, 'vs' = delete our virtual servers. */
  lvsFlushOnStop: 'off' | 'all' | 'vs';

  stateFileLocation?: string | undefined;
  statsFileLocation?: string | undefined;
  jsonFileLocation?: string | undefined;
  /** `max_auto_priority [N]`; undefined when absent, -1 when given without a value (keepalived: use max). */
  maxAutoPriority?: number | undefined;
  /** `vrrp_priority` / `checker_priority`: nice value (-20..19) of the VRRP / checker child; undefined when absent. */
  vrrpPriority?: number | undefined;
  checkerPriority?: number | undefined;
  /**
   * `vrrp_rt_priority` / `checker_rt_priority`: SCHED_RR priority (1..99) of the child; undefined when
   * absent (the VRRP child then uses lvskeeper's default, the checker child stays SCHED_OTHER); 0 is
   * lvskeeper's "not realtime" (keepalived raises 0 to 1).
   */
  vrrpRtPriority?: number | undefined;
  checkerRtPriority?: number | undefined;
  /** `vrrp_rlimit_rttime` / `checker_rlimit_rttime` (and the older `*_rlimit_rtime`): RLIMIT_RTTIME in µs. */
  vrrpRlimitRttimeUs?: number | undefined;
  checkerRlimitRttimeUs?: number | undefined;

  /**
   * lvskeeper extension. false (default): a virtual server whose address is a VIP of a VRRP
   * instance is installed in IPVS only while that instance is MASTER (keepalived issue #2389).
   * true: keepalived's behaviour, every virtual server on every node.
   */
  lvsProgramOnAllNodes: boolean;
}

// ---------------------------------------------------------------------------------------------
// VRRP

export interface VrrpScript {
  name: string;
  location: SourceLocation;
  /** The command line as configured. */
  script: string;
  intervalMs: number; // 1000
  /** Resolved: keepalived's 0 means "the interval". */
  timeoutMs: number;
  /** -253..253; 0 = the script failing puts tracking instances in FAULT. */
  weight: number;
  weightReverse: boolean;
  rise: number; // 1
  fall: number; // 1
  user?: string | undefined;
  group?: string | undefined;
  initFail: boolean;
}

/** `use_vmac [NAME] [MAC]` and `vmac_xmit_base` of a vrrp_instance. */
export interface VmacConfig {
  /** NAME (default: keepalived's `vrrp.VRID`, then `vrrp1.VRID`…, `vrrp6.VRID` first for IPv6). */
  name?: string | undefined;
  /**
   * MAC: 6 octets, or 5 (the VRID is the sixth). Default 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID
   * (IPv6). keepalived refuses a multicast MAC and the RFC 5798 ones; strict mode drops it.
   */
  mac?: string | undefined;
  /** `vmac_xmit_base`: adverts sent and received on the base interface (forced for unicast peers). */
  xmitBase?: boolean | undefined;
}

export interface VirtualIpAddress {
  address: string;
  family: AddressFamily;
  /** /32 or /128 when not given. */
  prefixLength: number;
  brd?: string | undefined;
  dev?: string | undefined;
  scope?: string | undefined;
  label?: string | undefined;
  noTrack: boolean;
  /** `peer ADDR[/LEN]`: point-to-point; prefixLength is then the peer's. */
  peer?: string | undefined;
  /** IPv6 preferred lifetime (s), resolved: `preferred_lft`, else 0 for a /128 (keepalived deprecates it), else forever (0xffffffff). */
  preferredLft?: number | undefined;
  /** `-nodad`: IPv6 duplicate address detection runs (keepalived skips it otherwise). */
  dad?: true | undefined;
  home?: true | undefined;
  noPrefixRoute?: true | undefined;
  autoJoin?: true | undefined;
  manageTempAddr?: true | undefined;
  /** Per-address `use_vmac` (virtual_ipaddress / _excluded, not static_ipaddress): a VMAC of its own on its `dev`. */
  useVmac?: true | undefined;
  location: SourceLocation;
}

/**
 * One virtual_routes / static_routes line (config/routes.ts, as keepalived's alloc_route): the route as
 * the kernel gets it, names (table, scope, protocol) resolved to numbers.
 */
export interface RouteSpec extends IpRoute {
  /** `no_track`; lvskeeper does not track routes either way (an external delete changes nothing). */
  noTrack: boolean;
  location: SourceLocation;
}

/** One virtual_rules / static_rules line (config/routes.ts, as keepalived's alloc_rule). */
export interface RuleSpec extends IpRule {
  noTrack: boolean;
  location: SourceLocation;
}

export interface UnicastPeer {
  address: string;
  minTtl?: number | undefined;
  maxTtl?: number | undefined;
  location: SourceLocation;
}

export interface TrackInterface {
  name: string;
  /** 0 = interface down puts the instance in FAULT. */
  weight: number;
  reverse: boolean;
  location: SourceLocation;
}

export interface TrackScript {
  name: string;
  /** Resolved by the parser: the instance's override, else the vrrp_script's weight (always set). */
  weight?: number | undefined;
  reverse: boolean;
  location: SourceLocation;
}

/**
 * `track_file { NAME [weight W [reverse|noreverse]] }` in a vrrp_instance or vrrp_sync_group, resolved by
 * the parser against the top-level track_file NAME (defined above it, as keepalived requires): the
 * file's weight and reverse unless overridden.
 */
export interface TrackFileRef {
  name: string;
  /** -254..254; 0 = a non-zero value (reverse: a zero value) puts the instance in FAULT. */
  weight: number;
  reverse: boolean;
  location: SourceLocation;
}

/** `track_process { NAME [weight W [reverse|noreverse]] }`, resolved against `vrrp_track_process NAME`. */
export interface TrackProcessRef {
  name: string;
  /** -254..254; 0 = losing the quorum puts the instance in FAULT. */
  weight: number;
  reverse: boolean;
  location: SourceLocation;
}

/** A top-level `vrrp_track_process NAME { … }` (keepalived vrrp_parser.c / track_process.c). */
export interface VrrpTrackProcess {
  name: string;
  location: SourceLocation;
  /** `process NAME_OR_PATH [ARGS…]`: compared with /proc/PID/comm, or with argv[0] when fullCommand. */
  process: string;
  /** The ARGS of `process` (empty: none given). */
  params: string[];
  /** How ARGS are compared with the process's arguments; 'none' = they are not. */
  paramMatch: 'none' | 'exact' | 'partial' | 'initial';
  /** Match on /proc/PID/cmdline (set by `full_command`, by ARGS and by `param_match`). */
  fullCommand: boolean;
  /** Up while quorum ≤ number of matching processes ≤ quorumMax (defaults 1 and 4294967295). */
  quorum: number;
  quorumMax: number;
  /** -254..254, default 0 (FAULT when the quorum is lost). */
  weight: number;
  weightReverse: boolean;
  /** `terminate_delay` / `fork_delay` (`delay` sets both): how long a loss / a gain must last, ms; 0 = none. */
  terminateDelayMs: number;
  forkDelayMs: number;
}

export interface NotifyScripts {
  master?: ScriptCommand | undefined;
  backup?: ScriptCommand | undefined;
  fault?: ScriptCommand | undefined;
  stop?: ScriptCommand | undefined;
  /** `notify`: also receives `INSTANCE|GROUP NAME STATE PRIORITY`. */
  generic?: ScriptCommand | undefined;
  masterRxLowerPri?: ScriptCommand | undefined;
  deleted?: ScriptCommand | undefined;
}

export interface VrrpAuthentication {
  type: 'PASS' | 'AH';
  /** Truncated to 8 bytes as keepalived does (NUL padding is the packet encoder's job). */
  password: string;
  location: SourceLocation;
}

export interface VrrpInstance {
  name: string;
  location: SourceLocation;
  /** The configured initial state; an unknown value is BACKUP as in keepalived. */
  state: 'MASTER' | 'BACKUP';
  interface?: string | undefined;
  virtualRouterId: number;
  /** Base priority, 1..255 (default 100, or 255 with `state MASTER` and no priority). */
  priority: number;
  /** v2: whole seconds; v3: 10 ms steps. */
  advertIntervalMs: number;
  version: 2 | 3;
  /** Family of the VIPs (IPv6 instances are always VRRPv3). */
  family: AddressFamily;
  nopreempt: boolean;
  preemptDelayMs: number;
  authentication?: VrrpAuthentication | undefined;
  virtualIpAddresses: VirtualIpAddress[];
  virtualIpAddressesExcluded: VirtualIpAddress[];
  virtualRoutes: RouteSpec[];
  virtualRules: RuleSpec[];
  mcastSrcIp?: string | undefined;
  unicastSrcIp?: string | undefined;
  unicastPeers: UnicastPeer[];
  unicastTtl?: number | undefined;
  /** Resolved multicast group for this instance's family. */
  mcastGroup: string;
  trackInterfaces: TrackInterface[];
  trackScripts: TrackScript[];
  /** Optional: absent from models built before track_file/track_process were supported (fixtures). */
  trackFiles?: TrackFileRef[] | undefined;
  trackProcesses?: TrackProcessRef[] | undefined;
  notify: NotifyScripts;
  smtpAlert: boolean;
  dontTrackPrimary: boolean;
  /** Resolved: true unless strict mode or `no_accept`. */
  accept: boolean;
  skipCheckAdvAddr: boolean;
  /** Resolved `notify_priority_changes` (else the global): FIFO MASTER_PRIORITY / BACKUP_PRIORITY lines. */
  notifyPriorityChanges: boolean;
  checkUnicastSrc: boolean;
  strictMode: boolean;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  downTimerAdverts: number;
  garpMasterDelayMs: number;
  garpMasterRepeat: number;
  garpMasterRefreshMs: number;
  garpMasterRefreshRepeat: number;
  garpLowerPrioDelayMs: number;
  garpLowerPrioRepeat: number;
  /** `use_vmac [NAME] [MAC]`: the instance runs on a macvlan VMAC (daemon/vmac.ts). */
  useVmac?: VmacConfig | undefined;
  /**
   * `use_vmac_addr`: VIPs/eVIPs whose `dev` is not the instance's interface, or whose family is not the
   * instance's, get a VMAC of their own on their interface (keepalived vrrp.c vrrp_complete_instance).
   */
  useVmacAddr?: boolean | undefined;
  /**
   * `old_unicast_checksum [never]`: 'old' computes the IPv4 VRRPv3 unicast checksum with the multicast
   * group as destination (keepalived before 2.0.11 did); 'never' stops lvskeeper switching to it on its own
   * when a peer's adverts carry it. Unset: switch when such an advert arrives, as keepalived 2.2.7.
   */
  unicastChecksum?: 'old' | 'never' | undefined;
  /** `promote_secondaries`: set net.ipv4.conf.IF.promote_secondaries on the instance's interface. */
  promoteSecondaries?: boolean | undefined;
  /** Name of the vrrp_sync_group this instance belongs to, if any. */
  syncGroup?: string | undefined;
}

export interface VrrpSyncGroup {
  name: string;
  location: SourceLocation;
  members: string[];
  trackInterfaces: TrackInterface[];
  trackScripts: TrackScript[];
  trackFiles?: TrackFileRef[] | undefined;
  trackProcesses?: TrackProcessRef[] | undefined;
  notify: NotifyScripts;
  smtpAlert: boolean;
  syncGroupTrackingWeight: boolean;
}

// ---------------------------------------------------------------------------------------------
// LVS

export type VirtualServerGroupEntry =
  | {
      kind: 'address';
      family: AddressFamily;
      /** First address of the range (or the only one). */
      address: string;
      /** Last address of a range `A-B` / `A-N`, written out in full; undefined for one address. */
      rangeEnd?: string | undefined;
      port: number;
      location: SourceLocation;
    }
  | { kind: 'fwmark'; fwmark: number; family?: AddressFamily | undefined; location: SourceLocation };

export interface VirtualServerGroup {
  name: string;
  location: SourceLocation;
  entries: VirtualServerGroupEntry[];
}

export type VirtualServerKey =
  | { kind: 'address'; family: AddressFamily; address: string; port: number }
  | { kind: 'fwmark'; fwmark: number; family?: AddressFamily | undefined }
  | { kind: 'group'; group: string };

export interface TunnelSettings {
  type: TunnelType;
  /** gue only. */
  port?: number | undefined;
  /** gue/gre: 'nocsum' (default) | 'csum' | 'remcsum'. */
  checksum?: 'nocsum' | 'csum' | 'remcsum' | undefined;
}

export interface SorryServer {
  address: string;
  family: AddressFamily;
  port: number;
  forwardMethod: ForwardMethod;
  tunnel?: TunnelSettings | undefined;
  inhibit: boolean;
  location: SourceLocation;
}

interface CheckerCommon {
  location: SourceLocation;
  connectIp?: string | undefined;
  /** Resolved: the real server's port when not given. */
  connectPort?: number | undefined;
  bindTo?: string | undefined;
  bindIf?: string | undefined;
  bindPort?: number | undefined;
  fwmark?: number | undefined;
  connectTimeoutMs: number;
  retry: number;
  delayBeforeRetryMs: number;
  warmupMs: number;
  delayLoopMs: number;
  /** true = start down, add to IPVS only after a success. */
  alpha: boolean;
  logAllFailures: boolean;
}

export interface HttpUrl {
  path: string;
  digest?: string | undefined;
  /** Inclusive ranges; default [[200, 299]]. */
  statusCodes: Array<[number, number]>;
  virtualhost?: string | undefined;
  regex?: string | undefined;
  regexNoMatch: boolean;
  /** regex_options that have a JavaScript RegExp equivalent, as flags ("i", "m", "s"); the others are reported. */
  regexFlags?: string | undefined;
  /** regex_min_offset / regex_max_offset (inclusive): where a match may start, counted from the response's first byte (keepalived). */
  regexMinOffset?: number | undefined;
  regexMaxOffset?: number | undefined;
  location: SourceLocation;
}

export interface TcpCheck extends CheckerCommon {
  kind: 'TCP_CHECK';
}
export interface HttpCheck extends CheckerCommon {
  kind: 'HTTP_GET' | 'SSL_GET';
  urls: HttpUrl[];
  httpProtocol?: string | undefined;
  virtualhost?: string | undefined;
  fastRecovery: boolean;
  enableSni: boolean;
  sniName?: string | undefined;
}
export interface SmtpHost {
  connectIp?: string | undefined;
  connectPort?: number | undefined;
  bindTo?: string | undefined;
  bindIf?: string | undefined;
  bindPort?: number | undefined;
  /** The host's own connect_timeout; resolved: else the real server's, else the virtual server's (keepalived check_smtp.c). */
  connectTimeoutMs?: number | undefined;
  /** The host's own fwmark (a host{} block starts with no connection options of the checker's). */
  fwmark?: number | undefined;
  location: SourceLocation;
}
export interface SmtpCheck extends CheckerCommon {
  kind: 'SMTP_CHECK';
  heloName: string;
  hosts: SmtpHost[];
}
export interface DnsCheck extends CheckerCommon {
  kind: 'DNS_CHECK';
  type: string; // SOA
  name: string; // "."
}
export interface MiscCheck extends CheckerCommon {
  kind: 'MISC_CHECK';
  path: string;
  /** Resolved: delay_loop when not given. */
  timeoutMs: number;
  dynamic: boolean;
  user?: string | undefined;
  group?: string | undefined;
}
export interface UdpCheck extends CheckerCommon {
  kind: 'UDP_CHECK';
  /** Hex-decoded payload bytes as a hex string, or undefined. */
  payload?: string | undefined;
  requireReply: boolean;
  /** Hex pattern, `X` nibble = wildcard. */
  requireReplyPattern?: string | undefined;
  minReplyLength: number;
  maxReplyLength: number;
}
export interface PingCheck extends CheckerCommon {
  kind: 'PING_CHECK';
}
export interface FileCheck extends CheckerCommon {
  kind: 'FILE_CHECK';
  trackFile: string;
  weight?: number | undefined;
  weightReverse: boolean;
}
export interface BfdCheck extends CheckerCommon {
  kind: 'BFD_CHECK';
  name: string;
}

export type Checker = TcpCheck | HttpCheck | SmtpCheck | DnsCheck | MiscCheck | UdpCheck | PingCheck | FileCheck | BfdCheck;
export type CheckerKind = Checker['kind'];

export interface RealServer {
  location: SourceLocation;
  address: string;
  family: AddressFamily;
  /** Defaults to the virtual server's port. */
  port: number;
  weight: number;
  forwardMethod: ForwardMethod;
  tunnel?: TunnelSettings | undefined;
  inhibitOnFailure: boolean;
  notifyUp?: ScriptCommand | undefined;
  notifyDown?: ScriptCommand | undefined;
  upperThreshold: number;
  lowerThreshold: number;
  virtualhost?: string | undefined;
  alpha: boolean;
  smtpAlert: boolean;
  delayLoopMs: number;
  warmupMs: number;
  checkers: Checker[];
}

export interface VirtualServer {
  location: SourceLocation;
  key: VirtualServerKey;
  /** Resolved protocol ('tcp' for fwmark services, for which it is meaningless). */
  protocol: Protocol;
  delayLoopMs: number;
  scheduler: string;
  forwardMethod: ForwardMethod;
  tunnel?: TunnelSettings | undefined;
  /** Seconds; undefined = not persistent. */
  persistenceTimeout?: number | undefined;
  persistenceGranularity?: string | undefined;
  persistenceEngine?: string | undefined;
  /** One-packet scheduling (UDP only). */
  ops: boolean;
  /** IP_VS_SVC_F_SCHED1..3 (flag-1 / sh-fallback / mh-fallback, flag-2 / sh-port / mh-port, flag-3). */
  schedFlag1: boolean;
  schedFlag2: boolean;
  schedFlag3: boolean;
  sorryServer?: SorryServer | undefined;
  quorum: number;
  hysteresis: number;
  quorumUp?: ScriptCommand | undefined;
  quorumDown?: ScriptCommand | undefined;
  alpha: boolean;
  omega: boolean;
  haSuspend: boolean;
  inhibitOnFailure: boolean;
  connectTimeoutMs: number;
  /** undefined = each checker's own default. */
  retry?: number | undefined;
  delayBeforeRetryMs?: number | undefined;
  warmupMs: number;
  virtualhost?: string | undefined;
  ipFamily?: AddressFamily | undefined;
  smtpAlert?: boolean | undefined;
  realServers: RealServer[];
}

// ---------------------------------------------------------------------------------------------

/**
 * A top-level `track_file NAME { … }` (or `vrrp_track_file`): a file holding a number, read by
 * FILE_CHECK (real-server weight) and by VRRP instances' track_file (priority offset).
 */
export interface TrackFile {
  name: string;
  path: string;
  /** -254..254, default 1; the file's value is multiplied by it. */
  weight: number;
  weightReverse: boolean;
  /** `init_file [VALUE] [overwrite]`: create the file with VALUE (default 0) at start, or always with overwrite. */
  initFile?: { value: number; overwrite: boolean } | undefined;
  location: SourceLocation;
}

export interface Config {
  /** The main configuration file. */
  file: string;
  global: GlobalDefs;
  vrrpScripts: VrrpScript[];
  trackFiles: TrackFile[];
  /** Optional for the same reason as VrrpInstance.trackFiles. */
  vrrpTrackProcesses?: VrrpTrackProcess[] | undefined;
  vrrpInstances: VrrpInstance[];
  vrrpSyncGroups: VrrpSyncGroup[];
  virtualServerGroups: VirtualServerGroup[];
  virtualServers: VirtualServer[];
  /** static_ipaddress / static_routes / static_rules: set while the VRRP process runs, whatever the instances' states. */
  staticIpAddresses: VirtualIpAddress[];
  staticRoutes: RouteSpec[];
  staticRules: RuleSpec[];
  /** Scripts that the daemon would run (vrrp_script, notify*, MISC_CHECK…): for script-security checks. */
  scriptCount: number;
  /** The top-level SSL block: the SSL_GET checkers' client context (keepalived check_ssl.c). */
  ssl?: SslSettings | undefined;
}

/**
 * `SSL { password P; ca FILE; certificate FILE; key FILE }` (keepalived check_parser.c). keepalived builds one
 * SSL context for every SSL_GET from it; without the block (or with an empty one) the context has no certificate
 * and no CA. The files are read once per (re)load, when an SSL_GET exists (keepalived's ssl_required).
 */
export interface SslSettings {
  /** Passphrase of an encrypted key (redacted in JSON dumps, like every `password`). */
  password?: string | undefined;
  ca?: string | undefined;
  certificate?: string | undefined;
  key?: string | undefined;
  /**
   * lvskeeper extension `verify_server_certificate`: fail the check when the server's certificate does not chain
   * to `ca`. keepalived 2.2.7 loads `ca` but never sets SSL_VERIFY_PEER nor reads the verify result, so its checks
   * pass whatever the certificate.
   */
  verifyServerCertificate: boolean;
  /** PEM text of the files, read at load. */
  caPem?: string | undefined;
  certificatePem?: string | undefined;
  /** Redacted in JSON dumps. */
  keyPem?: string | undefined;
  /** Why the files could not be loaded (reported at load): every SSL_GET check then fails with it. */
  error?: string | undefined;
  location: SourceLocation;
}

export interface ParseOptions {
  /** `-i`: the config-id for `@ID` lines (default: the short host name). */
  configId?: string;
  /** Injectable file access for tests; default reads from disk. */
  readFile?: (path: string) => string | undefined;
  /** Expand an include pattern (glob with braces) into files; default uses the file system. */
  expandGlob?: (pattern: string) => string[];
  /** Report interfaces that do not exist (keepalived -t does); default false. */
  checkInterfaces?: boolean;
  /** Whether an interface exists; default looks at /sys/class/net/NAME. */
  interfaceExists?: (name: string) => boolean;
  /** Host name for router_id and the default config-id; default os.hostname(). */
  hostname?: string;
}

export interface ParseResult {
  config: Config;
  diagnostics: Diagnostic[];
}
