// use_vmac (keepalived vrrp_vmac.c): the MASTER holds the VIP on a private macvlan `vrrp.VRID` with MAC
// 00:00:5e:00:01:VRID, so a client's ARP entry for the VIP never changes at a failover. Two lvskeeper
// daemons, then lvskeeper with keepalived 2.2.7, on the bridge of helpers.ts (namespaces lkv-vm*-).
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, sh, sleep, topology, vrrpInstance, waitUntil, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
const VRID = 51;
const VMAC = 'vrrp.51';
const MAC = '00:00:5e:00:01:33';

interface LinkJson {
  ifname: string;
  address?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

function link(ns: string, name: string): LinkJson | undefined {
  const out = sh('ip', ['-n', ns, '-j', '-d', 'link', 'show', 'dev', name], true);
  if (out.trim() === '') return undefined;
  return (JSON.parse(out) as LinkJson[])[0];
}

function addresses(ns: string, dev: string): string[] {
  const out = sh('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', dev], true);
  if (out.trim() === '') return [];
  return (JSON.parse(out) as { addr_info: { local: string }[] }[])[0]?.addr_info.map((a) => a.local).filter((a) => a !== undefined) ?? [];
}

/** A sysctl by its /proc/sys path (`sysctl` would read the dot in `vrrp.51` as a separator). */
function sysctl(ns: string, path: string): string {
  return sh('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/${path}`]).trim();
}

/** The client's neighbour entry for the VIP (lladdr), undefined when it has none. */
function clientMac(topo: Topo, vip = VIP): string | undefined {
  const out = sh('ip', ['-n', topo.x, '-j', 'neigh', 'show', vip]);
  const e = (JSON.parse(out) as { lladdr?: string; state?: string[] }[])[0];
  return e?.lladdr;
}

/**
 * Ping the VIP from the client until it answers (the bridge may still have the VRRP MAC on the other port).
 * The echo replies leave through eth0 (the first 192.168.60.0/24 route), so the nodes first resolve the
 * client from their own address: an ARP request for it with the VIP as sender (arp_announce 0, which
 * keepalived leaves alone too) would make the client learn eth0's MAC for the VIP.
 */
async function reach(topo: Topo, timeoutMs = 8000): Promise<void> {
  for (const ns of [topo.lb1, topo.lb2]) sh('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', '-I', '192.168.60.' + (ns === topo.lb1 ? '111' : '112'), '192.168.60.50'], true);
  await waitUntil(() => sh('ip', ['netns', 'exec', topo.x, 'ping', '-c', '1', '-W', '1', VIP], true).includes('1 received'), timeoutMs, `ping ${VIP} from the client`);
}

/** The MAC that answers an ARP request for the VIP (iputils arping). */
function arpingMac(topo: Topo): string | undefined {
  const out = sh('ip', ['netns', 'exec', topo.x, 'arping', '-c', '1', '-w', '2', '-I', 'eth0', VIP], true);
  return /reply from [\d.]+ \[([0-9A-Fa-f:]+)\]/.exec(out)?.[1]?.toLowerCase();
}

/** For `ms`, only `ns` holds the VIP on its VMAC (one MASTER). */
async function holdsAlone(topo: Topo, ns: string, ms: number): Promise<void> {
  const other = ns === topo.lb1 ? topo.lb2 : topo.lb1;
  const until = performance.now() + ms;
  while (performance.now() < until) {
    expect(addresses(ns, VMAC)).toContain(VIP);
    expect(addresses(other, VMAC)).not.toContain(VIP);
    await sleep(250);
  }
}

function conf(topo: Topo, node: string, o: { state: 'MASTER' | 'BACKUP'; priority: number; vrid?: number; vip?: string }): string {
  return writeConf(
    topo.dir,
    `${node}.conf`,
    `global_defs {\n  router_id ${node}\n}\n${vrrpInstance({ state: o.state, priority: o.priority, vrid: o.vrid ?? VRID, vips: [o.vip ?? `${VIP}/24`], extra: '  use_vmac\n' })}`,
  );
}

