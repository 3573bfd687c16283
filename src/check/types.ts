// Plain-data specifications and results for the health checkers (keepalived's check/ directory).
// Everything here is structured-clone friendly (no classes, no Buffers, no functions) so the whole
// checker runtime can later live in a worker thread or child process and talk in messages.

import type { AddressFamily, ForwardMethod, ServiceKey, TunnelType } from '../ipvs/types.js';
import type { PreparedScript } from '../scripts/script-security.js';

/** Retry/timer settings shared by every checker (keepalived inherits them VS -> RS -> checker). */
export interface CheckTiming {
  /** delay_loop: interval between checks while stable (keepalived default 60 s). */
  delayLoopMs: number;
  /** retry (old name nb_get_retry): extra failures tolerated while up before going down. */
  retry: number;
  /** delay_before_retry: interval between retries while failing but still up. */
  delayBeforeRetryMs: number;
  /** warmup: the first check runs after a random delay in [0, warmup] (keepalived default delay_loop). */
  warmupMs: number;
  /** alpha: start DOWN; the real server is only added after the first success. */
  alpha: boolean;
  /** log_all_failures: log every failed attempt, not only the final transition. */
  logAllFailures: boolean;
  /**
   * HTTP_GET/SSL_GET without fast_recovery: passing probes needed, delay_loop apart, after the one that finds a down
   * checker healthy before it goes up (keepalived re-walks its url list one url per delay_loop; see state.ts).
   */
  recoveryChecks?: number | undefined;
}

/** Where a network checker connects (connect_ip/connect_port default to the real server). */
export interface ConnectTarget {
  family: AddressFamily;
  /** connect_ip, or the real server's address. */
  address: string;
  /** connect_port, or the real server's port. */
  port: number;
  /** bindto */
  bindAddress?: string | undefined;
  /** bind_port */
  bindPort?: number | undefined;
  /** bind_if (only meaningful for IPv6 link-local targets: used as the scope id). */
  bindInterface?: string | undefined;
  /** connect_timeout (keepalived default 5 s). */
  connectTimeoutMs: number;
  /**
   * fwmark: SO_MARK on the checker's socket, as keepalived sets it; Node has no setsockopt, so the socket
   * comes from the native addon (probe/common.ts openMarkedFd).
   */
  fwmark?: number | undefined;
}

export interface UrlSpec {
  path: string;
  /** Lower-case hex MD5 of the response body (keepalived genhash). */
  digest?: string | undefined;
  /** Accepted status codes; empty = keepalived's default 200-299. */
  statusCodes?: Array<[number, number]> | undefined;
  /** Per-url virtualhost overrides the checker's. */
  virtualhost?: string | undefined;
  /** regex (keepalived uses PCRE2; JavaScript RegExp syntax here): the body must match. */
  regex?: string | undefined;
  /** regex_no_match: the body must not match. */
  regexNoMatch?: boolean | undefined;
  /** RegExp flags from regex_options (caseless i, multiline m, dotall s). */
  regexFlags?: string | undefined;
  /** regex_min_offset / regex_max_offset: a match must start in [min, max], counted from the response's first byte. */
  regexMinOffset?: number | undefined;
  regexMaxOffset?: number | undefined;
}

/** The top-level SSL block as the SSL_GET probe uses it: PEM text read at load (keepalived's SSL context). */
export interface SslClientSpec {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  passphrase?: string | undefined;
  /** lvskeeper's verify_server_certificate: fail unless the server certificate chains to `ca` (no host name check). */
  verifyServer?: boolean | undefined;
  /** The block's files could not be loaded: the check fails with this (keepalived does not run at all). */
  error?: string | undefined;
}

export type HttpProtocol = '1.0' | '1.0C' | '1.1';

export interface TcpCheckSpec {
  type: 'TCP_CHECK';
  target: ConnectTarget;
}

export interface HttpCheckSpec {
  type: 'HTTP_GET' | 'SSL_GET';
  target: ConnectTarget;
  urls: UrlSpec[];
  /** Checker-level virtualhost (Host header); RS/VS virtualhost are resolved into this by from-config. */
  virtualhost?: string | undefined;
  httpProtocol: HttpProtocol;
  /** SSL_GET only: send SNI (enable_sni); the name is sni_name, else the virtualhost. */
  enableSni?: boolean | undefined;
  sniName?: string | undefined;
  /** fast_recovery: a down checker goes up at its first passing probe (see CheckTiming.recoveryChecks). */
  fastRecovery?: boolean | undefined;
  /** SSL_GET: the top-level SSL block (client certificate, CA); absent = keepalived's autogen context. */
  ssl?: SslClientSpec | undefined;
}

export interface MiscCheckSpec {
  type: 'MISC_CHECK';
  /** misc_path as configured (for log lines). */
  path: string;
  /** misc_path as checked by script security with its user resolved (`user`, script_user or
   * keepalived_script): what runs, without a shell. */
  script: PreparedScript;
  /** misc_timeout; keepalived's default is the VS delay_loop. SIGTERM then, 2 s later, SIGKILL. */
  timeoutMs: number;
  /** misc_dynamic: exit 2..255 means up with weight exit-2. */
  dynamic: boolean;
}

