// Interop with keepalived 2.2.7 as the peer, each side in each role: VRRPv2 with PASS authentication
// (advert_int 1) and VRRPv3 over IPv4 (advert_int 0.1, pseudo-header checksums).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EARLY_TOLERANCE_MS, NoiseMonitor, advertsAfter, masterDownMs, skewMs, takeover, verbose } from '../../helpers/timing.js';
import { Capture, Daemon, KEEPALIVED, canRun, hasAddress, sh, sleep, topology, vrrpInstance, waitUntil, wireAdverts, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
const LB1_IP = '192.168.60.111';
const LB2_IP = '192.168.60.112';
let topo: Topo;
const daemons: Daemon[] = [];
/** tshark captures, stopped after each test even when it failed half-way */
const captures: Capture[] = [];

interface Variant {
  label: string;
  version: 2 | 3;
  advertInt: string;
  auth?: string;
  /** Master_Down_Interval of the prio-100 backup, ms (RFC 3768 §6.1 / RFC 5798 §6.1) */
  downMs: number;
  /** Skew_Time of the prio-100 backup, ms */
  skewMs: number;
}

const variant = (label: string, version: 2 | 3, advertInt: string, auth?: string): Variant => {
  const ms = Number(advertInt) * 1000;
  return { label, version, advertInt, auth, downMs: masterDownMs(100, ms, version), skewMs: skewMs(100, ms, version) };
};
const VARIANTS: Variant[] = [variant('VRRPv2 + PASS', 2, '1', 'k33pal1v'), variant('VRRPv3 IPv4 at 0.1 s', 3, '0.1')];

/**
 * The backup (priority 100, on lb2) takes over when the master (on lb1) stops: its first advert is due
 * Skew_Time after the master's priority 0 (RFC 3768 / RFC 5798 §6.4.2), Master_Down_Interval after its last
 * advert had it stalled before sending that, give or take this run's scheduling noise; it must say why in
 * its log when it is ours, and after its priority 0 the old master sends nothing else.
 */
async function expectTakeover(cap: Capture, noise: NoiseMonitor, v: Variant, since: number, t0: number, backup: Daemon, master: Daemon): Promise<void> {
  await cap.stop();
  const margin = await noise.margin({ daemonLogs: [...backup.lines, ...master.lines], since: t0 });
  const wire = wireAdverts(cap);
  const p0 = wire.find((a) => a.from === LB1_IP && a.prio === 0 && a.t >= since);
  expect(p0, 'priority 0 from the stopped master on the wire').toBeDefined();
  const t = takeover(wire, LB1_IP, LB2_IP, v, since);
  const why = `${t.describe()}; ${margin.text}`;
  verbose(why);
  expect(t.lateMs, why).toBeGreaterThanOrEqual(-EARLY_TOLERANCE_MS);
  expect(t.lateMs, why).toBeLessThanOrEqual(margin.ms);
  if (t.reason === 'priority 0') expect(backup.has(/\(VI_1\) Backup received priority 0 advertisement/, t0)).toBe(true);
  expect(advertsAfter(wire, LB1_IP, p0!.t), why).toEqual([]);
}

function conf(name: string, v: Variant, priority: number): string {
  return writeConf(
    topo.dir,
    `${name}-v${v.version}.conf`,
    `global_defs {\n  router_id ${name}\n}\n${vrrpInstance({ priority, version: v.version, advertInt: v.advertInt, auth: v.auth, vips: [`${VIP}/24`] })}`,
  );
}

describe.skipIf(!canRun() || !existsSync(KEEPALIVED))('interop with keepalived 2.2.7', () => {
  beforeAll(() => {
    topo = topology('io');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });
  // A failed test must not leave its daemons fighting over the VIP in the next one.
  afterEach(async () => {
    await Promise.all([...daemons.map((d) => d.stop()), ...captures.map((c) => c.stop())]);
  });

  for (const v of VARIANTS) {
    describe(v.label, () => {
      it('keepalived MASTER, lvskeeper BACKUP: lvskeeper follows, takes over on stop, yields on return', async () => {
        const ka = Daemon.keepalived('ka1', topo.lb1, conf('ka1', v, 150), topo.dir);
        daemons.push(ka);
        await ka.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
        const lk = Daemon.lvskeeper('lk2', topo.lb2, conf('lk2', v, 100), topo.dir);
        daemons.push(lk);
        await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
        await waitUntil(() => hasAddress(topo.lb1, VIP), 3000, 'VIP on keepalived');
        await lk.waitFor(/\(VI_1\) Entering BACKUP STATE \(init\)/, 3000);
        await sleep(Math.max(1500, v.downMs * 1.5));
        expect(lk.has(/Entering MASTER STATE/)).toBe(false);
        expect(lk.has(/invalid|Invalid|mismatch/)).toBe(false);
        expect(ka.has(/invalid|Invalid|mismatch/)).toBe(false);

        const cap = await Capture.start(topo.x, join(topo.dir, `ka-stop-v${v.version}.pcap`), 'vrrp');
        captures.push(cap);
        const noise = NoiseMonitor.start();
        const t0 = performance.now();
        const since = Date.now();
        await ka.stop(30_000);
        await lk.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
        await waitUntil(() => hasAddress(topo.lb2, VIP), 5000, 'VIP on lvskeeper');
        await expectTakeover(cap, noise, v, since, t0, lk, ka);

        const t1 = performance.now();
        const ka2 = Daemon.keepalived('ka1b', topo.lb1, conf('ka1', v, 150), topo.dir);
        daemons.push(ka2);
        await ka2.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
        await lk.waitFor(/\(VI_1\) Master received advert from 192\.168\.60\.111 with higher priority 150, ours 100/, 3000, t1);
        await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP back on keepalived only');
        expect(await lk.stop()).toBe(0);
        await ka2.stop();
      });

      it('lvskeeper MASTER, keepalived BACKUP: keepalived follows and takes over after our priority 0', async () => {
        const lk = Daemon.lvskeeper('lk1', topo.lb1, conf('lk1', v, 150), topo.dir);
        daemons.push(lk);
        await lk.waitFor(/\(VI_1\) Entering BACKUP STATE \(init\)/, 5000);
        const ka = Daemon.keepalived('ka2', topo.lb2, conf('ka2', v, 100), topo.dir);
        daemons.push(ka);
        await lk.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
        await ka.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
        await sleep(Math.max(1500, v.downMs * 1.5));
        expect(ka.has(/Entering MASTER STATE/)).toBe(false);
        expect(ka.has(/invalid|Invalid|mismatch/)).toBe(false);
        expect(hasAddress(topo.lb1, VIP)).toBe(true);

        const cap = await Capture.start(topo.x, join(topo.dir, `lk-stop-v${v.version}.pcap`), 'vrrp');
        captures.push(cap);
        const noise = NoiseMonitor.start();
        const t0 = performance.now();
        const since = Date.now();
        expect(await lk.stop(30_000)).toBe(0);
        await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
        await waitUntil(() => hasAddress(topo.lb2, VIP) && !hasAddress(topo.lb1, VIP), 5000, 'VIP on keepalived only');
        await expectTakeover(cap, noise, v, since, t0, ka, lk);

        // We come back with the higher priority: keepalived yields.
        const t1 = performance.now();
        const lk2 = Daemon.lvskeeper('lk1b', topo.lb1, conf('lk1', v, 150), topo.dir);
        daemons.push(lk2);
        await lk2.waitFor(/\(VI_1\) received lower priority \(100\) advert from 192\.168\.60\.112 - discarding/, 5000, t1);
        await lk2.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000, t1);
        await ka.waitFor(/\(VI_1\) Master received advert from 192\.168\.60\.111 with higher priority 150, ours 100/, 3000, t1);
        await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP on lvskeeper only');
        await Promise.all([lk2.stop(), ka.stop()]);
      });
    });
  }

  it('unicast VRRPv3 (checksum over the real destination, no TTL check): both directions', async () => {
    const uconf = (name: string, self: string, peer: string, priority: number) =>
      writeConf(
        topo.dir,
        `${name}-u.conf`,
        vrrpInstance({ priority, version: 3, advertInt: '0.1', vips: [`${VIP}/24`], extra: `  unicast_src_ip ${self}\n  unicast_peer {\n    ${peer}\n  }\n` }),
      );
    const ka = Daemon.keepalived('kau', topo.lb1, uconf('kau', '192.168.60.111', '192.168.60.112', 150), topo.dir);
    daemons.push(ka);
    await ka.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
    const lk = Daemon.lvskeeper('lku', topo.lb2, uconf('lku', '192.168.60.112', '192.168.60.111', 100), topo.dir);
    daemons.push(lk);
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
    await lk.waitFor(/\(VI_1\) Entering BACKUP STATE \(init\)/, 3000);
    await sleep(1000);
    expect(lk.has(/Entering MASTER STATE/)).toBe(false);
    const t0 = performance.now();
    await ka.stop();
    await lk.waitFor(/\(VI_1\) Entering MASTER STATE/, 2000, t0);
    expect(lk.has(/Backup received priority 0 advertisement/, t0)).toBe(true);
    const ka2 = Daemon.keepalived('kau2', topo.lb1, uconf('kau2', '192.168.60.111', '192.168.60.112', 90), topo.dir);
    daemons.push(ka2);
    await ka2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
    await sleep(1000);
    expect(ka2.has(/Entering MASTER STATE/)).toBe(false);
    expect(ka2.has(/invalid|Invalid|mismatch/)).toBe(false);
    await waitUntil(() => hasAddress(topo.lb2, VIP) && !hasAddress(topo.lb1, VIP), 2000, 'VIP on lvskeeper only');
    await Promise.all([lk.stop(), ka2.stop()]);
  });

  for (const oursHigher of [false, true]) {
    it(`equal priorities, both MASTER after a partition: the lower address yields (${oursHigher ? 'keepalived' : 'lvskeeper'} on .111)`, async () => {
      const v = VARIANTS[1]!;
      // dont_track_primary: both keep running through the partition (no FAULT on carrier loss).
      const econf = (name: string) =>
        writeConf(topo.dir, `${name}-eq.conf`, vrrpInstance({ priority: 100, version: 3, advertInt: v.advertInt, vips: [`${VIP}/24`], extra: '  dont_track_primary\n' }));
      const tag = topo.prefix.replace(/^lkv-/, '').replace(/-$/, '');
      const port = `${tag}lb2b`;
      sh('ip', ['-n', topo.sw, 'link', 'set', port, 'down']);
      // .111 = lb1 (lower address), .112 = lb2 (higher)
      const low = oursHigher ? Daemon.keepalived('kaeqlo', topo.lb1, econf('kaeqlo'), topo.dir) : Daemon.lvskeeper('lkeqlo', topo.lb1, econf('lkeqlo'), topo.dir);
      const high = oursHigher ? Daemon.lvskeeper('lkeqhi', topo.lb2, econf('lkeqhi'), topo.dir) : Daemon.keepalived('kaeqhi', topo.lb2, econf('kaeqhi'), topo.dir);
      daemons.push(low, high);
      await low.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
      await high.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
      const t0 = performance.now();
      sh('ip', ['-n', topo.sw, 'link', 'set', port, 'up']);
      await low.waitFor(/\(VI_1\) Master received advert from 192\.168\.60\.112 with same priority 100 but higher IP address than ours/, 5000, t0);
      await low.waitFor(/\(VI_1\) Entering BACKUP STATE$/, 1000, t0);
      await waitUntil(() => hasAddress(topo.lb2, VIP) && !hasAddress(topo.lb1, VIP), 3000, 'VIP on .112 only');
      await sleep(1000);
      expect(high.has(/Entering BACKUP STATE/, t0)).toBe(false);
      await Promise.all([low.stop(), high.stop()]);
    });
  }
});