describe.skipIf(!canRun())('use_vmac: two lvskeeper daemons', () => {
  let topo: Topo;
  const daemons: Daemon[] = [];
  beforeAll(() => {
    topo = topology('vm1');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });

  it('the MASTER holds the VIP on vrrp.51 (private macvlan, 00:00:5e:00:01:33); the MAC answers from either node; the VMAC goes at stop', async () => {
    const arpIgnoreBefore = sysctl(topo.lb1, 'net/ipv4/conf/eth0/arp_ignore');
    const lb1 = Daemon.lvskeeper('lb1', topo.lb1, conf(topo, 'lb1', { state: 'MASTER', priority: 110 }), topo.dir);
    daemons.push(lb1);
    await lb1.waitFor(/Entering MASTER STATE/, 15_000);
    const lb2 = Daemon.lvskeeper('lb2', topo.lb2, conf(topo, 'lb2', { state: 'BACKUP', priority: 100 }), topo.dir);
    daemons.push(lb2);
    await lb2.waitFor(/Entering BACKUP STATE/, 15_000);

    for (const ns of [topo.lb1, topo.lb2]) {
      const l = link(ns, VMAC);
      expect(l?.linkinfo?.info_kind).toBe('macvlan');
      expect(l?.linkinfo?.info_data?.mode).toBe('private');
      expect(l?.address).toBe(MAC);
      expect(l?.flags).toContain('UP');
      // vrrp_if_config.c: on the VMAC and its base
      expect(sysctl(ns, `net/ipv4/conf/${VMAC}/arp_ignore`)).toBe('1');
      expect(sysctl(ns, `net/ipv4/conf/${VMAC}/accept_local`)).toBe('1');
      expect(sysctl(ns, `net/ipv4/conf/${VMAC}/rp_filter`)).toBe('0');
      expect(sysctl(ns, `net/ipv6/conf/${VMAC}/disable_ipv6`)).toBe('1');
      expect(sysctl(ns, 'net/ipv4/conf/eth0/arp_ignore')).toBe('1');
      expect(sysctl(ns, 'net/ipv4/conf/eth0/arp_filter')).toBe('1');
    }
    expect(addresses(topo.lb1, VMAC)).toContain(VIP);
    expect(addresses(topo.lb1, 'eth0')).not.toContain(VIP);
    expect(addresses(topo.lb2, VMAC)).not.toContain(VIP);

    await sleep(1500); // an advert from the master puts the VRRP MAC back on its bridge port
    await reach(topo);
    expect(clientMac(topo)).toBe(MAC);
    expect(arpingMac(topo)).toBe(MAC);

    // Failover: lb1 stops; lb2 answers for the VIP with the same MAC.
    expect(await lb1.stop()).toBe(0);
    await lb2.waitFor(/Entering MASTER STATE/, 10_000);
    expect(link(topo.lb1, VMAC)).toBeUndefined();
    expect(sysctl(topo.lb1, 'net/ipv4/conf/eth0/arp_ignore')).toBe(arpIgnoreBefore);
    expect(addresses(topo.lb2, VMAC)).toContain(VIP);
    expect(clientMac(topo)).toBe(MAC);
    expect(arpingMac(topo)).toBe(MAC);
    sh('ip', ['-n', topo.x, 'neigh', 'flush', 'dev', 'eth0']);
    await reach(topo);
    expect(clientMac(topo)).toBe(MAC);
    expect(arpingMac(topo)).toBe(MAC);

    expect(await lb2.stop()).toBe(0);
    expect(link(topo.lb2, VMAC)).toBeUndefined();
  }, 60_000);
});

describe.skipIf(!canRun())('use_vmac: lvskeeper with keepalived 2.2.7', () => {
  let topo: Topo;
  const daemons: Daemon[] = [];
  beforeAll(() => {
    topo = topology('vm2');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });

  it('one MASTER; the client keeps the VRRP MAC across failovers both ways', async () => {
    const lvk = Daemon.lvskeeper('lb1', topo.lb1, conf(topo, 'lb1', { state: 'MASTER', priority: 110 }), topo.dir);
    daemons.push(lvk);
    await lvk.waitFor(/Entering MASTER STATE/, 15_000);
    const ka = Daemon.keepalived('lb2', topo.lb2, conf(topo, 'lb2', { state: 'BACKUP', priority: 100 }), topo.dir);
    daemons.push(ka);
    await ka.waitFor(/Entering BACKUP STATE/, 15_000);
    expect(link(topo.lb2, VMAC)?.address).toBe(MAC);
    await holdsAlone(topo, topo.lb1, 2500); // keepalived hears lvskeeper's adverts on its VMAC
    await reach(topo);
    expect(clientMac(topo)).toBe(MAC);
    expect(arpingMac(topo)).toBe(MAC);

    // lvskeeper → keepalived
    expect(await lvk.stop()).toBe(0);
    await ka.waitFor(/Entering MASTER STATE/, 10_000);
    expect(link(topo.lb1, VMAC)).toBeUndefined();
    await reach(topo);
    expect(clientMac(topo)).toBe(MAC);
    expect(arpingMac(topo)).toBe(MAC);
    await holdsAlone(topo, topo.lb2, 1500);

    // keepalived → lvskeeper (higher priority, preempts)
    const since = performance.now();
    const lvk2 = Daemon.lvskeeper('lb1b', topo.lb1, conf(topo, 'lb1', { state: 'MASTER', priority: 110 }), topo.dir);
    daemons.push(lvk2);
    await lvk2.waitFor(/Entering MASTER STATE/, 15_000);
    await ka.waitFor(/Entering BACKUP STATE/, 10_000, since);
    await waitUntil(() => !addresses(topo.lb2, VMAC).includes(VIP), 5000, 'keepalived to release the VIP');
    expect(addresses(topo.lb1, VMAC)).toContain(VIP);
    await holdsAlone(topo, topo.lb1, 2500);
    sh('ip', ['-n', topo.x, 'neigh', 'flush', 'dev', 'eth0']);
    await sleep(1500);
    await reach(topo);
    expect(clientMac(topo)).toBe(MAC);
    expect(arpingMac(topo)).toBe(MAC);

    // keepalived deletes its VMAC at stop too
    expect(await ka.stop()).toBe(0);
    expect(link(topo.lb2, VMAC)).toBeUndefined();
  }, 90_000);
});

