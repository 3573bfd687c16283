// The netns/VM tests' timing helper (test/helpers/timing.ts): the RFC timer arithmetic, the wire takeover
// rule, the noise summary and margin. No assertion on how late real sleeps are.
import { describe, expect, it } from 'vitest';
import { FLOOR_MS, MIN_SAMPLES, NoiseMonitor, P99_FACTOR, advertsAfter, daemonLateMs, marginMs, masterDownMs, skewMs, summarize, takeover, type WireAdvert } from '../../helpers/timing.js';

describe('VRRP timers', () => {
  it('VRRPv2 (RFC 3768 §6.1): Skew_Time in whole seconds of (256 − prio)/256, whatever advert_int', () => {
    expect(skewMs(100, 1000)).toBeCloseTo(609.375, 6);
    expect(skewMs(100, 2000)).toBeCloseTo(609.375, 6);
    expect(masterDownMs(100, 1000)).toBeCloseTo(3609.375, 6);
    expect(masterDownMs(90, 1000)).toBeCloseTo(3648.4375, 6);
  });

  it('VRRPv3 (RFC 5798 §6.1): Skew_Time scales with Master_Adver_Interval', () => {
    expect(skewMs(100, 100, 3)).toBeCloseTo(60.9375, 6);
    expect(masterDownMs(100, 100, 3)).toBeCloseTo(360.9375, 6);
  });
});

describe('takeover()', () => {
  const timers = { skewMs: 609.375, downMs: 3609.375 };
  const adv = (t: number, from: string, prio: number): WireAdvert => ({ t, from, prio });

  it('after a priority-0 advert: due Skew_Time after it', () => {
    const t = takeover([adv(0, 'a', 110), adv(1000, 'a', 110), adv(1200, 'a', 0), adv(1815, 'b', 100)], 'a', 'b', timers);
    expect(t.reason).toBe('priority 0');
    expect(t.dueAt).toBeCloseTo(1809.375, 6);
    expect(t.lateMs).toBeCloseTo(5.625, 6);
  });

  it("after silence: due Master_Down_Interval after the master's last advert; a later priority 0 does not count", () => {
    const t = takeover([adv(2000, 'b', 100), adv(0, 'a', 110), adv(-1000, 'a', 110), adv(4000, 'a', 0)], 'a', 'b', { ...timers, downMs: 1990 });
    expect(t.reason).toBe('master down');
    expect(t.last.t).toBe(0);
    expect(t.lateMs).toBe(10);
    expect(t.describe()).toContain('Master_Down_Interval');
  });

  it("since: the new master's adverts from an earlier mastership do not count", () => {
    const t = takeover([adv(-500, 'b', 100), adv(0, 'a', 0), adv(610, 'b', 100)], 'a', 'b', timers, -100);
    expect(t.first.t).toBe(610);
    expect(t.reason).toBe('priority 0');
  });

  it('says what is missing', () => {
    expect(() => takeover([adv(0, 'a', 110)], 'a', 'b', timers)).toThrow(/no advert from the new master b/);
    expect(() => takeover([adv(0, 'b', 100)], 'a', 'b', timers)).toThrow(/no advert from the old master a/);
  });

  it('advertsAfter: a second MASTER is a priority > 0 advert after the takeover', () => {
    const all = [adv(0, 'a', 110), adv(5, 'b', 100), adv(6, 'a', 0), adv(7, 'a', 110)];
    expect(advertsAfter(all, 'a', 5)).toEqual([adv(7, 'a', 110)]);
  });
});

describe('noise', () => {
  it('summarize: nearest-rank percentiles, negative lateness counted as 0', () => {
    const s = summarize([...Array.from({ length: 98 }, () => 1), 5, 50, -2]);
    expect(s).toEqual({ samples: 101, p50: 1, p99: 5, max: 50 });
    expect(summarize([])).toEqual({ samples: 0, p50: 0, p99: 0, max: 0 });
  });

  it('marginMs: floor + k × p99 + the worst stall, a daemon-reported one if longer', () => {
    const n = { samples: 100, p50: 1, p99: 4, max: 30 };
    expect(marginMs(n)).toBe(FLOOR_MS + P99_FACTOR * 4 + 30);
    expect(marginMs(n, { daemonLateMs: 250, floorMs: 10 })).toBe(10 + P99_FACTOR * 4 + 250);
  });

  it("daemonLateMs: the largest 'ran N ms late' since a time", () => {
    const lines = [
      { at: 1, text: 'x (VI_1) advert timer ran 900.0 ms late: old' },
      { at: 5, text: 'x (VI_1) master-down timer ran 12.5 ms late: the VRRP process was blocked' },
      { at: 6, text: 'x (VI_1) Entering MASTER STATE' },
    ];
    expect(daemonLateMs(lines, 2)).toBe(12.5);
    expect(daemonLateMs(lines.map((l) => l.text))).toBe(900);
  });

  it('NoiseMonitor: at least MIN_SAMPLES sleeps, stop() idempotent', async () => {
    const m = NoiseMonitor.start(1);
    const a = await m.stop();
    expect(a.samples).toBeGreaterThanOrEqual(MIN_SAMPLES);
    expect(a.p50).toBeLessThanOrEqual(a.p99);
    expect(a.p99).toBeLessThanOrEqual(a.max);
    expect(await m.stop()).toBe(a);
    const { ms, text } = await NoiseMonitor.start(1).margin({ daemonLogs: ['(VI_1) advert timer ran 5000.0 ms late: x'] });
    expect(ms).toBeGreaterThanOrEqual(FLOOR_MS + 5000);
    expect(text).toMatch(/^scheduling noise in this run: \d+ sleeps/);
  });
});
