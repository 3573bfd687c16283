// Address and route lines: virtual_ipaddress / static_ipaddress (keepalived vrrp_ipaddress.c
// alloc_ipaddress), virtual_routes/rules and static_routes/rules (config/routes.ts).

import type { SourceLocation, VirtualIpAddress } from '../model.js';
import type { Keyword, KeywordStatus } from '../engine.js';
import { isDecimalInt, isIPv4, parsePrefix } from '../values.js';
import { nodeFileAccess } from '../node-io.js';
import { parseRouteLine, parseRuleLine, type RouteParseContext, routeParseContext } from '../routes.js';
import type { ParseContext } from './context.js';

/**
 * The options of a virtual_ipaddress / static_ipaddress line that keepalived 2.2.7 accepts
 * (vrrp_ipaddress.c alloc_ipaddress), with what lvskeeper does with each: undefined = applied.
 */
export const VIP_OPTION_STATUS: Readonly<Record<string, KeywordStatus | undefined>> = {
  dev: undefined,
  brd: undefined,
  broadcast: undefined,
  scope: undefined,
  label: undefined,
  peer: undefined,
  preferred_lft: undefined,
  home: undefined,
  '-nodad': undefined,
  noprefixroute: undefined,
  autojoin: undefined,
  mngtmpaddr: undefined,
  no_track: undefined,
  track_group: { kind: 'warns', why: 'static addresses are not tracked: one deleted by someone else comes back at the next reload' },
  use_vmac: undefined,
};

/** An address's lifetimes: forever (ifa_cacheinfo's INFINITY_LIFE_TIME). */
const INFINITY_LIFETIME = 0xffffffff;

/** `brd +` / `brd -` (keepalived alloc_ipaddress): the address with its host bits set or cleared. */
function ipv4Broadcast(address: string, prefixLength: number, set: boolean): string {
  const n = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const host = prefixLength === 0 ? 0xffffffff : 2 ** (32 - prefixLength) - 1;
  const b = set ? (n | host) >>> 0 : (n & ~host) >>> 0;
  return [24, 16, 8, 0].map((sh) => (b >>> sh) & 255).join('.');
}

/** A route/address scope: keepalived's names (rt_scopes) or a number 0-255. */
function scopeNumber(word: string): number | undefined {
  const named: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
  if (Object.hasOwn(named, word)) return named[word];
  return /^\d{1,3}$/.test(word) && Number(word) <= 255 ? Number(word) : undefined;
}
/** The routes parser's context, made on first use (rule preferences are numbered across the whole file). */
export function routeContext(ctx: ParseContext): RouteParseContext {
  const files = ctx.options.files ?? nodeFileAccess(ctx.options);
  ctx.routeCtx ??= routeParseContext(
    (message, at, severity) => ctx.engine.error(message, undefined, at, severity ?? 'error'),
    (p) => files.readFile(p, 1 << 20),
  );
  return ctx.routeCtx;
}

/** The `dev` / `oif` interfaces of a route or rule line (reported when interfaces are checked). */
export function checkRouteInterfaces(ctx: ParseContext, entry: string[], at: SourceLocation): void {
  if (!ctx.options.checkInterfaces) return;
  for (let i = 0; i + 1 < entry.length; i++) {
    if (entry[i] === 'dev' || entry[i] === 'oif') {
      const name = entry[i + 1]!;
      ctx.interfaceMissing(name, `WARNING - interface ${name} for VROUTE nexthop doesn't exist`, at);
    }
  }
}

function reportVipOption(ctx: ParseContext, option: string, address: string, at: SourceLocation): void {
  const status = VIP_OPTION_STATUS[option];
  if (status !== undefined) ctx.engine.error(`${option} is not supported by lvskeeper: ${status.why} (${address})`, option, at, 'unsupported');
}

/**
 * One `virtual_ipaddress` / `static_ipaddress` line: `ADDR[/LEN] [brd X] [dev X] [scope X] [label X]
 * [peer X] [no_track] …`, checked as keepalived 2.2.7's alloc_ipaddress() checks it (same messages; a
 * line it drops is dropped here too).
 */
