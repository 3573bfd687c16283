// One virtual_routes / static_routes line and one virtual_rules / static_rules line → typed specs, as
// keepalived 2.2.7's alloc_route (vrrp_iproute.c) and alloc_rule (vrrp_iprule.c) read them: the same
// keywords, defaults (table main, protocol keepalived, rule preferences from 16384 down) and messages.
// A line with an error is dropped (keepalived's `goto err`); messages that keepalived only reports keep
// the line. Pure: files from /etc/iproute2 come through RouteParseContext.readFile.

import type { AddressFamily, IpPrefix, RouteMetric, RouteSpec, RouteType, RuleAction, RuleSpec, SourceLocation } from './model.js';
import { familyOf } from './values.js';

export type RouteReport = (message: string, at: SourceLocation, severity?: 'error' | 'info') => void;

export interface RouteParseContext {
  report: RouteReport;
  /** Reads an iproute2 names file (rt_tables, rt_protos, rt_scopes, rt_dsfield); undefined when absent. */
  readFile?: ((path: string) => string | undefined) | undefined;
  /** keepalived's next preference for a rule without one, per family (vrrp_iprule.c RULE_START_PRIORITY). */
  nextRulePriority: Record<AddressFamily, number>;
  /** Names files already read (by file name). */
  names?: Map<string, Map<string, number>> | undefined;
}

/** RULE_START_PRIORITY: rules without a preference get 16384, 16383, … per family, in file order. */
export const RULE_START_PRIORITY = 16384;
export const RTPROT_KEEPALIVED = 18;
const RT_TABLE_MAIN = 254;

export function routeParseContext(report: RouteReport, readFile?: (path: string) => string | undefined): RouteParseContext {
  return { report, readFile, nextRulePriority: { inet: RULE_START_PRIORITY, inet6: RULE_START_PRIORITY }, names: new Map() };
}

// --- iproute2 names (keepalived lib/rttables.c) --------------------------------------------------------------

// A Map, not an object: a word such as `toString` must not find Object.prototype's (found by fuzzing).
const ROUTE_TYPES: ReadonlyMap<string, RouteType> = new Map(Object.entries({
  local: 'local',
  nat: 'nat',
  broadcast: 'broadcast',
  brd: 'broadcast',
  anycast: 'anycast',
  multicast: 'multicast',
  prohibit: 'prohibit',
  unreachable: 'unreachable',
  blackhole: 'blackhole',
  xresolve: 'xresolve',
  unicast: 'unicast',
  throw: 'throw',
}));

const DEFAULT_NAMES: Record<string, Record<string, number>> = {
  rt_tables: { default: 253, main: 254, local: 255 },
  // keepalived's built-in list, plus `keepalived` (iproute2's rt_protos has had it since 2017).
  rt_protos: { none: 0, redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10, zebra: 11, bird: 12, dnrouted: 13, xorp: 14, ntk: 15, dhcp: 16, keepalived: 18, babel: 42 },
  rt_scopes: { global: 0, nowhere: 255, host: 254, link: 253, site: 200 },
  rt_dsfield: {},
};

/** `NUMBER NAME` lines (# comments); lines of any other shape and out-of-range numbers are skipped, as keepalived's read_file. */
export function parseNamesFile(text: string, max: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const w = line.split(/\s+/);
    if (w.length !== 2) continue;
    const id = readNumber(w[0]!, max);
    if (id !== undefined && !out.has(w[1]!)) out.set(w[1]!, id);
  }
  return out;
}

/** strtoul(…, 0) as keepalived reads numbers: decimal, 0x hex or 0 octal, no sign. */
function readNumber(text: string, max: number): number | undefined {
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(text)) v = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) v = parseInt(text, 8);
  else if (/^\d+$/.test(text)) v = Number(text);
  else return undefined;
  return Number.isSafeInteger(v) && v <= max ? v : undefined;
}

