// The split-brain detector alone, on a fake clock (plain numbers): each difference, the repeat limit,
// the end, priority 0, and a BACKUP hearing two masters.
import { describe, expect, it } from 'vitest';
import { encodeAdvert } from '../../../src/vrrp/packet.js';
import {
  readAdvertHeader,
  SPLIT_BRAIN_REPEAT_MS,
  SplitBrainDetector,
  type AdvertHeard,
  type OwnView,
  type SplitBrainConfig,
  type SplitBrainEvent,
} from '../../../src/vrrp/split-brain.js';

const ME = '192.168.60.111';
const PEER = '192.168.60.112';
const THIRD = '192.168.60.113';

const cfg = (over: Partial<SplitBrainConfig> = {}): SplitBrainConfig => ({
  name: 'VI_1',
  vrid: 10,
  version: 2,
  family: 'inet',
  advertIntCs: 100,
  authType: 1,
  unicast: false,
  ownAddress: ME,
  ...over,
});

const heard = (over: Partial<AdvertHeard> = {}): AdvertHeard => ({
  source: PEER,
  vrid: 10,
  priority: 100,
  version: 2,
  advertIntCs: 100,
  authType: 1,
  dropped: false,
  ...over,
});

const MASTER: OwnView = { state: 'MASTER', priority: 100 };
const backupOf = (master: string): OwnView => ({ state: 'BACKUP', priority: 90, master });

/** Feeds adverts every `everyMs` from `from` to `to` (inclusive of from), collecting every event. */
function feed(d: SplitBrainDetector, from: number, to: number, everyMs: number, h: AdvertHeard, own: OwnView, out: SplitBrainEvent[]): void {
  for (let t = from; t <= to; t += everyMs) out.push(...d.observe(h, own, t));
}