export function parseVip(ctx: ParseContext, e: string[], at: SourceLocation, isStatic = false): VirtualIpAddress | undefined {
  const addressWord = e[0]!;
  const p = parsePrefix(addressWord);
  if (p === undefined) {
    ctx.engine.error(`VRRP parsed invalid IP ${addressWord}. skipping IP...`, undefined, at);
    return undefined;
  }
  const err = (m: string): void => ctx.engine.error(m, undefined, at);
  const vip: VirtualIpAddress = { ...p, noTrack: false, location: at };
  let broadcast: string | undefined;
  for (let i = 1; i < e.length; i++) {
    const k = e[i]!;
    const takesValue = ['dev', 'scope', 'broadcast', 'brd', 'label', 'peer', 'preferred_lft'].includes(k) || (isStatic && k === 'track_group');
    const v = e[i + 1];
    if (takesValue && v === undefined) {
      err(`No ${k} parameter specified for ${addressWord}`);
      return undefined;
    }
    if (takesValue) i++;
    switch (k) {
      case 'dev':
        if (vip.dev !== undefined) {
          err(`Cannot specify ipaddress device more than once for ${addressWord}`);
          return undefined;
        }
        vip.dev = v;
        ctx.interfaceMissing(v!, `WARNING - interface ${v} for ip address ${p.address} doesn't exist`, at);
        break;
      case 'scope':
        if (scopeNumber(v!) === undefined) err(`Invalid scope '${v}' specified for ${addressWord} - ignoring`);
        else vip.scope = v;
        break;
      case 'brd':
      case 'broadcast':
        if (p.family === 'inet6') {
          // keepalived quotes the keyword where it means the value.
          err(`VRRP is trying to assign a broadcast ${k} to the IPv6 address ${addressWord} !!?? WTF... skipping VIP...`);
          return undefined;
        }
        if (v !== '+' && v !== '-' && !isIPv4(v!)) {
          err(`VRRP is trying to assign invalid broadcast ${v}. skipping VIP...`);
          return undefined;
        }
        broadcast = v;
        break;
      case 'label':
        if (Buffer.byteLength(v!) > 15) {
          err(`Address label ${v} is longer than maximum length 15 - removing address`);
          return undefined;
        }
        vip.label = v;
        break;
      case 'peer': {
        if (vip.peer !== undefined) {
          err(`Peer ${v} - another peer has already been specified`);
          break;
        }
        // keepalived parses the peer without a prefix (parse_ipaddress, allow_subnet_mask false).
        const peer = v!.includes('/') ? undefined : parsePrefix(v!);
        if (peer === undefined) {
          err(`VRRP parsed invalid IP ${v}. skipping IP...`);
          err(`Invalid peer address ${v}`);
        }
        else if (peer.family !== p.family) err(`Peer address ${v} does not match address family`);
        else {
          if (addressWord.includes('/')) err('Cannot specify address prefix when specifying peer address - ignoring');
          vip.peer = peer.address;
          vip.prefixLength = peer.prefixLength;
        }
        break;
      }
      case 'preferred_lft':
        if (v === 'forever') vip.preferredLft = INFINITY_LIFETIME;
        else {
          const n = isDecimalInt(v!) ? Number(v) : NaN;
          if (Number.isSafeInteger(n) && n >= 0 && n <= INFINITY_LIFETIME) vip.preferredLft = n;
          else err(`preferred_lft ${v} is invalid`);
        }
        break;
      case 'home':
        vip.home = true;
        break;
      case '-nodad':
        vip.dad = true;
        break;
      case 'noprefixroute':
        vip.noPrefixRoute = true;
        break;
      case 'autojoin':
        vip.autoJoin = true;
        break;
      case 'mngtmpaddr':
        vip.manageTempAddr = true;
        break;
      case 'no_track':
        vip.noTrack = true;
        break;
      case 'track_group':
        if (!isStatic) err(`Unknown configuration entry '${k}' for ip address - ignoring`);
        else reportVipOption(ctx, k, addressWord, at);
        break;
      case 'use_vmac':
        if (isStatic) err(`Unknown configuration entry '${k}' for ip address - ignoring`);
        else vip.useVmac = true;
        break;
      default:
        err(`Unknown configuration entry '${k}' for ip address - ignoring`);
    }
  }
  if (broadcast !== undefined && vip.peer !== undefined) err('Cannot specify broadcast and peer addresses - ignoring broadcast address');
  else if (broadcast === '+' || broadcast === '-') {
    if (vip.prefixLength <= 30) vip.brd = ipv4Broadcast(vip.peer ?? vip.address, vip.prefixLength, broadcast === '+');
    else err(`Address prefix length ${vip.prefixLength} too long for broadcast`);
  } else if (broadcast !== undefined) vip.brd = broadcast;
  if (p.family === 'inet6') {
    if (vip.scope !== undefined) {
      err(`Cannot specify scope for IPv6 addresses (${addressWord}) - ignoring scope`);
      vip.scope = undefined;
    }
    if (vip.label !== undefined) {
      err(`Cannot specify label for IPv6 addresses (${addressWord}) - ignoring label`);
      vip.label = undefined;
    }
    // keepalived: a /128 VIP is deprecated (preferred_lft 0) so that checks never use it as their source.
    vip.preferredLft ??= vip.prefixLength === 128 ? 0 : INFINITY_LIFETIME;
  } else vip.preferredLft = undefined;
  return vip;
}
/** static_ipaddress: read as virtual_ipaddress lines (parseVip), each needs a `dev`. */
export function staticAddresses(ctx: ParseContext): Keyword {
  return {
    handler: (words) =>
      ctx.engine.valueBlock(words, (entry, at) => {
        const a = parseVip(ctx, entry, at, true);
        if (a === undefined) return;
        // keepalived (alloc_ipaddress) falls back to default_interface or eth0; lvskeeper has no default interface.
        if (a.dev === undefined) ctx.engine.error(`Static address ${entry[0]} requires an interface (dev): lvskeeper has no default interface - skipping it`, undefined, at);
        else ctx.config.staticIpAddresses.push(a);
      }),
  };
}

/** static_routes / static_rules: config/routes.ts lines, kept for the daemon's life. */
export function staticRoutes(ctx: ParseContext, kind: 'route' | 'rule'): Keyword {
  return {
    handler: (words) =>
      ctx.engine.valueBlock(words, (entry, at) => {
        checkRouteInterfaces(ctx, entry, at);
        if (kind === 'route') {
          const r = parseRouteLine(entry, at, routeContext(ctx), true);
          if (r) ctx.config.staticRoutes.push(r);
        } else {
          const r = parseRuleLine(entry, at, routeContext(ctx), true);
          if (r) ctx.config.staticRules.push(r);
        }
      }),
  };
}
