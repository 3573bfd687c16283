// SIGHUP reload, SIGTERM and restart after kill -9, with real daemons (parent + VRRP child + checker
// child) on a bridge and the peer watching the wire (issue #6, tests 1–3):
//   1. 100 reloads of an unchanged configuration: no state change, no VIP removal, no advert skipped
//      (the goal, no gap over advert_int + 10 ms, is a timing figure: printed, not asserted),
//      the tracked script's weight still applied;
//   2. reloads that add/remove a VIP, change a priority, add/remove an instance, and a broken file;
//   3. SIGTERM: priority 0 on the wire, VIPs gone, exit 0; kill -9, then start: the stale VIP goes.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoiseMonitor } from '../../helpers/timing.js';
import { killAllAtOnce } from '../../processes.js';
import { Capture, Daemon, canRun, hasAddress, sleep, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

const VIP = '192.168.60.200';
const VIP_B = '192.168.60.201';
const VIP_2 = '192.168.60.210';
const LB1_IP = '192.168.60.111';
const LB2_IP = '192.168.60.112';
/** advert_int 1 (vrrpInstance's default) */
const ADVERT_INT_MS = 1000;

let topo: Topo;
const daemons: Daemon[] = [];
const monitors: ChildProcess[] = [];

interface NodeConf {
  priority: number;
  vips?: string[];
  /** Adds VI_2 (VRID 52, VIP .210) with this priority. */
  vi2Priority?: number;
  /** Raw text appended inside VI_1 (e.g. a typo for the broken-file test). */
  extra?: string;
}

/** lb1/lb2 configuration: VI_1 (VRID 51) tracking a script that is down on lb1 (weight −5: 110 → 105). */
function writeNodeConf(node: 'lb1' | 'lb2', c: NodeConf): string {
  const dir = topo.dir;
  const check = writeConf(dir, `check_${node}.sh`, `#!/bin/sh\n${node === 'lb1' ? 'exit 1' : 'exit 0'}\n`);
  chmodSync(check, 0o755);
  const vi1 = vrrpInstance({
    state: node === 'lb1' ? 'MASTER' : 'BACKUP',
    priority: c.priority,
    auth: 'k33pal1v',
    vips: (c.vips ?? [VIP]).map((v) => `${v}/24`),
    extra: `  track_script {\n    chk\n  }\n${c.extra ?? ''}`,
  });
  const vi2 = c.vi2Priority === undefined ? '' : vrrpInstance({ name: 'VI_2', vrid: 52, priority: c.vi2Priority, vips: [`${VIP_2}/24`] });
  return writeConf(
    dir,
    `${node}.conf`,
    `global_defs {\n  router_id ${node}\n}\nvrrp_script chk {\n  script "${check}"\n  interval 1\n  weight -5\n  rise 1\n  fall 1\n}\n${vi1}${vi2}`,
  );
}

function start(node: 'lb1' | 'lb2', c: NodeConf): Daemon {
  const d = Daemon.lvskeeper(node, node === 'lb1' ? topo.lb1 : topo.lb2, writeNodeConf(node, c), topo.dir);
  daemons.push(d);
  return d;
}

/** `ip monitor address` in a namespace: every "Deleted ..." line, to prove no VIP was removed. */
function watchAddressDeletions(ns: string): { deleted: string[]; stop(): void } {
  const proc = spawn('ip', ['-o', '-n', ns, 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  monitors.push(proc);
  const deleted: string[] = [];
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('Deleted')) deleted.push(line);
    }
  });
  return { deleted, stop: () => proc.kill() };
}

async function reload(d: Daemon): Promise<void> {
  const before = d.count(/Reload complete|Reload aborted/);
  d.signal('SIGHUP');
  await waitUntil(() => d.count(/Reload complete|Reload aborted/) > before, 10_000, `${d.name} reload`);
}

/** VRRP adverts seen on the wire: [time s, source, VRID, priority]. */
function adverts(cap: Capture): Array<{ t: number; src: string; vrid: number; prio: number }> {
  return cap
    .fields('vrrp', ['frame.time_epoch', 'ip.src', 'vrrp.virt_rtr_id', 'vrrp.prio'])
    .map(([t, src, vrid, prio]) => ({ t: Number(t), src: src!, vrid: Number(vrid), prio: Number(prio) }));
}

