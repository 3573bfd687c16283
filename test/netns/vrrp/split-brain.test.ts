// Split-brain detection with real daemons on a bridge (vrrp/helpers.ts): two routers on one VRID that
// drop each other's adverts are both MASTER (keepalived's rules, unchanged); lvskeeper says so at ERROR,
// naming the peer, shows it in `lvskeeper status`, and says when a reload that fixes the configuration ends it.
//   A. two lvskeeper nodes, different auth_pass;
//   B. keepalived 2.2.7 with another advert_int.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, KEEPALIVED, LVSKEEPER, canRun, hasAddress, sleep, topology, vrrpInstance, waitUntil, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
const LB1 = '192.168.60.111';
const LB2 = '192.168.60.112';
const VRID = 10;
/** Generous: the report comes within 3 advert intervals of both being MASTER; this only bounds a hang. */
const WAIT_MS = 20_000;

let topo: Topo;
const daemons: Daemon[] = [];

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function conf(name: string, o: { priority: number; auth: string; advertInt?: string }): string {
  return writeConf(
    topo.dir,
    `${name}.conf`,
    `global_defs {\n  router_id ${name}\n}\n${vrrpInstance({ priority: o.priority, vrid: VRID, auth: o.auth, advertInt: o.advertInt ?? '1', vips: [`${VIP}/24`] })}`,
  );
}

function suspected(peer: string, difference: string): RegExp {
  return new RegExp(`\\(VI_1\\) split brain suspected: ${esc(peer)} also advertises VRID ${VRID} as master, ${esc(difference)}$`);
}

function over(peer: string, why = ''): RegExp {
  return new RegExp(`\\(VI_1\\) split brain with ${esc(peer)} on VRID ${VRID} over after \\d+ s: ${esc(why)}`);
}

async function reload(d: Daemon): Promise<void> {
  const before = d.count(/Reload complete|Reload aborted/);
  d.signal('SIGHUP');
  await waitUntil(() => d.count(/Reload complete|Reload aborted/) > before, 10_000, `${d.name} reload`);
  expect(d.count(/Reload aborted/)).toBe(0);
}

describe.skipIf(!canRun())('split-brain detection', () => {
  beforeAll(() => {
    topo = topology('sb');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });
  afterEach(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
  });

  it('A: two lvskeeper nodes with different auth_pass both report the other; fixing one config and reloading ends it', async () => {
    const lb1 = Daemon.lvskeeper('sb1', topo.lb1, conf('sb1', { priority: 150, auth: 'alpha' }), topo.dir);
    const lb2 = Daemon.lvskeeper('sb2', topo.lb2, conf('sb2', { priority: 100, auth: 'bravo' }), topo.dir);
    daemons.push(lb1, lb2);
    // Neither hears the other (auth_pass differs): both MASTER, as keepalived would be.
    await Promise.all([lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, WAIT_MS), lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, WAIT_MS)]);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && hasAddress(topo.lb2, VIP), 5000, 'the VIP on both nodes');
    await Promise.all([lb1.waitFor(suspected(LB2, 'auth_pass differs'), WAIT_MS), lb2.waitFor(suspected(LB1, 'auth_pass differs'), WAIT_MS)]);
    // `lvskeeper status` shows it, and counts it (the metrics' lvskeeper_split_brain_events_total).
    const st = spawnSync(process.execPath, [LVSKEEPER, 'status', '--json', '-p', lb1.pidFile], { encoding: 'utf8' });
    const inst = (JSON.parse(st.stdout) as { instances: Array<{ splitBrain?: { peer: string; difference: string }; splitBrainEvents: number }> }).instances[0];
    expect(inst?.splitBrain).toMatchObject({ peer: LB2, difference: 'auth_pass differs' });
    expect(inst?.splitBrainEvents).toBe(1);
    expect(spawnSync(process.execPath, [LVSKEEPER, 'status', '-p', lb1.pidFile], { encoding: 'utf8' }).stdout).toMatch(/SPLIT BRAIN suspected for \S+: 192\.168\.60\.112, auth_pass differs/);
    // The suspicion is logged once (the repeat waits a minute), the drop lines go on as before.
    expect(lb1.count(/split brain suspected/)).toBe(1);
    expect(lb2.count(/split brain suspected/)).toBe(1);
    expect(lb1.has(/\(VI_1\) received an invalid passwd!/)).toBe(true);
    // It lasts (longer than the 3 intervals that would end it) without a second report or an end.
    await sleep(5000);
    expect([lb1.count(/split brain/), lb2.count(/split brain/)]).toEqual([1, 1]);

    // lb2 gets lb1's auth_pass: it hears lb1 (150) and yields; lb1 stops hearing a claim.
    const t0 = performance.now();
    conf('sb2', { priority: 100, auth: 'alpha' });
    await reload(lb2);
    await Promise.all([lb2.waitFor(over(LB1, 'we follow it as BACKUP now'), WAIT_MS, t0), lb1.waitFor(over(LB2, 'no claim from it for 3 s'), WAIT_MS, t0)]);
    await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE/, WAIT_MS, t0);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 5000, 'the VIP on lb1 only');
    expect(lb1.has(/\(VI_1\) Entering BACKUP STATE$/, t0)).toBe(false);
    // One MASTER remains and the split brain does not come back.
    await sleep(5000);
    expect(lb1.count(/split brain suspected/)).toBe(1);
    expect(lb2.count(/split brain suspected/)).toBe(1);
    expect(hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP)).toBe(true);
  });

  it.skipIf(!existsSync(KEEPALIVED))('B: a keepalived 2.2.7 peer with another advert_int is reported; a reload to the same advert_int ends it', async () => {
    const ka = Daemon.keepalived('sbka', topo.lb1, conf('sbka', { priority: 150, auth: 'alpha', advertInt: '2' }), topo.dir);
    daemons.push(ka);
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, WAIT_MS);
    const lk = Daemon.lvskeeper('sblk', topo.lb2, conf('sblk', { priority: 100, auth: 'alpha', advertInt: '1' }), topo.dir);
    daemons.push(lk);
    // v2 drops an advert whose interval differs (RFC 3768 §7.1): lvskeeper takes over next to keepalived.
    await lk.waitFor(/\(VI_1\) Entering MASTER STATE/, WAIT_MS);
    await lk.waitFor(suspected(LB1, 'advert_int 2 s instead of 1 s'), WAIT_MS);
    // keepalived's side of it: its drop line only.
    await ka.waitFor(/\(VI_1\) advertisement interval mismatch mine=2 sec rcv'd=1 sec/, WAIT_MS);
    // keepalived, MASTER, now stays silent (it restarts its advert timer on each of our adverts) yet keeps
    // the VIP: a silence longer than 3 of its intervals does not end the suspicion.
    await sleep(8000);
    expect(hasAddress(topo.lb1, VIP) && hasAddress(topo.lb2, VIP)).toBe(true);
    expect(lk.count(/split brain/)).toBe(1);

    const t0 = performance.now();
    conf('sblk', { priority: 100, auth: 'alpha', advertInt: '2' });
    await reload(lk);
    await lk.waitFor(over(LB1, 'we follow it as BACKUP now'), WAIT_MS, t0);
    await lk.waitFor(/\(VI_1\) Entering BACKUP STATE/, WAIT_MS, t0);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 5000, 'the VIP on keepalived only');
    expect(lk.count(/split brain suspected/)).toBe(1);
  });
});
