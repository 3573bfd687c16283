// AddressManager and LinkWatcher against the real kernel in namespaces: VIPs visible with `ip addr`,
// idempotency, labels, IPv6 nodad, external deletes, link down/up and carrier events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdapters, inNs, ipn, Probe, sleep, topology, type ProbeEvent, type Topology } from './helpers.js';

let topo: Topology;
let pa: Probe;

interface IpAddr {
  local: string;
  prefixlen: number;
  label?: string;
  broadcast?: string;
  scope: string;
  tentative?: boolean;
  nodad?: boolean;
}

function addrs(ns: string, family: '-4' | '-6'): IpAddr[] {
  const j = JSON.parse(ipn(ns, '-j', family, 'addr', 'show', 'dev', 'eth0')) as { addr_info: IpAddr[] }[];
  return j[0]?.addr_info ?? [];
}

const vip4 = { family: 'inet', address: '10.77.42.200', prefixLength: 24, interface: 'eth0', label: 'eth0:vip', broadcast: '10.77.42.255' };
const vip6 = { family: 'inet6', address: '2001:db8:42::200', prefixLength: 64, interface: 'eth0' };

beforeAll(async () => {
  buildAdapters();
  topo = topology('lkn-ad', 42);
  // DAD on for these tests: an address added without IFA_F_NODAD would stay tentative for a while.
  inNs(topo.a, 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=1', 'net.ipv6.conf.eth0.dad_transmits=3');
  pa = await Probe.start(topo.a);
  await pa.call('openAddresses', { key: 'am' });
  await pa.call('openLinks', { key: 'lw' });
});

afterAll(async () => {
  await pa?.stop();
  topo?.down();
});

describe('AddressManager', () => {
  it('adds an IPv4 VIP with label, broadcast and scope, idempotently', async () => {
    await pa.call('addAddress', { key: 'am', vip: vip4 });
    await pa.call('addAddress', { key: 'am', vip: vip4 }); // already present: not an error
    const found = addrs(topo.a, '-4').filter((a) => a.local === vip4.address);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ prefixlen: 24, label: 'eth0:vip', broadcast: '10.77.42.255', scope: 'global' });
    expect(await pa.call('hasAddress', { key: 'am', vip: vip4 })).toBe(true);

    await pa.call('addAddress', { key: 'am', vip: { ...vip4, address: '10.77.42.201', prefixLength: 32, scope: 'host', label: undefined } });
    expect(addrs(topo.a, '-4').find((a) => a.local === '10.77.42.201')).toMatchObject({ prefixlen: 32, scope: 'host' });
  });

  it('adds keepalived\'s address options: peer, home/noprefixroute/mngtmpaddr flags, an IPv6 preferred lifetime, DAD on -nodad', async () => {
    const p2p = { family: 'inet', address: '10.77.42.210', prefixLength: 32, interface: 'eth0', peer: '10.77.42.211', flags: 0x200 };
    await pa.call('addAddress', { key: 'am', vip: p2p });
    const a = addrs(topo.a, '-4').find((x) => x.local === p2p.address) as (IpAddr & { address?: string; noprefixroute?: boolean }) | undefined;
    expect(a).toMatchObject({ prefixlen: 32, address: '10.77.42.211', noprefixroute: true });
    await pa.call('removeAddress', { key: 'am', vip: p2p }); // the delete must name the peer to match
    expect(addrs(topo.a, '-4').some((x) => x.local === p2p.address)).toBe(false);

    const deprecated = { family: 'inet6', address: '2001:db8:42::210', prefixLength: 128, interface: 'eth0', preferredLifetime: 0, flags: 0x10 };
    await pa.call('addAddress', { key: 'am', vip: deprecated });
    const d = addrs(topo.a, '-6').find((x) => x.local === deprecated.address) as (IpAddr & { preferred_life_time?: number; deprecated?: boolean; home?: boolean }) | undefined;
    // IFA_F_HOMEADDRESS is IPv6's (Mobile IPv6 home address).
    expect(d).toMatchObject({ preferred_life_time: 0, deprecated: true, nodad: true, home: true });

    // The kernel takes mngtmpaddr on a /64 only.
    const withDad = { family: 'inet6', address: '2001:db8:42::211', prefixLength: 64, interface: 'eth0', dad: true, flags: 0x100 };
    await pa.call('addAddress', { key: 'am', vip: withDad });
    const t = addrs(topo.a, '-6').find((x) => x.local === withDad.address) as (IpAddr & { mngtmpaddr?: boolean }) | undefined;
    expect(t).toMatchObject({ mngtmpaddr: true });
    expect(t?.nodad).toBeUndefined();
    for (const v of [deprecated, withDad]) await pa.call('removeAddress', { key: 'am', vip: v });
  });

  it('removes idempotently and has() follows', async () => {
    await pa.call('removeAddress', { key: 'am', vip: vip4 });
    await pa.call('removeAddress', { key: 'am', vip: vip4 }); // already absent: not an error
    expect(addrs(topo.a, '-4').some((a) => a.local === vip4.address)).toBe(false);
    expect(await pa.call('hasAddress', { key: 'am', vip: vip4 })).toBe(false);
    // The interface's own address is untouched.
    expect(addrs(topo.a, '-4').some((a) => a.local === topo.ipA)).toBe(true);
  });

  it('adds IPv6 VIPs with nodad, usable at once (never tentative)', async () => {
    await pa.call('addAddress', { key: 'am', vip: vip6 });
    const a = addrs(topo.a, '-6').find((x) => x.local === vip6.address);
    expect(a).toMatchObject({ prefixlen: 64, nodad: true });
    expect(a?.tentative).toBeUndefined();
    // Control: without nodad the kernel would mark it tentative (proves the check above can fail).
    ipn(topo.a, 'addr', 'add', '2001:db8:42::201/64', 'dev', 'eth0');
    expect(addrs(topo.a, '-6').find((x) => x.local === '2001:db8:42::201')?.tentative).toBe(true);
    expect(await pa.call('hasAddress', { key: 'am', vip: { ...vip6, address: '2001:DB8:42:0::200' } })).toBe(true);
    await pa.call('addAddress', { key: 'am', vip: vip6 });
    await pa.call('removeAddress', { key: 'am', vip: vip6 });
    await pa.call('removeAddress', { key: 'am', vip: vip6 });
    expect(addrs(topo.a, '-6').some((x) => x.local === vip6.address)).toBe(false);
  });

  it('reports external deletes (RTM_DELADDR) with family, address and ifindex, but not adds', async () => {
    const before = pa.events.length;
    await pa.call('addAddress', { key: 'am', vip: vip4 });
    await pa.call('addAddress', { key: 'am', vip: vip6 });
    await sleep(100);
    expect(pa.events.slice(before).filter((e) => e.event === 'removed')).toHaveLength(0);
    const ifindex = (await pa.call<{ index: number }>('interfaceInfo', { name: 'eth0' })).index;
    ipn(topo.a, 'addr', 'del', '10.77.42.200/24', 'dev', 'eth0');
    ipn(topo.a, 'addr', 'del', '2001:db8:42::200/64', 'dev', 'eth0');
    const fresh = (e: ProbeEvent): boolean => pa.events.indexOf(e) >= before && e.event === 'removed';
    const e4 = await pa.waitFor((e) => fresh(e) && e['address'] === vip4.address);
    const e6 = await pa.waitFor((e) => fresh(e) && e['address'] === vip6.address);
    expect(e4).toMatchObject({ family: 'inet', ifindex });
    expect(e6).toMatchObject({ family: 'inet6', ifindex });
  });

  it('fails with clear messages for a missing interface or a bad label', async () => {
    await expect(pa.call('addAddress', { key: 'am', vip: { ...vip4, interface: 'nosuch0' } })).rejects.toThrow(
      /10\.77\.42\.200\/24 on nosuch0: interface nosuch0 not found/,
    );
    await expect(pa.call('addAddress', { key: 'am', vip: { ...vip4, label: 'a-label-far-too-long' } })).rejects.toThrow(/longer than 15/);
    await pa.call('removeAddress', { key: 'am', vip: { ...vip4, interface: 'nosuch0' } }); // nothing to remove
    expect(await pa.call('hasAddress', { key: 'am', vip: { ...vip4, interface: 'nosuch0' } })).toBe(false);
  });
});

