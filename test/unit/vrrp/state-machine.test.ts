import { describe, expect, it } from 'vitest';
import { machineConfig, masterDownMs, reconfigure, skewMs, step, initialState, type Action, type MachineConfig } from '../../../src/vrrp/state-machine.js';
import { syncGroupStep } from '../../../src/vrrp/sync-group.js';
import { Sim, advert } from './harness.js';

const base = (over: Partial<MachineConfig> = {}) =>
  machineConfig({ name: 'VI_1', version: 2, family: 'inet', basePriority: 100, advertIntCs: 100, sourceAddress: '192.168.60.111', ...over });
const adv = (priority: number, over = {}) => ({ type: 'advert' as const, advert: advert({ priority, ...over }), source: '192.168.60.112' });

describe('timers (RFC 3768 §6.1, RFC 5798 §6.1)', () => {
  it('v2: prio 100, 1 s → 3.609375 s; prio 90 → 3.6484375 s', () => {
    expect(skewMs(2, 100, 100)).toBe(609.375);
    expect(masterDownMs(base(), 100, 100)).toBe(3609.375);
    expect(masterDownMs(base(), 90, 100)).toBe(3648.4375);
    // v2 skew does not scale with the interval
    expect(masterDownMs(base({ advertIntCs: 200 }), 100, 200)).toBe(6609.375);
  });
  it('v3: skew scales with Master_Adver_Interval; 0.1 s → 0.3609375 s', () => {
    expect(skewMs(3, 100, 10)).toBe(60.9375);
    expect(masterDownMs(base({ version: 3 }), 100, 10)).toBe(360.9375);
    expect(masterDownMs(base({ version: 3 }), 100, 100)).toBe(3609.375);
  });
  it('down_timer_adverts scales the interval part', () => {
    expect(masterDownMs(base({ downTimerAdverts: 5 }), 100, 100)).toBe(5609.375);
  });
});

describe('startup (vrrp_init_state)', () => {
  it('removes stale VIPs, enters BACKUP (init), becomes MASTER after the down interval', () => {
    const s = new Sim(base());
    const a = s.event({ type: 'start' });
    expect(a[0]).toEqual({ type: 'removeVips', reason: 'init' });
    expect(s.logs()).toContain('(VI_1) Entering BACKUP STATE (init)');
    expect(a).toContainEqual({ type: 'notify', state: 'BACKUP', priority: 100 });
    s.advance(3609);
    expect(s.state.state).toBe('BACKUP');
    s.advance(1);
    expect(s.state.state).toBe('MASTER');
    expect(s.firstAt((x) => x.type === 'addVips')).toBe(3609.375);
  });
  it('vrrp_startup_delay: the down timer ends no sooner than the delay plus the down interval, adverts heard meanwhile included', () => {
    const s = new Sim(base());
    s.event({ type: 'start', delayedStartUntilMs: 10_000 });
    s.advance(9000);
    // An advert from a master during the delay restarts the timer from the delay's end, not from now.
    s.event(adv(100, {}));
    s.advance(10_000 + 3609 - 9000);
    expect(s.state.state).toBe('BACKUP');
    s.advance(1);
    expect(s.state.state).toBe('MASTER');
    expect(s.firstAt((x) => x.type === 'addVips')).toBe(13609.375);
    // After the delay, the usual down interval.
    const t = new Sim(base());
    t.event({ type: 'start', delayedStartUntilMs: 0 });
    t.advance(3610);
    expect(t.state.state).toBe('MASTER');
  });
  it('state MASTER below 255 still waits; 255 + MASTER takes over at once', () => {
    const s = new Sim(base({ wantMaster: true, basePriority: 150 }));
    s.event({ type: 'start' });
    s.advance(1);
    expect(s.state.state).toBe('BACKUP');
    const o = new Sim(base({ wantMaster: true, basePriority: 255 }));
    o.event({ type: 'start' });
    o.advance(0);
    expect(o.state.state).toBe('MASTER');
    // 255 with state BACKUP waits the (short) down interval
    const b = new Sim(base({ basePriority: 255 }));
    b.event({ type: 'start' });
    b.advance(0);
    expect(b.state.state).toBe('BACKUP');
  });
  it('starts in FAULT when a weight-0 tracker is down', () => {
    const s = new Sim(base({ trackers: [{ name: 'if:eth0', weight: 0 }] }), { 'if:eth0': false });
    s.event({ type: 'start' });
    expect(s.state.state).toBe('FAULT');
    expect(s.logs()).toContain('(VI_1) Entering FAULT STATE (init)');
    s.advance(10_000);
    expect(s.state.state).toBe('FAULT');
  });
});