describe('SplitBrainDetector: MASTER hearing a claim it drops', () => {
  const cases: Array<{ label: string; h: Partial<AdvertHeard>; cfg?: Partial<SplitBrainConfig>; difference: string }> = [
    { label: 'auth_pass', h: { dropped: true, finding: 'auth-pass' }, difference: 'auth_pass differs' },
    { label: 'auth_type', h: { dropped: true, finding: 'auth-type', authType: 0 }, difference: 'auth_type none instead of PASS' },
    { label: 'v2 advert_int', h: { dropped: true, finding: 'interval', advertIntCs: 100 }, cfg: { advertIntCs: 200 }, difference: 'advert_int 1 s instead of 2 s' },
    { label: 'version', h: { dropped: true, finding: 'version', version: 3, advertIntCs: 100 }, difference: 'VRRP version 3 instead of 2' },
    { label: 'unicast vs multicast', h: { dropped: true, finding: 'destination' }, difference: 'it sends unicast adverts, ours are multicast' },
    { label: 'unknown unicast peer', h: { dropped: true, finding: 'unknown-peer' }, cfg: { unicast: true }, difference: 'it is not one of our unicast_peer' },
  ];
  for (const c of cases) {
    it(`${c.label}: one ERROR at the second advert, naming peer, VRID and difference`, () => {
      const d = new SplitBrainDetector(cfg(c.cfg));
      // One packet is not a router yet.
      expect(d.observe(heard(c.h), MASTER, 4000)).toEqual([]);
      const ev = d.observe(heard(c.h), MASTER, 5000);
      expect(ev).toEqual([
        {
          kind: 'start',
          level: 'error',
          peer: PEER,
          difference: c.difference,
          text: `(VI_1) split brain suspected: ${PEER} also advertises VRID 10 as master, ${c.difference}`,
        },
      ]);
      expect(d.suspicion).toEqual({ peer: PEER, difference: c.difference, since: 5000 });
      expect(d.events).toBe(1);
      // Further adverts while it lasts: silent.
      const more: SplitBrainEvent[] = [];
      feed(d, 6000, 30_000, 1000, heard(c.h), MASTER, more);
      expect(more).toEqual([]);
      expect(d.events).toBe(1);
    });
  }

  it('a stray advert, or adverts that differ each time (garbage), are no claim', () => {
    const d = new SplitBrainDetector(cfg());
    expect(d.observe(heard({ dropped: true, finding: 'auth-type', authType: 0 }), MASTER, 0)).toEqual([]);
    const kinds = [
      heard({ dropped: true, finding: 'interval', advertIntCs: 300 }),
      heard({ dropped: true, finding: 'auth-pass' }),
      heard({ dropped: true, finding: 'interval', advertIntCs: 700 }),
      heard({ dropped: true, finding: 'version', version: 3 }),
    ];
    for (let i = 1; i < 40; i++) expect(d.observe(kinds[i % kinds.length]!, MASTER, i * 700)).toEqual([]);
    // Two packets in a burst are not a router advertising either.
    expect(d.observe(heard({ dropped: true, finding: 'auth-type', authType: 2 }), MASTER, 40_000)).toEqual([]);
    expect(d.observe(heard({ dropped: true, finding: 'auth-type', authType: 2 }), MASTER, 40_001)).toEqual([]);
    expect(d.events).toBe(0);
  });

  it('garbage drops (checksum, TTL, type) are no claim', () => {
    const d = new SplitBrainDetector(cfg());
    for (const finding of ['checksum', 'ttl', 'type', 'too-short', 'truncated'] as const) {
      expect(d.observe(heard({ dropped: true, finding }), MASTER, 1000)).toEqual([]);
    }
    expect(d.suspicion).toBeUndefined();
  });

  it('another VRID and our own looped-back adverts are no claim', () => {
    const d = new SplitBrainDetector(cfg());
    expect(d.observe(heard({ dropped: true, finding: 'auth-pass', vrid: 11 }), MASTER, 1000)).toEqual([]);
    expect(d.observe(heard({ dropped: true, finding: 'auth-pass', source: ME }), MASTER, 1000)).toEqual([]);
    expect(d.suspicion).toBeUndefined();
  });

  it('a peer with a longer advert_int keeps it going between its adverts', () => {
    const d = new SplitBrainDetector(cfg());
    const h = heard({ dropped: true, finding: 'interval', advertIntCs: 300 });
    const out: SplitBrainEvent[] = [];
    for (let t = 0; t <= 20_000; t += 1000) {
      if (t % 3000 === 0) out.push(...d.observe(h, MASTER, t));
      else out.push(...d.tick(MASTER, t));
    }
    expect(out.map((e) => e.kind)).toEqual(['start']);
    expect(out[0]!.difference).toBe('advert_int 3 s instead of 1 s');
  });

  it("its silence is no end while we are MASTER (keepalived's master stops advertising when it hears ours more often)", () => {
    const d = new SplitBrainDetector(cfg());
    const h = heard({ dropped: true, finding: 'interval', advertIntCs: 200 });
    const out: Array<[number, SplitBrainEvent]> = [];
    for (const t of [0, 2000]) for (const e of d.observe(h, MASTER, t)) out.push([t, e]);
    // Silent from 2 s on; our advert timer ticks every second.
    for (let t = 3000; t <= 130_000; t += 1000) for (const e of d.tick(MASTER, t)) out.push([t, e]);
    expect(out.map(([t, e]) => [t, e.kind])).toEqual([
      [2000, 'start'],
      [62_000, 'repeat'],
      [122_000, 'repeat'],
    ]);
    expect(out[1]![1].text).toBe(
      `(VI_1) split brain still suspected: ${PEER} also advertises VRID 10 as master, advert_int 2 s instead of 1 s (for 60 s, 2 adverts, silent for 60 s as a keepalived master is while it hears adverts more often than its advert_int)`,
    );
    // Reload to its advert_int: our adverts reach it now, so its silence counts again (3 × 2 s).
    d.reconfigure(cfg({ advertIntCs: 200 }));
    const end: Array<[number, SplitBrainEvent]> = [];
    for (let t = 132_000; t <= 140_000; t += 2000) for (const e of d.tick(MASTER, t)) end.push([t, e]);
    expect(end.map(([t, e]) => [t, e.text])).toEqual([[138_000, `(VI_1) split brain with ${PEER} on VRID 10 over after 136 s: no claim from it for 6 s`]]);
  });

  it('a BACKUP that takes over from a master whose adverts it drops reports it on becoming MASTER', () => {
    const d = new SplitBrainDetector(cfg());
    const h = heard({ dropped: true, finding: 'interval', advertIntCs: 200 });
    // BACKUP: one master, dropped: no suspicion yet (no double master until we take over).
    for (const t of [0, 2000]) expect(d.observe(h, backupOf(PEER), t)).toEqual([]);
    expect(d.tick({ state: 'BACKUP', priority: 90 }, 3000)).toEqual([]);
    // Master_Down_Interval later we are MASTER (the tick of the transition).
    expect(d.becameMaster(MASTER, 3650).map((e) => e.text)).toEqual([`(VI_1) split brain suspected: ${PEER} also advertises VRID 10 as master, advert_int 2 s instead of 1 s`]);
    expect(d.suspicion).toEqual({ peer: PEER, difference: 'advert_int 2 s instead of 1 s', since: 3650 });
  });

  it('one advert of a slower peer suffices at a takeover, unless we followed another master just before', () => {
    const h = heard({ dropped: true, finding: 'interval', advertIntCs: 300 });
    const d = new SplitBrainDetector(cfg());
    d.observe(h, backupOf(PEER), 1000);
    expect(d.becameMaster(MASTER, 3650).map((e) => e.kind)).toEqual(['start']);
    // We were following THIRD (it stopped without priority 0): a stray packet is more likely than a keepalived.
    const e = new SplitBrainDetector(cfg());
    e.observe(heard({ source: THIRD, priority: 150 }), backupOf(THIRD), 0);
    e.observe(h, backupOf(THIRD), 1000);
    expect(e.becameMaster(MASTER, 3650)).toEqual([]);
  });

  it('a takeover long after that master fell silent, or after one stray packet, is no suspicion', () => {
    const d = new SplitBrainDetector(cfg());
    d.observe(heard({ dropped: true, finding: 'auth-pass' }), backupOf(PEER), 0);
    d.observe(heard({ dropped: true, finding: 'auth-pass' }), backupOf(PEER), 1000);
    expect(d.becameMaster(MASTER, 4001)).toEqual([]);
    const e = new SplitBrainDetector(cfg());
    e.observe(heard({ dropped: true, finding: 'auth-pass' }), backupOf(PEER), 0);
    expect(e.becameMaster(MASTER, 600)).toEqual([]);
    // Only the takeover itself: a MASTER's later ticks do not look back at what it heard as BACKUP.
    const f = new SplitBrainDetector(cfg());
    f.observe(heard({ dropped: true, finding: 'interval', advertIntCs: 4000 }), backupOf(PEER), 0);
    expect(f.tick(MASTER, 1000)).toEqual([]);
    expect(f.becameMaster(MASTER, 5000)).toEqual([]);
    expect(d.events + e.events + f.events).toBe(0);
  });
});

