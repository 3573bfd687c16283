// Prometheus metrics: the status snapshot (src/daemon/status/model.ts) rendered with prom-client, and a
// small HTTP server for GET /metrics that the parent runs.
//
// Family names, labels, types and value encodings are those of the two keepalived exporters people
// already graph, so a dashboard keeps working when keepalived is replaced:
//  - mehdy/keepalived-exporter (v1.x, internal/collector/collector.go): keepalived_up, keepalived_vrrp_state,
//    the per-instance counters (v1.0 renamed the v0.x betas' keepalived_advert_rcvd_total & co. to these),
//    keepalived_script_status / _state.
//  - gen2brain/keepalived_exporter (collector/collector.go): the keepalived_lvs_vip_* / keepalived_lvs_rs_*
//    families from the kernel's IPVS stats.
// lvskeeper's own families are under lvskeeper_. Every family is rebuilt from one snapshot in a fresh
// registry: the snapshot holds cumulative totals, and a series that left the configuration leaves the
// output with it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import { canonicalAddress } from '../ipvs/address.js';
import type { ListenAddress } from './listen-address.js';
export { parseListen, type ListenAddress } from './listen-address.js';
import type { HistogramTotals, IpvsCounters, StatusSnapshot, VrrpCounters, VrrpStateName } from './status/model.js';

// keepalived's VRRP_STATE_* numbers (vrrp.h): mehdy's keepalived_vrrp_state value. STOP (98) is what
// keepalived's JSON dump, which that exporter passes through as is, shows for a stopped instance.
const VRRP_STATE_NUMBER: Record<VrrpStateName, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 98 };
// mehdy's VRRPScriptStatuses and VRRPScriptStates: the value is the index.
const SCRIPT_STATUS_NUMBER: Record<string, number> = { bad: 0, good: 1 };
const SCRIPT_STATE_NUMBER: Record<string, number> = { idle: 0, running: 1, 'requested termination': 2, 'forcing termination': 3 };
// gen2brain's proto label: the kernel's protocol number (0 for a firewall-mark service).
const PROTOCOL_NUMBER: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, fwmark: 0 };

// mehdy/keepalived-exporter: one counter per keepalived stats field, labels iname, intf, vrid.
const VRRP_COUNTERS: ReadonlyArray<readonly [string, string, keyof VrrpCounters]> = [
  ['keepalived_advertisements_received_total', 'Advertisements received', 'advertRcvd'],
  ['keepalived_advertisements_sent_total', 'Advertisements sent', 'advertSent'],
  ['keepalived_become_master_total', 'Became master', 'becomeMaster'],
  ['keepalived_release_master_total', 'Released master', 'releaseMaster'],
  ['keepalived_packet_length_errors_total', 'Packet length errors', 'packetLenErr'],
  ['keepalived_advertisements_interval_errors_total', 'Advertisement interval errors', 'advertIntervalErr'],
  ['keepalived_ip_ttl_errors_total', 'TTL errors', 'ipTtlErr'],
  ['keepalived_invalid_type_received_total', 'Invalid type errors', 'invalidTypeRcvd'],
  ['keepalived_address_list_errors_total', 'Address list errors', 'addrListErr'],
  ['keepalived_authentication_invalid_total', 'Authentication invalid', 'invalidAuthType'],
  ['keepalived_authentication_mismatch_total', 'Authentication mismatch', 'authTypeMismatch'],
  ['keepalived_authentication_failure_total', 'Authentication failure', 'authFailure'],
  ['keepalived_priority_zero_received_total', 'Priority zero received', 'priZeroRcvd'],
  ['keepalived_priority_zero_sent_total', 'Priority zero sent', 'priZeroSent'],
];

