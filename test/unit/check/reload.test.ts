// SIGHUP reload of the checker scheduler (lvskeeper issue #6) on a fake clock: unchanged checkers keep
// their state and timers, changed ones restart alone in their real server's state, added real servers
// follow alpha, removed ones leave, weights and quorum follow the new numbers; plus the pure
// describeReload() lines and reloadPool().
import { describe, expect, it } from 'vitest';
import { CheckerScheduler, type CheckEvent } from '../../../src/check/runtime.js';
import type { ProbeFn } from '../../../src/check/probe/index.js';
import { desiredEntries, initialPool, reloadPool } from '../../../src/check/pool.js';
import { describeReload, sameChecker } from '../../../src/check/reload.js';
import type { CheckTiming, ProbeResult, ProbeSpec, RealServerSpec, SorryServerSpec, VirtualServerSpec } from '../../../src/check/types.js';
import { FakeClock, realServer, tcpChecker, trueScript, virtualServer } from './helpers.js';

const VS = '[10.0.0.1]:tcp:80';
const TIMING: Partial<CheckTiming> = { retry: 1, delayLoopMs: 6000, delayBeforeRetryMs: 1000, warmupMs: 0 };

/** A real server 10.0.1.N:80 with one TCP_CHECK on port `checkPort` (id stable as from-config makes it). */
function rs(n: number, over: Partial<RealServerSpec> = {}, checkPort = 9000 + n, timing: Partial<CheckTiming> = {}): RealServerSpec {
  const address = `10.0.1.${n}`;
  return realServer(address, 80, { checkers: [tcpChecker(`${VS}|${address}:80|TCP_CHECK#1`, address, checkPort, { ...TIMING, ...timing })], ...over });
}

function vsOf(servers: RealServerSpec[], over: Partial<VirtualServerSpec> = {}): VirtualServerSpec {
  return virtualServer('10.0.0.1', 80, servers, over);
}

/** Each call builds fresh objects, as parsing the file again does. */
function config(servers: () => RealServerSpec[], over: Partial<VirtualServerSpec> = {}): () => VirtualServerSpec[] {
  return () => [vsOf(servers(), over)];
}

function harness(initial: VirtualServerSpec[]) {
  const clock = new FakeClock();
  const answers = new Map<number, ProbeResult>();
  const calls: Array<{ port: number; at: number }> = [];
  const probe: ProbeFn = async (spec: ProbeSpec) => {
    const port = 'target' in spec ? spec.target.port : 0;
    calls.push({ port, at: clock.now() });
    return answers.get(port) ?? { ok: true, reason: 'ok' };
  };
  const events: CheckEvent[] = [];
  const sched = new CheckerScheduler(initial, { clock, probe, random: () => 0, onEvent: (e) => events.push(e) });
  const rows = (vs = VS) => sched.desiredFor(vs)[0]?.destinations.map((d) => `${d.address}/${d.weight}`) ?? [];
  const logs = () => events.flatMap((e) => (e.kind === 'log' ? [e.message] : []));
  const callsOn = (port: number) => calls.filter((c) => c.port === port).map((c) => c.at);
  return { clock, answers, calls, events, sched, rows, logs, callsOn };
}

/** A started scheduler after its first round of probes (all succeeding unless told otherwise). */
async function running(initial: VirtualServerSpec[]) {
  const t = harness(initial);
  t.sched.start();
  await t.clock.advance(100);
  return t;
}

