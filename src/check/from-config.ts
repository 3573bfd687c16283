// From the parsed keepalived.conf model (src/config/model.ts) to the checker specs. Pure.
// The parser has already resolved every default and the VS -> RS -> checker inheritance; this only
// re-shapes it: service keys (expanding virtual_server_group ranges), IPVS flags, connect targets,
// and keepalived's labels ("[ip]:tcp:port", "FWM 1", "[group]:0") used in the log phrases. MISC_CHECK
// scripts are checked through the injected prepareScript (the only I/O, kept outside).

import net from 'node:net';
import type {
  Checker,
  Config,
  SslSettings,
  RealServer,
  ScriptCommand,
  SmtpHost,
  SorryServer,
  TunnelSettings,
  VirtualServer,
  VirtualServerGroup,
} from '../config/model.js';
import { SERVICE_FLAGS, type AddressFamily, type ServiceKey } from '../ipvs/types.js';
import { refusalPhrase, type PrepareFailure, type PrepareResult } from '../scripts/script-security.js';
import { SMTP_DEFAULT_HELO } from './probe/smtp.js';
import type {
  CheckerSpec,
  ConnectTarget,
  DnsQueryType,
  HttpProtocol,
  ProbeSpec,
  RealServerSpec,
  ScriptSpec,
  SorryServerSpec,
  SslClientSpec,
  TunnelSpec,
  UrlSpec,
  VirtualServerSpec,
} from './types.js';
import { expandAddressRange } from './vsg.js';

/** A top-level `track_file NAME { file PATH; weight W [reverse] }` block. */
export interface TrackFileDefinition {
  path: string;
  weight?: number | undefined;
  reverse?: boolean | undefined;
}

export interface FromConfigOptions {
  /**
   * track_file definitions by name, for FILE_CHECK. Without one, a track_file name that looks like a
   * path (contains "/") is used as the file itself; otherwise the checker is skipped with a warning.
   */
  trackFiles?: Record<string, TrackFileDefinition> | undefined;
  /**
   * Checks a MISC_CHECK's misc_path and resolves its user (ScriptPreparer.prepareCommand, shared with
   * the notify scripts). A refused script's checker is dropped, as keepalived's
   * check_misc_script_security() does; without this option every MISC_CHECK is dropped.
   */
  prepareScript?: ((cmd: Pick<ScriptCommand, 'command' | 'user' | 'group'>) => PrepareResult) | undefined;
}

export interface FromConfigResult {
  virtualServers: VirtualServerSpec[];
  /** Things that could not be mapped (the checker or entry was skipped). */
  warnings: string[];
}

const DNS_QUERY_TYPES: readonly DnsQueryType[] = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA', 'RRSIG', 'DNSKEY'];

export function trio(address: string, protocol: string, port: number): string {
  return `[${address}]:${protocol}:${port}`;
}

function familyOf(address: string, fallback: AddressFamily): AddressFamily {
  const v = net.isIP(address);
  return v === 6 ? 'inet6' : v === 4 ? 'inet' : fallback;
}

function script(s: ScriptCommand | undefined): ScriptSpec | undefined {
  if (!s) return undefined;
  const out: ScriptSpec = { command: s.command };
  if (s.user !== undefined) out.user = s.user;
  if (s.group !== undefined) out.group = s.group;
  return out;
}

/** keepalived's words for a dropped MISC_CHECK (check_misc.c), with the check's own message. */
export function miscRefusal(path: string, reason: PrepareFailure, message: string): string {
  if (reason === 'no_default_user') return `Unable to set default user for misc script ${path} - removing`;
  if (reason === 'bad_user') return `Failed to set uid/gid for misc checker script ${path} - removing: ${message}`;
  return `Disabling misc script ${path} ${refusalPhrase(reason)}: ${message}`;
}

function tunnel(t: TunnelSettings | undefined): TunnelSpec | undefined {
  if (!t) return undefined;
  const out: TunnelSpec = { type: t.type };
  if (t.port !== undefined) out.port = t.port;
  if (t.checksum !== undefined) out.flags = t.checksum === 'nocsum' ? 0 : t.checksum === 'csum' ? 1 : 2;
  return out;
}

/** keepalived's FMT_VS */
export function virtualServerLabel(vs: VirtualServer): string {
  switch (vs.key.kind) {
    case 'address':
      return trio(vs.key.address, vs.protocol, vs.key.port);
    case 'fwmark':
      return `FWM ${vs.key.fwmark}`;
    case 'group':
      return `[${vs.key.group}]:0`;
  }
}

function defaultFamily(vs: VirtualServer): AddressFamily {
  return vs.ipFamily ?? vs.realServers[0]?.family ?? 'inet';
}