// The same counters under the names of mehdy's 0.x releases, which dashboards built then still query
// (v1.0 renamed them; keepalived_become_master_total and keepalived_release_master_total kept theirs).
const VRRP_COUNTERS_0X: ReadonlyArray<readonly [string, string, keyof VrrpCounters]> = [
  ['keepalived_advert_rcvd_total', 'Advertisements received (exporter 0.x name)', 'advertRcvd'],
  ['keepalived_advert_sent_total', 'Advertisements sent (exporter 0.x name)', 'advertSent'],
  ['keepalived_packet_len_err_total', 'Packet length errors (exporter 0.x name)', 'packetLenErr'],
  ['keepalived_advert_interval_err_total', 'Advertisement interval errors (exporter 0.x name)', 'advertIntervalErr'],
  ['keepalived_ip_ttl_err_total', 'TTL errors (exporter 0.x name)', 'ipTtlErr'],
  ['keepalived_invalid_type_rcvd_total', 'Invalid type errors (exporter 0.x name)', 'invalidTypeRcvd'],
  ['keepalived_addr_list_err_total', 'Address list errors (exporter 0.x name)', 'addrListErr'],
  ['keepalived_invalid_authtype_total', 'Authentication invalid (exporter 0.x name)', 'invalidAuthType'],
  ['keepalived_authtype_mismatch_total', 'Authentication mismatch (exporter 0.x name)', 'authTypeMismatch'],
  ['keepalived_auth_failure_total', 'Authentication failure (exporter 0.x name)', 'authFailure'],
  ['keepalived_pri_zero_rcvd_total', 'Priority zero received (exporter 0.x name)', 'priZeroRcvd'],
  ['keepalived_pri_zero_sent_total', 'Priority zero sent (exporter 0.x name)', 'priZeroSent'],
];

// gen2brain/keepalived_exporter: IPVS stats per virtual server (labels addr, proto) and real server
// (vip, addr, proto). That exporter types them counters without the _total suffix, which promtool's
// lint refuses; they are gauges here under its exact names (rate() reads either the same).
const LVS_FIELDS: ReadonlyArray<readonly [string, string, keyof IpvsCounters]> = [
  ['in_packets', 'in packets', 'packetsIn'],
  ['out_packets', 'out packets', 'packetsOut'],
  ['in_bytes', 'in bytes', 'bytesIn'],
  ['out_bytes', 'out bytes', 'bytesOut'],
  ['conn', 'connections', 'connections'],
];

const INSTANCE_LABELS = ['iname', 'intf', 'vrid'] as const;
const VS_LABELS = ['addr', 'proto'] as const;
const RS_LABELS = ['vip', 'addr', 'proto'] as const;
type Labels = Record<string, string>;

/**
 * prom-client has no constant histogram (client_golang's MustNewConstHistogram) and a Histogram cannot
 * be set from totals: this family hands the registry the same value rows its own histograms do.
 */
class ConstHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Adds one series; false (and nothing added) when the totals are not a histogram. */
  add(labels: Labels, h: HistogramTotals): boolean {
    if (!validHistogram(h)) return false;
    h.bounds.forEach((le, i) => this.values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: h.counts[i] ?? 0 }));
    this.values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
    this.values.push({ metricName: `${this.name}_sum`, labels, value: h.sum });
    this.values.push({ metricName: `${this.name}_count`, labels, value: h.count });
    return true;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ConstHistogram['values'] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values };
  }

  reset(): void {
    this.values.length = 0;
  }
}

function validHistogram(h: HistogramTotals): boolean {
  if (h.bounds.length !== h.counts.length || !Number.isFinite(h.sum) || !(h.count >= 0)) return false;
  for (let i = 0; i < h.bounds.length; i++) {
    const b = h.bounds[i]!;
    const c = h.counts[i]!;
    if (!Number.isFinite(b) || (i > 0 && b <= h.bounds[i - 1]!)) return false;
    if (!(c >= 0) || c > h.count || (i > 0 && c < h.counts[i - 1]!)) return false;
  }
  return true;
}

/** "10.1.0.1/24 dev eth0 scope global" (keepalived.data's form) or a bare address → [ip_address, its dev]. */
function splitVip(vip: string): [string, string | undefined] {
  const words = vip.trim().split(/\s+/);
  const dev = words.indexOf('dev');
  return [words[0] ?? '', dev > 0 ? words[dev + 1] : undefined];
}

/** An address as gen2brain's Go net.IP.String() writes it: canonical, IPv6 without brackets. */
function ipText(address: string): string {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  return canonicalAddress(a.includes(':') ? 'inet6' : 'inet', a);
}

function protoLabel(protocol: string): string {
  const p = protocol.toLowerCase();
  return String(PROTOCOL_NUMBER[p] ?? (/^\d+$/.test(p) ? Number(p) : 0));
}

