// The SSL block, virtual_server_group, virtual_server and real_server (keepalived check_parser.c).

import type { AddressFamily, ForwardMethod, RealServer, SourceLocation, TunnelSettings, VirtualServer, VirtualServerGroup } from '../model.js';
import type { Keyword, KeywordTable } from '../engine.js';
import { familyOf, formatIpv6, ipv6Groups, parsePrefix, readFlag, readInt, readTimerMs, readUnsigned, TIMER_MAX_S } from '../values.js';
import { type ParseContext, type RsDraft, table, type VsDraft } from './context.js';
import { checkerTable, closeChecker, openChecker } from './checkers.js';
import { completeVs } from './lvs-complete.js';

const SCHEDULERS = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos']);

// SSL (keepalived check_parser.c ssl_handler / handle_ssl_file)

export function openSsl(ctx: ParseContext, at: SourceLocation): void {
  if (ctx.config.ssl) ctx.engine.error('SSL context already specified - replacing');
  ctx.config.ssl = { verifyServerCertificate: false, location: at };
}

export function sslTable(ctx: ParseContext): KeywordTable {
  // keepalived's names for the fields in its messages: "SSL cafile missing", "SSL keyfile already specified".
  const file = (field: 'password' | 'ca' | 'certificate' | 'key', name: string): Keyword => ({
    handler: (w) => {
      const ssl = ctx.config.ssl;
      if (!ssl) return;
      if (w[1] === undefined) {
        ctx.engine.error(`SSL ${name} missing`);
        return;
      }
      if (ssl[field] !== undefined) ctx.engine.error(`SSL ${name} already specified - replacing`);
      ssl[field] = w[1];
    },
  });
  return table([
    ['password', file('password', 'password')],
    ['ca', file('ca', 'cafile')],
    ['certificate', file('certificate', 'certfile')],
    ['key', file('key', 'keyfile')],
    [
      'verify_server_certificate',
      ctx.extension('SSL_GET fails when the server certificate does not chain to `ca` (keepalived loads `ca` but never checks the result)', {
        handler: (w) => ctx.config.ssl && (ctx.config.ssl.verifyServerCertificate = readFlag(w, ctx.fail)),
      }),
    ],
  ]);
}

// virtual_server_group

export function readVsg(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const name = w[1] ?? '';
  if (name === '') ctx.fail('virtual_server_group requires a name');
  const group: VirtualServerGroup = { name, location: at, entries: [] };
  ctx.engine.valueBlock(['virtual_server_group'], (e, eat) => {
    if (e[0] === 'fwmark') {
      const mark = readUnsigned(e[1], 1, 4294967295, ctx.fail);
      if (mark === undefined) return;
      const family = e[2] === 'inet6' ? 'inet6' : e[2] === 'inet' ? 'inet' : undefined;
      group.entries.push(family ? { kind: 'fwmark', fwmark: mark, family, location: eat } : { kind: 'fwmark', fwmark: mark, location: eat });
      return;
    }
    const range = parseRange(e[0]!);
    if (range === undefined) {
      ctx.engine.error(`VS group ${name}: invalid address ${e[0]} - ignoring`, undefined, eat);
      return;
    }
    let port = 0;
    if (e[1] !== undefined) {
      const p = readUnsigned(e[1], 0, 65535, ctx.fail);
      if (p === undefined) return;
      port = p;
    }
    group.entries.push({ kind: 'address', ...range, port, location: eat });
  });
  ctx.config.virtualServerGroups.push(group);
}

/** `A`, `A-B` (last part of the address), `A/nn` for IPv4, `x::2-9` for IPv6. */
function parseRange(text: string): { family: AddressFamily; address: string; rangeEnd?: string } | undefined {
  const dash = text.indexOf('-');
  const slash = text.indexOf('/');
  if (dash < 0 && slash < 0) {
    const family = familyOf(text);
    return family ? { family, address: text } : undefined;
  }
  if (dash >= 0) {
    const start = text.slice(0, dash);
    const endPart = text.slice(dash + 1);
    const family = familyOf(start);
    if (family === 'inet') {
      const end = Number(endPart);
      const last = Number(start.split('.')[3]);
      if (!/^\d{1,3}$/.test(endPart) || end > 255 || end < last) return undefined;
      return { family, address: start, rangeEnd: `${start.split('.').slice(0, 3).join('.')}.${end}` };
    }
    if (family === 'inet6') {
      const groups = ipv6Groups(start);
      if (!groups || !/^[0-9a-fA-F]{1,4}$/.test(endPart)) return undefined;
      const end = parseInt(endPart, 16);
      if (end < (groups[7] ?? 0)) return undefined;
      const endGroups = [...groups];
      endGroups[7] = end;
      return { family, address: start, rangeEnd: formatIpv6(endGroups) };
    }
    return undefined;
  }
  const p = parsePrefix(text);
  if (!p || p.family !== 'inet') return undefined;
  const octets = p.address.split('.').map(Number);
  const n = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const size = 2 ** (32 - p.prefixLength);
  const first = n - (n % size);
  const last = first + size - 1;
  const ip = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  return { family: 'inet', address: ip(first), rangeEnd: ip(last) };
}

