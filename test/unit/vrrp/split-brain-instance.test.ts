// Split-brain detection wired into VrrpInstance, through the real engine on the fake wire
// (engine-harness.ts): real config, codec and validation; the election itself is untouched.
import { describe, expect, it } from 'vitest';
import { encodeAdvert } from '../../../src/vrrp/packet.js';
import { FakeTimers } from '../../../src/vrrp/timers.js';
import { conf, Node, run, Wire } from './engine-harness.js';

const A = '192.168.60.111';
const B = '192.168.60.112';

function splitLines(n: Node): { level: string; msg: string }[] {
  return n.log.lines.filter((l) => l.msg.includes('split brain')).map((l) => ({ level: l.level, msg: l.msg }));
}

describe('VrrpInstance split-brain detection', () => {
  it('a MASTER receiving auth-mismatched adverts logs one ERROR and stays MASTER', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, A);
    await a.start(conf(150));
    await run(t, 5000);
    expect(a.state()).toBe('MASTER');
    const bad = encodeAdvert({ version: 2, family: 'inet', vrid: 51, priority: 100, advertIntCs: 100, addresses: ['192.168.60.200'], authType: 1, authPassword: 'wrong' });
    for (let i = 0; i < 5; i++) {
      wire.inject(B, bad);
      await run(t, 1000);
    }
    expect(a.state()).toBe('MASTER');
    expect(splitLines(a)).toEqual([{ level: 'error', msg: `(VI_1) split brain suspected: ${B} also advertises VRID 51 as master, auth_pass differs` }]);
    const inst = a.engine.instances.get('VI_1')!;
    expect(inst.splitBrain()).toMatchObject({ peer: B, difference: 'auth_pass differs' });
    expect(inst.stats().splitBrainEvents).toBe(1);
    // The drop itself is still counted and logged as before.
    expect(inst.stats().drops['auth-pass']).toBe(5);
    // Silence from the peer: over within 3 advert intervals (+ the tick).
    await run(t, 4100);
    expect(splitLines(a).slice(1)).toEqual([{ level: 'notice', msg: `(VI_1) split brain with ${B} on VRID 51 over after 6 s: no claim from it for 3 s` }]);
    expect(inst.splitBrain()).toBeUndefined();
    expect(inst.stats().splitBrainEvents).toBe(1);
  });

  it('two nodes with different auth_pass: both MASTER and both report the other; a reload that fixes it ends it', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, A);
    const b = new Node(wire, B);
    await a.start(conf(150, '', 'secret'));
    await b.start(conf(100, '', 'other'));
    // keepalived's rules: neither hears the other, both become MASTER.
    for (let i = 0; i < 10_000 && !(a.state() === 'MASTER' && b.state() === 'MASTER'); i++) await run(t, 1, 1);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'MASTER']);
    // Reported within 3 advert intervals of both being MASTER (fake clock).
    await run(t, 3000, 1);
    expect(splitLines(a)).toEqual([{ level: 'error', msg: `(VI_1) split brain suspected: ${B} also advertises VRID 51 as master, auth_pass differs` }]);
    expect(splitLines(b)).toEqual([{ level: 'error', msg: `(VI_1) split brain suspected: ${A} also advertises VRID 51 as master, auth_pass differs` }]);
    // A minute on: repeated once each.
    await run(t, 60_000, 5);
    expect(splitLines(a).map((l) => l.msg.replace(/\(for .*\)/, '(…)'))).toEqual([
      `(VI_1) split brain suspected: ${B} also advertises VRID 51 as master, auth_pass differs`,
      `(VI_1) split brain still suspected: ${B} also advertises VRID 51 as master, auth_pass differs (…)`,
    ]);
    // B's config fixed and reloaded: B hears A (150) and yields; A stops hearing a claim.
    await b.reload(conf(100, '', 'secret'));
    await run(t, 5000, 1);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    expect(splitLines(b).at(-1)!.msg).toMatch(/^\(VI_1\) split brain with 192\.168\.60\.111 on VRID 51 over after \d+ s: we follow it as BACKUP now$/);
    expect(splitLines(a).at(-1)!.msg).toMatch(/^\(VI_1\) split brain with 192\.168\.60\.112 on VRID 51 over after \d+ s: no claim from it for 3 s$/);
    const ia = a.engine.instances.get('VI_1')!;
    const ib = b.engine.instances.get('VI_1')!;
    expect([ia.splitBrain(), ib.splitBrain()]).toEqual([undefined, undefined]);
    expect([ia.stats().splitBrainEvents, ib.stats().splitBrainEvents]).toEqual([1, 1]);
    // And it stays over.
    await run(t, 10_000, 5);
    expect(splitLines(a).filter((l) => l.level === 'error')).toHaveLength(2);
    expect(splitLines(b).filter((l) => l.level === 'error')).toHaveLength(2);
  });

  it('a normal election (same auth, different priorities) reports nothing', async () => {
    const t = new FakeTimers();
    const wire = new Wire(t);
    const a = new Node(wire, A);
    const b = new Node(wire, B);
    await a.start(conf(150));
    await b.start(conf(100));
    await run(t, 10_000, 1);
    // A stops: B takes over after A's priority 0.
    await a.engine.stop();
    await run(t, 10_000, 1);
    expect(b.state()).toBe('MASTER');
    expect([...splitLines(a), ...splitLines(b)]).toEqual([]);
  });
});