describe('becoming MASTER', () => {
  it('advert first, then VIPs, then GARP; 5 more GARPs after garp_master_delay; adverts every interval', () => {
    const s = new Sim(base());
    s.event({ type: 'start' });
    s.advance(3610);
    const kinds = s.actionsSince(3609.375).map((a) => a.type).filter((t) => ['sendAdvert', 'addVips', 'announce'].includes(t));
    expect(kinds.slice(0, 3)).toEqual(['sendAdvert', 'addVips', 'announce']);
    expect(s.logs()).toContain('(VI_1) Receive advertisement timeout');
    expect(s.logs()).toContain('(VI_1) Entering MASTER STATE');
    const t0 = 3609.375;
    s.advance(10_000);
    expect(s.log.filter((e) => e.action.type === 'sendAdvert').map((e) => e.at - t0)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    const garps = s.log.filter((e) => e.action.type === 'announce');
    expect(garps.map((e) => [e.at - t0, (e.action as { repeat: number }).repeat])).toEqual([[0, 5], [5000, 5]]);
  });
  it('garp_master_refresh re-announces periodically', () => {
    const s = new Sim(base({ garpMasterRefreshMs: 2000, garpMasterDelayMs: 0 }));
    s.event({ type: 'start' });
    s.advance(3609.375 + 4000);
    expect(s.log.filter((e) => e.action.type === 'announce').map((e) => (e.action as { reason: string }).reason)).toEqual(['master', 'refresh', 'refresh']);
  });
});

describe('BACKUP receive rules (RFC 3768 §6.4.2, keepalived vrrp_state_backup)', () => {
  const backup = (over: Partial<MachineConfig> = {}) => {
    const s = new Sim(base(over));
    s.event({ type: 'start' });
    return s;
  };
  it('higher or equal priority restarts the down timer (no tie-break)', () => {
    const s = backup();
    for (let i = 0; i < 10; i++) {
      s.advance(1000);
      s.event(adv(i % 2 ? 100 : 150));
    }
    expect(s.state.state).toBe('BACKUP');
    expect(s.timers.get('masterDown')).toBe(s.nowMs + 3609.375);
  });
  it('lower priority with preempt: logged, discarded, timer not refreshed → preempts', () => {
    const s = backup();
    s.advance(1000);
    s.event(adv(150));
    for (let i = 0; i < 5; i++) {
      s.advance(1000);
      s.event(adv(90));
    }
    expect(s.logs()).toContain('(VI_1) received lower priority (90) advert from 192.168.60.112 - discarding');
    expect(s.state.state).toBe('MASTER');
    expect(s.firstAt((a) => a.type === 'addVips')).toBe(1000 + 3609.375);
  });
  it('nopreempt accepts lower priority', () => {
    const s = backup({ nopreempt: true });
    for (let i = 0; i < 10; i++) {
      s.advance(1000);
      s.event(adv(50));
    }
    expect(s.state.state).toBe('BACKUP');
  });
  it('preempt_delay accepts lower adverts until the delay since the first one has passed', () => {
    const s = backup({ preemptDelayMs: 4000 });
    s.advance(1000);
    s.event(adv(50)); // preempt_time = 5000
    for (let i = 0; i < 3; i++) {
      s.advance(1000);
      s.event(adv(50));
    }
    expect(s.state.state).toBe('BACKUP');
    s.advance(1000);
    s.event(adv(50)); // at 5000: not > now → discard
    expect(s.logs().some((l) => l.includes('discarding'))).toBe(true);
    s.advance(3609.375);
    expect(s.state.state).toBe('MASTER');
    expect(s.firstAt((a) => a.type === 'addVips')).toBe(4000 + 3609.375);
  });
  it('preempt_delay is reset by a higher-priority advert', () => {
    const s = backup({ preemptDelayMs: 2000 });
    s.event(adv(50));
    s.advance(1000);
    s.event(adv(150));
    expect(s.state.preemptUntilMs).toBeUndefined();
  });
  it('priority 0: down timer = skew only', () => {
    const s = backup();
    s.advance(500);
    s.event(adv(150));
    s.advance(500);
    s.event(adv(0));
    expect(s.logs()).toContain('(VI_1) Backup received priority 0 advertisement');
    s.advance(609);
    expect(s.state.state).toBe('BACKUP');
    s.advance(1);
    expect(s.state.state).toBe('MASTER');
  });
  it('v3 backups adopt the master interval', () => {
    const s = backup({ version: 3, advertIntCs: 100 });
    s.event(adv(150, { version: 3, advertIntCs: 10 }));
    expect(s.state.masterAdverIntCs).toBe(10);
    expect(s.timers.get('masterDown')).toBeCloseTo(360.9375, 6);
    s.advance(361);
    expect(s.state.state).toBe('MASTER');
    // as MASTER it advertises its own interval again
    expect(s.state.masterAdverIntCs).toBe(100);
  });
  it('v2 backups do not learn intervals', () => {
    const s = backup();
    s.event(adv(150, { advertIntCs: 300 }));
    expect(s.timers.get('masterDown')).toBe(3609.375);
  });
  it('ignores its own packets', () => {
    const s = backup();
    s.advance(3000);
    s.event({ type: 'advert', advert: advert({ priority: 200 }), source: '192.168.60.111' });
    s.advance(700);
    expect(s.state.state).toBe('MASTER');
  });
});

describe('MASTER receive rules (RFC 3768 §6.4.3, keepalived vrrp_state_master_rx)', () => {
  const master = (over: Partial<MachineConfig> = {}) => {
    const s = new Sim(base(over));
    s.event({ type: 'start' });
    s.advance(3700);
    expect(s.state.state).toBe('MASTER');
    return s;
  };
  it('higher priority → BACKUP, VIPs removed', () => {
    const s = master();
    const t = s.nowMs;
    s.event(adv(150));
    expect(s.logs()).toContain('(VI_1) Master received advert from 192.168.60.112 with higher priority 150, ours 100');
    expect(s.state.state).toBe('BACKUP');
    expect(s.actionsSince(t)).toContainEqual({ type: 'removeVips', reason: 'backup' });
    expect(s.actionsSince(t)).toContainEqual({ type: 'notify', state: 'BACKUP', priority: 100 });
    expect(s.timers.has('adver')).toBe(false);
  });
  it('equal priority: the higher source address wins (unsigned network order)', () => {
    const s = master();
    s.event(adv(100));
    expect(s.logs()).toContain('(VI_1) Master received advert from 192.168.60.112 with same priority 100 but higher IP address than ours');
    expect(s.state.state).toBe('BACKUP');
    const m = master({ sourceAddress: '192.168.60.200' });
    const t = m.nowMs;
    m.event(adv(100));
    expect(m.state.state).toBe('MASTER');
    expect(m.sent(t)).toEqual([100]);
  });
  it('lower priority → immediate advert (and lower-prio GARPs), stays MASTER', () => {
    const s = master({ garpLowerPrioRepeat: 2 });
    s.advance(300);
    const t = s.nowMs;
    s.event(adv(90));
    expect(s.logs()).toContain('(VI_1) Received advert from 192.168.60.112 with lower priority 90, ours 100, forcing new election');
    expect(s.sent(t)).toEqual([100]);
    expect(s.actionsSince(t)).toContainEqual({ type: 'announce', repeat: 2, reason: 'lower-prio' });
    expect(s.actionsSince(t)).toContainEqual({ type: 'notifyMasterRxLowerPri', priority: 90, source: '192.168.60.112' });
    expect(s.timers.get('adver')).toBe(t + 1000);
  });
  it('garp_lower_prio_delay: the lower-prio burst again after the delay, unless MASTER was left', () => {
    const s = master({ garpLowerPrioRepeat: 2, garpLowerPrioDelayMs: 5000 });
    const t = s.nowMs;
    s.event(adv(90));
    const lowerPrio = (a: Action): boolean => a.type === 'announce' && a.reason.startsWith('lower-prio');
    const bursts = () => s.log.filter((e) => e.at >= t && lowerPrio(e.action)).map((e) => [e.at - t, e.action]);
    s.advance(4999);
    expect(bursts()).toEqual([[0, { type: 'announce', repeat: 2, reason: 'lower-prio' }]]);
    s.advance(1);
    expect(bursts()).toEqual([
      [0, { type: 'announce', repeat: 2, reason: 'lower-prio' }],
      [5000, { type: 'announce', repeat: 2, reason: 'lower-prio-delay' }],
    ]);
    // Left MASTER before the delay: no second burst.
    const m = master({ garpLowerPrioRepeat: 2, garpLowerPrioDelayMs: 5000 });
    const t2 = m.nowMs;
    m.event(adv(90));
    m.event(adv(150));
    m.advance(6000);
    expect(m.actionsSince(t2).filter(lowerPrio)).toEqual([{ type: 'announce', repeat: 2, reason: 'lower-prio' }]);
    // No garp_lower_prio_repeat: neither burst nor timer.
    const n = master({ garpLowerPrioDelayMs: 5000 });
    n.event(adv(90));
    expect(n.timers.has('garpLowerPrio')).toBe(false);
  });
  it('lower_prio_no_advert suppresses the immediate advert', () => {
    const s = master({ lowerPrioNoAdvert: true });
    const t = s.nowMs;
    s.event(adv(90));
    expect(s.sent(t)).toEqual([]);
    expect(s.state.state).toBe('MASTER');
  });
  it('priority 0 received → immediate advert', () => {
    const s = master();
    const t = s.nowMs;
    s.event(adv(0));
    expect(s.sent(t)).toEqual([100]);
    expect(s.state.state).toBe('MASTER');
  });
  it('vrrp_strict: an owner ignores adverts; strict implies lower_prio_no_advert', () => {
    const o = new Sim(base({ strict: true, basePriority: 255, wantMaster: true }));
    o.event({ type: 'start' });
    o.advance(0);
    o.advance(10);
    const t = o.nowMs;
    o.event(adv(255));
    o.event(adv(0));
    expect(o.state.state).toBe('MASTER');
    expect(o.sent(t)).toEqual([]);
    expect(base({ strict: true }).lowerPrioNoAdvert).toBe(true);
    expect(base({ strict: true, preemptDelayMs: 5000 }).preemptDelayMs).toBe(0);
  });
  it('state MASTER clears nopreempt and preempt_delay', () => {
    expect(base({ wantMaster: true, nopreempt: true, preemptDelayMs: 3000 })).toMatchObject({ nopreempt: false, preemptDelayMs: 0 });
  });
  it('an externally deleted VIP → BACKUP', () => {
    const s = master();
    s.event({ type: 'vipRemoved', address: '192.168.60.200' });
    expect(s.state.state).toBe('BACKUP');
  });
});

describe('stop', () => {
  it('MASTER sends priority 0, removes VIPs, notifies STOP', () => {
    const s = new Sim(base());
    s.event({ type: 'start' });
    s.advance(4000);
    const a = s.event({ type: 'stop' });
    const types = a.map((x) => x.type);
    expect(types.indexOf('sendAdvert')).toBeLessThan(types.indexOf('removeVips'));
    expect(a).toContainEqual({ type: 'sendAdvert', priority: 0 });
    expect(s.logs()).toContain('(VI_1) sent 0 priority');
    expect(a).toContainEqual({ type: 'notify', state: 'STOP', priority: 100 });
    expect(s.state.state).toBe('STOP');
    expect(s.event(adv(200))).toEqual([]);
  });
  it('BACKUP sends nothing on stop', () => {
    const s = new Sim(base());
    s.event({ type: 'start' });
    const a = s.event({ type: 'stop' });
    expect(a.filter((x) => x.type === 'sendAdvert')).toEqual([]);
  });
  it('the input state is not mutated', () => {
    const cfg = base();
    const s0 = initialState(cfg);
    const copy = JSON.stringify(s0);
    step(cfg, s0, { type: 'start' }, 0);
    expect(JSON.stringify(s0)).toBe(copy);
  });
});

describe('tracking (vrrp_track.c)', () => {
  const trackers = [
    { name: 'script:chk', weight: -20 },
    { name: 'script:plus', weight: 10 },
    { name: 'if:eth0', weight: 0 },
    { name: 'script:rev', weight: -5, reverse: true },
  ];
  it('effective priority = base + applicable weights, clamped 1..254', () => {
    const s = new Sim(base({ trackers }), { 'script:plus': false, 'script:rev': true });
    s.event({ type: 'start' });
    expect(s.state.effectivePriority).toBe(100);
    s.event({ type: 'tracker', name: 'script:chk', up: false });
    expect(s.state.effectivePriority).toBe(80);
    expect(s.logs()).toContain('(VI_1) Changing effective priority from 100 to 80');
    s.event({ type: 'tracker', name: 'script:plus', up: true });
    expect(s.state.effectivePriority).toBe(90);
    // reverse negates the adjustment: weight -5 reverse adds 5 while down
    s.event({ type: 'tracker', name: 'script:rev', up: false });
    expect(s.state.effectivePriority).toBe(95);
    const rp = new Sim(base({ trackers: [{ name: 'r', weight: 10, reverse: true }] }));
    expect(rp.state.effectivePriority).toBe(90);
    const low = new Sim(base({ basePriority: 10, trackers: [{ name: 'a', weight: -50 }] }), { a: false });
    expect(low.state.effectivePriority).toBe(1);
    const high = new Sim(base({ basePriority: 250, trackers: [{ name: 'a', weight: 50 }] }));
    expect(high.state.effectivePriority).toBe(254);
    const owner = new Sim(base({ basePriority: 255, trackers: [{ name: 'a', weight: -50 }] }), { a: false });
    expect(owner.state.effectivePriority).toBe(255);
  });
  it('a MASTER whose priority drops keeps MASTER and advertises the new priority', () => {
    const s = new Sim(base({ trackers }), { 'script:plus': false, 'script:rev': true });
    s.event({ type: 'start' });
    s.advance(4000);
    s.event({ type: 'tracker', name: 'script:chk', up: false });
    expect(s.state.state).toBe('MASTER');
    const t = s.nowMs;
    s.advance(1000);
    expect(s.sent(t)).toEqual([80]);
  });
  it('weight-0 tracker down → FAULT (MASTER sends priority 0 first); back up → BACKUP', () => {
    const s = new Sim(base({ trackers }), { 'script:plus': false, 'script:rev': true });
    s.event({ type: 'start' });
    s.advance(4000);
    const a = s.event({ type: 'tracker', name: 'if:eth0', up: false });
    expect(s.state.state).toBe('FAULT');
    expect(a).toContainEqual({ type: 'sendAdvert', priority: 0 });
    expect(a).toContainEqual({ type: 'removeVips', reason: 'fault' });
    expect(a).toContainEqual({ type: 'notify', state: 'FAULT', priority: 100 });
    expect(s.timers.size).toBe(0);
    s.advance(10_000);
    expect(s.state.state).toBe('FAULT');
    s.event({ type: 'tracker', name: 'if:eth0', up: true });
    expect(s.state.state).toBe('BACKUP');
    s.advance(3610);
    expect(s.state.state).toBe('MASTER');
  });
});

describe('sync groups (vrrp_sync.c)', () => {
  it('one member FAULT → group FAULT; recovery → all BACKUP', () => {
    const members = [{ name: 'VI_1', state: 'MASTER' as const, ownFault: true }, { name: 'VI_2', state: 'MASTER' as const, ownFault: false }];
    const r = syncGroupStep({ name: 'VG', faulted: false }, members, [{ member: 'VI_1', from: 'MASTER', to: 'FAULT', reason: 'tracker' }]);
    expect(r.group.faulted).toBe(true);
    expect(r.events).toEqual([
      { member: 'VI_1', event: { type: 'groupFault', fault: true } },
      { member: 'VI_2', event: { type: 'groupFault', fault: true } },
    ]);
    const r2 = syncGroupStep(r.group, members.map((m) => ({ ...m, ownFault: false, state: 'FAULT' as const })), []);
    expect(r2.group.faulted).toBe(false);
    expect(r2.events.map((e) => e.event)).toEqual([{ type: 'groupFault', fault: false }, { type: 'groupFault', fault: false }]);
  });
  it('one member to MASTER → the others follow; one to BACKUP → the others follow', () => {
    const r = syncGroupStep(
      { name: 'VG', faulted: false },
      [{ name: 'VI_1', state: 'MASTER', ownFault: false }, { name: 'VI_2', state: 'BACKUP', ownFault: false }],
      [{ member: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer' }],
    );
    expect(r.events).toEqual([{ member: 'VI_2', event: { type: 'groupForce', to: 'MASTER' } }]);
    expect(r.logs).toEqual(['VRRP_Group(VG) Syncing instances to MASTER state']);
    const r2 = syncGroupStep(
      { name: 'VG', faulted: false },
      [{ name: 'VI_1', state: 'BACKUP', ownFault: false }, { name: 'VI_2', state: 'MASTER', ownFault: false }],
      [{ member: 'VI_1', from: 'MASTER', to: 'BACKUP', reason: 'higher priority advert' }],
    );
    expect(r2.events).toEqual([{ member: 'VI_2', event: { type: 'groupForce', to: 'BACKUP' } }]);
    // forced transitions do not re-trigger
    expect(syncGroupStep({ name: 'VG', faulted: false }, [], [{ member: 'VI_2', from: 'MASTER', to: 'BACKUP', reason: 'sync group' }]).events).toEqual([]);
  });
  it('machines obey group events', () => {
    const s = new Sim(base());
    s.event({ type: 'start' });
    s.event({ type: 'groupForce', to: 'MASTER' });
    expect(s.state.state).toBe('MASTER');
    s.event({ type: 'groupFault', fault: true });
    expect(s.state.state).toBe('FAULT');
    s.event({ type: 'groupFault', fault: false });
    expect(s.state.state).toBe('BACKUP');
    s.event({ type: 'groupForce', to: 'MASTER' });
    s.event({ type: 'groupForce', to: 'BACKUP' });
    expect(s.state.state).toBe('BACKUP');
  });
});

describe('two simulated routers on one wire', () => {
  it('elect the higher priority, fail over on loss, and hand back with preempt', () => {
    // a: 150, b: 100. Wire: every sendAdvert is delivered to the other at the same instant.
    const a = new Sim(base({ name: 'A', basePriority: 150, sourceAddress: '10.0.0.1' }));
    const b = new Sim(base({ name: 'B', basePriority: 100, sourceAddress: '10.0.0.2' }));
    let aUp = true;
    let t = 0;
    a.event({ type: 'start' });
    b.event({ type: 'start' });
    const tick = (ms: number) => {
      for (let i = 0; i < ms; i++) {
        const la = a.log.length;
        const lb = b.log.length;
        a.advance(1);
        b.advance(1);
        t++;
        if (aUp) for (const e of a.log.slice(la)) if (e.action.type === 'sendAdvert') b.event({ type: 'advert', advert: advert({ priority: e.action.priority }), source: '10.0.0.1' });
        for (const e of b.log.slice(lb)) if (e.action.type === 'sendAdvert' && aUp) a.event({ type: 'advert', advert: advert({ priority: e.action.priority }), source: '10.0.0.2' });
      }
    };
    tick(5000);
    expect([a.state.state, b.state.state]).toEqual(['MASTER', 'BACKUP']);
    aUp = false;
    const lost = t;
    tick(5000);
    expect(b.state.state).toBe('MASTER');
    const took = b.firstAt((x) => x.type === 'addVips', lost)!;
    // last advert from A was at most 1 s before the loss; B takes over ≤ 3.609 s after that advert
    expect(took - lost).toBeLessThanOrEqual(3610);
    aUp = true;
    tick(3000);
    expect([a.state.state, b.state.state]).toEqual(['MASTER', 'BACKUP']);
  });
});

describe('reload of a kept instance (reconfigure)', () => {
  const master = (cfg: MachineConfig): Sim => {
    const s = new Sim(cfg);
    s.event({ type: 'start' });
    s.advance(4000);
    expect(s.state.state).toBe('MASTER');
    return s;
  };

  it('the same settings change nothing: no action, the advert timer untouched', () => {
    const s = master(base());
    expect(reconfigure(base(), base(), s.state, {}, s.nowMs)).toEqual({ state: s.state, actions: [] });
  });

  it('a MASTER keeps its state and advertises a new priority on its schedule (no extra advert)', () => {
    const s = master(base());
    const r = reconfigure(base(), base({ basePriority: 50 }), s.state, {}, s.nowMs);
    expect(r.state.state).toBe('MASTER');
    expect(r.state.effectivePriority).toBe(50);
    expect(r.actions).toEqual([
      { type: 'log', level: 'info', text: '(VI_1) Changing effective priority from 100 to 50' },
      { type: 'priorityChanged', from: 100, to: 50 },
    ]);
  });

  it('a changed advert_int on a MASTER: one advert now, then the new interval', () => {
    const s = master(base());
    const r = reconfigure(base(), base({ advertIntCs: 200 }), s.state, {}, s.nowMs);
    expect(r.actions.filter((a) => a.type !== 'log')).toEqual([
      { type: 'sendAdvert', priority: 100 },
      { type: 'setTimer', kind: 'adver', ms: 2000 },
    ]);
    expect(r.state.masterAdverIntCs).toBe(200);
  });

  it('a v3 BACKUP keeps the interval learned from its master; a weight-0 tracker down means FAULT', () => {
    const v3 = base({ version: 3 });
    const s = new Sim(v3);
    s.event({ type: 'start' });
    s.event(adv(200, { version: 3, advertIntCs: 50 }));
    expect(s.state.masterAdverIntCs).toBe(50);
    const tracked = base({ version: 3, advertIntCs: 200, trackers: [{ name: 'script:chk#0', weight: 0 }] });
    const kept = reconfigure(v3, tracked, s.state, { 'script:chk#0': true }, s.nowMs);
    expect(kept.state.masterAdverIntCs).toBe(50);
    expect(kept.actions).toEqual([]);
    const down = reconfigure(v3, tracked, s.state, { 'script:chk#0': false }, s.nowMs);
    expect(down.state.state).toBe('FAULT');
    expect(down.actions).toContainEqual({ type: 'notify', state: 'FAULT', priority: 100 });
  });

  it('a deleted MASTER sends priority 0, releases its VIPs and notifies FAULT (DELETED with notify_deleted)', () => {
    for (const [notifyDeleted, state] of [[false, 'FAULT'], [true, 'DELETED']] as const) {
      const s = master(base());
      const a = s.event({ type: 'delete', notifyDeleted });
      expect(a.filter((x) => x.type !== 'cancelTimer' && x.type !== 'log')).toEqual([
        { type: 'sendAdvert', priority: 0 },
        { type: 'removeVips', reason: 'deleted' },
        { type: 'transition', from: 'MASTER', to: 'STOP', reason: 'deleted' },
        { type: 'notify', state, priority: 100 },
      ]);
    }
  });
});
