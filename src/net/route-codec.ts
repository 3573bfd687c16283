// Every byte of the route and rule requests (rtmsg + RTA_*, fib_rule_hdr + FRA_*), shaped as keepalived
// 2.2.7 builds them (vrrp_iproute.c netlink_route, vrrp_iprule.c netlink_rule) so that the kernel sees
// the same requests from both daemons. Constants from include/uapi/linux/rtnetlink.h and fib_rules.h.
// Host byte order (little endian) as the kernel expects, except addresses (network order).

import { ipv4ToBytes, ipv6ToBytes } from './packet-codec.js';
import { attr, familyNumber, NLM_F_CREATE, NLM_F_EXCL, u32 } from './rtnetlink-codec.js';
import type { Family, IpPrefix, IpRoute, IpRule, RouteMetric, RouteType, RuleAction } from './types.js';

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;

export const NLM_F_REPLACE = 0x100;
export const NLM_F_APPEND = 0x800;

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_NOWHERE = 255;
export const RTPROT_KEEPALIVED = 18;
export const RTNH_F_ONLINK = 4;
export const FIB_RULE_INVERT = 0x2;

const RTA_DST = 1;
const RTA_SRC = 2;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTA_VIA = 18;

const RTAX_LOCK = 1;
export const RTAX: Record<RouteMetric, number> = {
  mtu: 2,
  window: 3,
  ssthresh: 6,
  cwnd: 7,
  advmss: 8,
  reordering: 9,
  hoplimit: 10,
  initcwnd: 11,
  initrwnd: 14,
};

export const RTN: Record<RouteType, number> = {
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
  nat: 10,
  xresolve: 11,
};

const FRA_DST = 1;
const FRA_SRC = 2;
const FRA_IIFNAME = 3;
const FRA_GOTO = 4;
const FRA_PRIORITY = 6;
const FRA_FWMARK = 10;
const FRA_SUPPRESS_PREFIXLEN = 14;
const FRA_TABLE = 15;
const FRA_FWMASK = 16;
const FRA_OIFNAME = 17;
const FRA_L3MDEV = 19;
const FRA_UID_RANGE = 20;
const FRA_PROTOCOL = 21;

export const FR_ACT: Record<RuleAction, number> = { table: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8 };

/** IFNAMSIZ − 1: longer names cannot exist, and the kernel rejects them in FRA_*IFNAME. */
const IFNAME_MAX = 15;

function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`bad ${what} ${v}`);
  return v;
}

function addressBytes(family: Family, address: string): Buffer {
  return family === 'inet' ? ipv4ToBytes(address) : ipv6ToBytes(address);
}

function prefixAttr(type: number, family: Family, p: IpPrefix): Buffer | undefined {
  const max = family === 'inet' ? 32 : 128;
  if (!Number.isInteger(p.prefixLength) || p.prefixLength < 0 || p.prefixLength > max) {
    throw new Error(`bad prefix length /${p.prefixLength} for ${p.address}`);
  }
  // `default` (length 0) carries no address: as keepalived, whose parse_route leaves it empty.
  return p.prefixLength === 0 ? undefined : attr(type, addressBytes(family, p.address));
}

function ifname(name: string): Buffer {
  if (name.length === 0 || Buffer.byteLength(name) > IFNAME_MAX) throw new Error(`bad interface name "${name}"`);
  return Buffer.from(`${name}\0`);
}

// --- routes (rtmsg: u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags) -----------------

/** nlmsg flags of RTM_NEWROUTE: keepalived's default is `prepend` (no NLM_F_EXCL: `ip route prepend`). */
export function routeAddFlags(route: Pick<IpRoute, 'mode'>): number {
  if (route.mode === 'add') return NLM_F_CREATE | NLM_F_EXCL;
  if (route.mode === 'append') return NLM_F_CREATE | NLM_F_APPEND;
  return NLM_F_CREATE;
}

/**
 * RTM_NEWROUTE / RTM_DELROUTE payload. `ifindex` is the index of route.interface (0: none). A delete
 * carries scope NOWHERE (match any) and a type only when one was configured, as keepalived's does.
 */