function serviceKeys(vs: VirtualServer, groups: Map<string, VirtualServerGroup>, warnings: string[]): ServiceKey[] {
  const key = vs.key;
  if (key.kind === 'address') {
    return [{ kind: 'addr', family: key.family, protocol: vs.protocol, address: key.address, port: key.port }];
  }
  if (key.kind === 'fwmark') return [{ kind: 'fwmark', family: key.family ?? defaultFamily(vs), fwmark: key.fwmark }];
  const group = groups.get(key.group);
  if (!group) {
    warnings.push(`virtual_server_group ${key.group} not found`);
    return [];
  }
  const keys: ServiceKey[] = [];
  for (const e of group.entries) {
    if (e.kind === 'fwmark') {
      keys.push({ kind: 'fwmark', family: e.family ?? defaultFamily(vs), fwmark: e.fwmark });
      continue;
    }
    const addrs = expandAddressRange(e.family, e.address, e.rangeEnd);
    if (typeof addrs === 'string') {
      warnings.push(`virtual_server_group ${key.group}: ${addrs}`);
      continue;
    }
    for (const address of addrs) keys.push({ kind: 'addr', family: e.family, protocol: vs.protocol, address, port: e.port });
  }
  return keys;
}

function flagsOf(vs: VirtualServer): number {
  let flags = 0;
  if (vs.persistenceTimeout !== undefined) flags |= SERVICE_FLAGS.persistent;
  if (vs.ops) flags |= SERVICE_FLAGS.onePacket;
  if (vs.schedFlag1) flags |= SERVICE_FLAGS.sched1;
  if (vs.schedFlag2) flags |= SERVICE_FLAGS.sched2;
  if (vs.schedFlag3) flags |= SERVICE_FLAGS.sched3;
  return flags;
}

function connectTarget(
  c: { connectIp?: string | undefined; connectPort?: number | undefined; bindTo?: string | undefined; bindIf?: string | undefined; bindPort?: number | undefined },
  checker: Checker,
  rs: RealServer,
): ConnectTarget {
  const address = c.connectIp ?? checker.connectIp ?? rs.address;
  const t: ConnectTarget = {
    family: familyOf(address, rs.family),
    address,
    port: c.connectPort ?? checker.connectPort ?? rs.port,
    connectTimeoutMs: checker.connectTimeoutMs,
  };
  const bindTo = c.bindTo ?? checker.bindTo;
  const bindPort = c.bindPort ?? checker.bindPort;
  const bindIf = c.bindIf ?? checker.bindIf;
  if (bindTo !== undefined) t.bindAddress = bindTo;
  if (bindPort !== undefined) t.bindPort = bindPort;
  if (bindIf !== undefined) t.bindInterface = bindIf;
  if (checker.fwmark !== undefined) t.fwmark = checker.fwmark;
  return t;
}

/** A deprecated SMTP_CHECK host{}: keepalived gives it its own conn_opts, so connect_timeout (resolved by the
 * parser: host, else RS, else VS) and fwmark are the host's own, never the checker's. */
function smtpHostTarget(h: SmtpHost, checker: Checker, rs: RealServer): ConnectTarget {
  const t = connectTarget(h, checker, rs);
  t.connectTimeoutMs = h.connectTimeoutMs ?? checker.connectTimeoutMs;
  if (h.fwmark) t.fwmark = h.fwmark;
  else delete t.fwmark;
  return t;
}

/** The SSL block as the SSL_GET probes take it (PEM text, read by the parser at load). */
export function sslClientSpec(ssl: SslSettings | undefined): SslClientSpec | undefined {
  if (!ssl) return undefined;
  if (ssl.error !== undefined) return { error: ssl.error };
  const out: SslClientSpec = {};
  if (ssl.caPem !== undefined) out.ca = ssl.caPem;
  if (ssl.certificatePem !== undefined) out.cert = ssl.certificatePem;
  if (ssl.keyPem !== undefined) out.key = ssl.keyPem;
  if (ssl.password !== undefined) out.passphrase = ssl.password;
  if (ssl.verifyServerCertificate && ssl.caPem !== undefined) out.verifyServer = true;
  return out;
}

function httpProtocol(p: string | undefined): HttpProtocol {
  if (p === '1.1') return '1.1';
  if (p === '1.0C' || p === '1.0c') return '1.0C';
  return '1.0';
}

