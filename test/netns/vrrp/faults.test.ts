// Fault matrix for an lvskeeper pair (lb1 priority 110 preempting, lb2 priority 100, VIP .200): a stalled
// (SIGSTOP) VRRP child, a killed (SIGKILL) VRRP child and checker child, 50 link flaps in 10 s, and a foreign
// router on the same VRID with another password. Bounds are RFC timers + this run's measured margin
// (test/helpers/timing.ts); no other wall-clock thresholds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EARLY_TOLERANCE_MS, NoiseMonitor, advertsAfter, masterDownMs, skewMs, takeover, verbose } from '../../helpers/timing.js';
import { Capture, Daemon, KEEPALIVED, canRun, hasAddress, linkSet, readStats, sh, sleep, topology, vrrpInstance, waitUntil, wireAdverts, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
const FOREIGN_VIP = '192.168.60.250';
const LB1_IP = '192.168.60.111';
const LB2_IP = '192.168.60.112';
const X_IP = '192.168.60.50';
const ADVERT_MS = 1000;
/** lb2 (priority 100, advert_int 1) as the backup: RFC 3768 §6.1 Skew_Time and Master_Down_Interval. */
const LB2_TIMERS = { skewMs: skewMs(100, ADVERT_MS), downMs: masterDownMs(100, ADVERT_MS) };
/** lb1's Master_Down_Interval (priority 110): 3.570 s. */
const LB1_DOWN_MS = masterDownMs(110, ADVERT_MS);

let topo: Topo;
const daemons: Daemon[] = [];
const captures: Capture[] = [];
const monitors: ChildProcess[] = [];
/** pids we SIGSTOPped: SIGCONT in afterAll if a test failed before it did. */
const stopped = new Set<number>();

type Node = 'lb1' | 'lb2';
const statsFile = (node: Node): string => join(topo.dir, `${node}.stats`);

function conf(node: Node): string {
  return writeConf(
    topo.dir,
    `${node}.conf`,
    `global_defs {
  router_id ${node}
  stats_file_location ${statsFile(node)}
}
${vrrpInstance({ state: node === 'lb1' ? 'MASTER' : 'BACKUP', priority: node === 'lb1' ? 110 : 100, auth: 'k33pal1v', vips: [`${VIP}/24`] })}`,
  );
}

function readPid(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}
const vrrpPidFile = (node: Node): string => join(topo.dir, `${node}_vrrp.pid`);
const checkerPidFile = (node: Node): string => join(topo.dir, `${node}_checkers.pid`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The state named by the last "Entering X STATE" line, or undefined. */
function lastState(d: Daemon): string | undefined {
  for (let i = d.lines.length - 1; i >= 0; i--) {
    const m = /\(VI_1\) Entering (\w+) STATE/.exec(d.lines[i]!.text);
    if (m) return m[1];
  }
  return undefined;
}

function transitions(d: Daemon, since: number): string[] {
  return d.lines.filter((l) => l.at >= since && /\(VI_1\) Entering \w+ STATE/.test(l.text)).map((l) => l.text);
}

function nsPids(ns: string): number[] {
  return sh('ip', ['netns', 'pids', ns])
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Drops by reason from the stats file written on SIGUSR2 (fresh: the old file is removed first). */
async function drops(d: Daemon, node: Node): Promise<Record<string, number>> {
  rmSync(statsFile(node), { force: true });
  d.signal('SIGUSR2');
  await waitUntil(() => readStats(statsFile(node)).includes('Drops:'), 5000, `${node} stats file`);
  await sleep(100); // the file is complete once written, but let a slow writer finish
  const line = readStats(statsFile(node)).split('\n').find((l) => l.trim().startsWith('Drops:')) ?? '';
  return Object.fromEntries(
    line
      .replace(/^\s*Drops:\s*/, '')
      .split(' ')
      .filter((kv) => kv.includes('='))
      .map((kv) => {
        const [k, v] = kv.split('=');
        return [k!, Number(v)];
      }),
  );
}

/** `ip monitor address` in a namespace, lines with their arrival order. */
function monitorAddresses(ns: string): { lines: string[]; proc: ChildProcess } {
  const proc = spawn('ip', ['-n', ns, 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  monitors.push(proc);
  const lines: string[] = [];
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  return { lines, proc };
}

describe.skipIf(!canRun())('fault matrix for an lvskeeper pair', () => {
  let lb1: Daemon;
  let lb2: Daemon;

  beforeAll(async () => {
    topo = topology('flt');
    lb1 = Daemon.lvskeeper('lb1', topo.lb1, conf('lb1'), topo.dir);
    daemons.push(lb1);
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 8000);
    lb2 = Daemon.lvskeeper('lb2', topo.lb2, conf('lb2'), topo.dir);
    daemons.push(lb2);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 8000);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP on lb1 only');
    await waitUntil(() => existsSync(vrrpPidFile('lb1')) && existsSync(checkerPidFile('lb1')), 3000, 'pid files');
  });
  afterAll(async () => {
    for (const pid of stopped) if (alive(pid)) process.kill(pid, 'SIGCONT');
    for (const m of monitors) m.kill('SIGTERM');
    await Promise.all([...daemons.map((d) => d.stop()), ...captures.map((c) => c.stop())]);
    topo?.down();
  });

  it('SIGSTOP on the MASTER VRRP child for 5 s: lb2 takes over on advert timeout; after SIGCONT lb1 (higher priority) keeps MASTER, lb2 yields within one advert interval', async () => {
    const cap = await Capture.start(topo.x, join(topo.dir, 'sigstop.pcap'), 'vrrp');
    captures.push(cap);
    await sleep(2500); // lb1's last advert before the stop must be in the capture
    const pid = readPid(vrrpPidFile('lb1'));
    const noise = NoiseMonitor.start();
    const t0 = performance.now();
    const since = Date.now();
    stopped.add(pid);
    process.kill(pid, 'SIGSTOP');
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
    await waitUntil(() => hasAddress(topo.lb2, VIP), 5000, 'VIP on lb2');
    await sleep(Math.max(0, t0 + 5000 - performance.now()));
    const tCont = performance.now();
    const contEpoch = Date.now();
    process.kill(pid, 'SIGCONT');
    stopped.delete(pid);
    const yielded = await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 10_000, tCont);
    const tVip = await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 10_000, 'VIP on lb1 only');
    await sleep(2500); // two more advert intervals: the pair stays converged
    await cap.stop();
    // lb1's own "timer ran N ms late" after SIGCONT is the stop itself, not machine noise: lb2's log only.
    const margin = await noise.margin({ daemonLogs: lb2.lines, since: t0 });
    const adverts = wireAdverts(cap);

    // RFC 3768 §6.4.2: lb1 stopped advertising (no priority 0: a stopped process sends nothing), so lb2
    // takes over Master_Down_Interval (3.609 s) after lb1's last advert.
    const t = takeover(adverts, LB1_IP, LB2_IP, LB2_TIMERS, since);
    const why = `${t.describe()}; ${margin.text}`;
    verbose(why);
    expect(t.reason, why).toBe('master down');
    expect(t.lateMs, why).toBeGreaterThanOrEqual(-EARLY_TOLERANCE_MS);
    expect(t.lateMs, why).toBeLessThanOrEqual(margin.ms);
    expect(lb2.has(/Backup received priority 0 advertisement/, t0)).toBe(false);

    // After SIGCONT: RFC 3768 §6.4.3 (Master): lb1 discards lb2's lower-priority (100 < 110) adverts and
    // stays MASTER; lb2, MASTER, receives lb1's priority 110 > 100 and transitions to Backup. So the stopped
    // node (higher priority) keeps MASTER and never logs a transition.
    expect(transitions(lb1, t0)).toEqual([]);
    expect(lb2.has(/\(VI_1\) Master received advert from 192\.168\.60\.111 with higher priority 110, ours 100/, tCont)).toBe(true);
    const bound = ADVERT_MS + margin.ms;
    const cw = `lb2 BACKUP ${(yielded.at - tCont).toFixed(0)} ms, VIP only on lb1 ${(tVip - tCont).toFixed(0)} ms after SIGCONT; bound ${bound.toFixed(0)} ms; ${margin.text}`;
    verbose(cw);
    expect(yielded.at - tCont, cw).toBeLessThanOrEqual(bound);
    expect(tVip - tCont, cw).toBeLessThanOrEqual(bound);
    // On the wire: lb1's (overdue) advert within one interval of SIGCONT, lb2's last one at most an interval later.
    const firstLb1 = adverts.find((a) => a.from === LB1_IP && a.prio > 0 && a.t >= contEpoch);
    expect(firstLb1, 'lb1 advertises again after SIGCONT').toBeDefined();
    expect(firstLb1!.t - contEpoch, cw).toBeLessThanOrEqual(bound);
    expect(advertsAfter(adverts, LB2_IP, firstLb1!.t + margin.ms), cw).toEqual([]);
    // One MASTER at the end.
    expect(lastState(lb1)).toBe('MASTER');
    expect(lastState(lb2)).toBe('BACKUP');
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
  });

  it('kill -9 of the MASTER VRRP child: respawned, stale VIP removed at start, election again, no double MASTER beyond one advert interval', async () => {
    const cap = await Capture.start(topo.x, join(topo.dir, 'kill-vrrp.pcap'), 'vrrp');
    captures.push(cap);
    await sleep(2500);
    const mon = monitorAddresses(topo.lb1);
    await sleep(300);
    const oldPid = readPid(vrrpPidFile('lb1'));
    expect(hasAddress(topo.lb1, VIP)).toBe(true); // what the killed child leaves behind
    const noise = NoiseMonitor.start();
    const t0 = performance.now();
    const since = Date.now();
    process.kill(oldPid, 'SIGKILL');
    await lb1.waitFor(new RegExp(`VRRP child process\\(${oldPid}\\) died: Respawning`), 10_000, t0);
    const started = await lb1.waitFor(/Starting VRRP child process, pid=(\d+)/, 10_000, t0);
    const newPid = Number(/pid=(\d+)/.exec(started.text)![1]);
    const removing = await lb1.waitFor(/\(VI_1\) removing VIPs\./, 10_000, started.at);
    const master = await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 30_000, t0);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 10_000, 'VIP on lb1 only');
    await waitUntil(() => existsSync(vrrpPidFile('lb1')) && readPid(vrrpPidFile('lb1')) === newPid, 5000, 'new VRRP pid file');
    await sleep(2500);
    await cap.stop();
    mon.proc.kill('SIGTERM');
    const margin = await noise.margin({ daemonLogs: [...lb1.lines, ...lb2.lines], since: t0 });
    const adverts = wireAdverts(cap);

    expect(newPid).not.toBe(oldPid);
    expect(alive(oldPid)).toBe(false);
    expect(alive(newPid)).toBe(true);
    // The respawned child removed the stale VIP (kernel: Deleted) before it added it again as MASTER.
    const del = mon.lines.findIndex((l) => l.startsWith('Deleted') && l.includes(`${VIP}/24`));
    const addAfter = mon.lines.findIndex((l, i) => i > del && !l.startsWith('Deleted') && l.includes(`${VIP}/24`));
    expect(del, mon.lines.join('\n')).toBeGreaterThanOrEqual(0);
    expect(addAfter, mon.lines.join('\n')).toBeGreaterThan(del);
    expect(removing.at).toBeLessThanOrEqual(master.at);
    // The respawned child's first advert as MASTER; lb2 (if it took over meanwhile) yields to priority 110
    // on receipt (RFC 3768 §6.4.3), so no lb2 advert > 0 later than one advert interval + margin after it.
    const first = adverts.find((a) => a.from === LB1_IP && a.prio > 0 && a.t >= since);
    expect(first, 'an advert from the respawned child').toBeDefined();
    const lb2Late = advertsAfter(adverts, LB2_IP, first!.t + ADVERT_MS + margin.ms);
    const why = `lb2 took over meanwhile: ${lb2.has(/\(VI_1\) Entering MASTER STATE/, t0)}; lb2 adverts after lb1's first + ${(ADVERT_MS + margin.ms).toFixed(0)} ms: ${lb2Late.length}; ${margin.text}`;
    verbose(why);
    expect(lb2Late, why).toEqual([]);
    expect(lastState(lb1)).toBe('MASTER');
    expect(lastState(lb2)).toBe('BACKUP');
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
    expect(lb1.exitCode).toBeUndefined();
  });

  it('kill -9 of the checker child: respawned, VRRP unaffected (no transition on either node, adverts without a gap)', async () => {
    const cap = await Capture.start(topo.x, join(topo.dir, 'kill-checker.pcap'), 'vrrp');
    captures.push(cap);
    await sleep(1500);
    const vrrpPid = readPid(vrrpPidFile('lb1'));
    const ckPid = readPid(checkerPidFile('lb1'));
    const noise = NoiseMonitor.start();
    const t0 = performance.now();
    const since = Date.now();
    process.kill(ckPid, 'SIGKILL');
    await lb1.waitFor(new RegExp(`Checker child process\\(${ckPid}\\) died: Respawning`), 10_000, t0);
    const started = await lb1.waitFor(/Starting Checker child process, pid=(\d+)/, 10_000, t0);
    const newCk = Number(/pid=(\d+)/.exec(started.text)![1]);
    await waitUntil(() => existsSync(checkerPidFile('lb1')) && readPid(checkerPidFile('lb1')) === newCk, 5000, 'new checker pid file');
    // Longer than lb2's Master_Down_Interval: had lb1's adverts stopped, lb2 would have taken over.
    await sleep(LB2_TIMERS.downMs + 1000);
    await cap.stop();
    const margin = await noise.margin({ daemonLogs: [...lb1.lines, ...lb2.lines], since: t0 });
    expect(newCk).not.toBe(ckPid);
    expect(alive(newCk)).toBe(true);
    expect(readPid(vrrpPidFile('lb1'))).toBe(vrrpPid);
    expect(alive(vrrpPid)).toBe(true);
    expect(lb1.has(/VRRP child process\(\d+\) died/, t0)).toBe(false);
    expect(transitions(lb1, t0)).toEqual([]);
    expect(transitions(lb2, t0)).toEqual([]);
    // lb1 advertised every advert_int throughout (RFC 3768 §6.4.3), lb2 not at all.
    const a = wireAdverts(cap).filter((w) => w.t >= since);
    const lb1Ads = a.filter((w) => w.from === LB1_IP && w.prio > 0).map((w) => w.t);
    const gaps = lb1Ads.slice(1).map((t, i) => t - lb1Ads[i]!);
    const why = `lb1 adverts ${lb1Ads.length}, largest gap ${Math.max(0, ...gaps).toFixed(0)} ms; ${margin.text}`;
    verbose(why);
    expect(lb1Ads.length, why).toBeGreaterThanOrEqual(Math.floor(LB2_TIMERS.downMs / ADVERT_MS));
    expect(Math.max(0, ...gaps), why).toBeLessThanOrEqual(ADVERT_MS + margin.ms);
    expect(a.filter((w) => w.from === LB2_IP)).toEqual([]);
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
  });

  it('50 link flaps in 10 s on the MASTER: lb1 (higher priority, preempting) MASTER again, no VIP on lb2, no process leak', async () => {
    const before1 = nsPids(topo.lb1);
    const before2 = nsPids(topo.lb2);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) {
      linkSet(topo.lb1, false);
      await sleep(Math.max(0, t0 + i * 200 + 100 - performance.now()));
      linkSet(topo.lb1, true);
      await sleep(Math.max(0, t0 + (i + 1) * 200 - performance.now()));
    }
    const tUp = performance.now();
    const noise = NoiseMonitor.start();
    await waitUntil(() => lastState(lb1) === 'MASTER' && lastState(lb2) === 'BACKUP' && hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 30_000, 'lb1 MASTER, lb2 BACKUP, VIP on lb1 only');
    const tConv = performance.now();
    await sleep(2000);
    const margin = await noise.margin({ daemonLogs: [...lb1.lines, ...lb2.lines], since: tUp });
    const flapsMs = tUp - t0;
    // RFC 3768 §6.4.1/§6.4.2: after its link is back lb1 is a Backup; with Preempt_Mode it discards lb2's
    // lower-priority adverts, so its Master_Down_Timer (3.570 s) fires and it becomes MASTER; lb2 yields
    // to its first advert (§6.4.3). Bound from the last link up: Master_Down_Interval + one interval + margin.
    const bound = LB1_DOWN_MS + ADVERT_MS + margin.ms;
    const why = `flaps took ${flapsMs.toFixed(0)} ms; converged ${(tConv - tUp).toFixed(0)} ms after the last link up, bound ${bound.toFixed(0)} ms; lb1 transitions ${transitions(lb1, t0).length}, lb2 ${transitions(lb2, t0).length}; ${margin.text}`;
    verbose(why);
    expect(tConv - tUp, why).toBeLessThanOrEqual(bound);
    // The flaps did reach the daemon (lb1 saw its link go down).
    expect(lb1.has(/\(VI_1\) Entering FAULT STATE/, t0), why).toBe(true);
    expect(lastState(lb1)).toBe('MASTER');
    expect(lastState(lb2)).toBe('BACKUP');
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
    // No process leak (and nothing respawned): the same processes in both namespaces.
    const after1 = nsPids(topo.lb1);
    const after2 = nsPids(topo.lb2);
    expect(after1.length).toBe(before1.length);
    expect(after2.length).toBe(before2.length);
    expect(after1).toEqual(before1);
    expect(after2).toEqual(before2);
    expect(lb1.has(/child process\(\d+\) died/, t0)).toBe(false);
    expect(lb1.exitCode).toBeUndefined();
    expect(lb2.exitCode).toBeUndefined();
  });

  it.skipIf(!existsSync(KEEPALIVED))('a foreign keepalived on VRID 51 with another password and VIP: dropped and counted, election unchanged, no crash', async () => {
    const base1 = await drops(lb1, 'lb1');
    const base2 = await drops(lb2, 'lb2');
    const cap = await Capture.start(topo.x, join(topo.dir, 'foreign.pcap'), 'vrrp');
    captures.push(cap);
    const t0 = performance.now();
    const kaConf = writeConf(
      topo.dir,
      'ka.conf',
      `global_defs {\n  router_id foreign\n}\n${vrrpInstance({ state: 'MASTER', priority: 200, auth: 'other', vips: [`${FOREIGN_VIP}/24`] })}`,
    );
    const ka = Daemon.keepalived('ka', topo.x, kaConf, topo.dir);
    daemons.push(ka);
    // keepalived drops lvskeeper's adverts too (wrong password) and becomes MASTER itself.
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 15_000, t0);
    await sleep(5000);
    expect(await ka.stop()).toBe(0);
    await sleep(1000);
    await cap.stop();
    const after1 = await drops(lb1, 'lb1');
    const after2 = await drops(lb2, 'lb2');
    const foreign = wireAdverts(cap).filter((a) => a.from === X_IP);
    const why = `foreign adverts on the wire ${foreign.length} (priority 0: ${foreign.filter((a) => a.prio === 0).length}); lb1 drops ${JSON.stringify(after1)}, lb2 ${JSON.stringify(after2)}`;
    verbose(why);
    // The foreign router really claimed MASTER on the wire (at priority 200: accepted, it would have taken
    // over). Only once or twice: keepalived 2.2.7 as MASTER restarts its advert timer on every advert it
    // receives, dropped ones included, so with lb1 advertising at the same interval it stays mostly silent
    // (see split-brain.test.ts B). Its priority 0 on stop is counted too.
    expect(foreign.filter((a) => a.prio === 200).length, why).toBeGreaterThanOrEqual(1);
    expect(foreign.filter((a) => a.prio === 0).length, why).toBe(1);
    // RFC 3768 §7.1: adverts failing authentication MUST be discarded; each one counted, on both nodes.
    expect((after1['auth-pass'] ?? 0) - (base1['auth-pass'] ?? 0), why).toBe(foreign.length);
    expect((after2['auth-pass'] ?? 0) - (base2['auth-pass'] ?? 0), why).toBe(foreign.length);
    expect(lb1.has(/\(VI_1\) received an invalid passwd! \(from 192\.168\.60\.50/, t0)).toBe(true);
    // Election unchanged, nobody crashed or respawned a child.
    expect(transitions(lb1, t0)).toEqual([]);
    expect(transitions(lb2, t0)).toEqual([]);
    expect(lastState(lb1)).toBe('MASTER');
    expect(lastState(lb2)).toBe('BACKUP');
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
    expect(hasAddress(topo.lb1, FOREIGN_VIP)).toBe(false);
    expect(hasAddress(topo.lb2, FOREIGN_VIP)).toBe(false);
    expect(lb1.exitCode).toBeUndefined();
    expect(lb2.exitCode).toBeUndefined();
    expect(lb1.has(/child process\(\d+\) died/, t0)).toBe(false);
    expect(lb2.has(/child process\(\d+\) died/, t0)).toBe(false);
  });
});
