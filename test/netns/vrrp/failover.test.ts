// Two lvskeeper daemons on a bridge (the seed lab: lb01 .111, lb02 .112, VIP .200): election, link loss,
// preemption, graceful stop, nopreempt, preempt_delay and track_script weights/FAULT, with GARPs on the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EARLY_TOLERANCE_MS, NoiseMonitor, advertsAfter, masterDownMs, skewMs, takeover, verbose } from '../../helpers/timing.js';
import { Capture, Daemon, canRun, hasAddress, linkSet, sleep, topology, vrrpInstance, waitUntil, wireAdverts, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
const LB1_IP = '192.168.60.111';
const LB2_IP = '192.168.60.112';
/** lb2 (priority 100, advert_int 1) as the backup: RFC 3768 §6.1 Skew_Time and Master_Down_Interval. */
const LB2_TIMERS = { skewMs: skewMs(100, 1000), downMs: masterDownMs(100, 1000) };
let topo: Topo;
const daemons: Daemon[] = [];
/** tshark captures, stopped in afterAll even when a test failed before stopping its own */
const captures: Capture[] = [];

function labConf(node: 'lb1' | 'lb2', opts: { priority: number; state: 'MASTER' | 'BACKUP'; extra?: string }): string {
  const dir = topo.dir;
  const check = writeConf(dir, `check_${node}.sh`, `#!/bin/sh\n[ ! -e ${join(dir, `${node}.fail`)} ]\n`);
  const fault = writeConf(dir, `fault_${node}.sh`, `#!/bin/sh\n[ ! -e ${join(dir, `${node}.fault`)} ]\n`);
  sh755(check);
  sh755(fault);
  // notify_fifo pointing at a regular file gets the lines appended (a missing path would become a FIFO).
  const fifo = join(dir, `${node}.fifo`);
  if (!existsSync(fifo)) writeFileSync(fifo, '');
  const notify = writeConf(dir, `notify_${node}.sh`, `#!/bin/sh\necho "$@" >> ${join(dir, `${node}.notify`)}\n`);
  sh755(notify);
  return writeConf(
    dir,
    `${node}.conf`,
    `global_defs {
  router_id ${node === 'lb1' ? 'lb01' : 'lb02'}
  notify_fifo ${join(dir, `${node}.fifo`)}
}
vrrp_script lvs_check {
  script "${check}"
  interval 1
  weight -20
  rise 1
  fall 1
}
vrrp_script lvs_fault {
  script "${fault}"
  interval 1
  weight 0
}
${vrrpInstance({
  state: opts.state,
  priority: opts.priority,
  auth: 'k33pal1v',
  vips: [`${VIP}/24`],
  extra: `  track_script {\n    lvs_check\n    lvs_fault\n  }\n  notify ${notify}\n  notify_priority_changes\n${opts.extra ?? ''}`,
})}`,
  );
}

function readText(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

function sh755(p: string): void {
  chmodSync(p, 0o755);
}

function start(node: 'lb1' | 'lb2', opts: { priority: number; state: 'MASTER' | 'BACKUP'; extra?: string }): Daemon {
  const d = Daemon.lvskeeper(node, node === 'lb1' ? topo.lb1 : topo.lb2, labConf(node, opts), topo.dir);
  daemons.push(d);
  return d;
}

const LB1 = { priority: 110, state: 'MASTER' as const };
const LB2 = { priority: 100, state: 'BACKUP' as const };

describe.skipIf(!canRun())('two lvskeeper daemons', () => {
  let lb1: Daemon;
  let lb2: Daemon;

  beforeAll(() => {
    topo = topology('fo');
  });
  afterAll(async () => {
    await Promise.all([...daemons.map((d) => d.stop()), ...captures.map((c) => c.stop())]);
    topo?.down();
  });

  it('lb1 becomes MASTER with the VIP, lb2 stays BACKUP', async () => {
    lb1 = start('lb1', LB1);
    // lb2 after lb1's init: the two down timers (3.57 s vs 3.61 s) are closer than process start-up jitter.
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE$/, 6000);
    lb2 = start('lb2', LB2);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 2000, 'VIP on lb1');
    await sleep(1500);
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
    expect(lb2.has(/Entering MASTER STATE/)).toBe(false);
    // keepalived's start-up phrases, in order
    const texts = lb1.lines.map((l) => l.text.replace(/^.*?\d{4}: /, ''));
    const idx = (s: string) => texts.findIndex((t) => t === s);
    expect(texts.some((t) => /^Starting lvskeeper v\d/.test(t))).toBe(true);
    // The weight-0 lvs_fault script holds the instance in INIT until its first result (keepalived), so
    // BACKUP is entered without "(init)", after the script's first success.
    expect(idx('(VI_1) Entering BACKUP STATE (init)')).toBe(-1);
    expect(idx('VRRP_Script(lvs_fault) succeeded')).toBeGreaterThanOrEqual(0);
    expect(idx('VRRP_Script(lvs_fault) succeeded')).toBeLessThan(idx('(VI_1) Entering BACKUP STATE'));
    expect(idx('(VI_1) removing VIPs.')).toBeLessThan(idx('(VI_1) Entering BACKUP STATE'));
    expect(idx('(VI_1) Entering MASTER STATE')).toBeLessThan(idx('(VI_1) setting VIPs.'));
    expect(idx(`(VI_1) Sending/queueing gratuitous ARPs on eth0 for ${VIP}`)).toBeGreaterThan(idx('(VI_1) setting VIPs.'));
    // notify script (INSTANCE NAME STATE PRIO) and notify_fifo lines (here a regular file).
    await waitUntil(() => readText(join(topo.dir, 'lb1.notify')).includes('INSTANCE VI_1 MASTER 110'), 3000, 'notify MASTER');
    expect(readText(join(topo.dir, 'lb1.notify')).split('\n')[0]).toBe('INSTANCE VI_1 BACKUP 110');
    expect(readText(join(topo.dir, 'lb1.fifo'))).toBe('INSTANCE "VI_1" BACKUP 110\nINSTANCE "VI_1" MASTER 110\n');
    expect(readText(join(topo.dir, 'lb2.notify'))).toBe('INSTANCE VI_1 BACKUP 100\n');
  });

  it('lb1 link down → lb2 MASTER after Master_Down_Interval, with the VIP and GARPs on the wire; link up → lb1 preempts', async () => {
    const cap = await Capture.start(topo.x, join(topo.dir, 'linkdown.pcap'), 'arp or vrrp');
    captures.push(cap);
    // lb1's last advert before the cut must be in the capture: it is what lb2's down timer runs from.
    await sleep(2500);
    const noise = NoiseMonitor.start();
    const t0 = performance.now();
    const since = Date.now();
    linkSet(topo.lb1, false);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
    await waitUntil(() => hasAddress(topo.lb2, VIP), 5000, 'VIP on lb2');
    await lb1.waitFor(/\(VI_1\) Entering FAULT STATE/, 5000, t0);
    // With its link down lb1 cannot send priority 0: lb2 takes over because lb1's adverts stopped.
    expect(lb2.has(/Backup received priority 0 advertisement/, t0)).toBe(false);
    await sleep(500);
    await cap.stop();
    const margin = await noise.margin({ daemonLogs: [...lb1.lines, ...lb2.lines], since: t0 });
    // RFC 3768 §6.4.2: lb2's first advert is due Master_Down_Interval (3.609 s) after the last one it heard.
    const t = takeover(wireAdverts(cap), LB1_IP, LB2_IP, LB2_TIMERS, since);
    const why = `${t.describe()}; ${margin.text}`;
    verbose(why);
    expect(t.reason, why).toBe('master down');
    expect(t.lateMs, why).toBeGreaterThanOrEqual(-EARLY_TOLERANCE_MS);
    expect(t.lateMs, why).toBeLessThanOrEqual(margin.ms);
    const garps = cap.fields(`arp.src.proto_ipv4 == ${VIP} && arp.dst.proto_ipv4 == ${VIP}`, ['arp.opcode', 'eth.dst', 'arp.dst.hw_mac']);
    expect(garps.length).toBeGreaterThanOrEqual(5);
    expect(garps[0]![0]).toBe('1'); // request
    expect(garps[0]![1]).toBe('ff:ff:ff:ff:ff:ff');

    const t1 = performance.now();
    linkSet(topo.lb1, true);
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE$/, 3000, t1);
    await lb1.waitFor(/\(VI_1\) received lower priority \(100\) advert from 192\.168\.60\.112 - discarding/, 4000, t1);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, t1);
    await lb2.waitFor(/\(VI_1\) Master received advert from 192\.168\.60\.111 with higher priority 110, ours 100/, 3000, t1);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP back on lb1 only');
  });

  it('a track_script failing with weight −20 moves the master; recovery moves it back', async () => {
    const t0 = performance.now();
    writeFileSync(join(topo.dir, 'lb1.fail'), '');
    await lb1.waitFor(/VRRP_Script\(lvs_check\) failed/, 4000, t0);
    await lb1.waitFor(/\(VI_1\) Changing effective priority from 110 to 90/, 2000, t0);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, t0);
    await lb1.waitFor(/\(VI_1\) Master received advert from 192\.168\.60\.112 with higher priority 100, ours 90/, 3000, t0);
    await waitUntil(() => hasAddress(topo.lb2, VIP) && !hasAddress(topo.lb1, VIP), 3000, 'VIP on lb2 only');
    const t1 = performance.now();
    rmSync(join(topo.dir, 'lb1.fail'));
    await lb1.waitFor(/VRRP_Script\(lvs_check\) succeeded/, 4000, t1);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 7000, t1);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP back on lb1');
    // notify_priority_changes: the FIFO hears each change with the state it happened in.
    expect(readText(join(topo.dir, 'lb1.fifo'))).toMatch(/INSTANCE "VI_1" MASTER_PRIORITY 90\n(.*\n)*INSTANCE "VI_1" BACKUP_PRIORITY 110\n/);
  });

  it('a weight-0 track_script failure → FAULT (priority 0 sent, takeover after Skew_Time); recovery → BACKUP then MASTER', async () => {
    const cap = await Capture.start(topo.x, join(topo.dir, 'fault.pcap'), 'vrrp');
    captures.push(cap);
    const noise = NoiseMonitor.start();
    const t0 = performance.now();
    const since = Date.now();
    writeFileSync(join(topo.dir, 'lb1.fault'), '');
    await lb1.waitFor(/\(VI_1\) Entering FAULT STATE/, 10_000, t0);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
    await waitUntil(() => hasAddress(topo.lb2, VIP) && !hasAddress(topo.lb1, VIP), 5000, 'VIP on lb2 only');
    await sleep(500);
    await cap.stop();
    const margin = await noise.margin({ daemonLogs: [...lb1.lines, ...lb2.lines], since: t0 });
    const adverts = wireAdverts(cap);
    // Leaving MASTER for FAULT, lb1 sends priority 0 (keepalived; RFC 3768 §6.4.3 on shutdown) ...
    const p0 = adverts.find((a) => a.from === LB1_IP && a.prio === 0 && a.t >= since);
    expect(p0, 'priority 0 from lb1 on the wire').toBeDefined();
    // ... so lb2 takes over Skew_Time (609 ms) after it (RFC 3768 §6.4.2), not a Master_Down_Interval later.
    const t = takeover(adverts, LB1_IP, LB2_IP, LB2_TIMERS, since);
    const why = `${t.describe()}; ${margin.text}`;
    verbose(why);
    expect(t.lateMs, why).toBeGreaterThanOrEqual(-EARLY_TOLERANCE_MS);
    expect(t.lateMs, why).toBeLessThanOrEqual(margin.ms);
    // lb2's log says the same (unless lb1 stalled so long before its priority 0 that lb2 timed it out first).
    if (t.reason === 'priority 0') expect(lb2.has(/\(VI_1\) Backup received priority 0 advertisement/, t0)).toBe(true);
    // One MASTER on the wire: after its priority 0, lb1 (in FAULT) sends nothing else.
    expect(advertsAfter(adverts, LB1_IP, p0!.t), why).toEqual([]);
    const t1 = performance.now();
    rmSync(join(topo.dir, 'lb1.fault'));
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE$/, 4000, t1);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 7000, t1);
  });

  it('SIGTERM on the master: priority 0, VIP released, exit 0 with no child killed, peer MASTER after Skew_Time', async () => {
    const cap = await Capture.start(topo.x, join(topo.dir, 'sigterm.pcap'), 'vrrp');
    captures.push(cap);
    const noise = NoiseMonitor.start();
    const t0 = performance.now();
    const since = Date.now();
    // The daemon's own deadline (SIGKILL to a child 4 s after SIGTERM, logged) is what bounds the stop;
    // the test's SIGKILL only comes long after it, so a slow stop on a loaded machine still exits 0.
    const exit = lb1.stop(30_000);
    await lb1.waitFor(/\(VI_1\) sent 0 priority/, 10_000, t0);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
    expect(await exit).toBe(0);
    expect(lb1.lines.filter((l) => /did not stop within/.test(l.text)).map((l) => l.text)).toEqual([]);
    expect(lb1.has(/^.*Stopping$/)).toBe(true);
    expect(lb1.has(/Stopped lvskeeper/)).toBe(true);
    await cap.stop();
    const margin = await noise.margin({ daemonLogs: [...lb1.lines, ...lb2.lines], since: t0 });
    const adverts = wireAdverts(cap);
    const p0 = adverts.find((a) => a.from === LB1_IP && a.prio === 0 && a.t >= since);
    expect(p0, 'priority 0 from lb1 on the wire').toBeDefined();
    // RFC 3768 §6.4.2: lb2 takes over Skew_Time (609 ms) after lb1's priority 0.
    const t = takeover(adverts, LB1_IP, LB2_IP, LB2_TIMERS, since);
    const why = `${t.describe()}; ${margin.text}`;
    verbose(why);
    expect(t.lateMs, why).toBeGreaterThanOrEqual(-EARLY_TOLERANCE_MS);
    expect(t.lateMs, why).toBeLessThanOrEqual(margin.ms);
    if (t.reason === 'priority 0') expect(lb2.has(/\(VI_1\) Backup received priority 0 advertisement/, t0)).toBe(true);
    expect(advertsAfter(adverts, LB1_IP, p0!.t), why).toEqual([]);
    expect(hasAddress(topo.lb1, VIP)).toBe(false);
    expect(readText(join(topo.dir, 'lb1.fifo'))).toMatch(/INSTANCE "VI_1" FAULT 110\n(.*\n)*INSTANCE "VI_1" STOP 110\n$/);
    await waitUntil(() => readText(join(topo.dir, 'lb1.notify')).includes('INSTANCE VI_1 STOP 110'), 3000, 'notify STOP');
    await waitUntil(() => hasAddress(topo.lb2, VIP), 2000, 'VIP on lb2');
    await lb2.stop();
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
  });

  it('nopreempt on the higher-priority node: it stays BACKUP when it finds a master', async () => {
    lb2 = start('lb2', LB2);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000);
    const t0 = performance.now();
    lb1 = start('lb1', { priority: 110, state: 'BACKUP', extra: '  nopreempt\n' });
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE$/, 4000, t0);
    await sleep(6000);
    expect(lb1.has(/Entering MASTER STATE/, t0)).toBe(false);
    expect(hasAddress(topo.lb2, VIP)).toBe(true);
    await lb1.stop();
  });

  it('preempt_delay holds the higher-priority backup before it preempts', async () => {
    const t0 = performance.now();
    lb1 = start('lb1', { priority: 110, state: 'BACKUP', extra: '  preempt_delay 3\n' });
    const m = await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
    // preempt_delay (3 s from the first lower advert) + Master_Down_Interval (3.414 s)
    expect(m.at - t0).toBeGreaterThan(5500);
    await lb2.waitFor(/\(VI_1\) Master received advert from 192\.168\.60\.111 with higher priority 110, ours 100/, 3000, t0);
    await Promise.all([lb1.stop(), lb2.stop()]);
  });
});