function probeSpec(
  c: Checker,
  rs: RealServer,
  vs: VirtualServer,
  opts: FromConfigOptions,
  warn: (m: string) => void,
  ssl: SslClientSpec | undefined,
): ProbeSpec | undefined {
  switch (c.kind) {
    case 'TCP_CHECK':
      return { type: 'TCP_CHECK', target: connectTarget(c, c, rs) };
    case 'PING_CHECK':
      return { type: 'PING_CHECK', target: connectTarget(c, c, rs) };
    case 'HTTP_GET':
    case 'SSL_GET': {
      const spec: ProbeSpec = {
        type: c.kind,
        target: connectTarget(c, c, rs),
        urls: c.urls.map((u) => {
          const url: UrlSpec = { path: u.path, statusCodes: u.statusCodes };
          if (u.digest !== undefined) url.digest = u.digest.toLowerCase();
          if (u.virtualhost !== undefined) url.virtualhost = u.virtualhost;
          if (u.regex !== undefined) {
            url.regex = u.regex;
            url.regexNoMatch = u.regexNoMatch;
            if (u.regexFlags) url.regexFlags = u.regexFlags;
            if (u.regexMinOffset !== undefined) url.regexMinOffset = u.regexMinOffset;
            if (u.regexMaxOffset !== undefined) url.regexMaxOffset = u.regexMaxOffset;
          }
          return url;
        }),
        httpProtocol: httpProtocol(c.httpProtocol),
        enableSni: c.enableSni,
        fastRecovery: c.fastRecovery,
      };
      const vhost = c.virtualhost ?? rs.virtualhost ?? vs.virtualhost;
      if (vhost !== undefined) spec.virtualhost = vhost;
      if (c.sniName !== undefined) spec.sniName = c.sniName;
      if (c.kind === 'SSL_GET' && ssl) spec.ssl = ssl;
      return spec;
    }
    case 'SMTP_CHECK':
      return {
        type: 'SMTP_CHECK',
        hosts: c.hosts.length > 0 ? c.hosts.map((h) => smtpHostTarget(h, c, rs)) : [connectTarget(c, c, rs)],
        heloName: c.heloName || SMTP_DEFAULT_HELO,
      };
    case 'DNS_CHECK': {
      const t = c.type.toUpperCase() as DnsQueryType;
      if (!DNS_QUERY_TYPES.includes(t)) warn(`DNS_CHECK type ${c.type} unknown - using SOA`);
      return {
        type: 'DNS_CHECK',
        target: connectTarget(c, c, rs),
        queryType: DNS_QUERY_TYPES.includes(t) ? t : 'SOA',
        name: c.name || '.',
      };
    }
    case 'MISC_CHECK': {
      const prepared = opts.prepareScript?.({ command: c.path, user: c.user, group: c.group });
      if (!prepared) {
        warn(`MISC_CHECK ${c.path} skipped: no script security check was given to run it with`);
        return undefined;
      }
      if (!prepared.ok) {
        warn(miscRefusal(c.path, prepared.reason, prepared.message));
        return undefined;
      }
      return { type: 'MISC_CHECK', path: c.path, script: prepared.script, timeoutMs: c.timeoutMs, dynamic: c.dynamic };
    }
    case 'UDP_CHECK': {
      const spec: ProbeSpec = {
        type: 'UDP_CHECK',
        target: connectTarget(c, c, rs),
        payloadHex: c.payload ?? '',
        requireReply: c.requireReply,
        minReplyLength: c.minReplyLength,
        maxReplyLength: c.maxReplyLength,
      };
      if (c.requireReplyPattern !== undefined) spec.replyHex = c.requireReplyPattern;
      return spec;
    }
    case 'FILE_CHECK': {
      const def = opts.trackFiles?.[c.trackFile];
      const path = def?.path ?? (c.trackFile.includes('/') ? c.trackFile : undefined);
      if (!path) {
        warn(`FILE_CHECK track_file ${c.trackFile} has no file definition - skipping`);
        return undefined;
      }
      return {
        type: 'FILE_CHECK',
        path,
        weight: c.weight ?? def?.weight ?? 0,
        reverse: c.weight !== undefined ? c.weightReverse : (def?.reverse ?? c.weightReverse),
      };
    }
    case 'BFD_CHECK':
      warn(`BFD_CHECK ${c.name} is not supported - skipping`);
      return undefined;
  }
}

function checkerLabel(p: ProbeSpec, rs: RealServer): string {
  switch (p.type) {
    case 'MISC_CHECK':
    case 'FILE_CHECK':
      return trio(rs.address, 'tcp', rs.port);
    case 'SMTP_CHECK': {
      const h = p.hosts[0];
      return h ? trio(h.address, 'tcp', h.port) : trio(rs.address, 'tcp', rs.port);
    }
    case 'UDP_CHECK':
    case 'DNS_CHECK':
      return trio(p.target.address, 'udp', p.target.port);
    default:
      return trio(p.target.address, 'tcp', p.target.port);
  }
}