describe('interfaceInfo', () => {
  it('returns index, MAC, primary IPv4 and the link-local', async () => {
    ipn(topo.a, 'addr', 'add', '10.77.42.9/24', 'dev', 'eth0'); // secondary: must not become primary
    const info = await pa.call<Record<string, unknown>>('interfaceInfo', { name: 'eth0' });
    expect(info).toMatchObject({ name: 'eth0', mac: topo.macA, ipv4: topo.ipA, ipv6LinkLocal: topo.llA, up: true, running: true });
    expect(info['index']).toBe(Number(inNs(topo.a, 'cat', '/sys/class/net/eth0/ifindex').trim()));
    await expect(pa.call('interfaceInfo', { name: 'nosuch0' })).rejects.toThrow(/interface nosuch0 not found/);
  });
});

describe('LinkWatcher', () => {
  const linkEvents = (): ProbeEvent[] => pa.events.filter((e) => e.event === 'link');
  const link = (e: ProbeEvent): Record<string, unknown> => e['link'] as Record<string, unknown>;

  it('starts from a snapshot', async () => {
    expect(await pa.call('getLink', { key: 'lw', name: 'eth0' })).toMatchObject({ name: 'eth0', up: true, running: true, mac: topo.macA });
    expect(await pa.call('getLink', { key: 'lw', name: 'nosuch0' })).toBeNull();
  });

  it('reports admin down/up and carrier loss', async () => {
    const n0 = linkEvents().length;
    ipn(topo.a, 'link', 'set', 'eth0', 'down');
    await pa.waitFor((e) => e.event === 'link' && pa.events.indexOf(e) >= 0 && link(e)['name'] === 'eth0' && link(e)['up'] === false);
    expect(await pa.call('getLink', { key: 'lw', name: 'eth0' })).toMatchObject({ up: false, running: false });
    ipn(topo.a, 'link', 'set', 'eth0', 'up');
    await pa.waitFor((e) => e.event === 'link' && linkEvents().indexOf(e) >= n0 && link(e)['up'] === true && link(e)['running'] === true);
    // Carrier: the veth peer (in the switch namespace) goes down; eth0 stays admin-up but not running.
    const n1 = linkEvents().length;
    ipn(topo.sw, 'link', 'set', 'pa', 'down');
    await pa.waitFor((e) => e.event === 'link' && linkEvents().indexOf(e) >= n1 && link(e)['up'] === true && link(e)['running'] === false);
    ipn(topo.sw, 'link', 'set', 'pa', 'up');
    await pa.waitFor((e) => e.event === 'link' && linkEvents().indexOf(e) >= n1 && link(e)['running'] === true);
    expect(await pa.call('getLink', { key: 'lw', name: 'eth0' })).toMatchObject({ up: true, running: true });
  });

  it('reports new and deleted links', async () => {
    ipn(topo.a, 'link', 'add', 'vx0', 'type', 'veth', 'peer', 'name', 'vx1');
    await pa.waitFor((e) => e.event === 'link' && link(e)['name'] === 'vx0');
    expect(await pa.call('getLink', { key: 'lw', name: 'vx0' })).toMatchObject({ up: false, running: false });
    ipn(topo.a, 'link', 'del', 'vx0');
    await sleep(200);
    expect(await pa.call('getLink', { key: 'lw', name: 'vx0' })).toBeNull();
    expect(await pa.call('getLink', { key: 'lw', name: 'vx1' })).toBeNull();
  });
});
