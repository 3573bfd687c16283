// keepalived's VMACs (use_vmac, vmac_xmit_base, use_vmac_addr, per-VIP use_vmac): private-mode macvlans
// carrying the VRRP MAC 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID (IPv6), so that a VIP keeps its
// MAC across a failover. Learnt from keepalived 2.2.7 vrrp_vmac.c (netlink_link_add_vmac/_del_vmac),
// vrrp_if_config.c (the sysctls), vrrp.c (vrrp_complete_instance: names, VIP placement, create_vmac_name;
// shutdown_vrrp_instances: restore_rp_filter, then delete). Kernel access through a LinkManager (src/net).
import type { GlobalDefs, VirtualIpAddress, VrrpInstance as VrrpInstanceConfig } from '../config/model.js';
import type { Family, LinkDetail, LinkManager } from '../net/types.js';
import type { Logger } from './log.js';

const MACVLAN_MODE_PRIVATE = 1;
const IFNAMSIZ = 16;

/** Where one instance's traffic and VIPs go once its VMACs exist. */
export interface VmacBinding {
  /** The instance VMAC (undefined: only address VMACs, or none). */
  vmac?: string | undefined;
  /** The interface the adverts are sent and received on: the VMAC, or the base with vmac_xmit_base. */
  transportInterface: string;
  /** The IPv6 link-local address put on the VMAC: the adverts' source (keepalived set_link_local_address). */
  linkLocal?: string | undefined;
  /** The interface of a configured VIP/eVIP (the configured `dev` or instance interface when no VMAC applies). */
  vipInterface(v: VirtualIpAddress): string;
}

/** What the VRRP engine asks of the VMAC runtime. */
export interface VmacPort {
  /** Creates (or adopts) an instance's VMACs; undefined when it uses none. */
  prepare(ic: VrrpInstanceConfig): Promise<VmacBinding | undefined>;
  /** Deletes the VMACs none of these instances uses (after a reload). */
  retain(instances: readonly VrrpInstanceConfig[]): Promise<void>;
  /** Restores rp_filter, resets the base interfaces' ARP settings, deletes every VMAC of ours. */
  stop(): Promise<void>;
}

/** One VMAC we created or adopted. */
interface Vmac {
  key: string;
  name: string;
  index: number;
  base: string;
  baseIndex: number;
  family: Family;
  mac: string;
  /** Whether the IPv4 settings (and the base's ARP refcount) were applied: reset at delete. */
  ipv4Params: boolean;
}

/** keepalived ll_addr: 00:00:5e:00:01:VRID (IPv4) or :02: (IPv6); a configured MAC of 5 octets gets the VRID. */
export function vmacAddress(vrid: number, family: Family, configured?: string): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  if (configured !== undefined) {
    const parts = configured.split(':').filter((p) => p !== '');
    if (parts.length === 5) parts.push(hex(vrid));
    return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':');
  }
  return `00:00:5e:00:${family === 'inet' ? '01' : '02'}:${hex(vrid)}`;
}

/** fe80::/64 with the modified EUI-64 of a MAC (keepalived make_link_local_address). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((p) => parseInt(p, 16));
  const w = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  return `fe80::${w(b[0]! ^ 0x02, b[1]!)}:${w(b[2]!, 0xff)}:${w(0xfe, b[3]!)}:${w(b[4]!, b[5]!)}`;
}

/** keepalived create_vmac_name: PREFIX.VRID, then PREFIXn.VRID (IPv6 tries 6 first), truncating PREFIX to fit IFNAMSIZ. */
export function vmacNames(prefix: string, vrid: number, family: Family, max = 30): string[] {
  const fit = (p: string, tail: string): string => {
    const over = p.length + tail.length - (IFNAMSIZ - 1);
    return `${over > 0 ? p.slice(0, p.length - over) : p}${tail}`;
  };
  const out = [fit(prefix, `.${vrid}`)];
  let num = 0;
  while (out.length < max) {
    if (family === 'inet6') num = num === 0 ? 6 : num === 6 ? 1 : num + 1 === 6 ? 7 : num + 1;
    else num++;
    out.push(fit(prefix, `${num}.${vrid}`));
  }
  return out;
}

