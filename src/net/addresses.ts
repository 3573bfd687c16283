// AddressManager over rtnetlink. Idempotent like keepalived's netlink_ipaddress(): adding a present
// address (EEXIST) and removing an absent one (EADDRNOTAVAIL) are successes. IPv6 VIPs get IFA_F_NODAD so
// they are usable at once (keepalived vrrp_ipaddress.c), instead of staying tentative for DAD's ~1 s.

import { canonicalAddress as canonical } from './packet-codec.js';
import {
  AF_INET,
  AF_INET6,
  decodeAddress,
  EADDRNOTAVAIL,
  EEXIST,
  encodeAddressRequest,
  ENODEV,
  familyNumber,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELADDR,
  RTM_NEWADDR,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV6_IFADDR,
} from './rtnetlink-codec.js';
import { dumpAddresses, sharedLinkCache, type LinkCache } from './interfaces.js';
import { describeErrno, isOverflow, RtnlClient } from './rtnl.js';
import type { AddressManager, Family, VirtualAddress } from './types.js';

function describe(vip: VirtualAddress): string {
  return `${vip.address}/${vip.prefixLength} on ${vip.interface}`;
}

export interface AddressManagerOptions {
  /** Overflow and socket-failure messages (the VRRP child's log); nothing is logged without it. */
  warn?: ((message: string) => void) | undefined;
  /** SO_RCVBUF of the event socket (keepalived's vrrp_netlink_monitor_rcv_bufs); the kernel default otherwise. */
  eventReceiveBufferBytes?: number | undefined;
  /** Tests: the sockets and the interface look-up. */
  events?: Pick<RtnlClient, 'onMessage' | 'onError' | 'onReopened' | 'close' | 'simulateSocketError'> | undefined;
  requests?: Pick<RtnlClient, 'request' | 'close'> | undefined;
  links?: Pick<LinkCache, 'get'> | undefined;
}

/** A VIP this manager added and has not removed: what a re-read after lost notifications looks for. */
interface HeldAddress {
  family: Family;
  /** Canonical, as dumps decode it. */
  address: string;
  ifindex: number;
  /** Reported missing by a re-read: not again until it is seen or added again. */
  reportedMissing?: boolean;
}

/** One overflow message per minute at most; the others are counted in the next one. */
const OVERFLOW_LOG_INTERVAL_MS = 60_000;
const RESYNC_RETRY_MS = 1000;

export class RtnlAddressManager implements AddressManager {
  private readonly requests: Pick<RtnlClient, 'request' | 'close'>;
  /** Shared with the announcer: the start-up clean-up warms it for the first takeover's GARPs. */
  private readonly links: Pick<LinkCache, 'get'>;
  private readonly events: NonNullable<AddressManagerOptions['events']>;
  private readonly removedHandlers: ((family: Family, address: string, ifindex: number) => void)[] = [];
  private readonly warn: (message: string) => void;
  /** By `family address interface`. */
  private readonly held = new Map<string, HeldAddress>();
  private resyncRunning = false;
  private resyncAgain = false;
  private resyncTimer: ReturnType<typeof setTimeout> | undefined;
  private lastOverflowLog = -Infinity;
  private overflowsNotLogged = 0;
  private closed = false;

  constructor(opts: AddressManagerOptions = {}) {
    this.warn = opts.warn ?? (() => undefined);
    this.requests = opts.requests ?? new RtnlClient();
    this.links = opts.links ?? sharedLinkCache();
    // Referenced: an engine holding VIPs wants to hear about external deletes for as long as it runs.
    this.events =
      opts.events ??
      new RtnlClient([RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR], { ref: true, receiveBufferBytes: opts.eventReceiveBufferBytes });
    this.events.onMessage(({ type, data }) => {
      if (type !== RTM_DELADDR) return;
      const a = decodeAddress(data);
      if (a !== undefined) this.reportRemoved(a.family, a.address, a.ifindex);
    });
    // keepalived 2.2.7 only logs an overrun ("Netlink: Receive buffer overrun on monitor socket") and so can
    // miss a VIP deleted behind a MASTER's back; we re-read the addresses and report what went missing.
    this.events.onError((err) => {
      if (isOverflow(err)) {
        this.logOverflow();
        this.requestResync();
      } else {
        this.warn(`rtnetlink address monitor socket failed (${err.message}) - reopening it`);
      }
    });
    this.events.onReopened(() => {
      this.warn('rtnetlink address monitor socket reopened - re-reading addresses');
      this.requestResync();
    });
  }

  private reportRemoved(family: Family, address: string, ifindex: number): void {
    for (const h of this.removedHandlers) {
      try {
        h(family, address, ifindex);
      } catch {
        // handler errors are the caller's; keep delivering to the others
      }
    }
  }

  private logOverflow(): void {
    const now = Date.now();
    if (now - this.lastOverflowLog < OVERFLOW_LOG_INTERVAL_MS) {
      this.overflowsNotLogged++;
      return;
    }
    const more = this.overflowsNotLogged > 0 ? ` (${this.overflowsNotLogged} more since the last report)` : '';
    this.warn(`rtnetlink address monitor socket: receive buffer overrun, notifications lost${more} - re-reading addresses`);
    this.lastOverflowLog = now;
    this.overflowsNotLogged = 0;
  }