describe('SplitBrainDetector: repeat and end', () => {
  it('repeats at most once a minute while it lasts, then logs the end at NOTICE', () => {
    const d = new SplitBrainDetector(cfg());
    const h = heard({ dropped: true, finding: 'auth-pass' });
    const out: Array<SplitBrainEvent & { at: number }> = [];
    for (let t = 0; t <= 150_000; t += 250) {
      // Adverts every second, ticks (our advert timer) every second in between.
      const ev = t % 1000 === 0 ? d.observe(h, MASTER, t) : t % 1000 === 500 ? d.tick(MASTER, t) : [];
      out.push(...ev.map((e) => ({ ...e, at: t })));
    }
    expect(out.map((e) => [e.kind, e.at])).toEqual([
      ['start', 1000],
      ['repeat', 61_000],
      ['repeat', 121_000],
    ]);
    expect(out[1]!.level).toBe('error');
    expect(out[1]!.text).toBe(`(VI_1) split brain still suspected: ${PEER} also advertises VRID 10 as master, auth_pass differs (for 60 s, 62 adverts)`);
    // The peer is fixed (silent from 150 s on): over after 3 intervals, once.
    const end: Array<SplitBrainEvent & { at: number }> = [];
    for (let t = 150_500; t <= 160_000; t += 500) end.push(...d.tick(MASTER, t).map((e) => ({ ...e, at: t })));
    expect(end.map((e) => [e.kind, e.level, e.at])).toEqual([['end', 'notice', 153_500]]);
    expect(end[0]!.text).toBe(`(VI_1) split brain with ${PEER} on VRID 10 over after 153 s: no claim from it for 3 s`);
    expect(d.suspicion).toBeUndefined();
    expect(d.events).toBe(1);
  });

  it('a new episode after the end is a new event', () => {
    const d = new SplitBrainDetector(cfg());
    const h = heard({ dropped: true, finding: 'auth-pass' });
    d.observe(h, MASTER, 0);
    expect(d.observe(h, MASTER, 1000).map((e) => e.kind)).toEqual(['start']);
    expect(d.tick(MASTER, 4001).map((e) => e.kind)).toEqual(['end']);
    expect(d.observe(h, MASTER, 10_000)).toEqual([]);
    expect(d.observe(h, MASTER, 11_000).map((e) => e.kind)).toEqual(['start']);
    expect(d.events).toBe(2);
  });

  it('ends at once when the instance leaves MASTER/BACKUP', () => {
    const d = new SplitBrainDetector(cfg());
    d.observe(heard({ dropped: true, finding: 'auth-pass' }), MASTER, 0);
    d.observe(heard({ dropped: true, finding: 'auth-pass' }), MASTER, 1000);
    const ev = d.tick({ state: 'FAULT', priority: 100 }, 2000);
    expect(ev.map((e) => e.text)).toEqual([`(VI_1) split brain with ${PEER} on VRID 10 over after 1 s: we are FAULT now`]);
    // No claim counts outside MASTER/BACKUP.
    expect(d.observe(heard({ dropped: true, finding: 'auth-pass' }), { state: 'FAULT', priority: 100 }, 1000)).toEqual([]);
  });

  it('ends at once when we follow the peer as BACKUP (config fixed, we yielded)', () => {
    const d = new SplitBrainDetector(cfg());
    d.observe(heard({ dropped: true, finding: 'auth-pass' }), MASTER, 0);
    d.observe(heard({ dropped: true, finding: 'auth-pass' }), MASTER, 1000);
    // Reload: the same peer's adverts are accepted; it has the higher priority, we are its BACKUP.
    d.reconfigure(cfg());
    const ev = d.observe(heard({ priority: 150 }), backupOf(PEER), 2000);
    expect(ev.map((e) => e.text)).toEqual([`(VI_1) split brain with ${PEER} on VRID 10 over after 1 s: we follow it as BACKUP now`]);
    feed(d, 2500, 20_000, 1000, heard({ priority: 150 }), backupOf(PEER), []);
    expect(d.suspicion).toBeUndefined();
    expect(d.events).toBe(1);
  });
});