// virtual_server and real_server

export function openVs(ctx: ParseContext, w: string[], at: SourceLocation): void {
  let key: VirtualServer['key'] | undefined;
  if (w[1] === 'fwmark') {
    const mark = readUnsigned(w[2], 1, 4294967295, ctx.fail);
    if (mark !== undefined) key = { kind: 'fwmark', fwmark: mark };
  } else if (w[1] === 'group') {
    if (w[2] !== undefined) key = { kind: 'group', group: w[2] };
  } else if (w[1] !== undefined) {
    const family = familyOf(w[1]);
    let port = 0;
    let portOk = true;
    if (w[2] !== undefined) {
      const p = readUnsigned(w[2], 0, 65535, ctx.fail);
      if (p === undefined) portOk = false;
      else port = p;
    }
    if (family !== undefined && portOk) key = { kind: 'address', family, address: w[1], port };
    else if (family === undefined) ctx.fail(`Invalid virtual server IP address ${w[1]} - skipping`);
  }
  if (key === undefined) {
    if (w[1] === undefined) ctx.fail('virtual_server requires an address, fwmark or group');
    ctx.vs = undefined;
    ctx.engine.skipBlock();
    return;
  }
  const vs: VirtualServer = {
    location: at,
    key,
    protocol: 'tcp',
    delayLoopMs: 60000,
    scheduler: 'wlc',
    forwardMethod: 'masq',
    ops: false,
    schedFlag1: false,
    schedFlag2: false,
    schedFlag3: false,
    quorum: 1,
    hysteresis: 0,
    alpha: false,
    omega: false,
    haSuspend: false,
    inhibitOnFailure: false,
    connectTimeoutMs: 5000,
    warmupMs: 60000,
    realServers: [],
  };
  ctx.vs = { vs, protocolSet: false, schedulerSet: false, methodSet: false, delayLoopSet: false, warmupSet: false, weight: 1, rs: [] };
}

export function closeVs(ctx: ParseContext): void {
  const d = ctx.vs;
  if (d?.earlySorryInhibit !== undefined) {
    // keepalived 2.2.7 reports and drops an inhibit that comes before its sorry_server (ssvri_handler);
    // the operator plainly meant it, so it is applied, and the message says so (`-t` still exits 5, as keepalived's).
    if (d.vs.sorryServer) {
      d.vs.sorryServer.inhibit = true;
      ctx.engine.warn(
        'Ignoring sorry_server inhibit used before or without sorry_server (keepalived 2.2.7); lvskeeper applies it to the sorry_server below',
        'sorry_server_inhibit',
        d.earlySorryInhibit,
      );
    } else ctx.engine.error('Ignoring sorry_server inhibit used before or without sorry_server', 'sorry_server_inhibit', d.earlySorryInhibit);
  }
  // Resolve as soon as the block closes (all of its keywords are known by then) so the drafts
  // die young: on a 370k-line farm this halves the garbage collector's work.
  if (d) completeVs(ctx, d);
  ctx.vs = undefined;
}