  /** One re-read at a time; losses during it ask for one more after it. */
  private requestResync(): void {
    if (this.closed) return;
    if (this.resyncRunning) {
      this.resyncAgain = true;
      return;
    }
    this.resyncRunning = true;
    void this.resync().finally(() => (this.resyncRunning = false));
  }

  /**
   * Dump the addresses of the families we hold VIPs in and report each held VIP that is not there, as its
   * RTM_DELADDR would have been (the instance then checks has(), as for any delete). Only held VIPs: that
   * is all the engine reacts to, and with none held there is nothing to dump.
   */
  private async resync(): Promise<void> {
    do {
      this.resyncAgain = false;
      const candidates = [...this.held.entries()];
      if (candidates.length === 0) return;
      const present = new Set<string>();
      try {
        for (const af of new Set(candidates.map(([, h]) => familyNumber(h.family)))) {
          for (const a of await dumpAddresses(af, this.requests)) present.add(`${a.ifindex} ${a.address}`);
        }
      } catch (e) {
        if (this.closed) return;
        this.warn(`cannot re-read addresses after lost rtnetlink notifications: ${(e as Error).message} - retrying`);
        clearTimeout(this.resyncTimer);
        this.resyncTimer = setTimeout(() => this.requestResync(), RESYNC_RETRY_MS);
        return;
      }
      if (this.closed) return;
      for (const [key, h] of candidates) {
        // removed by us meanwhile, or added again after the dump began
        if (this.held.get(key) !== h) continue;
        const missing = !present.has(`${h.ifindex} ${h.address}`);
        if (missing && !h.reportedMissing) this.reportRemoved(h.family, h.address, h.ifindex);
        h.reportedMissing = missing;
      }
    } while (this.resyncAgain && !this.closed);
  }

  private async ifindex(vip: VirtualAddress): Promise<number> {
    try {
      return (await this.links.get(vip.interface)).index;
    } catch (e) {
      throw new Error(`cannot configure ${describe(vip)}: ${(e as Error).message}`);
    }
  }

  private static key(vip: VirtualAddress): string {
    return `${vip.family} ${canonical(vip.address)} ${vip.interface}`;
  }

  async add(vip: VirtualAddress): Promise<void> {
    const ifindex = await this.ifindex(vip);
    const payload = encodeAddressRequest({
      family: vip.family,
      address: vip.address,
      prefixLength: vip.prefixLength,
      ifindex,
      broadcast: vip.broadcast,
      scope: vip.scope,
      label: vip.label,
      nodad: vip.dad !== true,
      flags: vip.flags,
      peer: vip.peer,
      preferredLifetime: vip.preferredLifetime,
    });
    const reply = await this.requests.request(RTM_NEWADDR, payload, NLM_F_CREATE | NLM_F_EXCL);
    if (reply.errno === 0 || reply.errno === EEXIST) {
      const key = RtnlAddressManager.key(vip);
      this.held.set(key, { family: vip.family, address: canonical(vip.address), ifindex });
      return;
    }
    if (reply.errno === ENODEV) throw new Error(`cannot add ${describe(vip)}: interface ${vip.interface} not found`);
    throw new Error(`cannot add ${describe(vip)}: ${describeErrno(reply.errno)}`);
  }

  async remove(vip: VirtualAddress): Promise<void> {
    this.held.delete(RtnlAddressManager.key(vip));
    let ifindex: number;
    try {
      ifindex = (await this.links.get(vip.interface)).index;
    } catch {
      return; // interface gone: the address went with it
    }
    const payload = encodeAddressRequest(
      // The kernel matches IFA_ADDRESS against the address's peer (inet_rtm_deladdr): send the peer.
      { family: vip.family, address: vip.address, prefixLength: vip.prefixLength, ifindex, peer: vip.peer },
      true,
    );
    const reply = await this.requests.request(RTM_DELADDR, payload, 0);
    if (reply.errno === 0 || reply.errno === EADDRNOTAVAIL || reply.errno === ENODEV) return;
    throw new Error(`cannot remove ${describe(vip)}: ${describeErrno(reply.errno)}`);
  }

  async has(vip: VirtualAddress): Promise<boolean> {
    let ifindex: number;
    try {
      ifindex = (await this.links.get(vip.interface)).index;
    } catch {
      return false;
    }
    const want = canonical(vip.address);
    const af = familyNumber(vip.family);
    const list = await dumpAddresses(af === AF_INET ? AF_INET : AF_INET6, this.requests);
    return list.some((a) => a.ifindex === ifindex && a.address === want);
  }

  onAddressRemoved(handler: (family: Family, address: string, ifindex: number) => void): void {
    this.removedHandlers.push(handler);
  }

  /** Test hook: the event socket fails as on a poll error (it is reopened, then addresses are re-read). */
  simulateEventSocketError(): void {
    this.events.simulateSocketError();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.resyncTimer);
    this.requests.close();
    this.events.close();
  }
}

export async function openAddressManager(opts: AddressManagerOptions = {}): Promise<AddressManager> {
  return new RtnlAddressManager(opts);
}