export function encodeRouteRequest(route: IpRoute, ifindex: number, forDelete = false): Buffer {
  const family = route.family;
  const table = checkU32(route.table, 'routing table');
  const head = Buffer.alloc(12);
  head[0] = familyNumber(family);
  head[1] = route.destination.prefixLength;
  head[2] = route.source?.prefixLength ?? 0;
  head[3] = route.tos ?? 0;
  head[4] = table < 256 ? table : RT_TABLE_UNSPEC;
  head[5] = route.protocol;
  head[6] = route.scope ?? (forDelete ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE);
  head[7] = route.type !== undefined ? RTN[route.type] : forDelete ? 0 : RTN.unicast;
  head.writeUInt32LE(route.onlink ? RTNH_F_ONLINK : 0, 8);
  const parts: Buffer[] = [head];
  if (table >= 256) parts.push(attr(RTA_TABLE, u32(table)));
  const dst = prefixAttr(RTA_DST, family, route.destination);
  if (dst) parts.push(dst);
  if (route.source) {
    const src = prefixAttr(RTA_SRC, family, route.source);
    if (src) parts.push(src);
  }
  if (route.preferredSource !== undefined) parts.push(attr(RTA_PREFSRC, addressBytes(family, route.preferredSource)));
  if (route.via) {
    const gw = addressBytes(route.via.family, route.via.address);
    if (route.via.family === family) parts.push(attr(RTA_GATEWAY, gw));
    else {
      // struct rtvia: u16 family (host order), then the address
      const v = Buffer.alloc(2 + gw.length);
      v.writeUInt16LE(familyNumber(route.via.family), 0);
      gw.copy(v, 2);
      parts.push(attr(RTA_VIA, v));
    }
  }
  if (ifindex > 0) parts.push(attr(RTA_OIF, u32(ifindex)));
  if (route.metric !== undefined) parts.push(attr(RTA_PRIORITY, u32(checkU32(route.metric, 'metric'))));
  const metrics: Buffer[] = [];
  for (const [name, type] of Object.entries(RTAX) as [RouteMetric, number][]) {
    const v = route.metrics?.[name];
    if (v !== undefined) metrics.push(attr(type, u32(checkU32(v, name))));
  }
  if (metrics.length > 0) {
    let lock = 0;
    for (const m of route.locked ?? []) lock |= 1 << RTAX[m];
    if (lock !== 0) metrics.push(attr(RTAX_LOCK, u32(lock)));
    parts.push(attr(RTA_METRICS, Buffer.concat(metrics)));
  }
  return Buffer.concat(parts);
}

// --- rules (fib_rule_hdr: u8 family, dst_len, src_len, tos, table, res1, res2, action; u32 flags) ------------

/** RTM_NEWRULE (sent with NLM_F_CREATE | NLM_F_EXCL, as keepalived) / RTM_DELRULE payload: the same bytes. */
export function encodeRuleRequest(rule: IpRule): Buffer {
  const family = rule.family;
  const head = Buffer.alloc(12);
  head[0] = familyNumber(family);
  head[1] = rule.to?.prefixLength ?? 0;
  head[2] = rule.from?.prefixLength ?? 0;
  head[3] = rule.tos ?? 0;
  const parts: Buffer[] = [head];
  if (rule.action === 'table' && !rule.l3mdev) {
    const table = checkU32(rule.table ?? 0, 'routing table');
    if (table < 256) head[4] = table === 0 ? RT_TABLE_MAIN : table;
    else parts.push(attr(FRA_TABLE, u32(table)));
  }
  head[7] = FR_ACT[rule.action];
  head.writeUInt32LE(rule.invert ? FIB_RULE_INVERT : 0, 8);
  if (rule.from) {
    const a = prefixAttr(FRA_SRC, family, rule.from);
    if (a) parts.push(a);
  }
  if (rule.to) {
    const a = prefixAttr(FRA_DST, family, rule.to);
    if (a) parts.push(a);
  }
  parts.push(attr(FRA_PRIORITY, u32(checkU32(rule.priority, 'rule priority'))));
  if (rule.fwmark !== undefined) parts.push(attr(FRA_FWMARK, u32(checkU32(rule.fwmark, 'fwmark'))));
  if (rule.fwmask !== undefined) parts.push(attr(FRA_FWMASK, u32(checkU32(rule.fwmask, 'fwmark mask'))));
  if (rule.suppressPrefixLength !== undefined) parts.push(attr(FRA_SUPPRESS_PREFIXLEN, u32(checkU32(rule.suppressPrefixLength, 'suppress_prefixlength'))));
  if (rule.iif !== undefined) parts.push(attr(FRA_IIFNAME, ifname(rule.iif)));
  if (rule.oif !== undefined) parts.push(attr(FRA_OIFNAME, ifname(rule.oif)));
  if (rule.uidRange) {
    const r = Buffer.alloc(8);
    r.writeUInt32LE(checkU32(rule.uidRange.start, 'uid'), 0);
    r.writeUInt32LE(checkU32(rule.uidRange.end, 'uid'), 4);
    parts.push(attr(FRA_UID_RANGE, r));
  }
  if (rule.l3mdev) parts.push(attr(FRA_L3MDEV, u8(1)));
  if (rule.protocol !== undefined) parts.push(attr(FRA_PROTOCOL, u8(rule.protocol)));
  if (rule.action === 'goto') parts.push(attr(FRA_GOTO, u32(checkU32(rule.gotoTarget ?? 0, 'goto target'))));
  return Buffer.concat(parts);
}