describe.skipIf(!canRun())('reload, stop and restart of a running pair', () => {
  let lb1: Daemon;
  let lb2: Daemon;

  beforeAll(async () => {
    topo = topology('rl');
    lb1 = start('lb1', { priority: 110 });
    lb2 = start('lb2', { priority: 100 });
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 10_000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 5000, 'VIP on lb1');
  }, 30_000);
  afterAll(async () => {
    for (const m of monitors) m.kill();
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });

  it('100 reloads of an unchanged configuration: no state change, no VIP removal, no advert skipped', async () => {
    const cap = await Capture.start(topo.lb2, join(topo.dir, 'reload100.pcap'), 'vrrp');
    const deletions = watchAddressDeletions(topo.lb1);
    await sleep(1500);
    const noise = NoiseMonitor.start();
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) {
      // Both nodes: the backup must not flap either.
      await Promise.all([reload(lb1), reload(lb2)]);
    }
    await sleep(2500);
    await cap.stop();
    deletions.stop();
    const margin = await noise.margin({ daemonLogs: lb1.lines, since: t0 });

    expect(lb1.count(/Reload complete/, t0)).toBe(100);
    expect(lb2.count(/Reload complete/, t0)).toBe(100);
    for (const d of [lb1, lb2]) expect(d.lines.filter((l) => l.at >= t0 && /Entering|removing VIPs|sent 0 priority/.test(l.text)).map((l) => l.text)).toEqual([]);
    expect(deletions.deleted).toEqual([]);
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(hasAddress(topo.lb2, VIP)).toBe(false);

    const fromLb1 = adverts(cap).filter((a) => a.src === LB1_IP);
    expect(adverts(cap).filter((a) => a.src === LB2_IP)).toEqual([]);
    expect(fromLb1.length).toBeGreaterThan(5);
    // The down script's weight survives every reload (keepalived would briefly consider it up).
    expect(new Set(fromLb1.map((a) => a.prio))).toEqual(new Set([105]));
    const gaps = fromLb1.slice(1).map((a, i) => (a.t - fromLb1[i]!.t) * 1000);
    const shown = `advert gaps (ms): ${gaps.map((g) => g.toFixed(1)).join(' ')}`;
    // On failure, lb1's own account of a late timer (src/vrrp/late-timers.ts) says what blocked it.
    const late = lb1.lines.filter((l) => l.at >= t0 && l.text.includes(' late: ')).map((l) => l.text);
    // The behaviour: the master keeps its schedule, each advert advert_int after the one before (RFC 3768
    // §6.4.3: the Adver_Timer is reset to Advertisement_Interval on every send): a reload neither skips an
    // advert nor restarts the timer, either of which shows as a gap of up to 2 × advert_int and is what a
    // backup counts towards Master_Down_Interval. The margin is this run's scheduling noise (the worst stall
    // and lb1's own late-timer reports included), not a fixed figure; how close to advert_int each gap
    // stays (the advert_int + 10 ms) is a timing figure, printed here, not a pass/fail.
    const detail = `${shown}\n${margin.text}\nlb1: ${late.join('\n') || 'no late timer logged'}`;
    if (process.env.LKV_VERBOSE || Math.max(...gaps) > ADVERT_INT_MS + 10) console.log(detail);
    expect(Math.max(...gaps), detail).toBeLessThanOrEqual(ADVERT_INT_MS + margin.ms);
  }, 240_000);

  it('reload adds a VIP (with GARP) and removes one, on the master, without touching the others', async () => {
    const cap = await Capture.start(topo.lb1, join(topo.dir, 'vips.pcap'), 'arp');
    const deletions = watchAddressDeletions(topo.lb1);
    const t0 = performance.now();
    writeNodeConf('lb1', { priority: 110, vips: [VIP, VIP_B] });
    await reload(lb1);
    await waitUntil(() => hasAddress(topo.lb1, VIP_B), 3000, 'added VIP on lb1');
    await sleep(1000);
    await cap.stop();
    expect(cap.fields(`arp.src.proto_ipv4 == ${VIP_B}`, ['arp.opcode']).length).toBeGreaterThan(0);
    expect(lb1.has(/Reload complete/, t0)).toBe(true);

    writeNodeConf('lb1', { priority: 110, vips: [VIP] });
    await reload(lb1);
    await waitUntil(() => !hasAddress(topo.lb1, VIP_B), 3000, 'removed VIP gone from lb1');
    await sleep(300);
    deletions.stop();
    expect(deletions.deleted.filter((l) => l.includes(`${VIP}/`))).toEqual([]);
    expect(deletions.deleted.filter((l) => l.includes(`${VIP_B}/`)).length).toBe(1);
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(lb1.has(/Entering/, t0)).toBe(false);
  }, 60_000);

  it('reload of a priority: the backup raised above the master takes over; lowered again, the master preempts back', async () => {
    const t0 = performance.now();
    writeNodeConf('lb2', { priority: 120 });
    await reload(lb2);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000, t0);
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000, t0);
    await waitUntil(() => hasAddress(topo.lb2, VIP) && !hasAddress(topo.lb1, VIP), 5000, 'VIP moved to lb2');

    const t1 = performance.now();
    writeNodeConf('lb2', { priority: 100 });
    await reload(lb2);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, t1);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 5000, 'VIP back on lb1');
  }, 60_000);

  it('reload adds an instance, then removing it from the master sends priority 0 and the peer takes it over', async () => {
    const t0 = performance.now();
    writeNodeConf('lb1', { priority: 110, vi2Priority: 110 });
    writeNodeConf('lb2', { priority: 100, vi2Priority: 100 });
    await Promise.all([reload(lb1), reload(lb2)]);
    await lb1.waitFor(/\(VI_2\) Entering MASTER STATE/, 8000, t0);
    await waitUntil(() => hasAddress(topo.lb1, VIP_2), 3000, 'VI_2 VIP on lb1');
    expect(lb1.has(/\(VI_1\) Entering/, t0)).toBe(false);

    const cap = await Capture.start(topo.lb2, join(topo.dir, 'remove-instance.pcap'), 'vrrp');
    const t1 = performance.now();
    writeNodeConf('lb1', { priority: 110 });
    await reload(lb1);
    await lb2.waitFor(/\(VI_2\) Entering MASTER STATE/, 3000, t1);
    await waitUntil(() => hasAddress(topo.lb2, VIP_2) && !hasAddress(topo.lb1, VIP_2), 3000, 'VI_2 VIP moved to lb2');
    await cap.stop();
    const zero = adverts(cap).filter((a) => a.src === LB1_IP && a.vrid === 52 && a.prio === 0);
    expect(zero.length).toBeGreaterThan(0);
    // VI_1 untouched on both
    expect(lb1.has(/\(VI_1\) Entering/, t0)).toBe(false);
    expect(hasAddress(topo.lb1, VIP)).toBe(true);

    writeNodeConf('lb2', { priority: 100 });
    await reload(lb2);
    await waitUntil(() => !hasAddress(topo.lb2, VIP_2), 3000, 'VI_2 gone from lb2 too');
  }, 60_000);

  it('a broken file is refused with file:line and the running configuration stays', async () => {
    const t0 = performance.now();
    const conf = writeNodeConf('lb1', { priority: 90, extra: '  prioritty 120\n' });
    const lineNo = readFileSync(conf, 'utf8').split('\n').findIndex((l) => l.includes('prioritty')) + 1;
    await reload(lb1);
    expect(lb1.has(/Reload aborted/, t0)).toBe(true);
    expect(lb1.has(new RegExp(`${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${lineNo}: .*prioritty`), t0)).toBe(true);
    await sleep(3500);
    // Still MASTER at 110 − 5 (the refused file said 90): no state change, VIP kept.
    expect(lb1.has(/Entering|removing VIPs/, t0)).toBe(false);
    expect(lb2.has(/Entering MASTER/, t0)).toBe(false);
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(lb1.exitCode).toBeUndefined();

    writeNodeConf('lb1', { priority: 110 });
    const t1 = performance.now();
    await reload(lb1);
    expect(lb1.has(/Reload complete/, t1)).toBe(true);
  }, 60_000);

  it('a dead child is logged and respawned; a dead checker child never disturbs VRRP', async () => {
    // NaN while a dead child's pid file is gone and its successor has not written one yet.
    const childPid = (f: string): number => {
      try {
        return Number(readFileSync(join(topo.dir, f), 'utf8').trim());
      } catch {
        return NaN;
      }
    };
    const t0 = performance.now();
    const checker = childPid('lb1_checkers.pid');
    process.kill(checker, 'SIGKILL');
    await lb1.waitFor(new RegExp(`Checker child process\\(${checker}\\) died: Respawning`), 3000, t0);
    await lb1.waitFor(/Starting Checker child process, pid=\d+/, 5000, t0);
    await waitUntil(() => Number.isInteger(childPid('lb1_checkers.pid')) && childPid('lb1_checkers.pid') !== checker, 5000, 'new checker pid file');
    await sleep(1500);
    expect(lb1.has(/Entering|removing VIPs/, t0)).toBe(false);

    const t1 = performance.now();
    const vrrp = childPid('lb1_vrrp.pid');
    process.kill(vrrp, 'SIGKILL');
    await lb1.waitFor(new RegExp(`VRRP child process\\(${vrrp}\\) died: Respawning`), 3000, t1);
    // The new VRRP child starts over (stale VIPs cleaned, BACKUP, then MASTER again by priority).
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000, t1);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 3000, 'VIP back on lb1');
  }, 60_000);

  it('SIGTERM: priority 0 on the wire, VIPs gone, exit 0 with no child killed at the stop deadline', async () => {
    const cap = await Capture.start(topo.lb2, join(topo.dir, 'stop.pcap'), 'vrrp');
    const t0 = performance.now();
    // How long the stop takes is bounded by the daemon itself (a child still running 4 s after SIGTERM is
    // killed, and that is logged); the test's own SIGKILL comes much later, so on a loaded machine a slow
    // but clean stop still exits 0 and only a child that had to be killed fails the test.
    const code = await lb1.stop(30_000);
    expect(code).toBe(0);
    expect(lb1.lines.filter((l) => l.at >= t0 && /did not stop within/.test(l.text)).map((l) => l.text)).toEqual([]);
    expect(hasAddress(topo.lb1, VIP)).toBe(false);
    // keepalived's order, also in the console format (the VRRP child drains its log before closing it).
    const after = lb1.lines.filter((l) => l.at >= t0).map((l) => l.text.replace(/^.*?\d{4}: /, ''));
    expect(after.filter((l) => /^(Stopping|\(VI_1\) sent 0 priority|\(VI_1\) removing VIPs\.|Stopped lvskeeper)/.test(l)).map((l) => l.split(' v')[0])).toEqual([
      'Stopping',
      '(VI_1) sent 0 priority',
      '(VI_1) removing VIPs.',
      'Stopped lvskeeper',
    ]);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, t0);
    await sleep(500);
    await cap.stop();
    expect(adverts(cap).some((a) => a.src === LB1_IP && a.vrid === 51 && a.prio === 0)).toBe(true);
  }, 30_000);

  it('kill -9 of the whole daemon leaves the VIP; started again as backup, it removes the stale VIP', async () => {
    lb1 = start('lb1', { priority: 110 });
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 5000, 'VIP on lb1');
    // Every process of the daemon at once, as `systemctl kill -s KILL` does to its cgroup.
    const pidFiles = ['lb1.pid', 'lb1_vrrp.pid', 'lb1_checkers.pid'].map((f) => join(topo.dir, f));
    const pids = pidFiles.map((f) => Number(readFileSync(f, 'utf8').trim()));
    killAllAtOnce(pids);
    await lb1.exited;
    expect(hasAddress(topo.lb1, VIP)).toBe(true); // stale
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, performance.now() - 100);

    // Restarted with a lower priority, it must stay BACKUP and clean its stale VIP at start.
    const t0 = performance.now();
    lb1 = start('lb1', { priority: 90 });
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 10_000, t0);
    await waitUntil(() => !hasAddress(topo.lb1, VIP), 3000, 'stale VIP removed from lb1');
    expect(hasAddress(topo.lb2, VIP)).toBe(true);
  }, 60_000);
});
