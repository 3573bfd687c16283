// static_ipaddress / static_routes / static_rules: set for as long as the VRRP process runs, whatever the
// instances' states, in keepalived's order (vrrp_daemon.c): addresses, then routes, then rules on the way
// in; rules, routes, addresses on the way out. Not tracked: an entry deleted by someone else comes back
// only at the next reload (keepalived restores it at once: its static track groups).
import type { Config, VirtualIpAddress } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import { addressToAdd } from './vip-address.js';
import type { AddressManager, IpRoute, IpRule, RouteManager, VirtualAddress } from '../net/types.js';

interface Entries {
  addresses: VirtualAddress[];
  routes: IpRoute[];
  rules: IpRule[];
}

const NONE: Entries = { addresses: [], routes: [], rules: [] };

function staticAddress(a: VirtualIpAddress): VirtualAddress {
  return addressToAdd(a, ''); // the parser drops static addresses without dev
}

export function staticEntries(config: Pick<Config, 'staticIpAddresses' | 'staticRoutes' | 'staticRules'>): Entries {
  return {
    addresses: config.staticIpAddresses.filter((a) => a.dev !== undefined).map(staticAddress),
    routes: config.staticRoutes.map(({ location: _l, noTrack: _n, ...r }): IpRoute => r),
    rules: config.staticRules.map(({ location: _l, noTrack: _n, ...r }): IpRule => r),
  };
}

/** Sorted-key JSON: the identity of an entry across two configurations. */
function key(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val === null || typeof val !== 'object' || Array.isArray(val) ? val : Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  );
}

function minus<T>(a: readonly T[], b: readonly T[]): T[] {
  const keep = new Set(b.map(key));
  return a.filter((x) => !keep.has(key(x)));
}

export class StaticEntries {
  private current: Entries = NONE;

  constructor(
    private readonly addresses: Pick<AddressManager, 'add' | 'remove'>,
    private readonly routes: RouteManager,
    private readonly log: Pick<Logger, 'error'>,
  ) {}

  /** start_vrrp(): leftovers of an earlier run cleared (addresses, routes, rules), then all set. */
  async start(config: Pick<Config, 'staticIpAddresses' | 'staticRoutes' | 'staticRules'>): Promise<void> {
    const next = staticEntries(config);
    for (const a of next.addresses) await this.addresses.remove(a).catch((e: Error) => this.fail(e));
    for (const r of next.routes) await this.routes.removeRoute(r).catch((e: Error) => this.fail(e));
    for (const r of next.rules) await this.routes.removeRule(r).catch((e: Error) => this.fail(e));
    await this.set(next);
  }

  /** Reload: clear_diff_static_rules/routes/addresses() removes what the new configuration lacks, then all are set. */
  async reload(config: Pick<Config, 'staticIpAddresses' | 'staticRoutes' | 'staticRules'>): Promise<void> {
    const next = staticEntries(config);
    await this.clear({ addresses: minus(this.current.addresses, next.addresses), routes: minus(this.current.routes, next.routes), rules: minus(this.current.rules, next.rules) });
    await this.set(next);
  }

  /** vrrp_terminate_phase1(): removed at shutdown (-V keeps VIPs, not these). */
  async stop(): Promise<void> {
    const all = this.current;
    this.current = NONE;
    await this.clear(all);
  }

  private async set(next: Entries): Promise<void> {
    this.current = next;
    for (const a of next.addresses) await this.addresses.add(a).catch((e: Error) => this.fail(e));
    for (const r of next.routes) await this.routes.addRoute(r).catch((e: Error) => this.fail(e));
    for (const r of next.rules) await this.routes.addRule(r).catch((e: Error) => this.fail(e));
  }

  private async clear(old: Entries): Promise<void> {
    for (const r of old.rules) await this.routes.removeRule(r).catch((e: Error) => this.fail(e));
    for (const r of old.routes) await this.routes.removeRoute(r).catch((e: Error) => this.fail(e));
    for (const a of old.addresses) await this.addresses.remove(a).catch((e: Error) => this.fail(e));
  }

  private fail(e: Error): void {
    this.log.error(`static entry: ${e.message}`);
  }
}
