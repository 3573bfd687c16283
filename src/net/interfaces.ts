// Interface facts the engine and the adapters need: index, MAC, and the source addresses keepalived would
// pick (primary IPv4 = first non-secondary address, RFC 3768 §5.2.1; IPv6 = link-local, RFC 5798 §5.1.2.1).

import {
  AF_INET,
  AF_INET6,
  decodeAddress,
  decodeLink,
  encodeAddressDump,
  encodeLinkRequest,
  ENODEV,
  IFA_F_DADFAILED,
  IFA_F_SECONDARY,
  IFA_F_TENTATIVE,
  NLM_F_DUMP,
  RTM_GETADDR,
  RTM_GETLINK,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_LINK,
  type AddressInfo,
  type LinkInfo,
} from './rtnetlink-codec.js';
import { describeErrno, RtnlClient } from './rtnl.js';
import { isIpv6LinkLocal } from './packet-codec.js';

export interface InterfaceInfo {
  name: string;
  index: number;
  mac?: string | undefined;
  up: boolean;
  running: boolean;
  /** Primary IPv4 address (first non-secondary), if any. */
  ipv4?: string | undefined;
  /** First usable (not tentative, not DAD-failed) IPv6 link-local address, if any. */
  ipv6LinkLocal?: string | undefined;
  addresses: AddressInfo[];
}

let shared: RtnlClient | undefined;

/** One unreferenced request socket for look-ups (it never keeps the process alive). */
export function sharedRtnl(): RtnlClient {
  shared ??= new RtnlClient();
  return shared;
}

export async function getLink(name: string, client = sharedRtnl()): Promise<LinkInfo> {
  const reply = await client.request(RTM_GETLINK, encodeLinkRequest({ name }), 0);
  if (reply.errno === ENODEV) throw new Error(`interface ${name} not found`);
  if (reply.errno !== 0) throw new Error(`interface ${name}: RTM_GETLINK failed: ${describeErrno(reply.errno)}`);
  for (const m of reply.messages) {
    const link = decodeLink(m.data);
    if (link !== undefined) return link;
  }
  throw new Error(`interface ${name}: no link in the kernel's reply`);
}

/**
 * Index and MAC of interfaces by name, kept from RTNLGRP_LINK notifications, so that adding a VIP and the
 * gratuitous ARPs after it need no RTM_GETLINK round trip on a takeover (keepalived keeps its interface
 * list from the same notifications). Any notification about a cached interface (or lost ones: ENOBUFS, a
 * failed and reopened event socket) drops the entry, and the next look-up asks the kernel again, so a
 * recreated interface or a changed MAC is never announced from stale data.
 */
export class LinkCache {
  private readonly byName = new Map<string, LinkInfo>();
  private events: RtnlClient | undefined;
  /** Bumped by every invalidation: a reply that raced a notification is not cached. */
  private generation = 0;

  constructor(private readonly client: RtnlClient = sharedRtnl()) {}

  async get(name: string): Promise<LinkInfo> {
    const hit = this.byName.get(name);
    if (hit !== undefined) return hit;
    this.watch();
    const generation = this.generation;
    const link = await getLink(name, this.client);
    if (generation === this.generation) this.byName.set(name, link);
    return link;
  }

  /** Forget everything (a caller that saw the interface misbehave, e.g. a failed GARP send). */
  invalidate(): void {
    this.generation++;
    this.byName.clear();
  }

  private watch(): void {
    if (this.events !== undefined) return;
    const events = new RtnlClient([RTNLGRP_LINK]);
    events.onMessage(({ data }) => {
      const link = decodeLink(data);
      this.generation++;
      if (link === undefined) return this.byName.clear();
      for (const [name, cached] of this.byName) if (name === link.name || cached.index === link.index) this.byName.delete(name);
    });
    events.onError(() => this.invalidate());
    events.onReopened(() => this.invalidate());
    this.events = events;
  }
}

/** What PrimaryIpv4Cache needs of rtnetlink: requests, and a notification socket for its groups. */
export interface RtnlSource {
  request: RtnlClient['request'];
  notifications(groups: number[]): Pick<RtnlClient, 'onMessage' | 'onError'> & Partial<Pick<RtnlClient, 'onReopened'>>;
}

const realRtnlSource = (client: RtnlClient): RtnlSource => ({
  request: (type, payload, flags) => client.request(type, payload, flags),
  notifications: (groups) => new RtnlClient(groups),
});

/**
 * The primary IPv4 address of interfaces by index: an IPv4 advert's source (RFC 3768 §5.2.1). Kept from
 * RTNLGRP_IPV4_IFADDR notifications, as keepalived keeps its interface addresses, so that sending needs no
 * RTM_GETADDR round trip. (A cache with a time limit expired while a router was BACKUP and sent nothing, and
 * every takeover's first advert waited for a link and two address dumps: ~1 ms in bench:failover.) A
 * notification about a cached interface (or lost notifications: ENOBUFS) drops its entry and reads the
 * kernel again at once, so the next advert normally finds the new address already there.
 */
export class PrimaryIpv4Cache {
  private readonly byIndex = new Map<number, string | undefined>();
  private readonly pending = new Map<number, Promise<string | undefined>>();
  private watching = false;
  /** Bumped by every invalidation: a reply that raced a notification is not cached. */
  private generation = 0;
  private readonly toRefresh = new Set<number>();
  private refreshScheduled = false;