export type DnsQueryType = 'A' | 'NS' | 'CNAME' | 'SOA' | 'MX' | 'TXT' | 'AAAA' | 'RRSIG' | 'DNSKEY';

export interface DnsCheckSpec {
  type: 'DNS_CHECK';
  target: ConnectTarget;
  /** keepalived default SOA */
  queryType: DnsQueryType;
  /** keepalived default "." */
  name: string;
}

export interface SmtpCheckSpec {
  type: 'SMTP_CHECK';
  /** One entry per host{} block (deprecated keepalived feature), else the checker's own target. All must pass. */
  hosts: ConnectTarget[];
  /** keepalived default "smtpchecker.keepalived.org" */
  heloName: string;
}

export interface UdpCheckSpec {
  type: 'UDP_CHECK';
  target: ConnectTarget;
  /** payload as hex ("" = empty datagram) */
  payloadHex: string;
  /** require_reply: a reply must arrive (else no ICMP error within connect_timeout = success). */
  requireReply: boolean;
  /** require_reply data as hex, 'X' nibbles are wildcards; compared on min(len) octets like keepalived. */
  replyHex?: string | undefined;
  /** keepalived defaults 0 / 255 */
  minReplyLength: number;
  maxReplyLength: number;
}

export interface PingCheckSpec {
  type: 'PING_CHECK';
  target: ConnectTarget;
}

export interface FileCheckSpec {
  type: 'FILE_CHECK';
  /** track_file's resolved file path. */
  path: string;
  /** weight W [reverse]: 0 = a non-zero value means down; otherwise value*W is added to the RS weight. */
  weight: number;
  reverse: boolean;
}

export type ProbeSpec =
  | TcpCheckSpec
  | HttpCheckSpec
  | MiscCheckSpec
  | DnsCheckSpec
  | SmtpCheckSpec
  | UdpCheckSpec
  | PingCheckSpec
  | FileCheckSpec;

export type CheckerType = ProbeSpec['type'];

/** One checker attached to a real server. */
export interface CheckerSpec {
  /** Unique and stable across reloads when the checker is unchanged (e.g. "vs/rs/0"). */
  id: string;
  /** keepalived's FMT_CHK: "[ip]:tcp:port" of the connect target. */
  label: string;
  timing: CheckTiming;
  probe: ProbeSpec;
}

/** Outcome of one probe. Never thrown: a bad answer is `ok: false` with a reason. */
export interface ProbeResult {
  ok: boolean;
  /** Human-readable cause, e.g. "connection refused", "HTTP status 500", "MD5 digest mismatch". */
  reason: string;
  /** MISC_CHECK misc_dynamic: absolute weight (exit - 2); undefined = keep the configured weight. */
  weight?: number | undefined;
  /** FILE_CHECK: value*weight to add to the RS weight. */
  weightDelta?: number | undefined;
}

/** A notify/quorum script with its own arguments (run by the daemon, not by the checkers). */
export interface ScriptSpec {
  command: string;
  user?: string | undefined;
  group?: string | undefined;
}

export interface TunnelSpec {
  type: TunnelType;
  port?: number | undefined;
  flags?: number | undefined;
}

export interface RealServerSpec {
  /** Stable id within the VS, e.g. "192.168.1.2:80". */
  id: string;
  /** keepalived's FMT_RS: "[ip]:tcp:port". */
  label: string;
  family: AddressFamily;
  address: string;
  port: number;
  /** weight (keepalived default 1). */
  weight: number;
  forward: ForwardMethod;
  tunnel?: TunnelSpec | undefined;
  upperThreshold: number;
  lowerThreshold: number;
  /** inhibit_on_failure: keep the destination with weight 0 instead of removing it. */
  inhibitOnFailure: boolean;
  notifyUp?: ScriptSpec | undefined;
  notifyDown?: ScriptSpec | undefined;
  checkers: CheckerSpec[];
}

export interface SorryServerSpec {
  label: string;
  family: AddressFamily;
  address: string;
  port: number;
  /** keepalived uses weight 1 for the sorry server. */
  weight: number;
  /** sorry_server_lvs_method, else the VS lb_kind. */
  forward: ForwardMethod;
  tunnel?: TunnelSpec | undefined;
  /** sorry_server_inhibit: always present, weight 0 while not in use. */
  inhibit: boolean;
}

export interface VirtualServerSpec {
  /** Stable id, e.g. keepalived's FMT_VS. */
  id: string;
  /** keepalived's FMT_VS: "[vip]:tcp:port", "FWM 1", "[group]:port". */
  label: string;
  /** One key per IPVS service (several for a virtual_server_group). */
  keys: ServiceKey[];
  /** lb_algo */
  scheduler: string;
  /** IP_VS_SVC_F_* (persistent, one-packet, sched1..3) */
  flags: number;
  /** persistence_timeout seconds (0 when not persistent) */
  timeout: number;
  /** persistence_granularity; undefined = host mask per family. */
  netmask?: string | undefined;
  persistenceEngine?: string | undefined;
  quorum: number;
  hysteresis: number;
  quorumUp?: ScriptSpec | undefined;
  quorumDown?: ScriptSpec | undefined;
  /** omega: run the RS/VS down notifiers at shutdown. */
  omega?: boolean | undefined;
  sorryServer?: SorryServerSpec | undefined;
  realServers: RealServerSpec[];
}
