// RouteManager over rtnetlink: the routes and rules of virtual_routes/virtual_rules (while MASTER) and
// static_routes/static_rules (while the daemon runs). Idempotent as the engine needs it: a route or rule
// already present (EEXIST) counts as added, an absent one (ESRCH for IPv4 routes, ENOENT for IPv6 routes
// and rules) as removed. Route interfaces are looked up at each call (an interface may come and go while
// the daemon runs); rules name their interfaces and the kernel resolves them itself.

import { EEXIST, ENODEV, ENOENT, ESRCH, NLM_F_CREATE, NLM_F_EXCL } from './rtnetlink-codec.js';
import { encodeRouteRequest, encodeRuleRequest, routeAddFlags, RTM_DELROUTE, RTM_DELRULE, RTM_NEWROUTE, RTM_NEWRULE, RT_TABLE_MAIN } from './route-codec.js';
import { sharedLinkCache, type LinkCache } from './interfaces.js';
import { describeErrno, RtnlClient } from './rtnl.js';
import type { IpPrefix, IpRoute, IpRule, RouteManager } from './types.js';

export interface RouteManagerOptions {
  /** Tests: the request socket and the interface look-up. */
  requests?: Pick<RtnlClient, 'request' | 'close'> | undefined;
  links?: Pick<LinkCache, 'get'> | undefined;
}

function prefix(p: IpPrefix): string {
  if (p.prefixLength === 0) return 'default';
  const host = p.address.includes(':') ? 128 : 32;
  return p.prefixLength === host ? p.address : `${p.address}/${p.prefixLength}`;
}

const TABLE_NAMES: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };

/** The route as `ip route` prints it (for messages). */
export function describeRoute(r: IpRoute): string {
  const w: string[] = [];
  if (r.type !== undefined && r.type !== 'unicast') w.push(r.type);
  w.push(prefix(r.destination));
  if (r.source) w.push('from', prefix(r.source));
  if (r.via) w.push('via', ...(r.via.family !== r.family ? [r.via.family] : []), r.via.address);
  if (r.interface !== undefined) w.push('dev', r.interface);
  if (r.table !== RT_TABLE_MAIN) w.push('table', TABLE_NAMES[r.table] ?? String(r.table));
  if (r.metric !== undefined) w.push('metric', String(r.metric));
  if (r.preferredSource !== undefined) w.push('src', r.preferredSource);
  if (r.onlink) w.push('onlink');
  return w.join(' ');
}

/** The rule as `ip rule` prints it (for messages). */
export function describeRule(r: IpRule): string {
  const w: string[] = [`${r.priority}:`];
  if (r.invert) w.push('not');
  w.push('from', r.from ? prefix(r.from) : 'all');
  if (r.to) w.push('to', prefix(r.to));
  if (r.fwmark !== undefined) w.push('fwmark', `0x${r.fwmark.toString(16)}${r.fwmask !== undefined ? `/0x${r.fwmask.toString(16)}` : ''}`);
  if (r.iif !== undefined) w.push('iif', r.iif);
  if (r.oif !== undefined) w.push('oif', r.oif);
  if (r.l3mdev) w.push('lookup', '[l3mdev-table]');
  else if (r.action === 'table') w.push('lookup', TABLE_NAMES[r.table ?? RT_TABLE_MAIN] ?? String(r.table));
  else if (r.action === 'goto') w.push('goto', String(r.gotoTarget));
  else w.push(r.action);
  return w.join(' ');
}

export class RtnlRouteManager implements RouteManager {
  private readonly requests: Pick<RtnlClient, 'request' | 'close'>;
  private readonly links: Pick<LinkCache, 'get'>;

  constructor(opts: RouteManagerOptions = {}) {
    this.requests = opts.requests ?? new RtnlClient();
    this.links = opts.links ?? sharedLinkCache();
  }

  async addRoute(route: IpRoute): Promise<void> {
    let ifindex = 0;
    if (route.interface !== undefined) {
      try {
        ifindex = (await this.links.get(route.interface)).index;
      } catch (e) {
        throw new Error(`cannot add route ${describeRoute(route)}: ${(e as Error).message}`);
      }
    }
    const reply = await this.requests.request(RTM_NEWROUTE, encodeRouteRequest(route, ifindex), routeAddFlags(route));
    if (reply.errno === 0 || reply.errno === EEXIST) return;
    if (reply.errno === ENODEV) throw new Error(`cannot add route ${describeRoute(route)}: interface ${route.interface ?? '(none)'} not found`);
    throw new Error(`cannot add route ${describeRoute(route)}: ${describeErrno(reply.errno)}`);
  }

  async removeRoute(route: IpRoute): Promise<void> {
    let ifindex = 0;
    if (route.interface !== undefined) {
      try {
        ifindex = (await this.links.get(route.interface)).index;
      } catch {
        return; // interface gone: the kernel removed its routes with it
      }
    }
    const reply = await this.requests.request(RTM_DELROUTE, encodeRouteRequest(route, ifindex, true), 0);
    if (reply.errno === 0 || reply.errno === ESRCH || reply.errno === ENOENT || reply.errno === ENODEV) return;
    throw new Error(`cannot remove route ${describeRoute(route)}: ${describeErrno(reply.errno)}`);
  }

  async addRule(rule: IpRule): Promise<void> {
    const reply = await this.requests.request(RTM_NEWRULE, encodeRuleRequest(rule), NLM_F_CREATE | NLM_F_EXCL);
    if (reply.errno === 0 || reply.errno === EEXIST) return;
    throw new Error(`cannot add rule ${describeRule(rule)}: ${describeErrno(reply.errno)}`);
  }

  async removeRule(rule: IpRule): Promise<void> {
    const reply = await this.requests.request(RTM_DELRULE, encodeRuleRequest(rule), 0);
    if (reply.errno === 0 || reply.errno === ENOENT || reply.errno === ESRCH) return;
    throw new Error(`cannot remove rule ${describeRule(rule)}: ${describeErrno(reply.errno)}`);
  }

  close(): void {
    this.requests.close();
  }
}

export async function openRouteManager(opts: RouteManagerOptions = {}): Promise<RouteManager> {
  return new RtnlRouteManager(opts);
}