/** `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]` → method + tunnel. */
function lvsMethod(ctx: ParseContext, w: string[]): { method: ForwardMethod; tunnel?: TunnelSettings } | undefined {
  const kind = w[1];
  if (kind === 'NAT') return { method: 'masq' };
  if (kind === 'DR') return { method: 'route' };
  if (kind === 'TUN') {
    if (w[2] !== 'type') return { method: 'tunnel' };
    const type = w[3];
    if (type === 'ipip') return { method: 'tunnel', tunnel: { type: 'ipip' } };
    if (type === 'gre' || type === 'gue') {
      const tunnel: TunnelSettings = { type };
      for (let i = 4; i < w.length; i++) {
        if (w[i] === 'port') {
          tunnel.port = readUnsigned(w[i + 1], 1, 65535, ctx.fail);
          i++;
        } else if (w[i] === 'nocsum' || w[i] === 'csum' || w[i] === 'remcsum') tunnel.checksum = w[i] as TunnelSettings['checksum'];
        else ctx.fail(`Unknown tunnel option ${w[i]}`);
      }
      if (type === 'gue' && tunnel.port === undefined) ctx.fail('GUE tunnel requires a port');
      return { method: 'tunnel', tunnel };
    }
    ctx.fail(`Unknown tunnel type ${type ?? ''}`);
    return undefined;
  }
  ctx.fail(`PARSER : unknown [${kind ?? ''}] routing method for virtual server.`);
  return undefined;
}

