// VRRP transport between two namespaces on a bridge: IPv4 multicast and unicast, IPv6 multicast, TTL/TOS on
// the wire (tshark), source selection, checksums, garbage input and socket recovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internetChecksum, ipv4ToBytes, ipv6ToBytes } from '../../../src/net/packet-codec.js';
import { buildAdapters, Capture, ipn, Probe, sleep, topology, type ProbeEvent, type Topology } from './helpers.js';

let topo: Topology;
let pa: Probe;
let pb: Probe;

function vrrp2(vrid: number, ip: string): Buffer {
  const b = Buffer.alloc(24);
  b[0] = 0x21;
  b[1] = vrid;
  b[2] = 100;
  b[3] = 1;
  b[5] = 1;
  ipv4ToBytes(ip).copy(b, 8);
  b.writeUInt16BE(internetChecksum(b), 6);
  return b;
}

function vrrp3v4(vrid: number, ip: string): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x31;
  b[1] = vrid;
  b[2] = 100;
  b[3] = 1;
  b.writeUInt16BE(100, 4);
  ipv4ToBytes(ip).copy(b, 8);
  b.writeUInt16BE(0xdead, 6); // deliberately wrong: the transport must recompute it per destination
  return b;
}

function vrrp3v6(vrid: number, ip: string): Buffer {
  const b = Buffer.alloc(24);
  b[0] = 0x31;
  b[1] = vrid;
  b[2] = 100;
  b[3] = 1;
  b.writeUInt16BE(100, 4);
  ipv6ToBytes(ip).copy(b, 8);
  return b; // checksum 0: IPV6_CHECKSUM makes the kernel fill it
}

function v4PseudoOk(src: string, dst: string, payload: Buffer): boolean {
  const pseudo = Buffer.alloc(12);
  ipv4ToBytes(src).copy(pseudo, 0);
  ipv4ToBytes(dst).copy(pseudo, 4);
  pseudo[9] = 112;
  pseudo.writeUInt16BE(payload.length, 10);
  return internetChecksum(pseudo, payload) === 0;
}

function v6PseudoOk(src: string, dst: string, payload: Buffer): boolean {
  const pseudo = Buffer.alloc(40);
  ipv6ToBytes(src).copy(pseudo, 0);
  ipv6ToBytes(dst).copy(pseudo, 16);
  pseudo.writeUInt32BE(payload.length, 32);
  pseudo[39] = 112;
  return internetChecksum(pseudo, payload) === 0;
}

const packetsFrom = (p: Probe, key: string, pred: (pkt: Record<string, unknown>) => boolean): ProbeEvent[] =>
  p.events.filter((e) => e.event === 'packet' && e.key === key && pred(e['packet'] as Record<string, unknown>));

const packetOf = (e: ProbeEvent): { payload: string; source: string; destination?: string; ttl?: number } =>
  e['packet'] as { payload: string; source: string; destination?: string; ttl?: number };

beforeAll(async () => {
  buildAdapters();
  topo = topology('lkn-tr', 41);
  pa = await Probe.start(topo.a);
  pb = await Probe.start(topo.b);
});

afterAll(async () => {
  await pa?.stop();
  await pb?.stop();
  topo?.down();
});