/** A number, or a name from /etc/iproute2/FILE (then /usr/share/iproute2/FILE) or keepalived's defaults. */
function lookupName(ctx: RouteParseContext, file: keyof typeof DEFAULT_NAMES, text: string, max: number): number | undefined {
  const n = readNumber(text, max);
  if (n !== undefined || /^\d/.test(text)) return n;
  ctx.names ??= new Map();
  let names = ctx.names.get(file);
  if (names === undefined) {
    const content = ctx.readFile?.(`/etc/iproute2/${file}`) ?? ctx.readFile?.(`/usr/share/iproute2/${file}`);
    names = content === undefined ? new Map() : parseNamesFile(content, max);
    for (const [name, id] of Object.entries(DEFAULT_NAMES[file]!)) {
      // keepalived adds a default only when the file has no entry with its number
      if (![...names.values()].includes(id)) names.set(name, id);
    }
    ctx.names.set(file, names);
  }
  return names.get(text);
}

// --- addresses (keepalived parse_ipaddress / parse_route) ----------------------------------------------------

interface ParsedPrefix extends IpPrefix {
  /** undefined: `default`/`any`/`all` (the family comes from the rest of the line). */
  family: AddressFamily | undefined;
}

function parseAddress(text: string): { family: AddressFamily; address: string } | undefined {
  const family = familyOf(text);
  return family === undefined || text.includes('%') ? undefined : { family, address: text };
}

/** parse_route: `default`/`any`/`all`, `default6` (deprecated), or ADDR[/LEN] (a bad LEN is reported and the host length used). */
function parsePrefixWord(text: string, at: SourceLocation, ctx: RouteParseContext): ParsedPrefix | undefined {
  if (text === 'default' || text === 'any' || text === 'all') return { family: undefined, address: '', prefixLength: 0 };
  if (text === 'default6') {
    ctx.report("'default6' is deprecated - please replace with 'inet6 default'", at, 'info');
    return { family: 'inet6', address: '::', prefixLength: 0 };
  }
  const slash = text.indexOf('/');
  const a = parseAddress(slash >= 0 ? text.slice(0, slash) : text);
  if (a === undefined) return undefined;
  const max = a.family === 'inet' ? 32 : 128;
  let prefixLength = max;
  if (slash >= 0) {
    const len = text.slice(slash + 1);
    if (/^\d{1,3}$/.test(len) && Number(len) <= max) prefixLength = Number(len);
    else ctx.report(`Invalid address prefix len ${len} for address ${text} - using ${max}`, at);
  }
  return { family: a.family, address: a.address, prefixLength };
}

function settle(p: ParsedPrefix, family: AddressFamily): IpPrefix {
  return { address: p.prefixLength === 0 && p.family === undefined ? (family === 'inet' ? '0.0.0.0' : '::') : p.address, prefixLength: p.prefixLength };
}

const IFNAME_MAX = 15;

// --- routes ------------------------------------------------------------------------------------------------

/** Route metrics keepalived reads as `NAME [lock] VALUE` (lockable) or `NAME VALUE`, with its error phrase. */
const METRIC_WORDS: Record<string, { metric: RouteMetric; lockable: boolean; max: number; what: string }> = {
  mtu: { metric: 'mtu', lockable: true, max: 0xffffffff, what: 'MTU %s' },
  advmss: { metric: 'advmss', lockable: true, max: 0xffffffff, what: 'advmss %s' },
  hoplimit: { metric: 'hoplimit', lockable: false, max: 255, what: 'hoplimit %s' },
  window: { metric: 'window', lockable: false, max: 0xffffffff, what: 'window value %s' },
  cwnd: { metric: 'cwnd', lockable: true, max: 0xffffffff, what: 'cwnd value %s' },
  ssthresh: { metric: 'ssthresh', lockable: true, max: 0xffffffff, what: 'ssthresh value %s' },
  reordering: { metric: 'reordering', lockable: true, max: 0xffffffff, what: 'reordering value %s' },
  initcwnd: { metric: 'initcwnd', lockable: false, max: 0xffffffff, what: 'initcwnd value %s' },
  initrwnd: { metric: 'initrwnd', lockable: false, max: 0xffffffff, what: 'initrwnd value %s' },
};