describe.skipIf(!canRun())('use_vmac IPv6: two lvskeeper daemons', () => {
  const VIP6 = 'fd00:60::200';
  const VMAC6 = 'vrrp.52';
  const MAC6 = '00:00:5e:00:02:34';
  let topo: Topo;
  const daemons: Daemon[] = [];
  beforeAll(() => {
    topo = topology('vm3');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });

  const ping6 = (): boolean => sh('ip', ['netns', 'exec', topo.x, 'ping', '-6', '-c', '1', '-W', '1', VIP6], true).includes('1 received');
  const linkLocal = (ns: string, dev: string): string[] =>
    (JSON.parse(sh('ip', ['-n', ns, '-j', '-6', 'addr', 'show', 'dev', dev, 'scope', 'link'], true) || '[]') as { addr_info: { local: string }[] }[])[0]?.addr_info.map((a) => a.local).filter((a) => a !== undefined) ?? [];

  it('vrrp.52 with 00:00:5e:00:02:34 and the base link-local (no address of its own); the client keeps that MAC across a failover', async () => {
    const c = (node: string, state: 'MASTER' | 'BACKUP', priority: number): string => conf(topo, node, { state, priority, vrid: 52, vip: `${VIP6}/64` });
    const lb1 = Daemon.lvskeeper('lb1', topo.lb1, c('lb1', 'MASTER', 110), topo.dir);
    daemons.push(lb1);
    await lb1.waitFor(/Entering MASTER STATE/, 15_000);
    const lb2 = Daemon.lvskeeper('lb2', topo.lb2, c('lb2', 'BACKUP', 100), topo.dir);
    daemons.push(lb2);
    await lb2.waitFor(/Entering BACKUP STATE/, 15_000);
    for (const ns of [topo.lb1, topo.lb2]) {
      const l = link(ns, VMAC6);
      expect(l?.address).toBe(MAC6);
      expect(l?.linkinfo?.info_data?.mode).toBe('private');
      // RFC 5798 §7.4: no EUI-64 address from the VRRP MAC; the base's link-local is the adverts' source
      expect(linkLocal(ns, VMAC6)).toEqual(linkLocal(ns, 'eth0'));
      expect(sysctl(ns, `net/ipv6/conf/${VMAC6}/addr_gen_mode`)).toBe('1');
    }
    expect(addresses(topo.lb1, VMAC6)).toContain(VIP6);
    expect(addresses(topo.lb2, VMAC6)).not.toContain(VIP6);
    expect(lb2.has(/Entering MASTER STATE/)).toBe(false);

    await sleep(1500);
    await waitUntil(ping6, 8000, `ping ${VIP6}`);
    expect(clientMac(topo, VIP6)).toBe(MAC6);

    expect(await lb1.stop()).toBe(0);
    await lb2.waitFor(/Entering MASTER STATE/, 10_000);
    expect(link(topo.lb1, VMAC6)).toBeUndefined();
    sh('ip', ['-n', topo.x, 'neigh', 'flush', 'dev', 'eth0']);
    await waitUntil(ping6, 8000, `ping ${VIP6} after the failover`);
    expect(clientMac(topo, VIP6)).toBe(MAC6);
    expect(await lb2.stop()).toBe(0);
    expect(link(topo.lb2, VMAC6)).toBeUndefined();
  }, 60_000);
});