  constructor(private readonly rtnl: RtnlSource = realRtnlSource(sharedRtnl())) {}

  /** The address now when it is known (undefined: the interface has no IPv4 address), else the look-up. */
  get(ifindex: number): string | undefined | Promise<string | undefined> {
    if (this.byIndex.has(ifindex)) return this.byIndex.get(ifindex);
    return this.fetch(ifindex);
  }

  private fetch(ifindex: number): Promise<string | undefined> {
    const inflight = this.pending.get(ifindex);
    if (inflight !== undefined) return inflight;
    this.watch();
    const generation = this.generation;
    const p = dumpAddresses(AF_INET, this.rtnl)
      .then((all) => {
        const address = primaryIpv4(all, ifindex);
        if (generation === this.generation) this.byIndex.set(ifindex, address);
        return address;
      })
      .finally(() => {
        if (this.pending.get(ifindex) === p) this.pending.delete(ifindex);
      });
    this.pending.set(ifindex, p);
    return p;
  }

  /** Drop the given interfaces (all when undefined) and read them again on the next turn of the loop. */
  private invalidate(ifindex?: number): void {
    const dropped = ifindex === undefined ? [...this.byIndex.keys(), ...this.pending.keys()] : [ifindex];
    if (!dropped.some((i) => this.byIndex.has(i) || this.pending.has(i))) return;
    this.generation++;
    for (const i of dropped) {
      this.byIndex.delete(i);
      this.pending.delete(i);
      this.toRefresh.add(i);
    }
    if (this.refreshScheduled) return;
    // One read for a burst of notifications (a VIP set is several RTM_NEWADDR).
    this.refreshScheduled = true;
    setImmediate(() => {
      this.refreshScheduled = false;
      const indexes = [...this.toRefresh];
      this.toRefresh.clear();
      for (const i of indexes) void Promise.resolve(this.get(i)).catch(() => undefined);
    }); // not unref()ed: an unreferenced immediate waits for the loop's next wake-up (a timer, I/O)
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const events = this.rtnl.notifications([RTNLGRP_IPV4_IFADDR]);
    events.onMessage(({ data }) => this.invalidate(decodeAddress(data)?.ifindex));
    events.onError(() => this.invalidate());
    events.onReopened?.(() => this.invalidate());
  }
}

let sharedPrimaryIpv4: PrimaryIpv4Cache | undefined;

/** The process's one PrimaryIpv4Cache (its notification socket never keeps the process alive). */
export function sharedPrimaryIpv4Cache(): PrimaryIpv4Cache {
  sharedPrimaryIpv4 ??= new PrimaryIpv4Cache();
  return sharedPrimaryIpv4;
}

let sharedCache: LinkCache | undefined;

/** The process's one LinkCache (its event socket is unreferenced: it never keeps the process alive). */
export function sharedLinkCache(): LinkCache {
  sharedCache ??= new LinkCache();
  return sharedCache;
}

export async function dumpLinks(client: Pick<RtnlClient, 'request'> = sharedRtnl()): Promise<LinkInfo[]> {
  const reply = await client.request(RTM_GETLINK, encodeLinkRequest({}), NLM_F_DUMP);
  if (reply.errno !== 0) throw new Error(`RTM_GETLINK dump failed: ${describeErrno(reply.errno)}`);
  return reply.messages.map((m) => decodeLink(m.data)).filter((l): l is LinkInfo => l !== undefined);
}

export async function dumpAddresses(af = 0, client: Pick<RtnlClient, 'request'> = sharedRtnl()): Promise<AddressInfo[]> {
  const reply = await client.request(RTM_GETADDR, encodeAddressDump(af), NLM_F_DUMP);
  if (reply.errno !== 0) throw new Error(`RTM_GETADDR dump failed: ${describeErrno(reply.errno)}`);
  return reply.messages.map((m) => decodeAddress(m.data)).filter((a): a is AddressInfo => a !== undefined);
}

/** First non-secondary IPv4 address of the widest scope (a /32 scope-host VIP must not win over the LAN address). */
export function primaryIpv4(addresses: AddressInfo[], ifindex: number): string | undefined {
  let best: AddressInfo | undefined;
  for (const a of addresses) {
    if (a.ifindex !== ifindex || a.family !== 'inet' || (a.flags & IFA_F_SECONDARY) !== 0) continue;
    if (best === undefined || a.scope < best.scope) best = a;
  }
  return best?.address;
}

export function ipv6LinkLocal(addresses: AddressInfo[], ifindex: number): string | undefined {
  return addresses.find(
    (a) =>
      a.ifindex === ifindex &&
      a.family === 'inet6' &&
      isIpv6LinkLocal(a.address) &&
      (a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) === 0,
  )?.address;
}

/** Index, MAC, link flags and source-address candidates of one interface, read from rtnetlink now. */
export async function interfaceInfo(name: string): Promise<InterfaceInfo> {
  const link = await getLink(name);
  const all = [...(await dumpAddresses(AF_INET)), ...(await dumpAddresses(AF_INET6))];
  const addresses = all.filter((a) => a.ifindex === link.index);
  return {
    name: link.name,
    index: link.index,
    mac: link.mac,
    up: link.up,
    running: link.running,
    ipv4: primaryIpv4(addresses, link.index),
    ipv6LinkLocal: ipv6LinkLocal(addresses, link.index),
    addresses,
  };
}