/** Finite and not negative, for a counter; NaN and negatives would make prom-client throw. */
function total(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function upOnly(registry: Registry, up: 0 | 1): void {
  // Both exporters: 1 when the daemon's state could be read for this scrape.
  new Gauge({ name: 'keepalived_up', help: 'Status', registers: [registry] }).set(up);
}

/** The registry holding every family for one snapshot. */
export function metricsRegistry(s: StatusSnapshot): Registry {
  const r = new Registry();
  const counter = (name: string, help: string, labelNames: readonly string[]): Counter<string> =>
    new Counter({ name, help, labelNames, registers: [r] });
  const gauge = (name: string, help: string, labelNames: readonly string[] = []): Gauge<string> =>
    new Gauge({ name, help, labelNames, registers: [r] });

  upOnly(r, 1);

  // --- mehdy/keepalived-exporter ---
  // One series per VIP (ip_address, intf its dev or the instance's); an instance without VIPs gets one
  // with ip_address "". Value: keepalived's state number.
  const vrrpState = gauge('keepalived_vrrp_state', 'State of vrrp', ['iname', 'intf', 'vrid', 'ip_address']);
  const vrrpCounters = [...VRRP_COUNTERS, ...VRRP_COUNTERS_0X].map(([name, help, field]) => [counter(name, help, INSTANCE_LABELS), field] as const);
  for (const i of s.instances) {
    const labels: Labels = { iname: i.name, intf: i.interface ?? '', vrid: String(i.vrid) };
    const state = VRRP_STATE_NUMBER[i.state];
    if (i.vips.length === 0) vrrpState.set({ ...labels, ip_address: '' }, state);
    for (const vip of i.vips) {
      const [ip, dev] = splitVip(vip);
      vrrpState.set({ ...labels, intf: dev ?? labels.intf!, ip_address: ip }, state);
    }
    for (const [c, field] of vrrpCounters) c.inc(labels, total(i.counters[field]));
  }
  // vrrp_script trackers: status BAD 0 / GOOD 1; state idle 0, running 1, requested termination 2,
  // forcing termination 3. Label name. A script whose result or state is neither is left out, as there.
  const scriptStatus = gauge('keepalived_script_status', 'Tracker Script Status', ['name']);
  const scriptState = gauge('keepalived_script_state', 'Tracker Script State', ['name']);
  for (const t of s.trackers) {
    if (t.kind !== 'script') continue;
    const status = SCRIPT_STATUS_NUMBER[t.result.toLowerCase()];
    if (status !== undefined) scriptStatus.set({ name: t.name }, status);
    const state = t.scriptState === undefined ? undefined : SCRIPT_STATE_NUMBER[t.scriptState];
    if (state !== undefined) scriptState.set({ name: t.name }, state);
  }

  // --- gen2brain/keepalived_exporter ---
  // addr is "IP:port" (a firewall-mark service, "0.0.0.0:0" there, is "FWM <mark>" here: one series per
  // mark); rs vip is the virtual server's addr. Only what is in IPVS here has kernel stats.
  const vsKeys = s.virtualServers.map((vs) => ({
    addr: vs.fwmark !== undefined || vs.address === undefined ? `FWM ${vs.fwmark ?? 0}` : `${ipText(vs.address)}:${vs.port ?? 0}`,
    proto: protoLabel(vs.protocol),
  }));
  const lvsVip = LVS_FIELDS.map(([suffix, help, field]) => [gauge(`keepalived_lvs_vip_${suffix}`, `VIP ${help}`, VS_LABELS), field] as const);
  const lvsRs = LVS_FIELDS.map(([suffix, help, field]) => [gauge(`keepalived_lvs_rs_${suffix}`, `RS ${help}`, RS_LABELS), field] as const);
  s.virtualServers.forEach((vs, n) => {
    const key = vsKeys[n]!;
    // inc, not set: two services with the same labels (a mark in both families) add up.
    if (vs.stats) for (const [g, field] of lvsVip) g.inc(key, total(vs.stats[field]));
    for (const rs of vs.realServers) {
      if (!rs.stats) continue;
      const labels = { vip: key.addr, addr: `${ipText(rs.address)}:${rs.port}`, proto: key.proto };
      for (const [g, field] of lvsRs) g.inc(labels, total(rs.stats[field]));
    }
  });

  // --- lvskeeper ---
  // Virtual and real servers carry gen2brain's labels, to join with its families on (vip, addr, proto).
  const quorumUp = gauge('lvskeeper_virtual_server_quorum_up', 'Whether the virtual server has its quorum of alive real servers (1) or not (0)', VS_LABELS);
  const programmed = gauge('lvskeeper_virtual_server_programmed', 'Whether this node has the virtual server in IPVS now (1) or not (0)', VS_LABELS);
  const rsUp = gauge('lvskeeper_real_server_up', "The real server's health-check result: alive (1) or not (0)", RS_LABELS);
  const rsCheckers = gauge('lvskeeper_real_server_checkers', "The real server's health checkers", RS_LABELS);
  const rsFailing = gauge('lvskeeper_real_server_checkers_failing', "The real server's health checkers failing now", RS_LABELS);
  const rsWeight = gauge('lvskeeper_real_server_weight', "The real server's weight in IPVS (absent when not in IPVS here)", RS_LABELS);
  const rsChecks = counter('lvskeeper_real_server_checks_total', "The real server's completed health checks, by result", [...RS_LABELS, 'result']);
  const rsDuration = new ConstHistogram('lvskeeper_real_server_check_duration_seconds', "Duration of the real server's health checks");
  r.registerMetric(rsDuration as unknown as Metric);
  s.virtualServers.forEach((vs, n) => {
    const key = vsKeys[n]!;
    quorumUp.set(key, vs.quorumUp ? 1 : 0);
    programmed.set(key, vs.programmedHere ? 1 : 0);
    for (const rs of vs.realServers) {
      const labels = { vip: key.addr, addr: `${ipText(rs.address)}:${rs.port}`, proto: key.proto };
      rsUp.set(labels, rs.alive ? 1 : 0);
      rsCheckers.set(labels, rs.checkers);
      rsFailing.set(labels, rs.checkersFailing);
      if (rs.kernelWeight !== undefined) rsWeight.set(labels, rs.kernelWeight);
      if (rs.checkDurations) rsDuration.add(labels, rs.checkDurations);
      if (rs.checksRun !== undefined) {
        rsChecks.inc({ ...labels, result: 'ok' }, total(rs.checksRun - (rs.checksFailed ?? 0)));
        rsChecks.inc({ ...labels, result: 'failed' }, total(rs.checksFailed ?? 0));
      }
    }
  });

  const lateTimers = counter('lvskeeper_late_timers_total', 'VRRP timers that fired 10 ms late or more', INSTANCE_LABELS);
  const splitBrainEvents = counter('lvskeeper_split_brain_events_total', 'Times another router was seen as master too, or with a different configuration', INSTANCE_LABELS);
  const splitBrain = gauge('lvskeeper_split_brain', 'Whether a split brain is going on now (1) or not (0)', INSTANCE_LABELS);
  for (const i of s.instances) {
    const labels: Labels = { iname: i.name, intf: i.interface ?? '', vrid: String(i.vrid) };
    lateTimers.inc(labels, total(i.lateTimers));
    splitBrainEvents.inc(labels, total(i.splitBrainEvents));
    splitBrain.set(labels, i.splitBrain ? 1 : 0);
  }
  const gcPauses = counter('lvskeeper_gc_pauses_total', 'Garbage-collection pauses of 10 ms or more, per process', ['process']);
  for (const [process, n] of Object.entries(s.gcPauses ?? {})) gcPauses.inc({ process }, total(n));

  const d = s.daemon;
  const reloads = counter('lvskeeper_reloads_total', 'Configuration reloads, applied (ok) or refused', ['result']);
  reloads.inc({ result: 'ok' }, total(d.reloads.ok));
  reloads.inc({ result: 'refused' }, total(d.reloads.refused));
  const respawns = counter('lvskeeper_child_respawns_total', 'Child processes started again after they died', ['child']);
  respawns.inc({ child: 'vrrp' }, total(d.childRespawns.vrrp));
  respawns.inc({ child: 'checker' }, total(d.childRespawns.checker));
  gauge('lvskeeper_build_info', 'The running lvskeeper version', ['version']).set({ version: d.version }, 1);
  gauge('lvskeeper_start_time_seconds', 'When the daemon started, seconds since the epoch').set(d.startedAt / 1000);
  return r;
}

/** The metrics text for one snapshot (Prometheus text format 0.0.4). */
export function renderMetrics(snapshot: StatusSnapshot): Promise<string> {
  return metricsRegistry(snapshot).metrics();
}

/** The text for a scrape that could not get a snapshot: keepalived_up 0, as the exporters say it. */
export function renderDown(): Promise<string> {
  const r = new Registry();
  upOnly(r, 0);
  return r.metrics();
}

export const METRICS_CONTENT_TYPE = new Registry().contentType;

// --- --metrics-listen ---


// --- the server ---

export interface MetricsLog {
  info(m: string): void;
  warn(m: string): void;
}

export interface MetricsServer {
  close(): Promise<void>;
  address(): { host: string; port: number };
}

export interface MetricsServerOptions {
  /** Scrapes answered at once; more get 503 at once (default 4). */
  maxConcurrent?: number;
  /** How long a scrape waits for the snapshot before it answers keepalived_up 0 (default 5000 ms). */
  snapshotTimeoutMs?: number;
}

/**
 * Serves GET /metrics. A scrape that cannot get a snapshot (error or timeout) answers 200 with
 * keepalived_up 0. Concurrent scrapes share one snapshot request, at most maxConcurrent
 * are answered at once, and sockets, headers and requests are time-bounded, so a slow or stuck client
 * costs a socket for a few seconds, never the event loop.
 */
export async function startMetricsServer(
  listen: ListenAddress,
  snapshot: () => Promise<StatusSnapshot>,
  log: MetricsLog,
  options: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const maxConcurrent = options.maxConcurrent ?? 4;
  const snapshotTimeoutMs = options.snapshotTimeoutMs ?? 5000;
  let active = 0;
  let shared: { promise: Promise<StatusSnapshot>; at: number } | undefined;
  let failing = false;

  // One snapshot request for all the scrapes that arrive while it runs (each is an IPC round trip to
  // both children); one that hangs past the timeout is not shared any more.
  const getSnapshot = (): Promise<StatusSnapshot> => {
    const now = Date.now();
    if (!shared || now - shared.at > snapshotTimeoutMs) {
      const entry = { promise: Promise.resolve().then(snapshot), at: now };
      const clear = (): void => {
        if (shared === entry) shared = undefined;
      };
      entry.promise.then(clear, clear);
      shared = entry;
    }
    return withTimeout(shared.promise, snapshotTimeoutMs);
  };

  const send = (res: ServerResponse, status: number, body: string, contentType: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...extra });
    res.end(body);
  };

  const scrape = async (res: ServerResponse): Promise<void> => {
    let snap: StatusSnapshot;
    try {
      snap = await getSnapshot();
    } catch (err) {
      // Said once per outage, not at every scrape.
      // 200 with keepalived_up 0, as both exporters answer when keepalived does not: Prometheus drops
      // the body of any other status, and alerts on keepalived_up == 0 would never fire.
      if (!failing) log.warn(`metrics: no status snapshot for a scrape (${errorText(err)}); answering keepalived_up 0 until one succeeds`);
      failing = true;
      send(res, 200, await renderDown(), METRICS_CONTENT_TYPE);
      return;
    }
    if (failing) log.info('metrics: status snapshots answer again');
    failing = false;
    send(res, 200, await renderMetrics(snap), METRICS_CONTENT_TYPE);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', () => req.destroy());
    res.on('error', () => res.destroy());
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') return send(res, 404, 'Not Found: the metrics are at /metrics\n', 'text/plain; charset=utf-8');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'Method Not Allowed\n', 'text/plain; charset=utf-8', { Allow: 'GET, HEAD' });
    }
    if (active >= maxConcurrent) {
      return send(res, 503, 'Too many concurrent scrapes\n', 'text/plain; charset=utf-8', { 'Retry-After': '1' });
    }
    active++;
    scrape(res)
      .catch((err: unknown) => {
        log.warn(`metrics: rendering failed: ${errorText(err)}`);
        if (!res.headersSent) send(res, 500, 'Internal Server Error\n', 'text/plain; charset=utf-8');
        else res.destroy();
      })
      .finally(() => active--);
  };

  const server: Server = createServer(
    { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8192 },
    handle,
  );
  // A client that stops reading or sending for 15 s loses its socket; a few dozen sockets at most.
  server.setTimeout(15_000, (socket) => socket.destroy());
  server.maxConnections = 32;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`metrics: cannot listen on ${formatListen(listen)}: ${err.message}`));
    server.once('error', onError);
    server.listen(listen.host === '' ? { port: listen.port } : { host: listen.host, port: listen.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.warn(`metrics: server error: ${err.message}`));
  const bound = server.address() as AddressInfo;
  log.info(`metrics: serving http://${formatListen({ host: bound.address, port: bound.port })}/metrics`);

  return {
    address: () => ({ host: bound.address, port: bound.port }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function formatListen(l: ListenAddress): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