function sorrySpec(s: SorryServer, vs: VirtualServer): SorryServerSpec {
  const out: SorryServerSpec = {
    label: trio(s.address, vs.protocol, s.port),
    family: s.family,
    address: s.address,
    port: s.port,
    weight: 1,
    forward: s.forwardMethod,
    inhibit: s.inhibit,
  };
  const t = tunnel(s.tunnel);
  if (t) out.tunnel = t;
  return out;
}

/** Map every virtual_server of the configuration to a VirtualServerSpec. */
export function checkSpecsFromConfig(
  config: Pick<Config, 'virtualServers' | 'virtualServerGroups'> & Partial<Pick<Config, 'trackFiles' | 'ssl'>>,
  opts: FromConfigOptions = {},
): FromConfigResult {
  // The configuration's top-level track_file blocks, unless the caller gives its own.
  if (opts.trackFiles === undefined && config.trackFiles) {
    opts = { ...opts, trackFiles: Object.fromEntries(config.trackFiles.map((t) => [t.name, { path: t.path, weight: t.weight, reverse: t.weightReverse }])) };
  }
  const warnings: string[] = [];
  const ssl = sslClientSpec(config.ssl);
  const groups = new Map(config.virtualServerGroups.map((g) => [g.name, g]));
  const out: VirtualServerSpec[] = [];
  const seen = new Set<string>();
  for (const vs of config.virtualServers) {
    const label = virtualServerLabel(vs);
    let id = label;
    for (let n = 2; seen.has(id); n++) id = `${label}#${n}`;
    seen.add(id);
    const realServers: RealServerSpec[] = [];
    for (const rs of vs.realServers) {
      const rsId = `${rs.address}:${rs.port}`;
      const checkers: CheckerSpec[] = [];
      const perKind = new Map<string, number>();
      for (const c of rs.checkers) {
        const warn = (m: string) => warnings.push(`${c.location.file}:${c.location.line}: ${m}`);
        const probe = probeSpec(c, rs, vs, opts, warn, ssl);
        if (!probe) continue;
        const n = (perKind.get(c.kind) ?? 0) + 1;
        perKind.set(c.kind, n);
        checkers.push({
          id: `${id}|${rsId}|${c.kind}#${n}`,
          label: checkerLabel(probe, rs),
          timing: {
            delayLoopMs: c.delayLoopMs,
            retry: c.retry,
            delayBeforeRetryMs: c.delayBeforeRetryMs,
            warmupMs: c.warmupMs,
            alpha: c.alpha,
            logAllFailures: c.logAllFailures,
            // keepalived check_http.c epilog: without fast_recovery a recovered url is followed by a walk of the
            // url list, one url per delay_loop, before the checker is up again.
            ...(probe.type === 'HTTP_GET' || probe.type === 'SSL_GET' ? (probe.fastRecovery ? {} : { recoveryChecks: Math.max(1, probe.urls.length) }) : {}),
          },
          probe,
        });
      }
      const spec: RealServerSpec = {
        id: rsId,
        label: trio(rs.address, vs.protocol, rs.port),
        family: rs.family,
        address: rs.address,
        port: rs.port,
        weight: rs.weight,
        forward: rs.forwardMethod,
        upperThreshold: rs.upperThreshold,
        lowerThreshold: rs.lowerThreshold,
        inhibitOnFailure: rs.inhibitOnFailure,
        checkers,
      };
      const t = tunnel(rs.tunnel ?? (rs.forwardMethod === vs.forwardMethod ? vs.tunnel : undefined));
      if (t) spec.tunnel = t;
      const up = script(rs.notifyUp);
      const down = script(rs.notifyDown);
      if (up) spec.notifyUp = up;
      if (down) spec.notifyDown = down;
      realServers.push(spec);
    }
    const spec: VirtualServerSpec = {
      id,
      label,
      keys: serviceKeys(vs, groups, warnings),
      scheduler: vs.scheduler,
      flags: flagsOf(vs),
      timeout: vs.persistenceTimeout ?? 0,
      quorum: vs.quorum,
      hysteresis: vs.hysteresis,
      realServers,
    };
    if (vs.omega) spec.omega = true;
    if (vs.persistenceGranularity !== undefined) spec.netmask = vs.persistenceGranularity;
    if (vs.persistenceEngine !== undefined) spec.persistenceEngine = vs.persistenceEngine;
    const qu = script(vs.quorumUp);
    const qd = script(vs.quorumDown);
    if (qu) spec.quorumUp = qu;
    if (qd) spec.quorumDown = qd;
    if (vs.sorryServer) spec.sorryServer = sorrySpec(vs.sorryServer, vs);
    out.push(spec);
  }
  return { virtualServers: out, warnings };
}
