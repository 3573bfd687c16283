// SIGHUP reload of the VRRP engine (issue #6, "reload without flapping"), on the fake wire and clock of
// engine-harness.ts. Every assertion is on what a peer or the kernel would see: adverts on the wire,
// the VIP table and its add/remove operations, notify and state-change events.
import { describe, expect, it } from 'vitest';
import type { TrackScriptSource } from '../../../src/daemon/vrrp-engine.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { TrackScriptRunner } from '../../../src/scripts/track-script.js';
import { FakeTimers } from '../../../src/vrrp/timers.js';
import { acceptAllPreparer, FakeClock, FakeSpawner } from '../scripts/helpers.js';
import { Node, parse, run, Wire } from './engine-harness.js';

const A = '192.168.60.111';
const B = '192.168.60.112';

interface InstanceText {
  name?: string;
  vrid?: number;
  prio: number;
  vips?: string[];
  advertInt?: number;
  extra?: string;
}

/** One vrrp_instance block (BACKUP, eth0, PASS auth, /24 VIPs). */
function instance(o: InstanceText): string {
  return `
vrrp_instance ${o.name ?? 'VI_1'} {
  state BACKUP
  interface eth0
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.prio}
  advert_int ${o.advertInt ?? 1}
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    ${(o.vips ?? ['192.168.60.200']).map((v) => `${v}/24`).join('\n    ')}
  }
  ${o.extra ?? ''}
}
`;
}

/** Two nodes on one wire, A's config first; both converged (A MASTER when its priority is higher). */
async function pair(aConf: string, bConf: string): Promise<{ t: FakeTimers; wire: Wire; a: Node; b: Node }> {
  const t = new FakeTimers();
  const wire = new Wire(t);
  const a = new Node(wire, A);
  const b = new Node(wire, B);
  await a.start(aConf);
  await b.start(bConf);
  await run(t, 5000, 1);
  return { t, wire, a, b };
}

function maxGap(times: number[]): number {
  return Math.max(...times.slice(1).map((x, i) => x - times[i]!));
}

const removals = (n: Node, since = 0): string[] => n.vipOps.filter((o) => o.op === 'remove' && o.at >= since).map((o) => o.address);

