// What lvskeeper puts on the wire, read back with tshark and compared with keepalived 2.2.7 for the
// same configuration: IPv4 TTL 255, TOS 0xc0, group 224.0.0.18, VRRP fields, PASS data, checksum
// (Wireshark verifies it), and the GARP burst on becoming MASTER (garp_master_repeat now, again after
// garp_master_delay).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NoiseMonitor, verbose } from '../../helpers/timing.js';
import { Capture, Daemon, KEEPALIVED, canRun, sh, sleep, topology, vrrpInstance, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
let topo: Topo;
/** Everything started, stopped in afterAll even when a test times out half-way. */
const started: { stop(): Promise<unknown> }[] = [];

const FIELDS = ['ip.src', 'ip.dst', 'ip.ttl', 'ip.dsfield', 'vrrp.version', 'vrrp.type', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count', 'vrrp.auth_type', 'vrrp.adver_int', 'vrrp.auth_string', 'vrrp.ip_addr', 'vrrp.checksum.status'];

async function capture(
  kind: 'lvskeeper' | 'keepalived',
  conf: string,
  name: string,
): Promise<{ adverts: string[][]; garps: { t: number; row: string[] }[]; cap: Capture; margin: { ms: number; text: string } }> {
  const cap = await Capture.start(topo.x, join(topo.dir, `${name}.pcap`), 'vrrp or arp');
  const noise = NoiseMonitor.start();
  const d = kind === 'lvskeeper' ? Daemon.lvskeeper(name, topo.lb1, conf, topo.dir) : Daemon.keepalived(name, topo.lb1, conf, topo.dir);
  started.push(d, cap);
  await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000);
  await sleep(2600);
  await d.stop();
  await cap.stop();
  const margin = await noise.margin({ daemonLogs: d.lines });
  const adverts = cap.fields('vrrp', FIELDS);
  const garps = cap
    .fields(`arp.src.proto_ipv4 == ${VIP} && arp.dst.proto_ipv4 == ${VIP}`, ['frame.time_relative', 'arp.opcode', 'eth.dst', 'eth.src', 'arp.src.hw_mac', 'arp.dst.hw_mac'])
    .map((r) => ({ t: Number(r[0]), row: r.slice(1) }));
  return { adverts, garps, cap, margin };
}

describe.skipIf(!canRun())('on the wire', () => {
  let mac: string;
  beforeAll(() => {
    topo = topology('wi');
    mac = (JSON.parse(sh('ip', ['-n', topo.lb1, '-j', 'link', 'show', 'eth0'])) as { address: string }[])[0]!.address;
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop().catch(() => undefined)));
    topo?.down();
  });

  const v2 = () =>
    writeConf(topo.dir, 'v2.conf', vrrpInstance({ state: 'MASTER', priority: 150, auth: 'k33pal1v', vips: [`${VIP}/24`], extra: '  garp_master_delay 1\n' }));

  it('VRRPv2 adverts: TTL 255, TOS 0xc0, fields, PASS, valid checksum; priority 0 at stop', async () => {
    const { adverts } = await capture('lvskeeper', v2(), 'lk-v2');
    expect(adverts.length).toBeGreaterThanOrEqual(3);
    const normal = adverts.filter((r) => r[7] !== '0');
    for (const r of normal) {
      expect(r).toEqual(['192.168.60.111', '224.0.0.18', '255', '0xc0', '2', '1', '51', '150', '1', '1', '1', 'k33pal1v', VIP, '1']);
    }
    // The last advert is the priority-0 one sent at stop.
    expect(adverts.at(-1)![7]).toBe('0');
    expect(adverts.at(-1)![13]).toBe('1');
  }, 40_000);

  it('GARPs: garp_master_repeat (5) requests now and 5 more after garp_master_delay, from the interface MAC', async () => {
    const { garps, margin } = await capture('lvskeeper', v2(), 'lk-garp');
    expect(garps.length).toBe(10);
    for (const g of garps) expect(g.row).toEqual(['1', 'ff:ff:ff:ff:ff:ff', mac, mac, 'ff:ff:ff:ff:ff:ff']);
    const first = garps.slice(0, 5).map((g) => g.t * 1000);
    const second = garps.slice(5).map((g) => g.t * 1000);
    const spread = (b: number[]): number => Math.max(...b) - Math.min(...b);
    const delay = Math.min(...second) - Math.min(...first);
    const why = `bursts at ${first.map((t) => t.toFixed(1)).join(' ')} and ${second.map((t) => t.toFixed(1)).join(' ')} ms; ${margin.text}`;
    verbose(why);
    // Each burst is sent at once (garp_master_repeat, no garp_interval): spread over no more than this run's
    // scheduling noise (a burst has been seen spread over 0.47 s at load 9 on 2 CPUs), and the first burst is
    // over before the second starts.
    expect(spread(first), why).toBeLessThanOrEqual(margin.ms);
    expect(spread(second), why).toBeLessThanOrEqual(margin.ms);
    expect(Math.max(...first), why).toBeLessThan(Math.min(...second));
    // The second burst garp_master_delay (1 s) after the first; both are late by the noise at most, so the
    // gap between them is off by at most the margin either way (an early second burst is a first one late).
    expect(Math.abs(delay - 1000), why).toBeLessThanOrEqual(margin.ms);
  }, 60_000);

  it.skipIf(!existsSync(KEEPALIVED))('matches keepalived 2.2.7 field for field (v2 and v3)', async () => {
    // Address owners (priority 255, state MASTER) take over at once, which keeps this test short.
    const owner2 = writeConf(topo.dir, 'v2o.conf', vrrpInstance({ state: 'MASTER', priority: 255, auth: 'k33pal1v', vips: [`${VIP}/24`] }));
    const { adverts: ours } = await capture('lvskeeper', owner2, 'lk-cmp2');
    const { adverts: theirs, garps: kaGarps } = await capture('keepalived', owner2, 'ka-cmp2');
    const shape = (rows: string[][]) => [...new Set(rows.filter((r) => r[7] !== '0').map((r) => r.join('|')))];
    expect(shape(ours)).toEqual(shape(theirs));
    expect(kaGarps[0]!.row[0]).toBe('1');
    const v3 = writeConf(topo.dir, 'v3.conf', vrrpInstance({ state: 'MASTER', priority: 255, version: 3, advertInt: '0.5', vips: [`${VIP}/24`] }));
    const { adverts: ours3 } = await capture('lvskeeper', v3, 'lk-cmp3');
    const { adverts: theirs3 } = await capture('keepalived', v3, 'ka-cmp3');
    expect(shape(ours3)).toEqual(shape(theirs3));
    expect(shape(ours3)[0]).toContain('|3|1|51|255|1|');
    expect(ours3.every((r) => r[13] === '1')).toBe(true);
  }, 120_000);
});
