import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyProbeResult, firstProbeDelay, initialCheckerState, type CheckerState, type StepContext } from '../../../src/check/state.js';
import type { ProbeResult } from '../../../src/check/types.js';
import { timing } from './helpers.js';

const OK: ProbeResult = { ok: true, reason: 'connected' };
const KO: ProbeResult = { ok: false, reason: 'connection refused' };
const LABEL = '[192.168.1.2]:tcp:80';

function ctx(over: Partial<StepContext['timing']> = {}, type: StepContext['type'] = 'TCP_CHECK'): StepContext {
  return { type, label: LABEL, timing: timing({ retry: 3, delayLoopMs: 6000, delayBeforeRetryMs: 3000, ...over }) };
}

function run(c: StepContext, results: ProbeResult[], start = initialCheckerState(c.timing)) {
  let state: CheckerState = start;
  const steps = [];
  for (const r of results) {
    const s = applyProbeResult(state, r, c);
    steps.push(s);
    state = s.state;
  }
  return { state, steps };
}

describe('checker state machine (keepalived tcp_epilog semantics)', () => {
  it('without alpha starts up, and the very first failure takes it down at once', () => {
    const c = ctx();
    const init = initialCheckerState(c.timing);
    expect(init.up).toBe(true);
    expect(init.retryIt).toBe(3);
    const { steps } = run(c, [KO]);
    expect(steps[0]?.transition).toBe('down');
    expect(steps[0]?.delayMs).toBe(6000);
    expect(steps[0]?.logs).toEqual([`TCP_CHECK on service ${LABEL} failed.`]);
  });

  it('the first success without alpha logs success but is no transition', () => {
    const { steps } = run(ctx(), [OK, OK]);
    expect(steps[0]?.transition).toBeUndefined();
    expect(steps[0]?.logs).toEqual([`TCP connection to ${LABEL} success.`]);
    expect(steps[1]?.logs).toEqual([]);
  });

  it('while up, retries every delay_before_retry and goes down after `retry` further failures', () => {
    const { steps, state } = run(ctx(), [OK, KO, KO, KO, KO]);
    expect(steps.slice(1).map((s) => s.delayMs)).toEqual([3000, 3000, 3000, 6000]);
    expect(steps.slice(1).map((s) => s.transition)).toEqual([undefined, undefined, undefined, 'down']);
    expect(steps[4]?.logs).toEqual([`TCP_CHECK on service ${LABEL} failed after 3 retries.`]);
    expect(state.up).toBe(false);
  });

  it('a success during the retries resets the counter', () => {
    const { steps } = run(ctx(), [OK, KO, KO, OK, KO, KO, KO, KO]);
    expect(steps.map((s) => s.transition)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'down']);
  });

  it('while down, polls every delay_loop silently and one success brings it up', () => {
    const c = ctx();
    const { steps, state } = run(c, [KO, KO, KO, OK]);
    expect(steps.map((s) => s.delayMs)).toEqual([6000, 6000, 6000, 6000]);
    expect(steps[1]?.logs).toEqual([]);
    expect(steps[3]?.transition).toBe('up');
    expect(steps[3]?.logs).toEqual([`TCP connection to ${LABEL} success.`]);
    expect(state.up).toBe(true);
  });

  it('with alpha starts down; a first failure is logged but is no transition; a success brings it up', () => {
    const c = ctx({ alpha: true });
    expect(initialCheckerState(c.timing).up).toBe(false);
    const { steps } = run(c, [KO, OK]);
    expect(steps[0]?.transition).toBeUndefined();
    expect(steps[0]?.logs).toEqual([`TCP_CHECK on service ${LABEL} failed.`]);
    expect(steps[1]?.transition).toBe('up');
  });

  it('retry 0 goes down on the first failure after a success', () => {
    const { steps } = run(ctx({ retry: 0 }), [OK, KO]);
    expect(steps[1]?.transition).toBe('down');
    expect(steps[1]?.logs).toEqual([`TCP_CHECK on service ${LABEL} failed.`]);
  });

  it('log_all_failures logs each failed attempt', () => {
    const { steps } = run(ctx({ logAllFailures: true }), [OK, KO]);
    expect(steps[1]?.logs).toEqual([`TCP connection to ${LABEL} failed (connection refused).`]);
  });

  it('uses each checker type wording', () => {
    expect(run(ctx({}, 'HTTP_GET'), [OK, KO, KO, KO, KO]).steps[4]?.logs).toEqual([
      `HTTP_CHECK on service ${LABEL} failed after 3 retries.`,
    ]);
    const misc: StepContext = { ...ctx({ retry: 0 }, 'MISC_CHECK'), extra: '/bin/check' };
    expect(run(misc, [OK, { ok: false, reason: 'exited with status 1' }]).steps[1]?.logs).toEqual([
      `Misc check for [${LABEL}] by [/bin/check] failed (exited with status 1).`,
    ]);
  });

  it('reports dynamic weight changes', () => {
    const c = ctx({}, 'MISC_CHECK');
    const { steps, state } = run(c, [
      { ok: true, reason: '', weight: 3 },
      { ok: true, reason: '', weight: 3 },
      { ok: true, reason: '', weight: 5 },
    ]);
    expect(steps.map((s) => s.weightChanged)).toEqual([true, undefined, true]);
    expect(state.weight).toBe(5);
  });

  it('warmup delay is within [0, warmup]', () => {
    const t = timing({ warmupMs: 10_000 });
    expect(firstProbeDelay(t, () => 0)).toBe(0);
    expect(firstProbeDelay(t, () => 0.999999)).toBe(10_000);
    expect(firstProbeDelay(timing({ warmupMs: 0 }), () => 0.5)).toBe(0);
  });

  it('property: after a success it goes down exactly at the (retry+1)th consecutive failure', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(fc.boolean(), { maxLength: 60 }), (retry, seq) => {
        const c = ctx({ retry });
        let state = applyProbeResult(initialCheckerState(c.timing), OK, c).state;
        let consecutive = 0;
        for (const good of seq) {
          const step = applyProbeResult(state, good ? OK : KO, c);
          const wasUp = state.up;
          consecutive = good ? 0 : consecutive + 1;
          if (step.transition === 'down') {
            expect(wasUp).toBe(true);
            expect(consecutive).toBe(retry + 1);
          }
          if (wasUp && consecutive === retry + 1) expect(step.transition).toBe('down');
          if (good) expect(step.state.up).toBe(true);
          if (!good && consecutive > retry) expect(step.state.up).toBe(false);
          state = step.state;
        }
      }),
    );
  });
});