describe('SplitBrainDetector: priority 0', () => {
  it('never counts; an accepted one ends the episode of the peer that sent it, a dropped one is ignored', () => {
    const d = new SplitBrainDetector(cfg());
    for (let t = 0; t < 5000; t += 1000) {
      expect(d.observe(heard({ priority: 0, dropped: true, finding: 'auth-pass' }), MASTER, t)).toEqual([]);
      expect(d.observe(heard({ priority: 0 }), MASTER, t + 500)).toEqual([]);
    }
    expect(d.suspicion).toBeUndefined();
    d.observe(heard({ dropped: true, finding: 'auth-pass' }), MASTER, 6000);
    d.observe(heard({ dropped: true, finding: 'auth-pass' }), MASTER, 7000);
    // A dropped priority 0 could be anything: no end (and no flapping start/end on a stream of them).
    expect(d.observe(heard({ priority: 0, dropped: true, finding: 'auth-pass' }), MASTER, 7500)).toEqual([]);
    expect(d.suspicion?.peer).toBe(PEER);
    // Its config fixed, it leaves: over.
    const ev = d.observe(heard({ priority: 0 }), MASTER, 8000);
    expect(ev.map((e) => e.text)).toEqual([`(VI_1) split brain with ${PEER} on VRID 10 over after 1 s: it left (priority 0)`]);
  });
});

describe('SplitBrainDetector: a lower/equal-priority master that keeps advertising', () => {
  it('one or two adverts before the peer yields are normal', () => {
    const d = new SplitBrainDetector(cfg());
    const out: SplitBrainEvent[] = [];
    feed(d, 0, 1000, 1000, heard({ priority: 90 }), MASTER, out);
    expect(out).toEqual([]);
    // It yielded; a later short episode is judged afresh.
    feed(d, 30_000, 31_000, 1000, heard({ priority: 90 }), MASTER, out);
    expect(out).toEqual([]);
    expect(d.suspicion).toBeUndefined();
  });

  it('is suspected when it still advertises after 3 adverts over 2 of our intervals', () => {
    const d = new SplitBrainDetector(cfg());
    const out: Array<[number, SplitBrainEvent]> = [];
    for (let t = 0; t <= 5000; t += 1000) for (const e of d.observe(heard({ priority: 100 }), MASTER, t)) out.push([t, e]);
    expect(out.map(([t, e]) => [t, e.kind])).toEqual([[2000, 'start']]);
    expect(out[0]![1].text).toBe(`(VI_1) split brain suspected: ${PEER} also advertises VRID 10 as master, priority 100, ours 100, and it does not yield`);
  });

  it('a VIP set difference (accepted, keepalived drops it) names the difference', () => {
    const d = new SplitBrainDetector(cfg());
    const out: SplitBrainEvent[] = [];
    feed(d, 0, 3000, 1000, heard({ priority: 90, finding: 'address-list' }), MASTER, out);
    expect(out.map((e) => e.difference)).toEqual(['virtual_ipaddress set differs']);
  });

  it('a v3 advert_int difference is reported in ms', () => {
    const d = new SplitBrainDetector(cfg({ version: 3, advertIntCs: 10 }));
    const out: SplitBrainEvent[] = [];
    feed(d, 0, 1000, 250, heard({ version: 3, priority: 90, advertIntCs: 25, finding: 'v3-interval' }), MASTER, out);
    expect(out.map((e) => e.difference)).toEqual(['advert_int 250 ms instead of 100 ms']);
  });
});