describe('VrrpEngine.reload', () => {
  it('100 reloads of an unchanged config while a peer watches: no state change, no VIP removal, no advert gap', async () => {
    const aConf = instance({ prio: 150 });
    const bConf = instance({ prio: 100 });
    const { t, wire, a, b } = await pair(aConf, bConf);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    const since = t.now();
    const changesA = a.changes.length;
    const changesB = b.changes.length;
    for (let i = 0; i < 100; i++) {
      await a.reload(aConf);
      if (i % 10 === 0) await b.reload(bConf);
      // 137 ms steps put the reloads at every phase of the 1 s advert schedule.
      await run(t, 137, 1);
    }
    expect(a.changes.length - changesA).toBe(0);
    expect(b.changes.length - changesB).toBe(0);
    expect(removals(a, since)).toEqual([]);
    expect([...a.vips.keys()]).toEqual(['192.168.60.200']);
    const adverts = wire.adverts(A).filter((x) => x.at >= since - 1000);
    expect(adverts.length).toBeGreaterThan(12);
    expect(adverts.every((x) => x.priority === 150)).toBe(true);
    expect(maxGap(adverts.map((x) => x.at))).toBeLessThanOrEqual(1000 + 10);
    // The peer never stood up.
    expect(wire.adverts(B).filter((x) => x.at >= since)).toEqual([]);
  });

  it('adding a VIP to a MASTER adds and announces it, removing one releases only that one', async () => {
    const { t, wire, a, b } = await pair(instance({ prio: 150 }), instance({ prio: 100 }));
    const since = t.now();
    await a.reload(instance({ prio: 150, vips: ['192.168.60.200', '192.168.60.201'] }));
    await b.reload(instance({ prio: 100, vips: ['192.168.60.200', '192.168.60.201'] }));
    await run(t, 2000, 1);
    expect([...a.vips.keys()].sort()).toEqual(['192.168.60.200', '192.168.60.201']);
    expect(a.announced.filter((x) => x.at >= since && x.address === '192.168.60.201').length).toBe(5);
    expect(a.announced.filter((x) => x.at >= since && x.address === '192.168.60.200').length).toBe(0);
    expect(b.vips.size).toBe(0); // a BACKUP adds nothing
    // The adverts now carry both addresses (count byte).
    expect(wire.sent.filter((s) => s.src === A).at(-1)!.payload[3]).toBe(2);
    expect(removals(a, since)).toEqual([]);

    const before = t.now();
    await a.reload(instance({ prio: 150, vips: ['192.168.60.200'] }));
    await run(t, 2000, 1);
    expect(removals(a, before)).toEqual(['192.168.60.201']);
    expect([...a.vips.keys()]).toEqual(['192.168.60.200']);
    expect(a.state()).toBe('MASTER');
    expect(a.lines()).toContain('Reload: (VI_1) VIPs removed 192.168.60.201/24');
  });

  it('priority changes apply under the normal rules: a raised BACKUP preempts, a lowered MASTER is preempted', async () => {
    const { t, a, b } = await pair(instance({ prio: 150 }), instance({ prio: 100 }));
    await b.reload(instance({ prio: 200 }));
    expect(b.state()).toBe('BACKUP'); // no jump: it waits for its down timer like any preempting backup
    await run(t, 5000, 1);
    expect([a.state(), b.state()]).toEqual(['BACKUP', 'MASTER']);
    expect(b.lines()).toContain('(VI_1) received lower priority (150) advert from 192.168.60.111 - discarding');
    expect([...b.vips.keys()]).toEqual(['192.168.60.200']);
    expect(a.vips.size).toBe(0);

    // Now B is MASTER at 200; lowering it to 50 hands mastership back to A (preempt).
    await b.reload(instance({ prio: 50 }));
    expect(b.lines()).toContain('(VI_1) Changing effective priority from 200 to 50');
    await run(t, 5000, 1);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);

    // With nopreempt the raised backup stays BACKUP.
    await b.reload(instance({ prio: 250, extra: 'nopreempt' }));
    await run(t, 5000, 1);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
  });

  it('an added instance starts as at start-up (stale VIPs removed first) without touching the others', async () => {
    const { t, a } = await pair(instance({ prio: 150 }), instance({ prio: 100 }));
    a.vips.set('192.168.60.210', { family: 'inet', address: '192.168.60.210', prefixLength: 24, interface: 'eth0' }); // stale
    const changes = a.changes.length;
    const since = t.now();
    await a.reload(instance({ prio: 150 }) + instance({ name: 'VI_2', vrid: 52, prio: 150, vips: ['192.168.60.210'] }));
    expect(a.lines()).toContain('Reload: (VI_2) added');
    expect(a.lines()).toContain('(VI_2) Entering BACKUP STATE (init)');
    await run(t, 1, 1);
    expect(removals(a, since)).toEqual(['192.168.60.210']);
    await run(t, 5000, 1);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
    expect(a.vips.has('192.168.60.210')).toBe(true);
    expect(a.changes.slice(changes).map((c) => `${c.instance} ${c.from}->${c.to}`)).toEqual(['VI_2 INIT->BACKUP', 'VI_2 BACKUP->MASTER']);
  });

  it('a removed MASTER instance sends priority 0, releases its VIPs, and the peer takes over after Skew_Time', async () => {
    const { t, wire, a, b } = await pair(instance({ prio: 150 }), instance({ prio: 100 }));
    const at = t.now();
    await a.reload(instance({ name: 'VI_2', vrid: 52, prio: 150, vips: ['192.168.60.210'] }));
    expect(wire.adverts(A).at(-1)).toEqual({ at, priority: 0 });
    expect(a.lines()).toContain('(VI_1) sent 0 priority');
    expect(a.vips.has('192.168.60.200')).toBe(false);
    expect(a.engine.instances.has('VI_1')).toBe(false);
    // keepalived notifies a deleted instance as FAULT (DELETED only with notify_deleted); the state change says it is gone.
    expect(a.notifies.at(-2)).toEqual({ instance: 'VI_1', state: 'FAULT', priority: 150 });
    expect(a.changes.find((c) => c.instance === 'VI_1' && c.to === 'STOP')).toMatchObject({ reason: 'deleted', deleted: true });
    await run(t, 1000, 1);
    expect(b.state()).toBe('MASTER');
    expect(b.lines()).toContain('(VI_1) Backup received priority 0 advertisement');
    // skew for 100: 156/256 s = 609.375 ms (+ wire latency)
    expect(wire.adverts(B).find((x) => x.at > at)!.at - at).toBeCloseTo(609.375 + 0.1, 3);
    // No more VRID 51 adverts from A.
    await run(t, 3000, 5);
    expect(wire.adverts(A).filter((x) => x.at > at)).toEqual([]);
  });

  it('notify_deleted makes a removed instance notify DELETED', async () => {
    const { a } = await pair(instance({ prio: 150, extra: 'notify_deleted "/bin/true"' }), instance({ prio: 100 }));
    await a.reload(instance({ name: 'VI_2', vrid: 52, prio: 150, vips: ['192.168.60.210'] }));
    expect(a.notifies.filter((n) => n.instance === 'VI_1').at(-1)).toEqual({ instance: 'VI_1', state: 'DELETED', priority: 150 });
  });

  it('a renamed instance (same VRID, family, interface) keeps MASTER and its advert schedule', async () => {
    const { t, wire, a, b } = await pair(instance({ prio: 150 }), instance({ prio: 100 }));
    const since = t.now();
    const changes = a.changes.length;
    await a.reload(instance({ name: 'VI_MAIN', prio: 150 }));
    expect(a.lines()).toContain('Reload: (VI_MAIN) renamed from VI_1');
    await run(t, 3000, 1);
    expect(a.state('VI_MAIN')).toBe('MASTER');
    expect(a.engine.instances.has('VI_1')).toBe(false);
    expect(a.changes.length).toBe(changes);
    expect(removals(a, since)).toEqual([]);
    expect(maxGap(wire.adverts(A).filter((x) => x.at >= since - 1000).map((x) => x.at))).toBeLessThanOrEqual(1010);
    expect(b.state()).toBe('BACKUP');
    // The new name is used from now on (logs, stats).
    expect(Object.keys(a.engine.stats())).toEqual(['VI_MAIN']);
    expect(a.engine.configuration.vrrpInstances.map((i) => i.name)).toEqual(['VI_MAIN']);
  });

  it('a VIP moved between instances is never removed while its new owner is MASTER here', async () => {
    const two = (vi1: string[], vi2?: string[]) =>
      instance({ prio: 150, vips: vi1 }) + (vi2 ? instance({ name: 'VI_2', vrid: 52, prio: 150, vips: vi2 }) : '');
    const t = new FakeTimers();
    const a = new Node(new Wire(t), A);
    await a.start(two(['192.168.60.200'], ['192.168.60.210', '192.168.60.211']));
    await run(t, 5000, 1);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
    const since = t.now();
    // kept → kept: .210 moves from VI_2 to VI_1.
    await a.reload(two(['192.168.60.200', '192.168.60.210'], ['192.168.60.211']));
    expect(a.lines()).toContain('Reload: VIP 192.168.60.210/24 moves from (VI_2) to (VI_1)');
    await run(t, 1000, 1);
    // removed → kept: VI_2 goes, .211 moves to VI_1.
    await a.reload(two(['192.168.60.200', '192.168.60.210', '192.168.60.211']));
    await run(t, 1000, 1);
    expect(a.lines()).toContain('(VI_2) sent 0 priority');
    expect(removals(a, since)).toEqual([]);
    expect([...a.vips.keys()].sort()).toEqual(['192.168.60.200', '192.168.60.210', '192.168.60.211']);
    expect(a.state('VI_1')).toBe('MASTER');
    // Later VIP changes still belong to VI_1: a fault removes them all.
    a.setLink(false);
    await run(t, 10, 1);
    expect(a.vips.size).toBe(0);
  });

  it('a kept track script that is down stays down across the reload (no FAULT or recovery blip)', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const scriptSource = (status: Record<string, 'up' | 'down' | 'init'>) => {
      const s = { status: (n: string) => status[n], fire: (_n: string, _up: boolean) => undefined as void };
      const source: TrackScriptSource = {
        status: s.status,
        onChange: (l) => {
          s.fire = (n, up) => l(n, { up });
          return () => void (s.fire = () => undefined);
        },
      };
      return { source, fire: (n: string, up: boolean) => s.fire(n, up) };
    };
    const text = `vrrp_script chk { script "/bin/true"
  weight -60 }
vrrp_script chk0 { script "/bin/true"
  weight 0 }
${instance({ prio: 150, extra: 'track_script {\n chk\n chk0\n}' })}`;
    const a = new Node(wire, A);
    const old = scriptSource({ chk: 'up', chk0: 'up' });
    await a.start(text, old.source);
    await run(t, 5000, 1);
    expect(a.state()).toBe('MASTER');
    old.fire('chk', false);
    old.fire('chk0', false);
    expect(a.state()).toBe('FAULT');
    expect(a.engine.stats()['VI_1']!.effectivePriority).toBe(90);
    const lines = a.lines().length;
    const changes = a.changes.length;
    const notifies = a.notifies.length;
    // The new runner carried the results over (markAllSuccessfulOnReload(old.snapshot())).
    const next = scriptSource({ chk: 'down', chk0: 'down' });
    await a.reload(text, next.source);
    await run(t, 5000, 1);
    expect(a.state()).toBe('FAULT');
    expect(a.engine.stats()['VI_1']!.effectivePriority).toBe(90);
    expect(a.changes.length).toBe(changes);
    expect(a.notifies.length).toBe(notifies);
    expect(a.lines().slice(lines).filter((l) => /Entering|Changing effective priority/.test(l))).toEqual([]);
    // The old runner no longer drives the instance; the new one does.
    old.fire('chk0', true);
    expect(a.state()).toBe('FAULT');
    next.fire('chk0', true);
    expect(a.state()).toBe('BACKUP');
    next.fire('chk', true);
    expect(a.engine.stats()['VI_1']!.effectivePriority).toBe(150);
  });

  it('changed unicast peers move the instance to a new socket without an advert gap', async () => {
    const uni = (src: string, peers: string[], prio: number) =>
      instance({ prio, extra: `unicast_src_ip ${src}\n  unicast_peer {\n    ${peers.join('\n    ')}\n  }` });
    const { t, wire, a, b } = await pair(uni(A, [B], 150), uni(B, [A], 100));
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    expect(a.sockets.map((s) => s.options.unicastPeers)).toEqual([[B]]);
    const since = t.now();
    const changes = a.changes.length;
    await a.reload(uni(A, [B, '192.168.60.113'], 150));
    expect(a.lines()).toContain('Reload: (VI_1) unicast peers changed');
    await run(t, 3000, 1);
    expect(a.sockets.map((s) => [s.options.unicastPeers, s.closed])).toEqual([
      [[B], true],
      [[B, '192.168.60.113'], false],
    ]);
    expect(a.sockets[1]!.sent).toBeGreaterThanOrEqual(3);
    expect(a.changes.length).toBe(changes);
    expect(maxGap(wire.adverts(A).filter((x) => x.at >= since - 1000).map((x) => x.at))).toBeLessThanOrEqual(1010);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    // The new socket receives too: a higher-priority peer on it still wins.
    await b.reload(uni(B, [A], 200));
    await run(t, 5000, 1);
    expect([a.state(), b.state()]).toEqual(['BACKUP', 'MASTER']);
  });

  it('an instance whose new configuration cannot be applied keeps the previous one; the others are applied', async () => {
    const uni = (peers: string[], prio: number) => instance({ prio, extra: `unicast_src_ip ${A}\n  unicast_peer {\n    ${peers.join('\n    ')}\n  }` });
    const { t, a } = await pair(uni([B], 150), uni([A], 100).replace(`unicast_src_ip ${A}`, `unicast_src_ip ${B}`));
    a.refuseSocket = (o) => (o.unicastPeers ?? []).includes('192.168.60.99');
    const added = instance({ name: 'VI_2', vrid: 52, prio: 150, vips: ['192.168.60.210'] });
    await a.reload(uni([B, '192.168.60.99'], 120) + added);
    expect(a.lines()).toContain('(VI_1) cannot apply the new configuration, keeping the previous one: Network is unreachable');
    await run(t, 5000, 1);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
    expect(a.engine.stats()['VI_1']!.basePriority).toBe(150);
    expect(a.engine.configuration.vrrpInstances.map((i) => [i.name, i.priority])).toEqual([
      ['VI_1', 150],
      ['VI_2', 150],
    ]);
    // The next reload tries again (and succeeds once the socket opens).
    a.refuseSocket = () => false;
    await a.reload(uni([B, '192.168.60.99'], 120) + added);
    expect(a.engine.stats()['VI_1']!.basePriority).toBe(120);
  });

  it('a changed advert_int takes effect at once on a MASTER (advert now, then the new interval), without a flap', async () => {
    const { t, wire, a, b } = await pair(instance({ prio: 150 }), instance({ prio: 100 }));
    const changes = [a.changes.length, b.changes.length];
    const at = t.now();
    await a.reload(instance({ prio: 150, advertInt: 2 }));
    await b.reload(instance({ prio: 100, advertInt: 2 }));
    expect(wire.adverts(A).at(-1)!.at).toBe(at);
    await run(t, 10_000, 1);
    const after = wire.adverts(A).filter((x) => x.at >= at).map((x) => x.at - at);
    expect(after).toEqual([0, 2000, 4000, 6000, 8000, 10000]);
    expect([a.changes.length, b.changes.length]).toEqual(changes);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
  });

  it('sync groups are rebuilt for the new membership without disturbing kept members', async () => {
    const t = new FakeTimers();
    let listener: (name: string, c: { up: boolean }) => void = () => undefined;
    const status: Record<string, 'up' | 'down'> = { chk0: 'up' };
    const scripts: TrackScriptSource = { status: (n) => status[n], onChange: (l) => ((listener = l), () => undefined) };
    const text = (members: string[]) => `vrrp_script chk0 { script "/bin/true"
  weight 0 }
vrrp_sync_group VG {
  group {
    ${members.join('\n    ')}
  }
}
${instance({ prio: 150, extra: 'track_script {\n chk0\n}' })}
${instance({ name: 'VI_2', vrid: 52, prio: 150, vips: ['192.168.60.210'] })}`;
    const a = new Node(new Wire(t), A);
    await a.start(text(['VI_1', 'VI_2']), scripts);
    await run(t, 5000, 1);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
    const changes = a.changes.length;
    await a.reload(text(['VI_1']), scripts);
    await run(t, 100, 1);
    expect(a.changes.length).toBe(changes);
    // VI_2 left the group: VI_1's fault no longer drags it along.
    status['chk0'] = 'down';
    listener('chk0', { up: false });
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['FAULT', 'MASTER']);
    // Joining a faulted group: FAULT; leaving it again: BACKUP, then MASTER on its own.
    await a.reload(text(['VI_1', 'VI_2']), scripts);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['FAULT', 'FAULT']);
    await a.reload(text(['VI_1']), scripts);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['FAULT', 'BACKUP']);
    await run(t, 5000, 1);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['FAULT', 'MASTER']);
  });

  it('a stop during a reload wins: what the reload opened is closed, nothing new starts', async () => {
    const { t, wire, a } = await pair(instance({ prio: 150 }), instance({ prio: 100 }));
    let open!: () => void;
    a.socketGate = new Promise((r) => (open = r));
    const reloading = a.reload(instance({ prio: 150 }) + instance({ name: 'VI_2', vrid: 52, prio: 150, vips: ['192.168.60.210'], extra: 'unicast_peer {\n 192.168.60.112\n}' }));
    await run(t, 10, 1);
    await a.engine.stop();
    open();
    await reloading;
    await run(t, 5000, 1);
    expect(wire.adverts(A).at(-1)!.priority).toBe(0);
    expect(wire.adverts(A, 52)).toEqual([]);
    expect(a.vips.size).toBe(0);
    expect(a.sockets.map((s) => s.closed)).toEqual([true, true]);
  });

  it('with real vrrp_script runners handed over as the daemon does, a failing script stays down through the reload', async () => {
    const text = `vrrp_script chk { script "/bin/chk"
  weight -60 }
vrrp_script chk0 { script "/bin/chk0"
  weight 0 }
${instance({ prio: 150, extra: 'track_script {\n chk\n chk0\n}' })}`;
    const clock = new FakeClock();
    const spawner = new FakeSpawner();
    const runner = () =>
      new TrackScriptRunner({ scripts: parse(text).vrrpScripts, preparer: acceptAllPreparer, logger: createMemoryLogger(), clock, spawner: spawner.spawn });
    /** Finish the pending run of each script with these exit codes. */
    const finish = async (codes: Record<string, number>): Promise<void> => {
      for (const r of spawner.runs.filter((x) => !x.done)) r.finish({ code: codes[r.script.configured.split('/').pop()!] ?? 0 });
      await clock.advance(0);
    };
    const t = new FakeTimers();
    const a = new Node(new Wire(t), A);
    const old = runner();
    old.start();
    await finish({ chk: 0, chk0: 0 });
    await a.start(text, old);
    await run(t, 5000, 1);
    expect(a.state()).toBe('MASTER');
    await clock.advance(1000);
    await finish({ chk: 1, chk0: 1 });
    expect(a.state()).toBe('FAULT');
    const changes = a.changes.length;
    const lines = a.lines().length;

    const next = runner();
    next.markAllSuccessfulOnReload(old.snapshot());
    await a.reload(text, next);
    next.start();
    await old.stop();
    await finish({ chk: 1, chk0: 1 }); // the new runner's first results: still failing
    await run(t, 5000, 1);
    expect(a.state()).toBe('FAULT');
    expect(a.engine.stats()['VI_1']!.effectivePriority).toBe(90);
    expect(a.changes.length).toBe(changes);
    expect(a.lines().slice(lines).filter((l) => /Entering|Changing effective priority/.test(l))).toEqual([]);
    // The new runner drives the instance: chk0 recovers → BACKUP, then MASTER with no peer.
    await clock.advance(1000);
    await finish({ chk: 0, chk0: 0 });
    expect(a.state()).toBe('BACKUP');
    await run(t, 5000, 1);
    expect([a.state(), a.engine.stats()['VI_1']!.effectivePriority]).toEqual(['MASTER', 150]);
  });
});
