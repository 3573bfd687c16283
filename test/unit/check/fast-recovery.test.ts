// fast_recovery (keepalived check_http.c epilog): without it, a down HTTP_GET/SSL_GET whose failed url passes
// again re-walks its url list, one url per delay_loop, before it is up; with it the walk has no delay, which one
// lvskeeper probe (every url) already is.
import { describe, expect, it } from 'vitest';
import { applyProbeResult, initialCheckerState, type CheckerState, type StepContext } from '../../../src/check/state.js';
import type { ProbeResult } from '../../../src/check/types.js';
import { timing } from './helpers.js';

const OK: ProbeResult = { ok: true, reason: 'HTTP status and digest ok' };
const KO: ProbeResult = { ok: false, reason: 'HTTP status code error 500 (url /)' };

function ctx(recoveryChecks: number | undefined, over: Partial<StepContext['timing']> = {}): StepContext {
  return { type: 'HTTP_GET', label: '[192.168.1.2]:tcp:80', timing: timing({ retry: 0, delayLoopMs: 6000, delayBeforeRetryMs: 3000, recoveryChecks, ...over }) };
}

function run(c: StepContext, results: ProbeResult[], start: CheckerState = initialCheckerState(c.timing)) {
  let state = start;
  return results.map((r) => {
    const s = applyProbeResult(state, r, c);
    state = s.state;
    return { up: s.state.up, delay: s.delayMs, transition: s.transition };
  });
}

describe('fast_recovery', () => {
  it('with fast_recovery (no recoveryChecks) a down checker is up at its first passing probe', () => {
    const steps = run(ctx(undefined), [KO, OK]);
    expect(steps.map((s) => s.transition)).toEqual(['down', 'up']);
  });

  it('without it (one url): one more passing probe, delay_loop later, before it is up', () => {
    const steps = run(ctx(1), [KO, OK, OK]);
    expect(steps).toEqual([
      { up: false, delay: 6000, transition: 'down' },
      { up: false, delay: 6000, transition: undefined },
      { up: true, delay: 6000, transition: 'up' },
    ]);
  });

  it('without it (three urls): the walk is three passing probes after the recovery', () => {
    const steps = run(ctx(3), [KO, OK, OK, OK, OK]);
    expect(steps.map((s) => s.transition)).toEqual(['down', undefined, undefined, undefined, 'up']);
  });

  it('a failure mid-walk is retried after delay_before_retry and the walk goes on', () => {
    const steps = run(ctx(2), [KO, OK, KO, OK, OK]);
    expect(steps.map((s) => [s.delay, s.transition])).toEqual([
      [6000, 'down'],
      [6000, undefined],
      [3000, undefined],
      [6000, undefined],
      [6000, 'up'],
    ]);
  });

  it('alpha: the first round walks the other urls (urls - 1 more probes); with one url it is up at once', () => {
    expect(run(ctx(3, { alpha: true }), [OK, OK, OK]).map((s) => s.transition)).toEqual([undefined, undefined, 'up']);
    expect(run(ctx(1, { alpha: true }), [OK]).map((s) => s.transition)).toEqual(['up']);
  });

  it('an up checker is unaffected', () => {
    expect(run(ctx(3), [OK, OK]).map((s) => s.up)).toEqual([true, true]);
  });
});