describe('CheckerScheduler.reload', () => {
  it('an unchanged configuration changes nothing: no event, no probe restarted, the timers keep their phase', async () => {
    const cfg = config(() => [rs(1), rs(2)]);
    const t = harness(cfg());
    t.answers.set(9002, { ok: false, reason: 'refused' });
    t.sched.start();
    await t.clock.advance(3000); // probes at 0: rs2's first failure takes it down (no alpha)
    expect(t.rows()).toEqual(['10.0.1.1/1']);
    t.events.length = 0;
    t.calls.length = 0;
    t.sched.reload(cfg());
    expect(t.events).toEqual([]);
    await t.clock.advance(2999);
    expect(t.calls).toEqual([]); // no re-check burst
    await t.clock.advance(3001);
    expect(t.callsOn(9001)).toEqual([6000]);
    expect(t.callsOn(9002)).toEqual([6000]); // a restart (warmup 0) would have probed both at 3000
    expect(t.rows()).toEqual(['10.0.1.1/1']); // the down one stays down
    t.sched.stop();
  });

  it('a changed checker restarts alone; a down real server stays down until the new checker succeeds', async () => {
    const t = harness(config(() => [rs(1), rs(2)])());
    t.answers.set(9002, { ok: false, reason: 'refused' });
    t.sched.start();
    await t.clock.advance(3000);
    t.events.length = 0;
    t.calls.length = 0;
    t.answers.set(9102, { ok: false, reason: 'refused' });
    t.sched.reload(config(() => [rs(1), rs(2, {}, 9102)])());
    expect(t.logs()).toEqual([
      `Reload: TCP_CHECK on [10.0.1.2]:tcp:80 of VS ${VS} changed (target.port 9002 -> 9102): restarting it in the real server's current state`,
      `Activating healthchecker for service [10.0.1.2]:tcp:80 for VS ${VS}`,
    ]);
    expect(t.events.some((e) => e.kind === 'desired')).toBe(false);
    await t.clock.advance(0);
    expect(t.calls).toEqual([{ port: 9102, at: 3000 }]); // only the changed one, at once (warmup 0)
    expect(t.rows()).toEqual(['10.0.1.1/1']);
    // Still failing: no second "down" notification for a server that was already down.
    expect(t.events.filter((e) => e.kind === 'rs')).toEqual([]);
    t.answers.set(9102, { ok: true, reason: 'ok' });
    await t.clock.advance(6000);
    expect(t.rows()).toEqual(['10.0.1.1/1', '10.0.1.2/1']);
    expect(t.logs()).toContain(`Adding service [10.0.1.2]:tcp:80 to VS ${VS}`);
    t.sched.stop();
  });

  it('a changed checker on an alive real server keeps it in the pool, even with alpha, until the new checker fails', async () => {
    const t = await running(config(() => [rs(1), rs(2)])());
    t.events.length = 0;
    t.answers.set(9102, { ok: false, reason: 'refused' });
    t.sched.reload(config(() => [rs(1), rs(2, {}, 9102, { alpha: true })])());
    expect(t.rows()).toEqual(['10.0.1.1/1', '10.0.1.2/1']);
    expect(t.events.some((e) => e.kind === 'desired')).toBe(false);
    await t.clock.advance(0); // first failure of a new checker: one is enough
    expect(t.rows()).toEqual(['10.0.1.1/1']);
    expect(t.logs()).toContain(`Removing service [10.0.1.2]:tcp:80 from VS ${VS}`);
    t.sched.stop();
  });

  it('a timing change (delay_loop) restarts that checker with the new timing', async () => {
    const t = await running(config(() => [rs(1), rs(2)])());
    t.calls.length = 0;
    t.sched.reload(config(() => [rs(1), rs(2, {}, 9002, { delayLoopMs: 2000 })])());
    await t.clock.advance(4000);
    expect(t.callsOn(9002)).toEqual([100, 2100, 4100]);
    expect(t.callsOn(9001)).toEqual([]); // still on its 6000 ms loop
    t.sched.stop();
  });

  it('added real servers follow alpha; removed ones leave the rows; a weight change is one row edit', async () => {
    const t = await running(config(() => [rs(1), rs(2)])());
    t.events.length = 0;
    t.answers.set(9004, { ok: false, reason: 'refused' });
    t.sched.reload(config(() => [rs(1, { weight: 3 }), rs(3), rs(4, {}, 9004, { alpha: true })])());
    expect(t.rows()).toEqual(['10.0.1.1/3', '10.0.1.3/1']); // 3 in at once (no alpha), 4 waits (alpha)
    expect(t.logs()).toEqual([
      `Reload: real server [10.0.1.2]:tcp:80 removed from VS ${VS}`,
      `Reload: real server [10.0.1.1]:tcp:80 of VS ${VS} changed (weight 1 -> 3)`,
      `Reload: real server [10.0.1.3]:tcp:80 added to VS ${VS} (in the pool until a checker fails)`,
      `Reload: real server [10.0.1.4]:tcp:80 added to VS ${VS} (alpha: out of the pool until its checkers succeed)`,
      `Changing weight from 1 to 3 for active service [10.0.1.1]:tcp:80 of VS ${VS}`,
    ]);
    expect(t.events.filter((e) => e.kind === 'desired')).toHaveLength(1);
    t.calls.length = 0;
    await t.clock.advance(0);
    expect(t.calls.map((c) => c.port).sort()).toEqual([9003, 9004]); // only the new ones
    expect(t.rows()).toEqual(['10.0.1.1/3', '10.0.1.3/1']);
    t.answers.delete(9004);
    await t.clock.advance(6000);
    expect(t.rows()).toEqual(['10.0.1.1/3', '10.0.1.3/1', '10.0.1.4/1']);
    t.sched.stop();
  });

  it('virtual servers added, removed and changed (scheduler, persistence) give one desired event each', async () => {
    const other = (over: Partial<VirtualServerSpec> = {}) => virtualServer('10.0.0.2', 80, [realServer('10.0.2.1', 80)], over);
    const t = harness([vsOf([rs(1)]), other()]);
    t.sched.start();
    await t.clock.advance(100);
    t.events.length = 0;
    const third = virtualServer('10.0.0.3', 80, [realServer('10.0.3.1', 80)]);
    t.sched.reload([other({ scheduler: 'rr', flags: 1, timeout: 50 }), third]);
    const desired = t.events.filter((e) => e.kind === 'desired');
    expect(desired.map((e) => e.vs)).toEqual(['[10.0.0.2]:tcp:80', '[10.0.0.3]:tcp:80', VS]);
    expect(t.sched.desiredFor('[10.0.0.2]:tcp:80')[0]?.service).toMatchObject({ scheduler: 'rr', flags: 1, timeout: 50 });
    expect(t.sched.desiredFor(VS)).toEqual([]);
    expect(t.logs()).toEqual([
      `Reload: virtual server ${VS} removed`,
      'Reload: virtual server [10.0.0.2]:tcp:80 changed (lb_algo wlc -> rr, flags 0 -> 1, persistence_timeout 0 -> 50)',
      'Reload: virtual server [10.0.0.3]:tcp:80 added',
    ]);
    t.calls.length = 0;
    await t.clock.advance(60_000);
    expect(t.calls).toEqual([]); // the removed VS's checker is gone
    t.sched.stop();
  });

  it('quorum and the sorry server follow the new numbers at once', async () => {
    const sorry: SorryServerSpec = { label: '[10.0.9.9]:tcp:80', family: 'inet', address: '10.0.9.9', port: 80, weight: 1, forward: 'masq', inhibit: false };
    const servers = () => [rs(1), rs(2)];
    const t = harness(config(servers, { quorum: 2, sorryServer: sorry })());
    t.sched.start();
    await t.clock.advance(100);
    expect(t.rows()).toEqual(['10.0.1.1/1', '10.0.1.2/1']);
    t.events.length = 0;
    t.sched.reload(config(servers, { quorum: 3, sorryServer: sorry })());
    expect(t.rows()).toEqual(['10.0.9.9/1']);
    expect(t.logs()).toContain(`Lost quorum 3-0=3 > 2 for VS ${VS}`);
    expect(t.events).toContainEqual({ kind: 'vs', vs: VS, state: 'DOWN', fifo: `VS ${VS} DOWN`, script: undefined });
    t.sched.reload(config(servers, { quorum: 2, sorryServer: sorry })());
    expect(t.rows()).toEqual(['10.0.1.1/1', '10.0.1.2/1']);
    expect(t.logs()).toContain(`Gained quorum 2+0=2 <= 2 for VS ${VS}`);
    t.sched.stop();
  });

  it('inhibit_on_failure follows the new file: a dead real server appears at weight 0, then leaves again', async () => {
    const t = harness(config(() => [rs(1), rs(2)])());
    t.answers.set(9002, { ok: false, reason: 'refused' });
    t.sched.start();
    await t.clock.advance(100);
    expect(t.rows()).toEqual(['10.0.1.1/1']);
    t.sched.reload(config(() => [rs(1), rs(2, { inhibitOnFailure: true })])());
    expect(t.rows()).toEqual(['10.0.1.1/1', '10.0.1.2/0']);
    t.sched.reload(config(() => [rs(1), rs(2)])());
    expect(t.rows()).toEqual(['10.0.1.1/1']);
    t.sched.stop();
  });

  it('a real server removed by reload lowers the live weight: quorum is lost through the reconciler rows', async () => {
    const sorry: SorryServerSpec = { label: '[10.0.9.9]:tcp:80', family: 'inet', address: '10.0.9.9', port: 80, weight: 1, forward: 'masq', inhibit: true };
    const t = harness(config(() => [rs(1), rs(2)], { quorum: 2, sorryServer: sorry })());
    t.sched.start();
    await t.clock.advance(100);
    expect(t.rows()).toEqual(['10.0.1.1/1', '10.0.1.2/1', '10.0.9.9/0']);
    t.sched.reload(config(() => [rs(1)], { quorum: 2, sorryServer: sorry })());
    expect(t.rows()).toEqual(['10.0.9.9/1']);
    t.sched.stop();
  });
});