export function vsTable(ctx: ParseContext): KeywordTable {
  const on = (fn: (d: VsDraft, w: string[], at: SourceLocation) => void): Keyword => ({
    handler: (w, at) => {
      if (ctx.vs) fn(ctx.vs, w, at);
    },
  });
  const set = (fn: (vs: VirtualServer) => void): Keyword => on((d) => fn(d.vs));
  const sched = on((d, w) => {
    if (w[1] !== undefined && SCHEDULERS.has(w[1])) {
      d.vs.scheduler = w[1];
      d.schedulerSet = true;
    } else ctx.fail(`Invalid lvs_scheduler '${w[1] ?? ''}' - ignoring`);
  });
  const method = on((d, w) => {
    const m = lvsMethod(ctx, w);
    if (m) {
      d.vs.forwardMethod = m.method;
      d.vs.tunnel = m.tunnel;
      d.methodSet = true;
    }
  });
  const entries: Array<[string, Keyword]> = [
    [
      'delay_loop',
      on((d, w) => {
        const v = readTimerMs(w[1], 0.000001, TIMER_MAX_S, ctx.fail);
        if (v === undefined) ctx.fail(`virtual server delay loop '${w[1] ?? ''}' invalid - ignoring`);
        else {
          d.vs.delayLoopMs = v;
          d.delayLoopSet = true;
        }
      }),
    ],
    ['lb_algo', sched],
    ['lvs_sched', sched],
    ['lb_kind', method],
    ['lvs_method', method],
    [
      'persistence_timeout',
      on((d, w) => {
        if (w[1] === undefined) d.vs.persistenceTimeout = 360;
        else {
          const v = readUnsigned(w[1], 1, 2678400, ctx.fail);
          if (v === undefined) ctx.fail(`persistence_timeout invalid`);
          else d.vs.persistenceTimeout = v;
        }
      }),
    ],
    ['persistence_granularity', on((d, w) => (d.vs.persistenceGranularity = w[1]))],
    ['persistence_engine', on((d, w) => (d.vs.persistenceEngine = w[1]))],
    [
      'protocol',
      on((d, w) => {
        const p = w[1];
        if (p === 'TCP' || p === 'UDP' || p === 'SCTP') {
          d.vs.protocol = p.toLowerCase() as VirtualServer['protocol'];
          d.protocolSet = true;
        } else ctx.fail(`Unknown protocol ${p ?? ''} - ignoring`);
      }),
    ],
    ['ops', set((vs) => (vs.ops = true))],
    ['flag-1', set((vs) => (vs.schedFlag1 = true))],
    ['flag-2', set((vs) => (vs.schedFlag2 = true))],
    ['flag-3', set((vs) => (vs.schedFlag3 = true))],
    ['sh-fallback', set((vs) => (vs.schedFlag1 = true))],
    ['sh-port', set((vs) => (vs.schedFlag2 = true))],
    ['mh-fallback', set((vs) => (vs.schedFlag1 = true))],
    ['mh-port', set((vs) => (vs.schedFlag2 = true))],
    // keepalived 2.2.7 (lbflags_handler) sets no flag for `hashed`, and refuses it unless lb_algo sh/mh came first.
    [
      'hashed',
      on((d, _w, at) => {
        if (d.vs.scheduler !== 'sh' && d.vs.scheduler !== 'mh') return ctx.fail('hashed only applies to sh scheduler - ignoring');
        ctx.engine.error('hashed has no effect: keepalived 2.2.7 sets no IPVS flag for it either', 'hashed', at, 'info');
      }),
    ],
    [
      'snmp_name',
      ctx.reported('lvskeeper has no SNMP agent', on((_d, w, at) => {
        if (w.length !== 2) return ctx.fail('virtual server snmp_name missing or extra parameters');
        ctx.engine.error(`snmp_name is not supported: lvskeeper has no SNMP agent, ${w[1]} is not used`, 'snmp_name', at, 'unsupported');
      })),
    ],
    [
      'sorry_server',
      on((d, w, at) => {
        const address = w[1];
        const family = address === undefined ? undefined : familyOf(address);
        if (address === undefined || family === undefined) return ctx.fail(`Invalid sorry_server address ${address ?? ''}`);
        let port = d.vs.key.kind === 'address' ? d.vs.key.port : 0;
        if (w[2] !== undefined) port = readUnsigned(w[2], 0, 65535, ctx.fail) ?? port;
        d.vs.sorryServer = { address, family, port, forwardMethod: d.vs.forwardMethod, inhibit: d.vs.sorryServer?.inhibit ?? false, location: at };
      }),
    ],
    [
      'sorry_server_inhibit',
      on((d, _w, at) => {
        if (d.vs.sorryServer) d.vs.sorryServer.inhibit = true;
        else d.earlySorryInhibit ??= at;
      }),
    ],
    [
      'sorry_server_lvs_method',
      on((d, w) => {
        const m = lvsMethod(ctx, w);
        if (m && d.vs.sorryServer) {
          d.vs.sorryServer.forwardMethod = m.method;
          d.vs.sorryServer.tunnel = m.tunnel;
        }
      }),
    ],
    ['quorum', on((d, w) => (d.vs.quorum = readUnsigned(w[1], 1, 2147483647, ctx.fail) ?? d.vs.quorum))],
    ['hysteresis', on((d, w) => (d.vs.hysteresis = readUnsigned(w[1], 0, 2147483647, ctx.fail) ?? d.vs.hysteresis))],
    ['quorum_up', on((d, w, at) => (d.vs.quorumUp = ctx.scriptCommand(w, at)))],
    ['quorum_down', on((d, w, at) => (d.vs.quorumDown = ctx.scriptCommand(w, at)))],
    ['alpha', set((vs) => (vs.alpha = true))],
    ['omega', set((vs) => (vs.omega = true))],
    ['ha_suspend', set((vs) => (vs.haSuspend = true))],
    ['inhibit_on_failure', on((d, w) => (d.vs.inhibitOnFailure = readFlag(w, ctx.fail)))],
    ['connect_timeout', on((d, w) => (d.vs.connectTimeoutMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, ctx.fail) ?? d.vs.connectTimeoutMs))],
    ['retry', on((d, w) => (d.vs.retry = readUnsigned(w[1], 0, 4294967295, ctx.fail) ?? d.vs.retry))],
    ['delay_before_retry', on((d, w) => (d.vs.delayBeforeRetryMs = readTimerMs(w[1], 0, TIMER_MAX_S, ctx.fail) ?? d.vs.delayBeforeRetryMs))],
    [
      'warmup',
      on((d, w) => {
        const v = readTimerMs(w[1], 0, TIMER_MAX_S, ctx.fail);
        if (v !== undefined) {
          d.vs.warmupMs = v;
          d.warmupSet = true;
        }
      }),
    ],
    ['weight', on((d, w) => (d.weight = readInt(w[1], 0, 2147483647, ctx.fail) ?? d.weight))],
    ['virtualhost', on((d, w) => (d.vs.virtualhost = w[1]))],
    ['smtp_alert', on((d, w) => (d.vs.smtpAlert = readFlag(w, ctx.fail)))],
    [
      'ip_family',
      on((d, w) => {
        if (w[1] === 'inet' || w[1] === 'inet6') d.vs.ipFamily = w[1];
        else ctx.fail(`Unknown address family ${w[1] ?? ''}`);
      }),
    ],
    ['real_server', { sub: rsTable(ctx), handler: (w, at) => openRs(ctx, w, at), close: () => (ctx.rs = undefined) }],
  ];
  return table(entries);
}

