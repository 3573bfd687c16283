// An IPv6 instance (VRRPv3 over ff02::12 from the link-local address): election, the VIP moving on
// SIGTERM, unsolicited neighbour advertisements on the wire, and interop with keepalived over IPv6.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EARLY_TOLERANCE_MS, NoiseMonitor, advertsAfter, masterDownMs, skewMs, takeover, verbose } from '../../helpers/timing.js';
import { Capture, Daemon, KEEPALIVED, canRun, hasAddress, sh, sleep, topology, vrrpInstance, waitUntil, wireAdverts, writeConf, type Topo } from './helpers.js';

const VIP6 = 'fd00:60::200';
let topo: Topo;
const daemons: Daemon[] = [];
/** tshark captures, stopped after each test even when it failed half-way */
const captures: Capture[] = [];

const conf = (name: string, priority: number) =>
  writeConf(topo.dir, `${name}.conf`, vrrpInstance({ priority, version: 3, advertInt: '0.1', vrid: 61, vips: [`${VIP6}/64`] }));

function mac(ns: string): string {
  return (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])) as { address: string }[])[0]!.address;
}

describe.skipIf(!canRun())('IPv6 (VRRPv3)', () => {
  beforeAll(() => {
    topo = topology('v6');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });
  // A failed test must not leave its daemons fighting over the VIP in the next one.
  afterEach(async () => {
    await Promise.all([...daemons.map((d) => d.stop()), ...captures.map((c) => c.stop())]);
  });

  it('elects, holds the IPv6 VIP, moves it on SIGTERM with unsolicited NAs', async () => {
    const cap = await Capture.start(topo.x, join(topo.dir, 'v6.pcap'), 'icmp6 or vrrp or ip6 proto 112');
    captures.push(cap);
    // lb1 first: started together, the two down timers (304 vs 306 ms) are closer than process start-up.
    const lb1 = Daemon.lvskeeper('lb1', topo.lb1, conf('lb1', 150), topo.dir);
    daemons.push(lb1);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000);
    const lb2 = Daemon.lvskeeper('lb2', topo.lb2, conf('lb2', 100), topo.dir);
    daemons.push(lb2);
    await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE \(init\)/, 6000);
    await lb1.waitFor(new RegExp(`\\(VI_1\\) Sending/queueing Unsolicited Neighbour Adverts on eth0 for ${VIP6}`), 2000);
    await waitUntil(() => hasAddress(topo.lb1, VIP6), 2000, 'VIP6 on lb1');
    await sleep(800);
    expect(lb2.has(/Entering MASTER STATE/)).toBe(false);
    expect(hasAddress(topo.lb2, VIP6)).toBe(false);

    const noise = NoiseMonitor.start();
    const t0 = performance.now();
    const since = Date.now();
    expect(await lb1.stop(30_000)).toBe(0);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
    await waitUntil(() => hasAddress(topo.lb2, VIP6) && !hasAddress(topo.lb1, VIP6), 5000, 'VIP6 on lb2 only');
    await sleep(500);
    await cap.stop();
    const margin = await noise.margin({ daemonLogs: [...lb1.lines, ...lb2.lines], since: t0 });

    // RFC 5798 §6.4.2: lb2 (priority 100, Master_Adver_Interval 100 ms) takes over Skew_Time (60.9 ms)
    // after lb1's priority-0 advert - or Master_Down_Interval (360.9 ms) after its last advert, had lb1
    // stalled that long before sending it.
    const wire = wireAdverts(cap, 'eth.src');
    const p0 = wire.find((a) => a.from === mac(topo.lb1) && a.prio === 0 && a.t >= since);
    expect(p0, 'priority 0 from lb1 on the wire').toBeDefined();
    const t = takeover(wire, mac(topo.lb1), mac(topo.lb2), { skewMs: skewMs(100, 100, 3), downMs: masterDownMs(100, 100, 3) }, since);
    const why = `${t.describe()}; ${margin.text}`;
    verbose(why);
    expect(t.lateMs, why).toBeGreaterThanOrEqual(-EARLY_TOLERANCE_MS);
    expect(t.lateMs, why).toBeLessThanOrEqual(margin.ms);
    if (t.reason === 'priority 0') expect(lb2.has(/\(VI_1\) Backup received priority 0 advertisement/, t0)).toBe(true);
    // One MASTER on the wire: after its priority 0, lb1 sends nothing else.
    expect(advertsAfter(wire, mac(topo.lb1), p0!.t), why).toEqual([]);

    // Adverts: from the link-local address to ff02::12, hop limit 255, v3, VRID 61, interval 10 cs.
    const adv = cap.fields('vrrp', ['ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'vrrp.version', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.ipv6_addr', 'vrrp.short_adver_int', 'vrrp.checksum.status']);
    const fromLb1 = adv.filter((r) => r[5] === '150');
    expect(fromLb1.length).toBeGreaterThan(3);
    expect(fromLb1[0]!.slice(1)).toEqual(['ff02::12', '255', '3', '61', '150', VIP6, '10', '1']);
    expect(fromLb1[0]![0]).toMatch(/^fe80::/);
    expect(adv.some((r) => r[5] === '0')).toBe(true);
    // Unsolicited NAs for the VIP from each new master's MAC.
    const nas = cap.fields(`icmpv6.type == 136 && icmpv6.nd.na.target_address == ${VIP6}`, ['eth.src', 'ipv6.dst', 'ipv6.hlim', 'icmpv6.nd.na.flag.o', 'icmpv6.opt.linkaddr']);
    const byMac = (m: string) => nas.filter((r) => r[0] === m);
    expect(byMac(mac(topo.lb1)).length).toBeGreaterThanOrEqual(5);
    expect(byMac(mac(topo.lb2)).length).toBeGreaterThanOrEqual(5);
    expect(nas[0]!.slice(1, 4)).toEqual(['ff02::1', '255', '1']);
    await lb2.stop();
  });

  it.skipIf(!existsSync(KEEPALIVED))('interoperates with keepalived over IPv6 in both roles', async () => {
    const ka = Daemon.keepalived('ka1', topo.lb1, conf('ka1', 150), topo.dir);
    const lk = Daemon.lvskeeper('lk2', topo.lb2, conf('lk2', 100), topo.dir);
    daemons.push(ka, lk);
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000);
    await lk.waitFor(/\(VI_1\) Entering BACKUP STATE \(init\)/, 3000);
    await sleep(1000);
    expect(lk.has(/Entering MASTER STATE/)).toBe(false);
    const t0 = performance.now();
    await ka.stop();
    await lk.waitFor(/\(VI_1\) Entering MASTER STATE/, 2000, t0);
    expect(lk.has(/Backup received priority 0 advertisement/, t0)).toBe(true);
    await waitUntil(() => hasAddress(topo.lb2, VIP6), 2000, 'VIP6 on lvskeeper');
    // Now keepalived as the lower-priority backup of our master.
    const ka2 = Daemon.keepalived('ka2', topo.lb1, conf('ka2', 90), topo.dir);
    daemons.push(ka2);
    await ka2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
    await sleep(1000);
    expect(ka2.has(/Entering MASTER STATE/)).toBe(false);
    expect(ka2.has(/invalid|Invalid|mismatch/)).toBe(false);
    await Promise.all([lk.stop(), ka2.stop()]);
  });
});