describe('describeReload / sameChecker / reloadPool (pure)', () => {
  it('sees nothing in two parses of the same file', () => {
    const a = config(() => [rs(1), rs(2)])();
    const b = config(() => [rs(1), rs(2)])();
    expect(describeReload(a, b)).toEqual([]);
    expect(sameChecker(a[0]!.realServers[0]!.checkers[0]!, b[0]!.realServers[0]!.checkers[0]!)).toBe(true);
  });

  it('a checker replaced by another type is one removed and one added', () => {
    const misc = { ...tcpChecker(`${VS}|10.0.1.1:80|MISC_CHECK#1`, '10.0.1.1', 80), probe: { type: 'MISC_CHECK' as const, path: '/bin/true', script: trueScript, timeoutMs: 1000, dynamic: false } };
    const lines = describeReload(config(() => [rs(1)])(), config(() => [rs(1, { checkers: [misc] })])()).map((l) => l.message);
    expect(lines).toEqual([
      `Reload: TCP_CHECK on [10.0.1.1]:tcp:80 of VS ${VS} removed`,
      `Reload: MISC_CHECK on [10.0.1.1]:tcp:80 of VS ${VS} added, starting in the real server's current state`,
    ]);
  });

  it('reloadPool keeps a dead real server dead and drops a removed one', () => {
    const before = vsOf([rs(1), rs(2)]);
    const start = initialPool(before, { '10.0.1.1:80': { alive: true, weight: 1 }, '10.0.1.2:80': { alive: false, weight: 1 } });
    const after = vsOf([rs(2), rs(3)]);
    const step = reloadPool(after, start.state, { '10.0.1.2:80': { alive: false, weight: 1 }, '10.0.1.3:80': { alive: true, weight: 1 } });
    expect(Object.keys(step.state.rs)).toEqual(['10.0.1.2:80', '10.0.1.3:80']);
    expect(desiredEntries(after, step.state)[0]?.destinations.map((d) => d.address)).toEqual(['10.0.1.3']);
    expect(step.events).toEqual([]);
  });
});
