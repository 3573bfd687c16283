import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  applyRunOutcome,
  initialTrackState,
  reloadedTrackState,
  trackerEffect,
  type RunOutcome,
  type TrackCounterConfig,
  type TrackScriptState,
} from '../../../src/scripts/track-state.js';

const ok: RunOutcome = { kind: 'exited', code: 0 };
const fail1: RunOutcome = { kind: 'exited', code: 1 };

function run(cfg: TrackCounterConfig, outcomes: RunOutcome[], start: TrackScriptState = initialTrackState(cfg)) {
  let state = start;
  const logs: string[] = [];
  const transitions: string[] = [];
  for (const o of outcomes) {
    const step = applyRunOutcome(state, cfg, 'chk', o);
    state = step.state;
    logs.push(...step.logs);
    if (step.transition) transitions.push(`${step.transition.from}->${step.transition.to}`);
  }
  return { state, logs, transitions };
}

describe('vrrp_script rise/fall counter (keepalived vrrp_script_child_thread)', () => {
  it('starts unknown and one success is enough (rise 1, fall 1)', () => {
    const cfg = { rise: 1, fall: 1, initFail: false };
    expect(initialTrackState(cfg).status).toBe('init');
    const r = run(cfg, [ok]);
    expect(r.state.status).toBe('up');
    expect(r.logs).toEqual(['VRRP_Script(chk) succeeded']);
  });

  it('first failure from init goes down at once, with keepalived lines', () => {
    const r = run({ rise: 3, fall: 3, initFail: false }, [fail1]);
    expect(r.state.status).toBe('down');
    expect(r.logs).toEqual(['Script `chk` now returning 1', 'VRRP_Script(chk) failed (exited with status 1)']);
    expect(r.transitions).toEqual(['init->down']);
  });

  it('needs `fall` consecutive failures to go down and `rise` successes to come back', () => {
    const cfg = { rise: 2, fall: 3, initFail: false };
    const r1 = run(cfg, [ok, fail1, fail1]);
    expect(r1.state.status).toBe('up');
    expect(r1.transitions).toEqual(['init->up']);
    const r2 = run(cfg, [fail1], r1.state);
    expect(r2.state.status).toBe('down');
    expect(r2.logs).toEqual(['VRRP_Script(chk) failed (exited with status 1)']); // code unchanged: no "now returning"
    const r3 = run(cfg, [ok], r2.state);
    expect(r3.state.status).toBe('down');
    expect(r3.logs).toEqual(['Script `chk` now returning 0']);
    const r4 = run(cfg, [ok], r3.state);
    expect(r4.state.status).toBe('up');
    expect(r4.logs).toEqual(['VRRP_Script(chk) succeeded']);
  });

  it('a success between failures resets the fall count', () => {
    const cfg = { rise: 1, fall: 2, initFail: false };
    const r = run(cfg, [ok, fail1, ok, fail1, ok, fail1]);
    expect(r.state.status).toBe('up');
    expect(run(cfg, [fail1], r.state).state.status).toBe('down');
  });

  it('init_fail starts down, silently stays down on failure, and rises normally', () => {
    const cfg = { rise: 2, fall: 1, initFail: true };
    expect(initialTrackState(cfg).status).toBe('down');
    const r = run(cfg, [fail1]);
    expect(r.transitions).toEqual([]);
    expect(r.logs).toEqual(['Script `chk` now returning 1']);
    const r2 = run(cfg, [ok, ok]);
    expect(r2.transitions).toEqual(['down->up']);
  });

  it('names timeouts and signals as keepalived does', () => {
    const cfg = { rise: 1, fall: 1, initFail: false };
    expect(run(cfg, [ok, { kind: 'timed_out' }]).logs.at(-1)).toBe('VRRP_Script(chk) timed_out');
    expect(run(cfg, [ok, { kind: 'signaled', signal: 9 }]).logs.at(-1)).toBe('VRRP_Script(chk) failed (due to signal 9)');
  });

  it('reload keeps up scripts up (one failure is enough to go down) and down scripts down', () => {
    const cfg = { rise: 3, fall: 3, initFail: false };
    const up = reloadedTrackState(cfg, 'chk', 'up');
    expect(up.logs).toEqual(['VRRP_Script(chk) considered successful on reload']);
    expect(up.state.status).toBe('up');
    expect(run(cfg, [fail1], up.state).state.status).toBe('down');
    const down = reloadedTrackState(cfg, 'chk', 'down');
    expect(down.logs).toEqual(['VRRP_Script(chk) considered unsuccessful on reload']);
    expect(run(cfg, [ok, ok], down.state).state.status).toBe('down');
    expect(reloadedTrackState(cfg, 'chk', 'init').state.status).toBe('init');
  });

  it('property: status always equals result >= rise once out of init, result stays in range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        fc.array(fc.boolean(), { maxLength: 40 }),
        (rise, fall, initFail, results) => {
          const cfg = { rise, fall, initFail };
          let state = initialTrackState(cfg);
          let consecutiveOk = 0;
          let consecutiveFail = 0;
          for (const success of results) {
            const before = state.status;
            state = applyRunOutcome(state, cfg, 'x', success ? ok : fail1).state;
            consecutiveOk = success ? consecutiveOk + 1 : 0;
            consecutiveFail = success ? 0 : consecutiveFail + 1;
            expect(state.status).not.toBe('init');
            expect(state.result).toBeGreaterThanOrEqual(0);
            expect(state.result).toBeLessThanOrEqual(rise + fall - 1);
            expect(state.status === 'up').toBe(state.result >= rise);
            // Leaving up needs `fall` failures in a row; leaving down needs `rise` successes (except from init).
            if (before === 'up' && state.status === 'down') expect(consecutiveFail).toBeGreaterThanOrEqual(fall);
            if (before === 'down' && state.status === 'up') expect(consecutiveOk).toBeGreaterThanOrEqual(rise);
          }
        },
      ),
    );
  });
});

describe('tracker effect on an instance (vrrp_track.c)', () => {
  it('adds positive weights while up and negative weights while down', () => {
    expect(trackerEffect('up', 20, false)).toEqual({ priorityDelta: 20, fault: false, waiting: false });
    expect(trackerEffect('down', 20, false).priorityDelta).toBe(0);
    expect(trackerEffect('down', -30, false).priorityDelta).toBe(-30);
    expect(trackerEffect('up', -30, false).priorityDelta).toBe(0);
  });

  it('reverse decreases when up and increases when down', () => {
    expect(trackerEffect('up', 20, true).priorityDelta).toBe(-20);
    expect(trackerEffect('down', -30, true).priorityDelta).toBe(30);
  });

  it('weight 0 means FAULT while down (while up with reverse), and waiting while init', () => {
    expect(trackerEffect('down', 0, false).fault).toBe(true);
    expect(trackerEffect('up', 0, false).fault).toBe(false);
    expect(trackerEffect('up', 0, true).fault).toBe(true);
    expect(trackerEffect('init', 0, false)).toEqual({ priorityDelta: 0, fault: false, waiting: true });
    expect(trackerEffect('init', 10, false).waiting).toBe(false);
  });
});
