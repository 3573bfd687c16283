// The VMAC lifecycle (daemon/vmac.ts) against a fake LinkManager: keepalived 2.2.7's order (vrrp_vmac.c
// netlink_link_add_vmac, vrrp_if_config.c, shutdown_vrrp_instances), names, VIP placement, adoption of
// a matching macvlan, sysctls saved and restored; and the engine's use of it.
import { describe, expect, it } from 'vitest';
import type { VrrpInstance as VrrpInstanceConfig } from '../../../src/config/model.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { eui64LinkLocal, vmacAddress, vmacNames, VmacRuntime } from '../../../src/daemon/vmac.js';
import type { Family, Ipv4ConfName, LinkDetail, LinkManager } from '../../../src/net/types.js';
import { VrrpEngine } from '../../../src/daemon/vrrp-engine.js';
import { FakeTimers } from '../../../src/vrrp/timers.js';
import { conf, Node, parse, run, Wire } from '../vrrp/engine-harness.js';

class FakeLinks implements LinkManager {
  ops: string[] = [];
  links: LinkDetail[] = [
    { name: 'lo', index: 1, up: true, running: true, mac: '00:00:00:00:00:00' },
    { name: 'eth0', index: 2, up: true, running: true, mac: '52:54:00:12:34:56' },
    { name: 'eth1', index: 3, up: true, running: true, mac: '52:54:00:ab:cd:ef' },
  ];
  sysctl = new Map<string, number>([
    ['net/ipv4/conf/all/rp_filter', 0],
    ['net/ipv4/conf/default/rp_filter', 0],
    ['net/ipv4/conf/eth0/arp_ignore', 0],
    ['net/ipv4/conf/eth0/arp_filter', 0],
    ['net/ipv4/conf/eth1/arp_ignore', 0],
    ['net/ipv4/conf/eth1/arp_filter', 0],
  ]);
  linkLocal = new Map<number, string>([[2, 'fe80::5054:ff:fe12:3456']]);
  private next = 10;
  closed = false;
  async list(): Promise<LinkDetail[]> {
    return this.links.map((l) => ({ ...l }));
  }
  async get(name: string): Promise<LinkDetail | undefined> {
    return this.links.find((l) => l.name === name);
  }
  async createMacvlan(o: { name: string; parentIndex: number; mac: string }): Promise<LinkDetail> {
    this.ops.push(`create ${o.name} on #${o.parentIndex} ${o.mac}`);
    if (this.links.some((l) => l.name === o.name)) throw new Error('EEXIST');
    const l: LinkDetail = { name: o.name, index: this.next++, up: false, running: false, mac: o.mac, kind: 'macvlan', macvlanMode: 1, parentIndex: o.parentIndex };
    this.links.push(l);
    for (const k of ['rp_filter', 'arp_ignore', 'arp_filter']) this.sysctl.set(`net/ipv4/conf/${o.name}/${k}`, 0);
    return l;
  }
  async deleteLink(index: number): Promise<void> {
    const l = this.links.find((x) => x.index === index);
    this.ops.push(`delete ${l?.name ?? `#${index}`}`);
    this.links = this.links.filter((x) => x.index !== index);
  }
  private name(index: number): string {
    return this.links.find((l) => l.index === index)?.name ?? `#${index}`;
  }
  async setUp(index: number): Promise<void> {
    this.ops.push(`up ${this.name(index)}`);
  }
  async setAddrGenModeNone(index: number): Promise<void> {
    this.ops.push(`addrgenmode none ${this.name(index)}`);
  }
  async setIpv4Conf(index: number, values: Partial<Record<Ipv4ConfName, number>>): Promise<void> {
    const n = this.name(index);
    this.ops.push(`ipv4conf ${n} ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    for (const [k, v] of Object.entries(values)) this.sysctl.set(`net/ipv4/conf/${n}/${k}`, v);
  }
  async addAddress(a: { family: Family; address: string; prefixLength: number; ifindex: number; preferredLifetime?: number | undefined }): Promise<void> {
    this.ops.push(`addr ${a.address}/${a.prefixLength} ${this.name(a.ifindex)} preferred=${a.preferredLifetime ?? 'forever'}`);
  }
  async ipv6LinkLocal(index: number): Promise<string | undefined> {
    return this.linkLocal.get(index);
  }
  async readSysctl(path: string): Promise<number | undefined> {
    return this.sysctl.get(path);
  }
  async writeSysctl(path: string, value: number): Promise<void> {
    this.ops.push(`sysctl ${path}=${value}`);
    this.sysctl.set(path, value);
  }
  close(): void {
    this.closed = true;
  }
}

/** A parsed instance with the VMAC fields set directly (the parser fills them once wired). */
function instance(extra: string, set: (ic: VrrpInstanceConfig) => void, family: Family = 'inet'): VrrpInstanceConfig {
  const text =
    family === 'inet'
      ? conf(100, extra)
      : `vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  priority 100\n  virtual_ipaddress {\n    fd00::200/64\n  }\n  ${extra}\n}\n`;
  const ic = parse(text).vrrpInstances[0]!;
  set(ic);
  return ic;
}

function runtime(links = new FakeLinks()): { links: FakeLinks; rt: VmacRuntime; log: ReturnType<typeof createMemoryLogger> } {
  const log = createMemoryLogger();
  return { links, rt: new VmacRuntime(links, log), log };
}

describe('VMAC names, MACs, link-local', () => {
  it('00:00:5e:00:01:VRID (IPv4), :02: (IPv6); a configured MAC of 5 octets takes the VRID', () => {
    expect(vmacAddress(51, 'inet')).toBe('00:00:5e:00:01:33');
    expect(vmacAddress(255, 'inet6')).toBe('00:00:5e:00:02:ff');
    expect(vmacAddress(7, 'inet', '02:11:22:33:44')).toBe('02:11:22:33:44:07');
    expect(vmacAddress(7, 'inet', '02:11:22:33:44:55')).toBe('02:11:22:33:44:55');
  });

  it('create_vmac_name: PREFIX.VRID, then 1, 2… (IPv6: 6, 1…5, 7…), prefix truncated to IFNAMSIZ', () => {
    expect(vmacNames('vrrp', 51, 'inet', 4)).toEqual(['vrrp.51', 'vrrp1.51', 'vrrp2.51', 'vrrp3.51']);
    expect(vmacNames('vrrp', 51, 'inet6', 9)).toEqual(['vrrp.51', 'vrrp6.51', 'vrrp1.51', 'vrrp2.51', 'vrrp3.51', 'vrrp4.51', 'vrrp5.51', 'vrrp7.51', 'vrrp8.51']);
    const [first, second] = vmacNames('averyveryverylongprefix', 200, 'inet', 2);
    expect(first).toBe('averyveryve.200');
    expect(second).toBe('averyveryv1.200');
  });

  it('make_link_local_address: modified EUI-64', () => {
    expect(eui64LinkLocal('52:54:00:12:34:56')).toBe('fe80::5054:ff:fe12:3456');
    expect(eui64LinkLocal('00:00:5e:00:02:34')).toBe('fe80::200:5eff:fe00:234');
  });
});

describe('VmacRuntime', () => {
  it('IPv4: create, rp_filter, VMAC then base sysctls, disable_ipv6, addrgenmode, up - in that order; VIPs on the VMAC', async () => {
    const { links, rt } = runtime();
    const ic = instance('', (i) => (i.useVmac = {}));
    const b = await rt.prepare(ic);
    expect(b?.vmac).toBe('vrrp.51');
    expect(b?.transportInterface).toBe('vrrp.51');
    expect(b?.vipInterface(ic.virtualIpAddresses[0]!)).toBe('vrrp.51');
    expect(links.ops).toEqual([
      'create vrrp.51 on #2 00:00:5e:00:01:33',
      'ipv4conf vrrp.51 arp_ignore=1 accept_local=1 rp_filter=0 promote_secondaries=1',
      'ipv4conf eth0 arp_ignore=1 arp_filter=1',
      'sysctl net/ipv6/conf/vrrp.51/disable_ipv6=1',
      'addrgenmode none vrrp.51',
      'up vrrp.51',
    ]);
    links.ops = [];
    await rt.stop();
    // shutdown: the base's ARP settings back, then RTM_DELLINK
    expect(links.ops).toEqual(['ipv4conf eth0 arp_ignore=0 arp_filter=0', 'delete vrrp.51']);
    expect(links.closed).toBe(true);
  });

  it('all.rp_filter set: default and lower interfaces raised to it, all to 0; each put back at stop only if still ours', async () => {
    const links = new FakeLinks();
    links.sysctl.set('net/ipv4/conf/all/rp_filter', 2);
    links.sysctl.set('net/ipv4/conf/default/rp_filter', 1);
    links.sysctl.set('net/ipv4/conf/eth0/rp_filter', 0);
    links.sysctl.set('net/ipv4/conf/eth1/rp_filter', 2);
    const { rt } = runtime(links);
    await rt.prepare(instance('', (i) => (i.useVmac = {})));
    expect(links.ops.filter((o) => o.startsWith('sysctl net/ipv4'))).toEqual([
      'sysctl net/ipv4/conf/default/rp_filter=2',
      'sysctl net/ipv4/conf/eth0/rp_filter=2',
      'sysctl net/ipv4/conf/vrrp.51/rp_filter=2', // keepalived too: clear_rp_filter runs after the create…
      'sysctl net/ipv4/conf/all/rp_filter=0',
    ]);
    expect(links.sysctl.get('net/ipv4/conf/vrrp.51/rp_filter')).toBe(0); // …and the VMAC's devconf sets 0
    links.sysctl.set('net/ipv4/conf/eth0/rp_filter', 1); // changed by someone else meanwhile: left alone
    links.ops = [];
    await rt.stop();
    expect(links.ops.filter((o) => o.startsWith('sysctl'))).toEqual(['sysctl net/ipv4/conf/all/rp_filter=2', 'sysctl net/ipv4/conf/default/rp_filter=1']);
    expect(links.ops.at(-1)).toBe('delete vrrp.51');
  });

  it('IPv6: no IPv4 settings, IPv6 kept, the base link-local (/64, nodad, deprecated) on the VMAC as the advert source', async () => {
    const { links, rt } = runtime();
    const ic = instance('', (i) => (i.useVmac = {}), 'inet6');
    const b = await rt.prepare(ic);
    expect(b).toMatchObject({ vmac: 'vrrp.52', transportInterface: 'vrrp.52', linkLocal: 'fe80::5054:ff:fe12:3456' });
    expect(links.ops).toEqual([
      'create vrrp.52 on #2 00:00:5e:00:02:34',
      'sysctl net/ipv6/conf/vrrp.52/disable_ipv6=0',
      'addrgenmode none vrrp.52',
      'up vrrp.52',
      'addr fe80::5054:ff:fe12:3456/64 vrrp.52 preferred=0',
    ]);
    links.ops = [];
    await rt.stop();
    expect(links.ops).toEqual(['delete vrrp.52']);
  });

  it('IPv6 without a base link-local: one made from the base MAC; mcast_src_ip wins over both', async () => {
    const links = new FakeLinks();
    links.linkLocal.clear();
    const { rt } = runtime(links);
    expect((await rt.prepare(instance('', (i) => (i.useVmac = {}), 'inet6')))?.linkLocal).toBe('fe80::5054:ff:fe12:3456');
    const r2 = runtime();
    const ic = instance('', (i) => ((i.useVmac = { name: 'vm6' }), (i.mcastSrcIp = 'fe80::99')), 'inet6');
    expect((await r2.rt.prepare(ic))?.linkLocal).toBe('fe80::99');
  });

  it('vmac_xmit_base: adverts on the base interface, VIPs still on the VMAC, no IPv6 link-local added', async () => {
    const { links, rt } = runtime();
    const ic = instance('', (i) => (i.useVmac = { xmitBase: true }), 'inet6');
    const b = await rt.prepare(ic);
    expect(b?.transportInterface).toBe('eth0');
    expect(b?.linkLocal).toBeUndefined();
    expect(b?.vipInterface(ic.virtualIpAddresses[0]!)).toBe('vrrp.52');
    expect(links.ops.some((o) => o.startsWith('addr '))).toBe(false);
  });

  it('unicast peers force vmac_xmit_base; strict mode drops xmit_base and a configured MAC', async () => {
    const { rt, log } = runtime();
    const b = await rt.prepare(instance('unicast_peer {\n 192.168.60.112\n}', (i) => (i.useVmac = {})));
    expect(b?.transportInterface).toBe('eth0');
    expect(log.lines.map((l) => l.msg)).toContain('(VI_1) unicast with use_vmac requires vmac_xmit_base - setting');
    const s = runtime();
    const ic = instance('', (i) => ((i.useVmac = { xmitBase: true, mac: '02:00:00:00:00:01' }), (i.strictMode = true)));
    expect((await s.rt.prepare(ic))?.transportInterface).toBe('vrrp.51');
    expect(s.links.ops[0]).toBe('create vrrp.51 on #2 00:00:5e:00:01:33');
  });

  it('a matching private macvlan on the base is adopted (no create); stop deletes it', async () => {
    const links = new FakeLinks();
    links.links.push({ name: 'oldvmac', index: 7, up: true, running: true, mac: '00:00:5E:00:01:33', kind: 'macvlan', macvlanMode: 1, parentIndex: 2 });
    const { rt, log } = runtime(links);
    const b = await rt.prepare(instance('', (i) => (i.useVmac = {})));
    expect(b?.vmac).toBe('oldvmac');
    expect(links.ops.some((o) => o.startsWith('create'))).toBe(false);
    expect(links.ops.at(-1)).toBe('up oldvmac');
    expect(log.lines.map((l) => l.msg)).toContain('(VI_1) Found matching interface oldvmac');
    await rt.stop();
    expect(links.ops.at(-1)).toBe('delete oldvmac');
  });

  it('the configured name held by a non-matching macvlan: deleted, then created; held by a non-macvlan: a generated name', async () => {
    const links = new FakeLinks();
    links.links.push({ name: 'vm1', index: 7, up: true, running: true, mac: '02:00:00:00:00:09', kind: 'macvlan', macvlanMode: 4, parentIndex: 2 });
    const { rt } = runtime(links);
    expect((await rt.prepare(instance('', (i) => (i.useVmac = { name: 'vm1' }))))?.vmac).toBe('vm1');
    expect(links.ops.slice(0, 2)).toEqual(['delete vm1', 'create vm1 on #2 00:00:5e:00:01:33']);

    const l2 = new FakeLinks();
    l2.links.push({ name: 'vm1', index: 7, up: true, running: true, mac: '02:00:00:00:00:09', kind: 'veth' });
    l2.links.push({ name: 'vrrp.51', index: 8, up: true, running: true, mac: '02:00:00:00:00:08' });
    const r2 = runtime(l2);
    expect((await r2.rt.prepare(instance('', (i) => (i.useVmac = { name: 'vm1' }))))?.vmac).toBe('vrrp1.51');
    expect(l2.ops.some((o) => o.startsWith('delete'))).toBe(false);
  });

  it('use_vmac_addr: a VIP on another interface, and one of the other family, get VMACs of their own there', async () => {
    const { links, rt } = runtime();
    const ic = instance('virtual_ipaddress_excluded {\n  10.1.0.9/24 dev eth1\n  fd00::9/64\n}', (i) => ((i.useVmac = {}), (i.useVmacAddr = true)));
    const b = await rt.prepare(ic);
    const [vip, onEth1, v6] = [...ic.virtualIpAddresses, ...ic.virtualIpAddressesExcluded];
    expect(b?.vipInterface(vip!)).toBe('vrrp.51');
    expect(b?.vipInterface(onEth1!)).toBe('vrrp1.51');
    expect(b?.vipInterface(v6!)).toBe('vrrp6.51');
    expect(links.ops.filter((o) => o.startsWith('create'))).toEqual(['create vrrp.51 on #2 00:00:5e:00:01:33', 'create vrrp1.51 on #3 00:00:5e:00:01:33', 'create vrrp6.51 on #2 00:00:5e:00:02:33']);
    // The IPv4 VMAC keeps IPv6 enabled: an eVIP of the other family (EVIP_OTHER_FAMILY).
    expect(links.ops).toContain('sysctl net/ipv6/conf/vrrp.51/disable_ipv6=0');
    expect(links.ops).toContain('addr fe80::5054:ff:fe12:3456/64 vrrp6.51 preferred=0');
    links.ops = [];
    await rt.stop();
    expect(links.ops).toEqual(['ipv4conf eth0 arp_ignore=0 arp_filter=0', 'delete vrrp.51', 'ipv4conf eth1 arp_ignore=0 arp_filter=0', 'delete vrrp1.51', 'delete vrrp6.51']);
  });

  it('without use_vmac_addr or per-VIP use_vmac, other VIPs stay on their interfaces; per-VIP use_vmac gives one a VMAC', async () => {
    const { rt } = runtime();
    const ic = instance('virtual_ipaddress_excluded {\n  10.1.0.9/24 dev eth1\n  10.1.0.10/24 dev eth1\n}', (i) => ((i.useVmac = {}), (i.virtualIpAddressesExcluded[1]!.useVmac = true)));
    const b = await rt.prepare(ic);
    expect(b?.vipInterface(ic.virtualIpAddressesExcluded[0]!)).toBe('eth1');
    expect(b?.vipInterface(ic.virtualIpAddressesExcluded[1]!)).toBe('vrrp1.51');
    expect(await runtime().rt.prepare(instance('', () => undefined))).toBeUndefined();
  });

  it('retain: a VMAC no running instance uses is deleted; shared base ARP settings reset with the last VMAC', async () => {
    const { links, rt } = runtime();
    const a = instance('', (i) => (i.useVmac = {}));
    const b = parse(conf(100).replace('VI_1', 'VI_2').replace('virtual_router_id 51', 'virtual_router_id 52')).vrrpInstances[0]!;
    b.useVmac = {};
    await rt.prepare(a);
    await rt.prepare(b);
    expect(links.ops.filter((o) => o.startsWith('ipv4conf eth0'))).toEqual(['ipv4conf eth0 arp_ignore=1 arp_filter=1']);
    links.ops = [];
    await rt.retain([b]);
    expect(links.ops).toEqual(['delete vrrp.51']);
    links.ops = [];
    await rt.retain([]);
    expect(links.ops).toEqual(['ipv4conf eth0 arp_ignore=0 arp_filter=0', 'delete vrrp.52']);
  });
});

describe('engine with VMACs', () => {
  it('transport and VIPs on the VMAC (IPv4 source from the base); the VMAC goes after the VIPs at stop', async () => {
    const timers = new FakeTimers();
    const node = new Node(new Wire(timers), '192.168.60.111');
    const links = new FakeLinks();
    const log = createMemoryLogger();
    const rt = new VmacRuntime(links, log);
    const cfg = parse(conf(100, 'state MASTER'));
    cfg.vrrpInstances[0]!.useVmac = {};
    const adapters = node.adapters();
    const remove = adapters.addresses.remove.bind(adapters.addresses);
    adapters.addresses.remove = async (v) => {
      links.ops.push(`remove ${v.address} from ${v.interface}`);
      await remove(v);
    };
    node.engine = await VrrpEngine.start(cfg, { ...adapters, vmac: rt }, { log: node.log, keepVipsOnStop: false });
    expect(node.sockets[0]?.options).toMatchObject({ interface: 'vrrp.51', sourceAddress: '192.168.60.111' });
    await run(timers, 5000);
    expect(node.state()).toBe('MASTER');
    expect(node.vips.get('192.168.60.200')?.interface).toBe('vrrp.51');
    links.ops = [];
    const stopping = node.engine.stop();
    await run(timers, 100);
    await stopping;
    expect(links.ops).toEqual(['remove 192.168.60.200 from vrrp.51', 'ipv4conf eth0 arp_ignore=0 arp_filter=0', 'delete vrrp.51']);
  });
});
