import { describe, expect, it } from 'vitest';
import { CheckerScheduler, type CheckEvent } from '../../../src/check/runtime.js';
import type { ProbeFn } from '../../../src/check/probe/index.js';
import type { ProbeResult, ProbeSpec } from '../../../src/check/types.js';
import { FakeClock, realServer, tcpChecker, trueScript, virtualServer } from './helpers.js';

const VS = '[10.0.0.1]:tcp:80';

/** A probe whose answer per target port is set by the test; records call times. */
function scriptedProbe(clock: FakeClock) {
  const answers = new Map<number, ProbeResult | (() => ProbeResult)>();
  const calls: Array<{ port: number; at: number }> = [];
  const probe: ProbeFn = async (spec: ProbeSpec) => {
    const port = 'target' in spec ? spec.target.port : 0;
    calls.push({ port, at: clock.now() });
    const a = answers.get(port) ?? { ok: true, reason: 'ok' };
    return typeof a === 'function' ? a() : a;
  };
  return { probe, calls, answers };
}

function setup(opts: { alpha?: boolean; retry?: number; warmupMs?: number; checkersPerRs?: number } = {}) {
  const clock = new FakeClock();
  const { probe, calls, answers } = scriptedProbe(clock);
  const timingOver = { alpha: opts.alpha ?? false, retry: opts.retry ?? 2, warmupMs: opts.warmupMs ?? 0, delayLoopMs: 6000, delayBeforeRetryMs: 1000 };
  const rs1 = realServer('10.0.1.1', 80, {
    checkers: Array.from({ length: opts.checkersPerRs ?? 1 }, (_, i) => tcpChecker(`rs1/${i}`, '10.0.1.1', 8080 + i, timingOver)),
  });
  const rs2 = realServer('10.0.1.2', 80, { checkers: [tcpChecker('rs2/0', '10.0.1.2', 9090, timingOver)] });
  const vs = virtualServer('10.0.0.1', 80, [rs1, rs2]);
  const events: CheckEvent[] = [];
  const sched = new CheckerScheduler([vs], { clock, probe, random: () => 0.5, onEvent: (e) => events.push(e) });
  const dests = () => sched.desiredFor(VS)[0]?.destinations.map((d) => d.address) ?? [];
  const logs = () => events.flatMap((e) => (e.kind === 'log' ? [e.message] : []));
  return { clock, sched, calls, answers, events, dests, logs, vs };
}