describe('SplitBrainDetector: BACKUP hearing two masters', () => {
  it('two sources advertising over the same 2 intervals: the one we do not follow is named', () => {
    const d = new SplitBrainDetector(cfg());
    const out: Array<[number, SplitBrainEvent]> = [];
    for (let t = 0; t <= 10_000; t += 1000) {
      for (const e of d.observe(heard({ source: PEER, priority: 150 }), backupOf(PEER), t)) out.push([t, e]);
      if (t >= 4000) for (const e of d.observe(heard({ source: THIRD, priority: 120, dropped: true, finding: 'auth-pass' }), backupOf(PEER), t + 10)) out.push([t + 10, e]);
    }
    expect(out.map(([t, e]) => [t, e.kind, e.text])).toEqual([
      // Both heard over 2 s (4.01 s to 7 s): the next advert of our master tells.
      [7000, 'start', `(VI_1) split brain suspected: ${THIRD} also advertises VRID 10 as master, ${PEER} is master too, auth_pass differs`],
    ]);
    // The third one stops: over (checked as our master's adverts arrive).
    const end: Array<[number, SplitBrainEvent]> = [];
    for (let t = 11_000; t <= 16_000; t += 1000) for (const e of d.observe(heard({ source: PEER, priority: 150 }), backupOf(PEER), t)) end.push([t, e]);
    expect(end.map(([t, e]) => [t, e.kind])).toEqual([[14_000, 'end']]);
  });

  it('a preemption (the old master stops as the new one starts) is not two masters', () => {
    const d = new SplitBrainDetector(cfg());
    const out: SplitBrainEvent[] = [];
    feed(d, 0, 5000, 1000, heard({ source: PEER, priority: 100 }), backupOf(PEER), out);
    // THIRD preempts at 5.5 s; PEER yields on hearing it (no further advert).
    feed(d, 5500, 20_000, 1000, heard({ source: THIRD, priority: 200 }), backupOf(THIRD), out);
    expect(out).toEqual([]);
    expect(d.events).toBe(0);
  });
});

describe('readAdvertHeader', () => {
  it('reads the fields of a v2 and a v3 advert, and nothing else', () => {
    const v2 = encodeAdvert({ version: 2, family: 'inet', vrid: 10, priority: 90, advertIntCs: 300, addresses: ['192.168.60.200'], authType: 1, authPassword: 'x' });
    expect(readAdvertHeader(v2, PEER, true, 'auth-pass')).toEqual({ source: PEER, vrid: 10, priority: 90, version: 2, advertIntCs: 300, authType: 1, dropped: true, finding: 'auth-pass' });
    const v3 = encodeAdvert({ version: 3, family: 'inet', vrid: 10, priority: 90, advertIntCs: 25, addresses: ['192.168.60.200'] }, { source: PEER, destination: '224.0.0.18' });
    expect(readAdvertHeader(v3, PEER, false, undefined)).toMatchObject({ version: 3, advertIntCs: 25, authType: 0 });
    expect(readAdvertHeader(Buffer.from([0x21, 10, 90]), PEER, true, 'too-short')).toBeUndefined();
    expect(readAdvertHeader(Buffer.alloc(20, 0x41), PEER, true, 'version')).toBeUndefined();
  });
});

it('SPLIT_BRAIN_REPEAT_MS is a minute', () => {
  expect(SPLIT_BRAIN_REPEAT_MS).toBe(60_000);
});