/** keepalived 2.2.7 options lvskeeper does not send (yet): the route is not set rather than set differently. */
const UNSUPPORTED_ROUTE_WORDS = new Set(['encap', 'expires', 'rtt', 'rttvar', 'rto_min', 'realms', 'features', 'quickack', 'congctl', 'pref', 'ttl-propagate', 'fastopen_no_cookie', 'vrf']);

class Drop extends Error {}

/**
 * One route line (`words` without the block's braces). `isStatic`: a static_routes line, where
 * track_group is allowed (accepted, and ignored: lvskeeper does not track static routes).
 */
export function parseRouteLine(words: readonly string[], at: SourceLocation, ctx: RouteParseContext, isStatic = false): RouteSpec | undefined {
  const fail = (message: string): never => {
    ctx.report(message, at);
    throw new Drop();
  };
  let family: AddressFamily | undefined;
  const setFamily = (f: AddressFamily, message = 'Cannot mix IPv4 and IPv6 addresses for route'): void => {
    if (family === undefined) family = f;
    else if (family !== f) fail(message);
  };
  let dst: ParsedPrefix | undefined;
  let dstText = '';
  let source: ParsedPrefix | undefined;
  let type: RouteType | undefined;
  let preferredSource: string | undefined;
  let via: { family: AddressFamily; address: string } | undefined;
  let dev: string | undefined;
  let scope: number | undefined;
  let table = RT_TABLE_MAIN;
  let metric: number | undefined;
  let protocol: number | undefined;
  let tos: number | undefined;
  let onlink = false;
  const metrics: Partial<Record<RouteMetric, number>> = {};
  const locked: RouteMetric[] = [];
  let mode: 'prepend' | 'add' | 'append' | undefined;
  let noTrack = false;
  let trackGroup: string | undefined;

  try {
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      const value = (): string => {
        const v = words[++i];
        return v ?? fail(`Route keyword ${w} has no value - skipping route`);
      };
      if (w === 'inet6' || w === 'inet') {
        setFamily(w, `${w} specified for ${w === 'inet' ? 'IPv6' : 'IPv4'} route`);
      } else if (w === 'src') {
        const v = value();
        const a = parseAddress(v) ?? fail(`invalid route src address ${v}`);
        setFamily(a.family);
        preferredSource = a.address;
      } else if (w === 'as') {
        if (words[i + 1] === 'to') i++;
        i++;
        ctx.report('"as to" for MPLS only - ignoring', at);
      } else if (w === 'via' || w === 'gw') {
        if (w === 'gw') ctx.report('"gw" for routes is deprecated. Please use "via"', at);
        let v = value();
        // `via inet6 ADDR` names the gateway's family: an IPv4 route through an IPv6 next hop (RTA_VIA).
        // (keepalived 2.2.7 parses it but then refuses the mixed families; lvskeeper sends it.)
        let explicit: AddressFamily | undefined;
        if (v === 'inet' || v === 'inet6') {
          explicit = v;
          v = value();
        }
        const a = parseAddress(v) ?? fail(`invalid route via address ${v}`);
        if (explicit !== undefined && a.family !== explicit) fail(`invalid route via address ${v}`);
        if (explicit === undefined) setFamily(a.family);
        via = a;
      } else if (w === 'from') {
        const v = value();
        const p = parsePrefixWord(v, at, ctx) ?? fail(`invalid route from address ${v}`);
        if (p.family !== 'inet6') fail(`route from address only supported with IPv6 (${v})`);
        setFamily('inet6');
        source = p;
      } else if (w === 'tos' || w === 'dsfield') {
        const v = value();
        tos = lookupName(ctx, 'rt_dsfield', v, 255) ?? fail(`TOS value ${v} is invalid`);
      } else if (w === 'table') {
        const v = value();
        table = lookupName(ctx, 'rt_tables', v, 0xffffffff) ?? fail(`Routing table ${v} not found for route`);
      } else if (w === 'protocol') {
        const v = value();
        protocol = lookupName(ctx, 'rt_protos', v, 255) ?? fail(`Protocol ${v} not found or invalid for route`);
      } else if (w === 'scope') {
        const v = value();
        scope = lookupName(ctx, 'rt_scopes', v, 255) ?? fail(`Scope ${v} not found or invalid for route`);
      } else if (w === 'metric' || w === 'priority' || w === 'preference') {
        const v = value();
        metric = readNumber(v, 0xffffffff) ?? fail(`Invalid metric ${v} specified for route`);
      } else if (w === 'dev' || w === 'oif') {
        const v = value();
        if (Buffer.byteLength(v) > IFNAME_MAX) fail(`WARNING - interface ${v} for VROUTE nexthop doesn't exist`);
        dev = v;
      } else if (w === 'onlink') {
        onlink = true;
      } else if (Object.hasOwn(METRIC_WORDS, w)) {
        const m = METRIC_WORDS[w]!;
        let v = value();
        if (m.lockable && v === 'lock') {
          if (!locked.includes(m.metric)) locked.push(m.metric);
          v = value();
        }
        metrics[m.metric] = readNumber(v, m.max) ?? fail(`Invalid ${m.what.replace('%s', v)} specified for route`);
      } else if (w === 'add') {
        mode = 'add';
      } else if (w === 'prepend') {
        mode = undefined; // keepalived's default
      } else if (w === 'append') {
        mode = 'append';
      } else if (w === 'nexthop' || w === 'or') {
        fail(`multipath routes ('${w}') are not supported by lvskeeper - route skipped`);
      } else if (UNSUPPORTED_ROUTE_WORDS.has(w)) {
        fail(`route option '${w}' is not supported by lvskeeper - route skipped`);
      } else if (w === 'no_track') {
        noTrack = true;
      } else if (isStatic && w === 'track_group') {
        const v = value();
        if (trackGroup !== undefined) {
          ctx.report(`track_group ${v} is a duplicate`, at);
          break; // keepalived stops reading the line here
        }
        trackGroup = v;
      } else {
        // [to] [TYPE] DESTINATION
        let d = w;
        if (d === 'to') d = value();
        const t = ROUTE_TYPES.get(d);
        if (t !== undefined) {
          type = t;
          d = value();
        }
        dstText = d;
        dst = parsePrefixWord(d, at, ctx) ?? fail(`unknown route keyword ${d}`);
        if (dst.family !== undefined) setFamily(dst.family, `Cannot mix IPv4 and IPv6 addresses for route (${d})`);
      }
    }
    if (dst === undefined) fail('Route must have a destination');
  } catch (e) {
    if (e instanceof Drop) return undefined;
    throw e;
  }

  if (!noTrack) {
    if (protocol !== undefined && protocol !== RTPROT_KEEPALIVED) {
      ctx.report(`Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(${RTPROT_KEEPALIVED}), resetting protocol`, at);
    }
    protocol = RTPROT_KEEPALIVED;
    if (dev === undefined) {
      ctx.report(`Warning - cannot track route ${dstText} with no interface specified, not tracking`, at);
      noTrack = true;
    }
  }
  if (trackGroup !== undefined) {
    if (dev === undefined) ctx.report('Static route cannot have track group if no oif specified', at);
    else ctx.report(`track_group ${trackGroup} is ignored: lvskeeper does not track static routes`, at, 'info');
  }
  const fam: AddressFamily = family ?? 'inet';
  const route: RouteSpec = {
    family: fam,
    destination: settle(dst!, fam),
    table,
    // netlink_route: RTPROT_KEEPALIVED unless a protocol was configured (possible only with no_track)
    protocol: protocol ?? RTPROT_KEEPALIVED,
    noTrack,
    location: at,
  };
  if (type !== undefined) route.type = type;
  if (source !== undefined) route.source = settle(source, fam);
  if (preferredSource !== undefined) route.preferredSource = preferredSource;
  if (via !== undefined) route.via = via;
  if (dev !== undefined) route.interface = dev;
  if (scope !== undefined) route.scope = scope;
  if (metric !== undefined) route.metric = metric;
  if (tos !== undefined) route.tos = tos;
  if (onlink) route.onlink = true;
  if (Object.keys(metrics).length > 0) route.metrics = metrics;
  if (locked.length > 0) route.locked = locked;
  if (mode !== undefined) route.mode = mode;
  return route;
}