describe('CheckerScheduler', () => {
  it('starts with every real server in (no alpha), logs activation, probes after warmup', async () => {
    const t = setup({ warmupMs: 4000 });
    t.sched.start();
    expect(t.logs()).toEqual([
      `Activating healthchecker for service [10.0.1.1]:tcp:80 for VS ${VS}`,
      `Activating healthchecker for service [10.0.1.2]:tcp:80 for VS ${VS}`,
    ]);
    expect(t.dests()).toEqual(['10.0.1.1', '10.0.1.2']);
    expect(t.events.filter((e) => e.kind === 'desired')).toHaveLength(1);
    await t.clock.advance(1999);
    expect(t.calls).toEqual([]);
    await t.clock.advance(1);
    expect(t.calls.map((c) => c.at)).toEqual([2000, 2000]); // random 0.5 of warmup 4000
    t.sched.stop();
  });

  it('removes a real server at its first failure, then polls every delay_loop and re-adds it on success', async () => {
    const t = setup();
    t.answers.set(9090, { ok: false, reason: 'connection refused' });
    t.sched.start();
    await t.clock.advance(0);
    expect(t.dests()).toEqual(['10.0.1.1']);
    expect(t.logs()).toContain('TCP_CHECK on service [10.0.1.2]:tcp:9090 failed.');
    expect(t.logs()).toContain(`Removing service [10.0.1.2]:tcp:80 from VS ${VS}`);
    expect(t.events).toContainEqual({ kind: 'rs', vs: VS, rs: '10.0.1.2:80', state: 'DOWN', fifo: `RS [10.0.1.2]:tcp:80 ${VS} DOWN`, script: undefined });
    const desired = t.events.filter((e) => e.kind === 'desired');
    expect(desired.at(-1)).toMatchObject({ kind: 'desired', vs: VS });
    await t.clock.advance(12_000);
    expect(t.calls.filter((c) => c.port === 9090).map((c) => c.at)).toEqual([0, 6000, 12_000]);
    t.answers.set(9090, { ok: true, reason: 'ok' });
    await t.clock.advance(6000);
    expect(t.dests()).toEqual(['10.0.1.1', '10.0.1.2']);
    expect(t.logs()).toContain('TCP connection to [10.0.1.2]:tcp:9090 success.');
    expect(t.logs()).toContain(`Adding service [10.0.1.2]:tcp:80 to VS ${VS}`);
    t.sched.stop();
  });

  it('once up, retries every delay_before_retry and removes after retry+1 failures', async () => {
    const t = setup({ retry: 2 });
    t.sched.start();
    await t.clock.advance(0); // first success
    t.answers.set(9090, { ok: false, reason: 'timeout' });
    await t.clock.advance(6000); // failure 1 at 6000
    await t.clock.advance(1000); // retry 1 at 7000
    expect(t.dests()).toEqual(['10.0.1.1', '10.0.1.2']);
    await t.clock.advance(1000); // retry 2 at 8000 -> down
    expect(t.calls.filter((c) => c.port === 9090).map((c) => c.at)).toEqual([0, 6000, 7000, 8000]);
    expect(t.dests()).toEqual(['10.0.1.1']);
    expect(t.logs()).toContain('TCP_CHECK on service [10.0.1.2]:tcp:9090 failed after 2 retries.');
    t.sched.stop();
  });

  it('with alpha, real servers are added only after their first success', async () => {
    const t = setup({ alpha: true });
    t.answers.set(9090, { ok: false, reason: 'refused' });
    t.sched.start();
    expect(t.dests()).toEqual([]);
    await t.clock.advance(0);
    expect(t.dests()).toEqual(['10.0.1.1']);
    // The first failure of an alpha checker still runs the down notifiers (once).
    expect(t.events.filter((e) => e.kind === 'rs' && e.state === 'DOWN')).toEqual([
      { kind: 'rs', vs: VS, rs: '10.0.1.2:80', state: 'DOWN', fifo: `RS [10.0.1.2]:tcp:80 ${VS} DOWN`, script: undefined },
    ]);
    await t.clock.advance(6000);
    expect(t.events.filter((e) => e.kind === 'rs' && e.state === 'DOWN')).toHaveLength(1);
    t.sched.stop();
  });

  it('a real server is up only while all of its checkers are up', async () => {
    const t = setup({ checkersPerRs: 2, alpha: true });
    t.answers.set(8081, { ok: false, reason: 'refused' });
    t.sched.start();
    await t.clock.advance(0);
    expect(t.dests()).toEqual(['10.0.1.2']);
    t.answers.set(8081, { ok: true, reason: 'ok' });
    await t.clock.advance(6000);
    expect(t.dests()).toEqual(['10.0.1.1', '10.0.1.2']);
    t.sched.stop();
  });

  it('applies dynamic weights (misc_dynamic) with an EDITDEST-style event', async () => {
    const t = setup();
    t.answers.set(9090, { ok: true, reason: 'exit 5', weight: 3 });
    t.sched.start();
    await t.clock.advance(0);
    expect(t.sched.desiredFor(VS)[0]?.destinations.map((d) => d.weight)).toEqual([1, 3]);
    expect(t.logs()).toContain(`Changing weight from 1 to 3 for active service [10.0.1.2]:tcp:80 of VS ${VS}`);
    t.sched.stop();
  });

  it('a probe that throws counts as a failure and the scheduler keeps running', async () => {
    const t = setup();
    t.answers.set(9090, () => {
      throw new Error('boom');
    });
    t.sched.start();
    await t.clock.advance(0);
    expect(t.dests()).toEqual(['10.0.1.1']);
    expect(t.sched.status()[0]?.realServers[1]?.checkers[0]?.lastReason).toMatch(/boom/);
    await t.clock.advance(6000);
    expect(t.calls.filter((c) => c.port === 9090)).toHaveLength(2);
    // Counted for status and metrics: two probes, both failed, both instantaneous on the fake clock.
    expect(t.sched.status()[0]?.realServers[1]).toMatchObject({ checksRun: 2, checksFailed: 2, durationSumS: 0 });
    expect(t.sched.status()[0]?.realServers[1]?.durationBuckets[0]).toBe(2);
    expect(t.sched.status()[0]?.realServers[0]).toMatchObject({ checksFailed: 0 });
    t.sched.stop();
  });

  it('limits probes in flight and runs the waiting ones as slots free up', async () => {
    const clock = new FakeClock();
    const gates: Array<() => void> = [];
    let started = 0;
    const probed: string[] = [];
    const probe: ProbeFn = (spec) =>
      new Promise<ProbeResult>((resolve) => {
        started++;
        if ('target' in spec) probed.push(spec.target.address);
        gates.push(() => resolve({ ok: true, reason: 'ok' }));
      });
    const rs = Array.from({ length: 7 }, (_, i) => realServer(`10.0.2.${i}`, 80, { checkers: [tcpChecker(`c${i}`, `10.0.2.${i}`, 80)] }));
    const sched = new CheckerScheduler([virtualServer('10.0.0.9', 80, rs)], { clock, probe, maxInFlight: 3 });
    sched.start();
    await clock.advance(0);
    expect(started).toBe(3);
    gates.splice(0, 2).forEach((g) => g());
    await clock.advance(0);
    expect(started).toBe(5);
    gates.splice(0).forEach((g) => g());
    await clock.advance(0);
    expect(started).toBe(7);
    // A reload while probes wait for a slot must not lose the waiting ones.
    gates.splice(0).forEach((g) => g());
    await clock.advance(6000);
    expect(started).toBe(10);
    sched.reload([virtualServer('10.0.0.9', 80, rs)]);
    probed.length = 0;
    gates.splice(0).forEach((g) => g());
    await clock.advance(6000);
    gates.splice(0).forEach((g) => g());
    await clock.advance(6000);
    gates.splice(0).forEach((g) => g());
    await clock.advance(6000);
    gates.splice(0).forEach((g) => g());
    await clock.advance(6000);
    expect(new Set(probed).size).toBe(7);
    sched.stop();
  });

  it('reload keeps the state of unchanged checkers and drops removed virtual servers', async () => {
    const t = setup();
    t.answers.set(9090, { ok: false, reason: 'refused' });
    t.sched.start();
    await t.clock.advance(0);
    expect(t.dests()).toEqual(['10.0.1.1']);
    t.events.length = 0;
    t.sched.reload([t.vs]);
    expect(t.dests()).toEqual(['10.0.1.1']); // failed RS not re-added on reload
    expect(t.logs()).toEqual([]); // no re-activation logs
    const other = virtualServer('10.0.0.2', 80, []);
    t.sched.reload([other]);
    expect(t.sched.desiredFor(VS)).toEqual([]);
    expect(t.events).toContainEqual({ kind: 'desired', vs: VS, entries: [] });
    t.sched.stop();
  });

  it('setEnabled(false) pauses a virtual server\'s probes (ha_suspend) without changing its state', async () => {
    const t = setup();
    t.sched.start();
    await t.clock.advance(0);
    const n = t.calls.length;
    t.sched.setEnabled(VS, false);
    t.answers.set(9090, { ok: false, reason: 'refused' });
    await t.clock.advance(30_000);
    expect(t.calls.length).toBe(n);
    expect(t.dests()).toEqual(['10.0.1.1', '10.0.1.2']);
    t.sched.setEnabled(VS, true);
    await t.clock.advance(6000);
    expect(t.calls.length).toBe(n + 2);
    await t.clock.advance(2000); // two retries (retry 2) after the first failure
    expect(t.dests()).toEqual(['10.0.1.1']);
    t.sched.stop();
  });

  it('stop(true) emits the shutdown log lines', async () => {
    const t = setup();
    t.sched.start();
    await t.clock.advance(0);
    t.events.length = 0;
    t.sched.stop(true);
    expect(t.logs()).toEqual([
      `Shutting down service [10.0.1.1]:tcp:80 from VS ${VS}`,
      `Shutting down service [10.0.1.2]:tcp:80 from VS ${VS}`,
    ]);
  });

  it('MISC_CHECK runs are spaced from their start, other checkers from their result', async () => {
    const clock = new FakeClock();
    const starts: Record<string, number[]> = { misc: [], tcp: [] };
    const probe: ProbeFn = (spec) => {
      const kind = spec.type === 'MISC_CHECK' ? 'misc' : 'tcp';
      starts[kind]?.push(clock.now());
      return new Promise((resolve) => clock.setTimer(2000, () => resolve({ ok: true, reason: 'ok' })));
    };
    const misc = { ...tcpChecker('m', '10.0.1.1', 1), probe: { type: 'MISC_CHECK' as const, path: '/bin/true', script: trueScript, timeoutMs: 5000, dynamic: false } };
    const vs = virtualServer('10.0.0.1', 80, [realServer('10.0.1.1', 80, { checkers: [misc, tcpChecker('t', '10.0.1.1', 80)] })]);
    const sched = new CheckerScheduler([vs], { clock, probe });
    sched.start();
    await clock.advance(20_000);
    expect(starts.misc).toEqual([0, 6000, 12_000, 18_000]);
    expect(starts.tcp).toEqual([0, 8000, 16_000]);
    sched.stop();
  });

  it('stop cancels pending probes', async () => {
    const t = setup();
    t.sched.start();
    await t.clock.advance(0);
    const n = t.calls.length;
    t.sched.stop();
    await t.clock.advance(60_000);
    expect(t.calls.length).toBe(n);
  });
});