const macEq = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

export class VmacRuntime implements VmacPort {
  private readonly vmacs = new Map<string, Vmac>();
  /** VMAC keys of each prepared instance configuration. */
  private readonly usedBy = new Map<VrrpInstanceConfig, Set<string>>();
  /** Base interface → [refcount, original arp_ignore, original arp_filter] (vrrp_if_config.c reset_arp_config). */
  private readonly baseArp = new Map<string, { count: number; arpIgnore?: number | undefined; arpFilter?: number | undefined; changed: boolean }>();
  /** clear_rp_filter's saved values (undefined: all.rp_filter was not changed). */
  private rpFilter: { all: number; default?: number | undefined; interfaces: Map<string, number> } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly links: LinkManager,
    private readonly log: Logger,
    private readonly global: Pick<GlobalDefs, 'vmacPrefix' | 'vmacAddrPrefix'> = {},
  ) {}

  /** Operations one at a time: names are chosen against what exists. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  prepare(ic: VrrpInstanceConfig): Promise<VmacBinding | undefined> {
    return this.serial(() => this.prepareNow(ic));
  }

  private async prepareNow(ic: VrrpInstanceConfig): Promise<VmacBinding | undefined> {
    const base = ic.interface;
    const perVip = ic.virtualIpAddresses.some((v) => v.useVmac);
    if (base === undefined || this.stopped || (ic.useVmac === undefined && !ic.useVmacAddr && !perVip)) return undefined;
    const tag = `(${ic.name})`;
    let mac = ic.useVmac?.mac;
    let xmitBase = ic.useVmac?.xmitBase === true;
    if (ic.strictMode && mac !== undefined) {
      this.log.warn(`${tag} strict mode does not allow a configured VMAC MAC address - using the RFC 5798 one`);
      mac = undefined;
    }
    if (ic.strictMode && xmitBase) {
      this.log.warn(`${tag} xmit_base is incompatible with strict mode - resetting`);
      xmitBase = false;
    }
    if (ic.useVmac !== undefined && ic.unicastPeers.length > 0 && !xmitBase) {
      this.log.warn(`${tag} unicast with use_vmac requires vmac_xmit_base - setting`);
      xmitBase = true;
    }
    const used = new Set<string>();
    const links = await this.links.list();
    const baseLink = links.find((l) => l.name === base);
    if (baseLink === undefined) throw new Error(`interface ${base} not found: cannot create its VMAC`);

    let instance: Vmac | undefined;
    let linkLocal: string | undefined;
    if (ic.useVmac !== undefined) {
      const otherFamily = ic.virtualIpAddressesExcluded.some((v) => v.family !== ic.family);
      instance = await this.ensure(tag, links, baseLink, ic.family, vmacAddress(ic.virtualRouterId, ic.family, mac), ic.useVmac.name, this.global.vmacPrefix ?? 'vrrp', ic.virtualRouterId, !otherFamily && ic.family === 'inet');
      used.add(instance.key);
      if (ic.family === 'inet6' && !xmitBase) {
        // keepalived set_link_local_address: the configured source, else the base's link-local, else one from
        // its MAC; /64, nodad, and deprecated (preferred_lft 0, as keepalived's zeroed ip_address_t sends it).
        const configured = ic.mcastSrcIp ?? ic.unicastSrcIp;
        linkLocal = configured ?? (await this.baseLinkLocal(baseLink.index)) ?? eui64LinkLocal(baseLink.mac ?? '00:00:00:00:00:00');
        await this.links.addAddress({ family: 'inet6', address: linkLocal, prefixLength: 64, ifindex: instance.index, preferredLifetime: 0 }).catch((e: Error) => this.log.warn(`${tag} adding link-local address to ${instance!.name} failed: ${e.message}`));
      }
    }

    // VIP placement (vrrp_complete_instance): the instance's VMAC takes its family's VIPs on its interface;
    // use_vmac_addr / per-VIP use_vmac give the others a VMAC of their own on their interface.
    const placed = new Map<VirtualIpAddress, string>();
    for (const v of [...ic.virtualIpAddresses, ...ic.virtualIpAddressesExcluded]) {
      const onBase = v.dev === undefined || v.dev === base;
      let wantsVmac = v.useVmac === true;
      if (wantsVmac && onBase && instance !== undefined && v.family === ic.family) {
        this.log.warn(`${tag} use_vmac specified for VIP/eVIP ${v.address} and vrrp instance`);
        wantsVmac = false;
      }
      if (onBase && instance !== undefined && v.family === ic.family) {
        placed.set(v, instance.name);
        continue;
      }
      const dev = v.dev ?? base;
      if (!(wantsVmac || (ic.useVmacAddr === true && (!onBase || v.family !== ic.family)))) {
        placed.set(v, dev);
        continue;
      }
      const devLinks = await this.links.list();
      const devLink = devLinks.find((l) => l.name === dev);
      if (devLink === undefined) {
        this.log.warn(`${tag} interface ${dev} of VIP ${v.address} not found: no VMAC for it`);
        placed.set(v, dev);
        continue;
      }
      const prefix = this.global.vmacAddrPrefix ?? this.global.vmacPrefix ?? 'vrrp';
      const addr = await this.ensure(tag, devLinks, devLink, v.family, vmacAddress(ic.virtualRouterId, v.family, mac), undefined, prefix, ic.virtualRouterId, v.family === 'inet');
      if (v.family === 'inet6') {
        // An address VMAC has no configured source: the base's link-local, else one from its MAC.
        const ll = (await this.baseLinkLocal(devLink.index)) ?? eui64LinkLocal(devLink.mac ?? '00:00:00:00:00:00');
        await this.links.addAddress({ family: 'inet6', address: ll, prefixLength: 64, ifindex: addr.index, preferredLifetime: 0 }).catch((e: Error) => this.log.warn(`${tag} adding link-local address to ${addr.name} failed: ${e.message}`));
      }
      used.add(addr.key);
      placed.set(v, addr.name);
    }
    this.usedBy.set(ic, used);
    return {
      vmac: instance?.name,
      transportInterface: instance === undefined || xmitBase ? base : instance.name,
      linkLocal,
      vipInterface: (v) => placed.get(v) ?? v.dev ?? base,
    };
  }

  private async baseLinkLocal(index: number): Promise<string | undefined> {
    return this.links.ipv6LinkLocal(index).catch(() => undefined);
  }

  /**
   * A VMAC with this MAC on this base: one of ours already, a matching private macvlan (adopted, as
   * keepalived's "Found matching interface"), or a new one. A macvlan holding the configured name but not
   * matching is deleted first; any other interface holding it makes us choose a generated name.
   */
  private async ensure(tag: string, links: LinkDetail[], base: LinkDetail, family: Family, mac: string, configuredName: string | undefined, prefix: string, vrid: number, ipv4Only: boolean): Promise<Vmac> {
    const key = `${base.name}|${mac.toLowerCase()}`;
    const known = this.vmacs.get(key);
    if (known !== undefined) return known;
    const matches = (l: LinkDetail): boolean => l.kind === 'macvlan' && l.macvlanMode === MACVLAN_MODE_PRIVATE && l.parentIndex === base.index && macEq(l.mac, mac);
    let found = links.find((l) => matches(l) && (configuredName === undefined || l.name === configuredName)) ?? links.find(matches);
    let name = configuredName;
    if (found !== undefined) {
      if (name !== undefined && name !== found.name) this.log.info(`${tag} vmac name mismatch ${name} <=> ${found.name}. changing to ${found.name}.`);
      name = found.name;
      this.log.info(`${tag} Found matching interface ${found.name}`);
    } else if (name !== undefined) {
      const holder = links.find((l) => l.name === name);
      if (holder?.kind === 'macvlan') {
        this.log.info(`${tag} VMAC ${name} already exists but is incompatible. It will be deleted/updated`);
        await this.links.deleteLink(holder.index);
      } else if (holder !== undefined) {
        this.log.error(`${tag} VMAC interface name ${name} already exists as a non VMAC interface. ignoring configured name`);
        name = undefined;
      }
    }
    if (name === undefined) {
      const taken = new Set([...links.map((l) => l.name), ...[...this.vmacs.values()].map((v) => v.name)]);
      name = vmacNames(prefix, vrid, family).find((n) => !taken.has(n));
      if (name === undefined) throw new Error(`no free VMAC name for VRID ${vrid} on ${base.name}`);
    }
    if (found === undefined) {
      found = await this.links.createMacvlan({ name, parentIndex: base.index, mac });
      this.log.info(`${tag} Success creating VMAC interface ${name}`);
    }
    const vmac: Vmac = { key, name, index: found.index, base: base.name, baseIndex: base.index, family, mac, ipv4Params: false };
    this.vmacs.set(key, vmac);
    await this.configure(tag, vmac, ipv4Only);
    return vmac;
  }

  /** netlink_link_add_vmac after the create: IPv4 sysctls, disable_ipv6, addrgenmode none, then up. */
  private async configure(tag: string, v: Vmac, ipv4Only: boolean): Promise<void> {
    const warn = (what: string) => (e: Error) => this.log.warn(`${tag} ${what} on ${v.name}: ${e.message}`);
    if (v.family === 'inet') {
      await this.clearRpFilter();
      // vrrp_if_config.c vmac_sysctl: answer ARP only for its own addresses, accept packets from local
      // sources, no reverse-path filter (the VMAC has no route back), promote secondaries.
      await this.links.setIpv4Conf(v.index, { arp_ignore: 1, accept_local: 1, rp_filter: 0, promote_secondaries: 1 }).catch(warn('cannot set IPv4 parameters'));
      await this.holdBaseArp(v.base, v.baseIndex);
      v.ipv4Params = true;
    }
    // No IPv6 on an IPv4 VMAC unless eVIPs of the other family go on it (link_set_ipv6).
    await this.links.writeSysctl(`net/ipv6/conf/${v.name}/disable_ipv6`, ipv4Only ? 1 : 0).catch(warn('cannot set disable_ipv6'));
    // RFC 5798 §7.4: no link-local address from the VRRP MAC (before the link goes up).
    await this.links.setAddrGenModeNone(v.index).catch(warn('Error setting ADDR_GEN_MODE to NONE'));
    await this.links.setUp(v.index);
  }

  /** parent_sysctl: arp_ignore=1, arp_filter=1 on the base, so only the VMAC answers ARP for the VIPs. */
  private async holdBaseArp(base: string, index: number): Promise<void> {
    const held = this.baseArp.get(base);
    if (held !== undefined) {
      held.count++;
      return;
    }
    const arpIgnore = await this.links.readSysctl(`net/ipv4/conf/${base}/arp_ignore`);
    const arpFilter = await this.links.readSysctl(`net/ipv4/conf/${base}/arp_filter`);
    const entry = { count: 1, arpIgnore, arpFilter, changed: false };
    this.baseArp.set(base, entry);
    if (arpIgnore !== 1 || arpFilter !== 1) {
      try {
        await this.links.setIpv4Conf(index, { arp_ignore: 1, arp_filter: 1 });
        entry.changed = true;
      } catch (e) {
        this.log.warn(`Set base flags on ${base} failed: ${(e as Error).message}`);
      }
    }
  }

  private async releaseBaseArp(base: string, index: number): Promise<void> {
    const held = this.baseArp.get(base);
    if (held === undefined || --held.count > 0) return;
    this.baseArp.delete(base);
    if (!held.changed) return;
    await this.links.setIpv4Conf(index, { arp_ignore: held.arpIgnore ?? 0, arp_filter: held.arpFilter ?? 0 }).catch((e: Error) => this.log.warn(`reset interface flags on ${base} failed: ${e.message}`));
  }

  /**
   * clear_rp_filter: an IPv4 VMAC needs rp_filter 0, and the kernel uses max(all, interface). So when
   * all.rp_filter is set: default and every interface are raised to it, then all is set to 0 (once;
   * restored at stop).
   */
  private async clearRpFilter(): Promise<void> {
    if (this.rpFilter !== undefined) return;
    const all = await this.links.readSysctl('net/ipv4/conf/all/rp_filter');
    if (all === undefined) {
      this.log.warn('Unable to read sysctl net.ipv4.conf.all.rp_filter');
      return;
    }
    if (all === 0) return;
    const saved: NonNullable<VmacRuntime['rpFilter']> = { all, interfaces: new Map() };
    const def = await this.links.readSysctl('net/ipv4/conf/default/rp_filter');
    if (def !== undefined && def < all) {
      this.log.info(`NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from ${def} to ${all}`);
      await this.links.writeSysctl('net/ipv4/conf/default/rp_filter', all);
      saved.default = def;
    }
    for (const l of await this.links.list()) {
      const r = await this.links.readSysctl(`net/ipv4/conf/${l.name}/rp_filter`);
      if (r === undefined || r >= all) continue;
      await this.links.writeSysctl(`net/ipv4/conf/${l.name}/rp_filter`, all).catch(() => undefined);
      saved.interfaces.set(l.name, r);
    }
    this.log.info(`NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from ${all} to 0`);
    await this.links.writeSysctl('net/ipv4/conf/all/rp_filter', 0);
    this.rpFilter = saved;
  }

  /** restore_rp_filter: each value back, but only where it is still what we set. */
  private async restoreRpFilter(): Promise<void> {
    const saved = this.rpFilter;
    if (saved === undefined) return;
    this.rpFilter = undefined;
    const quiet = (): undefined => undefined;
    if ((await this.links.readSysctl('net/ipv4/conf/all/rp_filter')) === 0) {
      this.log.info(`NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to ${saved.all}`);
      await this.links.writeSysctl('net/ipv4/conf/all/rp_filter', saved.all).catch(quiet);
    }
    if (saved.default !== undefined && (await this.links.readSysctl('net/ipv4/conf/default/rp_filter')) === saved.all) {
      this.log.info(`NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to ${saved.default}`);
      await this.links.writeSysctl('net/ipv4/conf/default/rp_filter', saved.default).catch(quiet);
    }
    for (const [name, value] of saved.interfaces) {
      if ((await this.links.readSysctl(`net/ipv4/conf/${name}/rp_filter`)) === saved.all) await this.links.writeSysctl(`net/ipv4/conf/${name}/rp_filter`, value).catch(quiet);
    }
  }

  /** netlink_link_del_vmac: the base's ARP settings back (IPv4), then RTM_DELLINK. */
  private async remove(v: Vmac): Promise<void> {
    this.vmacs.delete(v.key);
    if (v.ipv4Params) await this.releaseBaseArp(v.base, v.baseIndex);
    try {
      await this.links.deleteLink(v.index);
      this.log.info(`Success removing VMAC interface ${v.name}`);
    } catch (e) {
      this.log.warn(`Error removing VMAC interface ${v.name}: ${(e as Error).message}`);
    }
  }

  retain(instances: readonly VrrpInstanceConfig[]): Promise<void> {
    return this.serial(async () => {
      const keep = new Set(instances);
      for (const ic of [...this.usedBy.keys()]) if (!keep.has(ic)) this.usedBy.delete(ic);
      const used = new Set([...this.usedBy.values()].flatMap((s) => [...s]));
      for (const v of [...this.vmacs.values()]) if (!used.has(v.key)) await this.remove(v);
      if (this.vmacs.size === 0) await this.restoreRpFilter();
    });
  }

  stop(): Promise<void> {
    return this.serial(async () => {
      if (this.stopped) return;
      this.stopped = true;
      await this.restoreRpFilter();
      for (const v of [...this.vmacs.values()]) await this.remove(v);
      this.usedBy.clear();
      this.links.close();
    });
  }
}
