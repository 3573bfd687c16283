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
import { dumpAddresses, sharedLinkCache } from './interfaces.js';
import { describeErrno, RtnlClient } from './rtnl.js';
import type { AddressManager, Family, VirtualAddress } from './types.js';

function describe(vip: VirtualAddress): string {
  return `${vip.address}/${vip.prefixLength} on ${vip.interface}`;
}

class RtnlAddressManager implements AddressManager {
  private readonly requests = new RtnlClient();
  /** Shared with the announcer: the start-up clean-up warms it for the first takeover's GARPs. */
  private readonly links = sharedLinkCache();
  private readonly events: RtnlClient;
  private readonly removedHandlers: ((family: Family, address: string, ifindex: number) => void)[] = [];

  constructor() {
    // Referenced: an engine holding VIPs wants to hear about external deletes for as long as it runs.
    this.events = new RtnlClient([RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR], true);
    this.events.onMessage(({ type, data }) => {
      if (type !== RTM_DELADDR) return;
      const a = decodeAddress(data);
      if (a === undefined) return;
      for (const h of this.removedHandlers) {
        try {
          h(a.family, a.address, a.ifindex);
        } catch {
          // handler errors are the caller's; keep delivering to the others
        }
      }
    });
  }

  private async ifindex(vip: VirtualAddress): Promise<number> {
    try {
      return (await this.links.get(vip.interface)).index;
    } catch (e) {
      throw new Error(`cannot configure ${describe(vip)}: ${(e as Error).message}`);
    }
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
      nodad: true,
    });
    const reply = await this.requests.request(RTM_NEWADDR, payload, NLM_F_CREATE | NLM_F_EXCL);
    if (reply.errno === 0 || reply.errno === EEXIST) return;
    if (reply.errno === ENODEV) throw new Error(`cannot add ${describe(vip)}: interface ${vip.interface} not found`);
    throw new Error(`cannot add ${describe(vip)}: ${describeErrno(reply.errno)}`);
  }

  async remove(vip: VirtualAddress): Promise<void> {
    let ifindex: number;
    try {
      ifindex = (await this.links.get(vip.interface)).index;
    } catch {
      return; // interface gone: the address went with it
    }
    const payload = encodeAddressRequest(
      { family: vip.family, address: vip.address, prefixLength: vip.prefixLength, ifindex },
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

  close(): void {
    this.requests.close();
    this.events.close();
  }
}

export async function openAddressManager(): Promise<AddressManager> {
  return new RtnlAddressManager();
}