// --- rules -------------------------------------------------------------------------------------------------

const UNSUPPORTED_RULE_WORDS = new Set(['realms', 'suppress_ifgroup', 'sup_group', 'tunnel-id', 'ipproto', 'sport', 'dport']);

/** One rule line. `isStatic`: a static_rules line (track_group accepted and ignored). */
export function parseRuleLine(words: readonly string[], at: SourceLocation, ctx: RouteParseContext, isStatic = false): RuleSpec | undefined {
  const fail = (message: string): never => {
    ctx.report(message, at);
    throw new Drop();
  };
  let family: AddressFamily | undefined;
  const mixed = (f: AddressFamily): void => {
    if (family === undefined) family = f;
    else if (family !== f) fail('rule specification has mixed IPv4 and IPv6');
  };
  let from: ParsedPrefix | undefined;
  let to: ParsedPrefix | undefined;
  let action: RuleAction | undefined;
  let table: number | undefined;
  let gotoTarget: number | undefined;
  let invert = false;
  let priority: number | undefined;
  let tos: number | undefined;
  let fwmark: number | undefined;
  let fwmask: number | undefined;
  let suppressPrefixLength: number | undefined;
  let tableOption = false;
  let iif: string | undefined;
  let oif: string | undefined;
  let uidRange: { start: number; end: number } | undefined;
  let l3mdev = false;
  let protocol: number | undefined;
  let noTrack = false;
  let trackGroup: string | undefined;
  const setAction = (a: RuleAction): void => {
    if (action !== undefined) fail('Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule');
    action = a;
  };

  try {
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      const value = (): string => {
        const v = words[++i];
        return v ?? fail(`Rule keyword ${w} has no value - skipping rule`);
      };
      const ifname = (): string => {
        const v = value();
        if (Buffer.byteLength(v) > IFNAME_MAX) fail(`WARNING - interface ${v} for rule doesn't exist`);
        return v;
      };
      if (w === 'inet6' || w === 'inet') {
        if (family === undefined) family = w;
        else if (family !== w) fail(`${w} specified for ${w === 'inet' ? 'IPv6' : 'IPv4'} rule`);
      } else if (w === 'from' || w === 'to') {
        const v = value();
        const p = parsePrefixWord(v, at, ctx) ?? fail(`Invalid rule ${w} address ${v}`);
        if (p.family !== undefined) mixed(p.family);
        if (w === 'from') from = p;
        else to = p;
      } else if (w === 'table' || w === 'lookup') {
        const v = value();
        const t = lookupName(ctx, 'rt_tables', v, 0xffffffff) ?? fail(`Routing table ${v} not found for rule`);
        if (t === 0) fail('Table 0 is not valid');
        table = t;
        if (action !== undefined) fail('Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule');
        action = 'table';
      } else if (w === 'not') {
        invert = true;
      } else if (w === 'preference' || w === 'order' || w === 'priority') {
        const v = value();
        priority = readNumber(v, 0xffffffff) ?? fail(`Invalid rule preference ${v} specified`);
      } else if (w === 'tos' || w === 'dsfield') {
        const v = value();
        tos = lookupName(ctx, 'rt_dsfield', v, 255) ?? fail(`TOS value ${v} is invalid`);
      } else if (w === 'fwmark') {
        const v = value();
        const m = /^([^/]+)(?:\/(.+))?$/.exec(v);
        const mark = m ? readNumber(m[1]!, 0xffffffff) : undefined;
        const mask = m?.[2] !== undefined ? readNumber(m[2], 0xffffffff) : undefined;
        if (mark === undefined || (m?.[2] !== undefined && mask === undefined)) fail(`Invalid rule fwmark ${v} specified`);
        fwmark = mark;
        fwmask = mask;
      } else if (w === 'suppress_prefixlength' || w === 'sup_pl') {
        const v = value();
        suppressPrefixLength = readNumber(v, 0x7fffffff) ?? fail(`Invalid suppress_prefixlength ${v} specified`);
        tableOption = true;
      } else if (w === 'dev' || w === 'iif') {
        iif = ifname();
      } else if (w === 'oif') {
        oif = ifname();
      } else if (w === 'uidrange') {
        const v = value();
        const m = /^(\d+)-(\d+)$/.exec(v);
        const start = m ? readNumber(m[1]!, 0xffffffff) : undefined;
        const end = m ? readNumber(m[2]!, 0xffffffff) : undefined;
        if (start === undefined || end === undefined) fail(`Invalid uidrange ${v} specified`);
        uidRange = { start: start!, end: end! };
      } else if (w === 'l3mdev') {
        l3mdev = true;
        if (action !== undefined) fail('Cannot specify l3mdev with other action');
        action = 'table';
      } else if (w === 'protocol') {
        // keepalived reports a bad value and keeps the rule
        const v = value();
        const p = readNumber(v, 255);
        if (p === undefined) ctx.report(`Invalid protocol ${v}`, at);
        else protocol = p;
      } else if (UNSUPPORTED_RULE_WORDS.has(w)) {
        fail(`rule option '${w}' is not supported by lvskeeper - rule skipped`);
      } else if (w === 'no_track') {
        noTrack = true;
      } else if (isStatic && w === 'track_group') {
        const v = value();
        if (trackGroup !== undefined) {
          ctx.report(`track_group ${v} is a duplicate`, at);
          break;
        }
        trackGroup = v;
      } else {
        const a = w === 'type' ? value() : w;
        if (a === 'goto') {
          const v = value();
          gotoTarget = readNumber(v, 0xffffffff) ?? fail(`Invalid target ${v} specified`);
          setAction('goto');
        } else if (a === 'nop') setAction('nop');
        else if (a === 'blackhole' || a === 'unreachable' || a === 'prohibit') setAction(a);
        else if (ROUTE_TYPES.has(a)) fail(`Invalid rule action ${a}`);
        else fail(`Unknown rule option ${a}`);
      }
    }
    if (action === 'goto') {
      if (priority === undefined) fail(`Invalid rule - goto target ${gotoTarget} specified without preference`);
      if (priority! >= gotoTarget!) fail(`Invalid rule - preference ${priority} >= goto target ${gotoTarget}`);
    }
    if (action === undefined) fail('No action specified for rule - ignoring');
    if (action !== 'table' && tableOption) fail('suppressor/realm specified for non table action - skipping');
    if (table !== undefined && l3mdev) fail('table cannot be specified for l3mdev rules');
  } catch (e) {
    if (e instanceof Drop) return undefined;
    throw e;
  }

  if (!noTrack) {
    if (protocol !== undefined && protocol !== RTPROT_KEEPALIVED) {
      ctx.report(`Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(${RTPROT_KEEPALIVED}), resetting protocol`, at);
    }
    protocol = RTPROT_KEEPALIVED;
  }
  if (trackGroup !== undefined) {
    if (iif === undefined) ctx.report('Static rule cannot have track_group if dev/iif not specified', at);
    else ctx.report(`track_group ${trackGroup} is ignored: lvskeeper does not track static rules`, at, 'info');
  }
  const fam: AddressFamily = family ?? 'inet';
  if (priority === undefined) {
    priority = ctx.nextRulePriority[fam]--;
    ctx.report(`Rule has no preference specified - setting to ${priority}. This is probably not what you want.`, at);
  }
  const rule: RuleSpec = { family: fam, priority, action: action!, noTrack, location: at };
  if (from !== undefined) rule.from = settle(from, fam);
  if (to !== undefined) rule.to = settle(to, fam);
  if (invert) rule.invert = true;
  if (tos !== undefined) rule.tos = tos;
  if (fwmark !== undefined) rule.fwmark = fwmark;
  if (fwmask !== undefined) rule.fwmask = fwmask;
  if (iif !== undefined) rule.iif = iif;
  if (oif !== undefined) rule.oif = oif;
  if (table !== undefined) rule.table = table;
  if (gotoTarget !== undefined) rule.gotoTarget = gotoTarget;
  if (l3mdev) rule.l3mdev = true;
  if (suppressPrefixLength !== undefined) rule.suppressPrefixLength = suppressPrefixLength;
  if (uidRange !== undefined) rule.uidRange = uidRange;
  if (protocol !== undefined) rule.protocol = protocol;
  return rule;
}
