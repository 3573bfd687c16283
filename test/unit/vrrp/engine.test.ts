// The engine + instances with fake adapters on a fake wire and a fake clock (engine-harness.ts).
import { describe, expect, it } from 'vitest';
import type { TrackScriptSource } from '../../../src/daemon/vrrp-engine.js';
import { encodeAdvert } from '../../../src/vrrp/packet.js';
import { FakeTimers, type TimerHost } from '../../../src/vrrp/timers.js';
import { conf, LATENCY_MS, Node, run, Wire } from './engine-harness.js';

/** A (150) MASTER and B (90) BACKUP after election; `callbackDelayMs` as Wire's. */
async function masterAndBackup(callbackDelayMs: number): Promise<{ t: FakeTimers; wire: Wire; a: Node; b: Node }> {
  const t = new FakeTimers();
  const wire = new Wire(t);
  wire.callbackDelayMs = callbackDelayMs;
  const a = new Node(wire, '192.168.60.111');
  const b = new Node(wire, '192.168.60.112');
  await a.start(conf(150));
  await b.start(conf(90));
  await run(t, 5000, 1);
  expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
  return { t, wire, a, b };
}

describe('VrrpEngine on a fake wire', () => {
  it('elects, fails over on link loss with priority 0, and preempts back', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    const b = new Node(wire, '192.168.60.112');
    await a.start(conf(150));
    await b.start(conf(100));
    expect(a.lines()).toContain('(VI_1) removing VIPs.');
    expect(a.lines()).toContain('(VI_1) Entering BACKUP STATE (init)');
    await run(t, 5000);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    expect([...a.vips.keys()]).toEqual(['192.168.60.200']);
    expect(b.vips.size).toBe(0);
    expect(a.lines()).toContain('(VI_1) setting VIPs.');
    expect(a.lines()).toContain('(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.60.200');
    expect(a.announced.length).toBe(5);
    // A's interface goes down: FAULT; it still gets a priority-0 advert out only if the link is up, so B waits the full interval.
    const down = t.now();
    a.setLink(false);
    expect(a.state()).toBe('FAULT');
    await run(t, 4000);
    expect(b.state()).toBe('MASTER');
    expect([...b.vips.keys()]).toEqual(['192.168.60.200']);
    expect(a.vips.size).toBe(0);
    const took = b.log.lines.findIndex((l) => l.msg === '(VI_1) Entering MASTER STATE');
    expect(took).toBeGreaterThan(0);
    expect(t.now() - down).toBeGreaterThan(3609);
    // Link back: A returns to BACKUP, hears B's lower adverts, discards them and preempts.
    a.setLink(true);
    await run(t, 5000);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    expect(a.lines()).toContain('(VI_1) received lower priority (100) advert from 192.168.60.112 - discarding');
    expect(b.lines()).toContain('(VI_1) Master received advert from 192.168.60.111 with higher priority 150, ours 100');
    expect(b.vips.size).toBe(0);
  });

  it('graceful stop: priority 0, the peer takes over after Skew_Time', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    const b = new Node(wire, '192.168.60.112');
    await a.start(conf(150));
    await b.start(conf(90));
    await run(t, 5000, 1);
    const stopAt = t.now();
    const stopping = a.engine.stop();
    await run(t, 2, 1);
    await stopping;
    expect(a.lines()).toContain('(VI_1) sent 0 priority');
    expect(a.vips.size).toBe(0);
    expect(wire.sent.filter((s) => s.src === a.src).at(-1)!.payload[2]).toBe(0);
    await run(t, 1000, 1);
    expect(b.state()).toBe('MASTER');
    expect(b.lines()).toContain('(VI_1) Backup received priority 0 advertisement');
    const firstB = wire.sent.find((s) => s.src === b.src && s.at > stopAt)!;
    // skew for 90: 166/256 s = 648.4375 ms (+ wire latency)
    expect(firstB.at - stopAt).toBeCloseTo(648.4375 + LATENCY_MS, 3);
  });

  it("takeover order: advert, virtual servers, VIPs, sync daemon master; leaving: sync daemon backup, VIPs removed, then the state is done", async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    const b = new Node(wire, '192.168.60.112');
    const events: string[] = [];
    const vip = (n: Node) => (n.vips.has('192.168.60.200') ? 'VIP here' : 'no VIP');
    let release: () => void = () => undefined;
    b.takeover = {
      beforeVipsAdded: async (i) => {
        events.push(`${i} IPVS install (${vip(b)}, ${wire.adverts('192.168.60.112').filter((x) => x.priority === 90).length} adverts sent)`);
        // The kernel answers later: the VIPs wait for it.
        await new Promise<void>((r) => (release = r));
        events.push(`${i} IPVS ready (${vip(b)})`);
      },
      afterVipsAdded: (i) => void events.push(`${i} sync daemon master (${vip(b)})`),
      beforeVipsRemoved: async (i) => void events.push(`${i} sync daemon backup (${vip(b)})`),
    };
    await a.start(conf(150));
    await b.start(conf(90));
    await run(t, 5000);
    expect(events).toEqual([]); // B never was MASTER: nothing to install or to leave
    a.setLink(false);
    await run(t, 4000);
    expect(b.state()).toBe('MASTER');
    expect(events).toEqual(['VI_1 IPVS install (no VIP, 1 adverts sent)']);
    expect(b.vips.size).toBe(0);
    release();
    await run(t, 10);
    expect(events).toEqual(['VI_1 IPVS install (no VIP, 1 adverts sent)', 'VI_1 IPVS ready (no VIP)', 'VI_1 sync daemon master (VIP here)']);
    // A comes back and preempts: B leaves MASTER; the state change's VIP work ends with the VIP gone.
    a.setLink(true);
    await run(t, 5000);
    expect(b.state()).toBe('BACKUP');
    expect(events.at(-1)).toBe('VI_1 sync daemon backup (VIP here)');
    const left = b.changes.find((c) => c.from === 'MASTER');
    expect(left).toBeDefined();
    await left!.vipWorkDone();
    expect(b.vips.size).toBe(0);
  });

  it('a takeover hook that fails never keeps the VIPs away', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    a.takeover = {
      beforeVipsAdded: () => Promise.reject(new Error('boom')),
      afterVipsAdded: () => undefined,
      beforeVipsRemoved: () => Promise.reject(new Error('boom')),
    };
    await a.start(conf(150));
    await run(t, 5000);
    expect(a.state()).toBe('MASTER');
    expect([...a.vips.keys()]).toEqual(['192.168.60.200']);
    a.setLink(false);
    await run(t, 10);
    expect(a.vips.size).toBe(0);
  });

  it('keeps the advert timer exact when callbacks run late', async () => {
    const inner = new FakeTimers();
    const late: TimerHost = { now: () => inner.now(), at: (d, fn) => inner.at(d + 3, fn) };
    const wire = new Wire(inner);
    const a = new Node(wire, '192.168.60.111', late);
    await a.start(conf(150));
    await run(inner, 10_000, 1);
    const times = wire.sent.map((s) => s.at);
    expect(times.length).toBeGreaterThan(5);
    // Every timer fires 3 ms late, yet the adverts stay on the ideal 1 s grid (no cumulative drift).
    expect(times[0]).toBeCloseTo(3414.0625 + 3, 6);
    const gaps = times.slice(1).map((x, i) => x - times[i]!);
    for (const g of gaps) expect(g).toBeCloseTo(1000, 6);
  });

  it('reports timers that ran 10 ms late or more: why, once a minute per instance, and in the stats', async () => {
    const inner = new FakeTimers();
    let lateBy = 3;
    const late: TimerHost = { now: () => inner.now(), at: (d, fn) => inner.at(d + lateBy, fn) };
    const wire = new Wire(inner);
    const a = new Node(wire, '192.168.60.111', late);
    const asked: [number, number][] = [];
    a.explainStall = async (from, to) => {
      asked.push([from, to]);
      return 'a major garbage collection paused the process for 11.5 ms';
    };
    await a.start(conf(150));
    await run(inner, 10_000, 1);
    const lateLines = () => a.lines().filter((l) => l.includes(' late: '));
    // 3 ms late: counted in the worst case, not reported.
    expect(lateLines()).toEqual([]);
    expect(a.engine.stats().VI_1).toMatchObject({ lateTimers: 0, maxTimerLateMs: 3 });
    lateBy = 12;
    await run(inner, 5_000, 1);
    expect(a.state()).toBe('MASTER');
    expect(lateLines()).toEqual(['(VI_1) advert timer ran 12.0 ms late: a major garbage collection paused the process for 11.5 ms']);
    expect(asked[0]![1] - asked[0]![0]).toBe(12);
    expect(a.engine.stats().VI_1).toMatchObject({ lateTimers: 4, maxTimerLateMs: 12 });
    // A minute later: the next one, with the count of those not logged in between.
    a.explainStall = undefined;
    await run(inner, 60_000, 5);
    expect(lateLines()).toHaveLength(2);
    expect(lateLines()[1]).toMatch(/^\(VI_1\) advert timer ran 12\.0 ms late: a major garbage collection .* \(\d+ more late timers since the last report\)$/);
    expect(a.log.lines.find((l) => l.msg.includes(' late: '))?.level).toBe('warn');
  });

  it("arms Master_Down_Timer from the advert's arrival, not from a late receive callback", async () => {
    const { t, wire, a, b } = await masterAndBackup(2);
    a.setLink(false);
    await run(t, 4000, 0.5);
    expect(b.state()).toBe('MASTER');
    const lastA = wire.adverts(a.src).filter((x) => x.priority === 150).at(-1)!.at;
    const firstB = wire.adverts(b.src).find((x) => x.at > lastA)!.at;
    // 3 × 1 s + (256 − 90)/256 s after the arrival: the 2 ms the callback ran late are not added.
    expect(firstB - lastA - LATENCY_MS).toBeCloseTo(3648.4375, 3);
  });

  it('sends the takeover advert before the state-change hooks and VIP work of the same step', async () => {
    const { t, wire, a, b } = await masterAndBackup(0);
    let sentWhenHooked: number | undefined;
    b.engine.onStateChange((ev) => {
      if (ev.to === 'MASTER') sentWhenHooked = wire.adverts(b.src).length;
    });
    a.setLink(false);
    await run(t, 4000);
    expect(b.state()).toBe('MASTER');
    // The hook already sees B's first advert as MASTER on the wire.
    expect(sentWhenHooked).toBe(1);
    expect(b.vipOps.filter((o) => o.op === 'add').length).toBe(1);
  });

  it('quietWindow waits until no timer is due within the margin (a reload starts right after an advert)', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    await a.start(conf(150));
    await run(t, 5000, 1);
    expect(a.state()).toBe('MASTER');
    const last = wire.adverts(a.src).at(-1)!.at;
    // 30 ms before the next advert: the window opens only once it has gone out.
    await run(t, last + 970 - t.now(), 1);
    let openedAt: number | undefined;
    void a.engine.quietWindow(50).then(() => (openedAt = t.now()));
    await run(t, 100, 1);
    expect(openedAt).toBeDefined();
    expect(openedAt!).toBeGreaterThan(last + 1000);
    expect(wire.adverts(a.src).at(-1)!.at).toBeCloseTo(last + 1000, 6);
    // Far from any deadline it opens at once.
    let immediate = false;
    await a.engine.quietWindow(50).then(() => (immediate = true));
    expect(immediate).toBe(true);
    // A margin longer than the advert interval is capped at half of it: open right after the next advert.
    const next = wire.adverts(a.src).at(-1)!.at + 1000;
    await run(t, next - 300 - t.now(), 1); // 300 ms before it: inside the capped 500 ms margin
    let cappedAt: number | undefined;
    void a.engine.quietWindow(5000).then(() => (cappedAt = t.now()));
    await run(t, 1500, 1);
    expect(cappedAt).toBeDefined();
    expect(cappedAt!).toBeGreaterThan(next);
    expect(cappedAt!).toBeLessThan(next + 10);
  });

  it('drops and counts bad packets, keeping its state', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    await a.start(conf(150));
    await run(t, 5000);
    expect(a.state()).toBe('MASTER');
    const bad = (over: object) =>
      encodeAdvert({ version: 2, family: 'inet', vrid: 51, priority: 254, advertIntCs: 100, addresses: ['192.168.60.200'], authType: 1, authPassword: 'secret', ...over });
    wire.inject('192.168.60.9', bad({ authPassword: 'wrong' }));
    wire.inject('192.168.60.9', bad({ vrid: 52 }));
    wire.inject('192.168.60.9', bad({ advertIntCs: 300 }));
    const ck = bad({});
    ck[6] = ck[6]! ^ 1;
    wire.inject('192.168.60.9', ck);
    wire.inject('192.168.60.9', bad({}), 254);
    wire.inject('192.168.60.9', bad({}).subarray(0, 12));
    wire.inject('192.168.60.9', Buffer.from([1]));
    const st = a.engine.stats()['VI_1']!;
    for (let i = 0; i < 200; i++) wire.inject('192.168.60.9', Buffer.from(Array.from({ length: (i * 7) % 60 }, (_, j) => (i * 31 + j * 17) & 255)));
    await run(t, 3000);
    expect(a.state()).toBe('MASTER');
    expect(a.engine.stats()['VI_1']!.dropped).toBe(st.dropped + 200);
    expect(st.drops['auth-pass']).toBe(1);
    expect(st.drops['vrid']).toBeGreaterThanOrEqual(1);
    expect(st.drops['interval']).toBe(1);
    expect(st.drops['checksum']).toBe(1);
    expect(st.drops['ttl']).toBe(1);
    expect(st.drops['truncated']).toBe(1);
    expect(st.drops['too-short']).toBeGreaterThanOrEqual(1);
    expect(st.dropped).toBe(7);
    expect(a.lines()).toContain('(VI_1) received an invalid passwd! (from 192.168.60.9)');
  });

  it('a VIP deleted externally moves the MASTER to BACKUP (it wins again later); no_track does not', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    await a.start(conf(150));
    await run(t, 5000);
    a.deleteVip('192.168.60.200');
    await run(t, 10);
    expect(a.state()).toBe('BACKUP');
    await run(t, 4000);
    expect(a.state()).toBe('MASTER');
    expect(a.vips.has('192.168.60.200')).toBe(true);

    const t2 = new FakeTimers();
    const n = new Node(new Wire(t2), '192.168.60.111');
    await n.start(conf(150).replace('192.168.60.200/24', '192.168.60.200/24 no_track'));
    await run(t2, 5000);
    n.deleteVip('192.168.60.200');
    await run(t2, 10);
    expect(n.state()).toBe('MASTER');
  });

  it('track_script weight moves the priority; weight 0 failure → FAULT', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    let listener: (name: string, c: { up: boolean }) => void = () => undefined;
    const scripts: TrackScriptSource = { status: () => 'up', onChange: (l) => ((listener = l), () => undefined) };
    const a = new Node(wire, '192.168.60.111');
    await a.start(
      `vrrp_script chk { script "/bin/true"
  weight -60 }
vrrp_script chk0 { script "/bin/true"
  weight 0 }
${conf(150, 'track_script {\n chk\n chk0\n}')}`,
      scripts,
    );
    const b = new Node(wire, '192.168.60.112');
    await b.start(conf(100));
    await run(t, 5000);
    expect(a.state()).toBe('MASTER');
    listener('chk', { up: false });
    expect(a.lines()).toContain('(VI_1) Changing effective priority from 150 to 90');
    // The master does not step down by itself; B preempts after its down timer.
    expect(a.state()).toBe('MASTER');
    await run(t, 5000);
    expect([a.state(), b.state()]).toEqual(['BACKUP', 'MASTER']);
    listener('chk0', { up: false });
    expect(a.state()).toBe('FAULT');
    listener('chk0', { up: true });
    expect(a.state()).toBe('BACKUP');
  });

  it('an instance with a weight-0 track_script waits in INIT for its first result', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    let status: 'init' | 'up' | 'down' = 'init';
    let listener: (name: string, c: { up: boolean }) => void = () => undefined;
    const scripts: TrackScriptSource = { status: () => status, onChange: (l) => ((listener = l), () => undefined) };
    const a = new Node(wire, '192.168.60.111');
    await a.start(`vrrp_script chk0 { script "/bin/true"\n  weight 0 }\n${conf(150, 'track_script {\n chk0\n}')}`, scripts);
    await run(t, 5000);
    expect(a.state()).toBe('INIT');
    expect(wire.sent.length).toBe(0);
    status = 'up';
    listener('chk0', { up: true });
    expect(a.state()).toBe('BACKUP');
    expect(a.lines()).toContain('(VI_1) Entering BACKUP STATE');
    expect(a.lines()).not.toContain('(VI_1) Entering BACKUP STATE (init)');
    await run(t, 4000);
    expect(a.state()).toBe('MASTER');
  });

  it('sync group: one member faulty → all FAULT; one MASTER → all MASTER', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    await a.start(`
vrrp_sync_group VG {
  group {
    VI_1
    VI_2
  }
}
${conf(150, 'track_interface {\n eth1\n}')}
${conf(150).replace('VI_1', 'VI_2').replace('virtual_router_id 51', 'virtual_router_id 52').replace('192.168.60.200', '192.168.60.201')}
`);
    // eth1 is reported like eth0 by the fake link watcher: up.
    await run(t, 5000);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
    a.setLink(false);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['FAULT', 'FAULT']);
    a.setLink(true);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['BACKUP', 'BACKUP']);
    await run(t, 5000);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
  });

  it('garp_lower_prio_repeat/_delay: a lower advert → GARPs now and after the delay, for every sync-group member', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, '192.168.60.111');
    const garps = 'garp_master_delay 0\n  garp_lower_prio_repeat 2\n  garp_lower_prio_delay 3';
    await a.start(`
vrrp_sync_group VG {
  group {
    VI_1
    VI_2
  }
}
${conf(150, garps)}
${conf(150, garps).replace('VI_1', 'VI_2').replace('virtual_router_id 51', 'virtual_router_id 52').replace('192.168.60.200', '192.168.60.201')}
`);
    await run(t, 5000);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
    const at = t.now();
    wire.inject('192.168.60.9', encodeAdvert({ version: 2, family: 'inet', vrid: 51, priority: 50, advertIntCs: 100, addresses: ['192.168.60.200'], authType: 1, authPassword: 'secret' }));
    await run(t, 10);
    const sent = (address: string, from: number, to: number) => a.announced.filter((x) => x.address === address && x.at >= from && x.at < to).length;
    expect([sent('192.168.60.200', at, at + 10), sent('192.168.60.201', at, at + 10)]).toEqual([2, 2]);
    await run(t, 3000);
    expect([sent('192.168.60.200', at + 2990, at + 3010), sent('192.168.60.201', at + 2990, at + 3010)]).toEqual([2, 2]);
  });
});