describe('IPv4 multicast', () => {
  it('arrives with TTL 255, TOS 0xc0, the sender as source and 224.0.0.18 as destination; no loopback', async () => {
    await pa.call('openTransport', { key: 'm4', opts: { family: 'inet', interface: 'eth0' } });
    await pb.call('openTransport', { key: 'm4', opts: { family: 'inet', interface: 'eth0' } });
    const cap = new Capture(topo.b, 'eth0', 'ip proto 112');
    await cap.start();
    const payload = vrrp2(51, '10.77.41.100');
    await pa.call('send', { key: 'm4', payload: payload.toString('hex') });
    const got = await pb.waitFor((e) => e.event === 'packet' && e.key === 'm4');
    const rows = await cap.stop(['ip.src', 'ip.dst', 'ip.ttl', 'ip.dsfield', 'ip.proto']);
    expect(packetOf(got)).toEqual({
      payload: payload.toString('hex'),
      source: topo.ipA,
      destination: '224.0.0.18',
      ttl: 255,
      ifindex: expect.any(Number),
      receivedAt: expect.any(Number),
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual({ 'ip.src': topo.ipA, 'ip.dst': '224.0.0.18', 'ip.ttl': '255', 'ip.dsfield': '0xc0', 'ip.proto': '112' });
    // IP_MULTICAST_LOOP=0: the sender never hears itself.
    expect(packetsFrom(pa, 'm4', () => true)).toHaveLength(0);
  });

  it('keeps working after garbage input', async () => {
    // Payloads no VRRP parser would accept, sent through the same path (the engine validates, not us).
    await pa.call('send', { key: 'm4', payload: 'ff' });
    await pa.call('send', { key: 'm4', payload: Buffer.alloc(1400, 0xa5).toString('hex') });
    const good = vrrp2(52, '10.77.41.101');
    await pa.call('send', { key: 'm4', payload: good.toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'm4' && packetOf(ev).payload === good.toString('hex'));
    expect(packetOf(e).ttl).toBe(255);
    expect(packetsFrom(pb, 'm4', (p) => p['payload'] === 'ff')).toHaveLength(1);
    // Too big for the link (IP_HDRINCL never fragments): a clear error, and the socket stays usable.
    await expect(pa.call('send', { key: 'm4', payload: Buffer.alloc(3000).toString('hex') })).rejects.toThrow(
      /224\.0\.0\.18 on eth0 \(IPv4\): Message too long/,
    );
  });

  it('puts the advert on the wire before send() returns, not at the next poll phase', async () => {
    // A new master's first advert must not wait a loop iteration (bench:failover (a)); veth transmits
    // inside sendto(), so its tx counter already counts the packet when send() hands back its promise.
    const payload = vrrp2(55, '10.77.41.104');
    const tx = await pa.call<{ before: number; whenCalled: number; settled: number }>('sendCountingTx', { key: 'm4', payload: payload.toString('hex'), iface: 'eth0' });
    expect(tx.whenCalled).toBeGreaterThan(tx.before);
    expect(tx.settled).toBeGreaterThan(tx.before);
    await pb.waitFor((e) => e.event === 'packet' && e.key === 'm4' && packetOf(e).payload === payload.toString('hex'));
  });

  it("stamps a packet with the kernel's arrival time, not the time a blocked event loop got to it", async () => {
    // The Master_Down_Timer runs from receivedAt: it must not drift by the event loop's delays. The receiver's
    // loop stays blocked from before the packet is sent until HOLD_MS after it saw the packet queued on its
    // socket, however long the send takes on a loaded machine; its packet callback can only run after that
    // (at or after `end`), while the kernel stamped the packet before the loop saw it queued (`queuedBy`).
    // HOLD_MS stays well under the transport's MAX_PLAUSIBLE_AGE_MS (1 s), past which it ignores the stamp.
    const HOLD_MS = 300;
    const arrival = async (p: Probe, key: string, vrid: number): Promise<{ receivedAt: number; start: number; queuedBy: number; end: number }> => {
      const payload = vrrp2(vrid, '10.77.41.105').toString('hex');
      const n = p.events.length;
      const blocked = p.call<{ start: number; queuedBy?: number; end: number }>('blockLoopUntilQueued', { key, protocol: 112, holdMs: HOLD_MS, maxMs: 20_000 });
      await p.waitFor((ev) => p.events.indexOf(ev) >= n && ev.event === 'blocking' && ev.key === key, 20_000);
      await pa.call('send', { key: 'm4', payload });
      const { start, queuedBy, end } = await blocked;
      expect(queuedBy, 'the packet reached the blocked receiver').toBeDefined();
      const e = await p.waitFor((ev) => ev.event === 'packet' && ev.key === key && packetOf(ev).payload === payload, 20_000);
      return { receivedAt: (e['packet'] as { receivedAt: number }).receivedAt, start, queuedBy: queuedBy!, end };
    };
    const stamped = await arrival(pb, 'm4', 56);
    expect(stamped.receivedAt).toBeGreaterThan(stamped.start);
    // Stamped before the loop saw the packet, not when the callback ran (≥ end ≥ queuedBy + HOLD_MS); half
    // the hold is left for the time between the addon's clock read and the callback's performance.now().
    expect(stamped.receivedAt, JSON.stringify(stamped)).toBeLessThan(stamped.queuedBy + (stamped.end - stamped.queuedBy) / 2);
    // Without the addon raw-socket receives, and the packet carries the callback's time.
    const pf = await Probe.start(topo.b, { LVSKEEPER_NO_ADDON: '1' });
    try {
      await pf.call('openTransport', { key: 'm4', opts: { family: 'inet', interface: 'eth0' } });
      const late = await arrival(pf, 'm4', 57);
      expect(late.receivedAt, JSON.stringify(late)).toBeGreaterThanOrEqual(late.end);
    } finally {
      await pf.stop();
    }
  });

  it('reports a poll error and reopens the socket, which then still receives', async () => {
    await pb.call('pollError', { key: 'm4' });
    await pb.waitFor((e) => e.event === 'error' && e.key === 'm4' && String(e['message']).includes('reopened'), 5000);
    const after = vrrp2(53, '10.77.41.102');
    await pa.call('send', { key: 'm4', payload: after.toString('hex') });
    await pb.waitFor((e) => e.event === 'packet' && e.key === 'm4' && packetOf(e).payload === after.toString('hex'));
  });

  it('sends VRRPv3 from a configured source with the pseudo-header checksum of that source', async () => {
    ipn(topo.a, 'addr', 'add', '10.77.41.11/24', 'dev', 'eth0');
    await pa.call('openTransport', { key: 'src4', opts: { family: 'inet', interface: 'eth0', sourceAddress: '10.77.41.11' } });
    const payload = vrrp3v4(54, '10.77.41.103');
    await pa.call('send', { key: 'src4', payload: payload.toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'm4' && packetOf(ev).source === '10.77.41.11');
    const got = Buffer.from(packetOf(e).payload, 'hex');
    expect(got.readUInt16BE(6)).not.toBe(0xdead);
    expect(v4PseudoOk('10.77.41.11', '224.0.0.18', got)).toBe(true);
    await pa.call('close', { key: 'src4' });
  });
});

describe('IPv4 unicast', () => {
  it('reaches each peer with TTL 255 by default, unicast_ttl otherwise, and a per-destination checksum', async () => {
    await pa.call('openTransport', { key: 'u4', opts: { family: 'inet', interface: 'eth0', unicastPeers: [topo.ipB] } });
    await pb.call('openTransport', { key: 'u4', opts: { family: 'inet', interface: 'eth0', unicastPeers: [topo.ipA] } });
    const cap = new Capture(topo.b, 'eth0', 'ip proto 112 and not multicast');
    await cap.start();
    const payload = vrrp3v4(61, '10.77.41.110');
    await pa.call('send', { key: 'u4', payload: payload.toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'u4');
    expect(packetOf(e)).toMatchObject({ source: topo.ipA, destination: topo.ipB, ttl: 255 });
    expect(v4PseudoOk(topo.ipA, topo.ipB, Buffer.from(packetOf(e).payload, 'hex'))).toBe(true);

    await pa.call('openTransport', {
      key: 'u4ttl',
      opts: { family: 'inet', interface: 'eth0', unicastPeers: [topo.ipB], unicastTtl: 7 },
    });
    await pa.call('send', { key: 'u4ttl', payload: vrrp2(62, '10.77.41.111').toString('hex') });
    const e2 = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'u4' && packetOf(ev).ttl === 7);
    expect(packetOf(e2).destination).toBe(topo.ipB);
    const rows = await cap.stop(['ip.src', 'ip.dst', 'ip.ttl', 'ip.dsfield']);
    expect(rows).toEqual([
      { 'ip.src': topo.ipA, 'ip.dst': topo.ipB, 'ip.ttl': '255', 'ip.dsfield': '0xc0' },
      { 'ip.src': topo.ipA, 'ip.dst': topo.ipB, 'ip.ttl': '7', 'ip.dsfield': '0xc0' },
    ]);
  });

  it('v3ChecksumAsV2 (keepalived v3_checksum_as_v2) sends the checksum untouched', async () => {
    await pa.call('openTransport', {
      key: 'asv2',
      opts: { family: 'inet', interface: 'eth0', unicastPeers: [topo.ipB], v3ChecksumAsV2: true },
    });
    await pa.call('send', { key: 'asv2', payload: vrrp3v4(63, '10.77.41.112').toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'u4' && packetOf(ev).payload.startsWith('313f'));
    expect(Buffer.from(packetOf(e).payload, 'hex').readUInt16BE(6)).toBe(0xdead);
  });

  it('rejects with a message naming the interface when the interface does not exist', async () => {
    await expect(pa.call('openTransport', { key: 'x', opts: { family: 'inet', interface: 'nosuch0' } })).rejects.toThrow(
      /nosuch0/,
    );
  });
});

describe('IPv6 multicast', () => {
  it('arrives from the link-local source with hop limit 255, traffic class 0xc0 and a kernel-filled checksum', async () => {
    await pa.call('openTransport', { key: 'm6', opts: { family: 'inet6', interface: 'eth0' } });
    await pb.call('openTransport', { key: 'm6', opts: { family: 'inet6', interface: 'eth0' } });
    const cap = new Capture(topo.b, 'eth0', 'ip6 proto 112');
    await cap.start();
    const payload = vrrp3v6(71, topo.llA);
    await pa.call('send', { key: 'm6', payload: payload.toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'm6');
    const rows = await cap.stop(['ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'ipv6.tclass']);
    const pkt = packetOf(e);
    expect(pkt).toMatchObject({ source: topo.llA, destination: 'ff02::12', ttl: 255 }); // via the addon's recvmsg
    const got = Buffer.from(pkt.payload, 'hex');
    expect(got.subarray(8).equals(payload.subarray(8))).toBe(true);
    expect(v6PseudoOk(topo.llA, 'ff02::12', got)).toBe(true);
    expect(rows).toEqual([{ 'ipv6.src': topo.llA, 'ipv6.dst': 'ff02::12', 'ipv6.hlim': '255', 'ipv6.tclass': '0x000000c0' }]);
    await sleep(100);
    expect(packetsFrom(pa, 'm6', () => true)).toHaveLength(0);
  });

  it('with a configured source (IPV6_HDRINCL path): hop limit 255, traffic class 0xc0, our checksum', async () => {
    await pa.call('openTransport', { key: 'm6s', opts: { family: 'inet6', interface: 'eth0', sourceAddress: topo.llA } });
    const cap = new Capture(topo.b, 'eth0', 'ip6 proto 112');
    await cap.start();
    const payload = vrrp3v6(74, topo.llA);
    await pa.call('send', { key: 'm6s', payload: payload.toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'm6' && packetOf(ev).payload.startsWith('314a'));
    const rows = await cap.stop(['ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'ipv6.tclass']);
    expect(v6PseudoOk(topo.llA, 'ff02::12', Buffer.from(packetOf(e).payload, 'hex'))).toBe(true);
    expect(rows).toEqual([{ 'ipv6.src': topo.llA, 'ipv6.dst': 'ff02::12', 'ipv6.hlim': '255', 'ipv6.tclass': '0x000000c0' }]);
    await pa.call('close', { key: 'm6s' });
  });

  it('IPv6 unicast to a link-local peer arrives', async () => {
    await pa.call('openTransport', { key: 'u6', opts: { family: 'inet6', interface: 'eth0', unicastPeers: [topo.llB] } });
    await pb.call('openTransport', { key: 'u6', opts: { family: 'inet6', interface: 'eth0', unicastPeers: [topo.llA] } });
    const payload = vrrp3v6(72, topo.llA);
    await pa.call('send', { key: 'u6', payload: payload.toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'u6');
    expect(packetOf(e)).toMatchObject({ source: topo.llA, destination: topo.llB, ttl: 255 });
    expect(v6PseudoOk(topo.llA, topo.llB, Buffer.from(packetOf(e).payload, 'hex'))).toBe(true);
  });

  it('reports the real hop limit (unicast_ttl) so the engine can drop HL != 255', async () => {
    await pa.call('openTransport', {
      key: 'u6ttl',
      opts: { family: 'inet6', interface: 'eth0', unicastPeers: [topo.llB], unicastTtl: 9 },
    });
    await pa.call('send', { key: 'u6ttl', payload: vrrp3v6(75, topo.llA).toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'u6' && packetOf(ev).ttl === 9);
    expect(packetOf(e).destination).toBe(topo.llB);
  });

  it('without the addon refuses IPv6 multicast (hop limit uncheckable); unicast still receives, hop limit and destination unknown', async () => {
    const pf = await Probe.start(topo.b, { LVSKEEPER_NO_ADDON: '1' });
    try {
      await expect(pf.call('openTransport', { key: 'm6', opts: { family: 'inet6', interface: 'eth0' } })).rejects.toThrow(
        /hop limit of received adverts cannot be checked .*LVSKEEPER_NO_ADDON=1\) - refusing IPv6 multicast VRRP$/,
      );
      await pf.call('openTransport', { key: 'u6', opts: { family: 'inet6', interface: 'eth0', unicastPeers: [topo.llA] } });
      await pa.call('send', { key: 'u6', payload: vrrp3v6(76, topo.llA).toString('hex') });
      const e = await pf.waitFor((ev) => ev.event === 'packet' && ev.key === 'u6');
      expect(packetOf(e).source).toBe(topo.llA);
      expect(packetOf(e).ttl).toBeUndefined();
      expect(packetOf(e).destination).toBeUndefined();
    } finally {
      await pf.stop();
    }
  });

  it('IPv6: a poll error on the send socket reopens both sockets; receive still works', async () => {
    await pb.call('pollError', { key: 'm6' });
    await pb.waitFor((e) => e.event === 'error' && e.key === 'm6' && String(e['message']).includes('reopened'), 5000);
    const after = vrrp3v6(77, topo.llA);
    await pa.call('send', { key: 'm6', payload: after.toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'm6' && packetOf(ev).payload.startsWith('314d'));
    expect(packetOf(e).ttl).toBe(255);
  });

  it('IPv6 unicast from a configured global source (sticky IPV6_PKTINFO) to a global peer', async () => {
    ipn(topo.a, 'addr', 'add', '2001:db8:41::1/64', 'dev', 'eth0', 'nodad');
    ipn(topo.a, 'addr', 'add', '2001:db8:41::11/64', 'dev', 'eth0', 'nodad');
    ipn(topo.b, 'addr', 'add', '2001:db8:41::2/64', 'dev', 'eth0', 'nodad');
    // Use the address the kernel would NOT pick, so the test fails if the option is ignored.
    const kernelChoice = (JSON.parse(ipn(topo.a, '-j', 'route', 'get', '2001:db8:41::2')) as { prefsrc: string }[])[0]!.prefsrc;
    const src = kernelChoice === '2001:db8:41::11' ? '2001:db8:41::1' : '2001:db8:41::11';
    await pa.call('openTransport', {
      key: 'g6',
      opts: { family: 'inet6', interface: 'eth0', unicastPeers: ['2001:db8:41::2'], sourceAddress: src },
    });
    await pb.call('openTransport', { key: 'g6', opts: { family: 'inet6', interface: 'eth0', unicastPeers: [src] } });
    await pa.call('send', { key: 'g6', payload: vrrp3v6(73, topo.llA).toString('hex') });
    const e = await pb.waitFor((ev) => ev.event === 'packet' && ev.key === 'g6');
    expect(packetOf(e).source).toBe(src);
    expect(v6PseudoOk(src, '2001:db8:41::2', Buffer.from(packetOf(e).payload, 'hex'))).toBe(true);
  });
});