function openRs(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const vsd = ctx.vs;
  const address = w[1];
  const family = address === undefined ? undefined : familyOf(address);
  if (vsd === undefined || address === undefined || family === undefined) {
    if (vsd !== undefined) ctx.fail(`Invalid real server ip address/port ${address ?? ''} - skipping`);
    ctx.rs = undefined;
    ctx.engine.skipBlock();
    return;
  }
  let port = vsd.vs.key.kind === 'address' ? vsd.vs.key.port : 0;
  let portSet = false;
  if (w[2] !== undefined) {
    const p = readUnsigned(w[2], 0, 65535, ctx.fail);
    if (p === undefined) {
      ctx.rs = undefined;
      ctx.engine.skipBlock();
      return;
    }
    port = p;
    portSet = true;
  }
  const rs: RealServer = {
    location: at,
    address,
    family,
    port,
    weight: vsd.weight,
    forwardMethod: vsd.vs.forwardMethod,
    inhibitOnFailure: vsd.vs.inhibitOnFailure,
    upperThreshold: 0,
    lowerThreshold: 0,
    alpha: false,
    smtpAlert: true,
    delayLoopMs: 0,
    warmupMs: 0,
    checkers: [],
  };
  // Every field present from the start: one hidden class for all drafts keeps big configs fast.
  ctx.rs = {
    rs,
    portSet,
    delayLoopMs: undefined,
    connectTimeoutMs: undefined,
    retry: undefined,
    delayBeforeRetryMs: undefined,
    warmupMs: undefined,
    alpha: undefined,
    weightSet: false,
    methodSet: false,
    inhibitSet: false,
    checkers: [],
  };
  vsd.rs.push(ctx.rs);
}

function rsTable(ctx: ParseContext): KeywordTable {
  const on = (fn: (d: RsDraft, w: string[], at: SourceLocation) => void): Keyword => ({
    handler: (w, at) => {
      if (ctx.rs) fn(ctx.rs, w, at);
    },
  });
  const entries: Array<[string, Keyword]> = [
    [
      'weight',
      on((d, w) => {
        const v = readInt(w[1], 0, 2147483647, ctx.fail);
        if (v !== undefined) {
          d.rs.weight = v;
          d.weightSet = true;
        }
      }),
    ],
    [
      'lvs_method',
      on((d, w) => {
        const m = lvsMethod(ctx, w);
        if (m) {
          d.rs.forwardMethod = m.method;
          d.rs.tunnel = m.tunnel;
          d.methodSet = true;
        }
      }),
    ],
    ['inhibit_on_failure', on((d, w) => ((d.rs.inhibitOnFailure = readFlag(w, ctx.fail)), (d.inhibitSet = true)))],
    ['notify_up', on((d, w, at) => (d.rs.notifyUp = ctx.scriptCommand(w, at)))],
    ['notify_down', on((d, w, at) => (d.rs.notifyDown = ctx.scriptCommand(w, at)))],
    ['uthreshold', on((d, w) => (d.rs.upperThreshold = readUnsigned(w[1], 0, 4294967295, ctx.fail) ?? 0))],
    ['lthreshold', on((d, w) => (d.rs.lowerThreshold = readUnsigned(w[1], 0, 4294967295, ctx.fail) ?? 0))],
    ['virtualhost', on((d, w) => (d.rs.virtualhost = w[1]))],
    ['alpha', on((d, w) => (d.alpha = readFlag(w, ctx.fail)))],
    ['smtp_alert', on((d, w) => (d.smtpAlert = readFlag(w, ctx.fail)))],
    ['delay_loop', on((d, w) => (d.delayLoopMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, ctx.fail) ?? d.delayLoopMs))],
    ['connect_timeout', on((d, w) => (d.connectTimeoutMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, ctx.fail) ?? d.connectTimeoutMs))],
    ['retry', on((d, w) => (d.retry = readUnsigned(w[1], 0, 4294967295, ctx.fail) ?? d.retry))],
    ['delay_before_retry', on((d, w) => (d.delayBeforeRetryMs = readTimerMs(w[1], 0, TIMER_MAX_S, ctx.fail) ?? d.delayBeforeRetryMs))],
    ['warmup', on((d, w) => (d.warmupMs = readTimerMs(w[1], 0, TIMER_MAX_S, ctx.fail) ?? d.warmupMs))],
  ];
  for (const kind of ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'SMTP_CHECK', 'DNS_CHECK', 'MISC_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'] as const) {
    const checker: Keyword = { sub: checkerTable(ctx, kind), handler: (w, at) => openChecker(ctx, kind, w, at), close: () => closeChecker(ctx) };
    if (kind === 'BFD_CHECK') checker.status = { kind: 'warns', why: 'lvskeeper has no BFD: the real server does not follow a BFD session' };
    entries.push([kind, checker]);
  }
  return table(entries);
}
