// The VRRP child's scheduling on the real kernel: SCHED_RR (reset on fork) with RLIMIT_RTTIME by default,
// what vrrp_rt_priority / vrrp_rlimit_rttime / vrrp_priority ask for, and notify scripts back in
// SCHED_OTHER at nice 0, so that only the advert path runs realtime.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, sh, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

let topo: Topo;
let daemon: Daemon | undefined;

interface Sched {
  policy: string;
  priority: number;
  nice: number;
  rttime: string;
}

/** Scheduling of one thread (`chrt -p`), its nice value (/proc stat field 19) and RLIMIT_RTTIME soft:hard. */
function schedOf(pid: number): Sched {
  const chrt = sh('chrt', ['-p', String(pid)]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rttime = sh('prlimit', ['--pid', String(pid), '--rttime', '--noheadings', '--output', 'SOFT,HARD']).trim().split(/\s+/).join(':');
  return {
    policy: /policy: (\S+)/.exec(chrt)?.[1] ?? '?',
    priority: Number(/priority: (\d+)/.exec(chrt)?.[1]),
    nice: Number(fields[16]),
    rttime,
  };
}

async function start(globalDefs: string, extra = ''): Promise<{ vrrpPid: number; dir: string }> {
  const conf = writeConf(topo.dir, 'lb1.conf', `global_defs {\n${globalDefs}}\n${vrrpInstance({ state: 'MASTER', priority: 110, extra })}`);
  daemon = Daemon.lvskeeper('lb1', topo.lb1, conf, topo.dir);
  await daemon.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  const vrrpPidFile = join(topo.dir, 'lb1_vrrp.pid');
  return { vrrpPid: Number(readFileSync(vrrpPidFile, 'utf8')), dir: topo.dir };
}

describe.skipIf(!canRun())('VRRP child scheduling', () => {
  beforeAll(() => {
    topo = topology('rt');
  });
  afterEach(async () => {
    expect(await daemon?.stop()).toBe(0);
    daemon = undefined;
  });
  afterAll(() => topo?.down());

  it('by default: SCHED_RR 1 with reset-on-fork and a warn-only RLIMIT_RTTIME; notify scripts run SCHED_OTHER at nice 0', async () => {
    const out = join(topo.dir, 'notify-sched');
    const script = writeConf(topo.dir, 'notify.sh', `#!/bin/sh\n{ chrt -p $$; cut -d' ' -f19 /proc/$$/stat; } > ${out}\n`);
    sh('chmod', ['755', script]);
    const { vrrpPid } = await start('', `  notify_master ${script}\n`);
    expect(schedOf(vrrpPid)).toEqual({ policy: 'SCHED_RR|SCHED_RESET_ON_FORK', priority: 1, nice: -10, rttime: '2000000:unlimited' });
    // Every thread, not just the event loop's: the main thread waits for V8's GC helpers and libuv's pool.
    const threads = readdirSync(`/proc/${vrrpPid}/task`).map(Number);
    expect(threads.length).toBeGreaterThan(4);
    for (const tid of threads) expect({ tid, ...schedOf(tid) }).toEqual({ tid, policy: 'SCHED_RR|SCHED_RESET_ON_FORK', priority: 1, nice: -10, rttime: '2000000:unlimited' });
    await waitUntil(() => {
      try {
        return readFileSync(out, 'utf8').includes('policy');
      } catch {
        return false;
      }
    }, 5000, 'notify_master ran');
    const text = readFileSync(out, 'utf8');
    expect(text).toContain("current scheduling policy: SCHED_OTHER");
    expect(text.trim().split('\n').at(-1)).toBe('0');
    // The parent and the checker child are not realtime.
    const parent = Number(readFileSync(daemon!.pidFile, 'utf8'));
    expect(schedOf(parent).policy).toBe('SCHED_OTHER');
    expect(schedOf(Number(readFileSync(join(topo.dir, 'lb1_checkers.pid'), 'utf8'))).policy).toBe('SCHED_OTHER');
  }, 30_000);

  it('vrrp_rt_priority / vrrp_rlimit_rttime as configured (a too-short limit raised, with a warning)', async () => {
    const { vrrpPid } = await start('  vrrp_rt_priority 20\n  vrrp_rlimit_rttime 10000\n');
    expect(schedOf(vrrpPid)).toMatchObject({ policy: 'SCHED_RR|SCHED_RESET_ON_FORK', priority: 20, rttime: '500000:1000000' });
    expect(daemon!.lines.some((l) => l.text.includes('vrrp_rlimit_rttime 10000 µs is too short'))).toBe(true);
  }, 30_000);

  it('vrrp_rt_priority 0 and vrrp_priority 0: keepalived\'s default scheduling', async () => {
    const { vrrpPid } = await start('  vrrp_rt_priority 0\n  vrrp_priority 0\n');
    expect(schedOf(vrrpPid)).toMatchObject({ policy: 'SCHED_OTHER', priority: 0, nice: 0 });
  }, 30_000);
});
