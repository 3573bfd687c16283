import { describe, expect, it } from 'vitest';
import {
  desiredEntries,
  initialPool,
  realServerStatus,
  shutdownEvents,
  updatePool,
  type PoolEvent,
  type RealServerStatus,
} from '../../../src/check/pool.js';
import type { VirtualServerSpec } from '../../../src/check/types.js';
import { realServer, virtualServer } from './helpers.js';

const VS = '[10.10.10.2]:tcp:1358';

function statuses(vs: VirtualServerSpec, alive: boolean[] | boolean, weights?: number[]): Record<string, RealServerStatus> {
  const out: Record<string, RealServerStatus> = {};
  vs.realServers.forEach((rs, i) => {
    out[rs.id] = {
      alive: Array.isArray(alive) ? (alive[i] ?? false) : alive,
      weight: weights?.[i] ?? rs.weight,
    };
  });
  return out;
}

function logs(events: PoolEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'log' ? [e.message] : []));
}

function dests(vs: VirtualServerSpec, state: Parameters<typeof desiredEntries>[1]) {
  return desiredEntries(vs, state)[0]?.destinations.map((d) => `${d.address}:${d.port}/${d.weight}`) ?? [];
}

/** keepalived.conf.quorum-like: 10 RS of weight 1, quorum 7, hysteresis 2. */
function quorumVs(over: Partial<VirtualServerSpec> = {}): VirtualServerSpec {
  const rs = Array.from({ length: 10 }, (_, i) => realServer(`192.168.200.${i + 2}`, 1358));
  return virtualServer('10.10.10.2', 1358, rs, { quorum: 7, hysteresis: 2, quorumUp: { command: '/bin/up' }, quorumDown: { command: '/bin/down' }, ...over });
}

describe('pool: real servers in and out of IPVS', () => {
  const vs = virtualServer('10.10.10.2', 1358, [
    realServer('192.168.200.2', 1358, { weight: 2, notifyDown: { command: '/bin/rs-down' }, notifyUp: { command: '/bin/rs-up' } }),
    realServer('192.168.200.3', 1358, { forward: 'route' }),
  ]);

  it('maps the virtual server onto the IPVS service and alive real servers onto destinations', () => {
    const { state, events } = initialPool(vs, statuses(vs, true));
    expect(events).toEqual([]);
    const [entry] = desiredEntries(vs, state);
    expect(entry?.service).toEqual({
      key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.10.10.2', port: 1358 },
      scheduler: 'wlc',
      flags: 0,
      timeout: 0,
      netmask: '255.255.255.255',
      persistenceEngine: undefined,
    });
    expect(entry?.destinations).toEqual([
      { family: 'inet', address: '192.168.200.2', port: 1358, forward: 'masq', weight: 2, upperThreshold: 0, lowerThreshold: 0 },
      { family: 'inet', address: '192.168.200.3', port: 1358, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 },
    ]);
  });

  it('removes a real server that goes down, with the notify script and the FIFO line', () => {
    const start = initialPool(vs, statuses(vs, true)).state;
    const { state, events } = updatePool(vs, start, statuses(vs, [false, true]));
    expect(dests(vs, state)).toEqual(['192.168.200.3:1358/1']);
    expect(events).toContainEqual({
      kind: 'rs',
      vs: VS,
      rs: '192.168.200.2:1358',
      state: 'DOWN',
      fifo: `RS [192.168.200.2]:tcp:1358 ${VS} DOWN`,
      script: { command: '/bin/rs-down' },
    });
    expect(logs(events)).toEqual([`Removing service [192.168.200.2]:tcp:1358 from VS ${VS}`]);
    const back = updatePool(vs, state, statuses(vs, true));
    expect(logs(back.events)).toEqual([`Adding service [192.168.200.2]:tcp:1358 to VS ${VS}`]);
    expect(back.events.find((e) => e.kind === 'rs')).toMatchObject({ state: 'UP', script: { command: '/bin/rs-up' } });
    expect(dests(vs, back.state)).toEqual(['192.168.200.2:1358/2', '192.168.200.3:1358/1']);
  });

  it('inhibit_on_failure keeps a dead real server at weight 0 (Disabling/Enabling)', () => {
    const inh = virtualServer('10.10.10.2', 1358, [realServer('192.168.200.2', 1358, { inhibitOnFailure: true, weight: 3 })]);
    const start = initialPool(inh, statuses(inh, true)).state;
    const down = updatePool(inh, start, statuses(inh, false));
    expect(dests(inh, down.state)).toEqual(['192.168.200.2:1358/0']);
    expect(logs(down.events)[0]).toBe(`Disabling service [192.168.200.2]:tcp:1358 of VS ${VS}`);
    const up = updatePool(inh, down.state, statuses(inh, true));
    expect(dests(inh, up.state)).toEqual(['192.168.200.2:1358/3']);
    expect(logs(up.events)[0]).toBe(`Enabling service [192.168.200.2]:tcp:1358 of VS ${VS}`);
  });

  it('a weight change edits the destination and is logged like keepalived', () => {
    const start = initialPool(vs, statuses(vs, true)).state;
    const { state, events } = updatePool(vs, start, statuses(vs, true, [2, 3]));
    expect(logs(events)).toEqual([`Changing weight from 1 to 3 for active service [192.168.200.3]:tcp:1358 of VS ${VS}`]);
    expect(dests(vs, state)).toEqual(['192.168.200.2:1358/2', '192.168.200.3:1358/3']);
    const dead = updatePool(vs, state, statuses(vs, [true, false], [2, 5]));
    expect(logs(dead.events)[0]).toBe(`Changing weight from 3 to 5 for active service [192.168.200.3]:tcp:1358 of VS ${VS}`);
  });

  it('realServerStatus: alive only when all checkers are up; misc_dynamic weight; FILE_CHECK delta', () => {
    const rs = realServer('192.168.200.2', 80, { weight: 4 });
    const up = { up: true, hasRun: true, retryIt: 0 };
    expect(realServerStatus(rs, [])).toEqual({ alive: true, weight: 4 });
    expect(realServerStatus(rs, [up, { ...up, up: false }])).toEqual({ alive: false, weight: 4 });
    expect(realServerStatus(rs, [{ ...up, weight: 7 }])).toEqual({ alive: true, weight: 7 });
    expect(realServerStatus(rs, [{ ...up, weightDelta: -10 }])).toEqual({ alive: true, weight: 0 });
    expect(realServerStatus(rs, [{ ...up, weightDelta: 6 }, { ...up, weight: 1 }])).toEqual({ alive: true, weight: 7 });
  });
});

describe('pool: quorum with hysteresis (keepalived.conf.quorum: quorum 7, hysteresis 2)', () => {
  it('loses quorum below quorum-hysteresis and regains at quorum+hysteresis, with scripts and FIFO lines', () => {
    const vs = quorumVs();
    let { state } = initialPool(vs, statuses(vs, true));
    expect(state.quorumUp).toBe(true);
    const all: PoolEvent[] = [];
    // Take servers down one at a time: 9, 8, 7, 6, 5 live -> still up (threshold 5); 4 -> lost.
    const alive = Array<boolean>(10).fill(true);
    for (let i = 0; i < 6; i++) {
      alive[i] = false;
      const step = updatePool(vs, state, statuses(vs, alive));
      state = step.state;
      all.push(...step.events);
      expect(state.quorumUp).toBe(i < 5);
    }
    expect(logs(all)).toContain(`Lost quorum 7-2=5 > 4 for VS ${VS}`);
    expect(all).toContainEqual({ kind: 'vs', vs: VS, state: 'DOWN', fifo: `VS ${VS} DOWN`, script: { command: '/bin/down' } });
    // Bring them back: 5..8 live -> still down (threshold 9); 9 -> gained.
    const back: PoolEvent[] = [];
    for (let i = 0; i < 5; i++) {
      alive[i] = true;
      const step = updatePool(vs, state, statuses(vs, alive));
      state = step.state;
      back.push(...step.events);
      expect(state.quorumUp).toBe(i === 4);
    }
    expect(logs(back)).toContain(`Gained quorum 7+2=9 <= 9 for VS ${VS}`);
    expect(back).toContainEqual({ kind: 'vs', vs: VS, state: 'UP', fifo: `VS ${VS} UP`, script: { command: '/bin/up' } });
  });

  it('without a sorry server, real servers stay in IPVS when quorum is lost', () => {
    const vs = quorumVs();
    const alive = [true, true, false, false, false, false, false, false, false, false];
    const start = initialPool(vs, statuses(vs, true)).state;
    const { state } = updatePool(vs, start, statuses(vs, alive));
    expect(state.quorumUp).toBe(false);
    expect(dests(vs, state)).toEqual(['192.168.200.2:1358/1', '192.168.200.3:1358/1']);
  });

  it('starts with quorum down when the live weight is below quorum+hysteresis', () => {
    const vs = quorumVs();
    const alive = Array<boolean>(10).fill(true);
    alive[0] = alive[1] = false; // 8 < 9
    expect(initialPool(vs, statuses(vs, alive)).state.quorumUp).toBe(false);
  });
});

describe('pool: sorry server', () => {
  const sorry = {
    label: '[192.168.100.100]:tcp:1358',
    family: 'inet' as const,
    address: '192.168.100.100',
    port: 1358,
    weight: 1,
    forward: 'route' as const,
    inhibit: false,
  };

  it('replaces all real servers when quorum is lost and leaves when it is regained', () => {
    const vs = quorumVs({ sorryServer: sorry });
    const start = initialPool(vs, statuses(vs, true)).state;
    const alive = [true, true, true, true, false, false, false, false, false, false];
    const lost = updatePool(vs, start, statuses(vs, alive));
    expect(lost.state.quorumUp).toBe(false);
    expect(dests(vs, lost.state)).toEqual(['192.168.100.100:1358/1']);
    expect(desiredEntries(vs, lost.state)[0]?.destinations[0]?.forward).toBe('route');
    expect(logs(lost.events)).toContain(`Adding sorry server [192.168.100.100]:tcp:1358 to VS ${VS}`);
    // Real servers changing while the sorry server is in use do not appear in IPVS.
    const more = updatePool(vs, lost.state, statuses(vs, [true, true, true, true, true, true, true, true, false, false]));
    expect(dests(vs, more.state)).toEqual(['192.168.100.100:1358/1']);
    const gained = updatePool(vs, more.state, statuses(vs, true));
    expect(gained.state.quorumUp).toBe(true);
    expect(logs(gained.events)).toContain(`Removing sorry server [192.168.100.100]:tcp:1358 from VS ${VS}`);
    expect(dests(vs, gained.state)).toHaveLength(10);
    expect(dests(vs, gained.state)).not.toContain('192.168.100.100:1358/1');
  });

  it('with alpha (nothing alive yet) starts with quorum down and the sorry server in place', () => {
    const vs = quorumVs({ sorryServer: sorry });
    const { state, events } = initialPool(vs, statuses(vs, false));
    expect(state.quorumUp).toBe(false);
    expect(dests(vs, state)).toEqual(['192.168.100.100:1358/1']);
    expect(logs(events)[0]).toBe(`Starting with quorum down 7-2=9 > 0 for VS ${VS}`);
    expect(events.at(-1)).toMatchObject({ kind: 'vs', state: 'DOWN' });
  });

  it('sorry_server_inhibit keeps the sorry server at weight 0 while unused (Enabling/Disabling)', () => {
    const vs = quorumVs({ sorryServer: { ...sorry, inhibit: true } });
    const start = initialPool(vs, statuses(vs, true)).state;
    expect(dests(vs, start)).toContain('192.168.100.100:1358/0');
    const lost = updatePool(vs, start, statuses(vs, false));
    expect(dests(vs, lost.state)).toEqual(['192.168.100.100:1358/1']);
    expect(logs(lost.events)).toContain(`Enabling sorry server [192.168.100.100]:tcp:1358 to VS ${VS}`);
    const gained = updatePool(vs, lost.state, statuses(vs, true));
    expect(logs(gained.events)).toContain(`Disabling sorry server [192.168.100.100]:tcp:1358 from VS ${VS}`);
    expect(dests(vs, gained.state)).toContain('192.168.100.100:1358/0');
  });

  it('inhibited real servers stay at weight 0 next to an active sorry server', () => {
    const vs = virtualServer('10.10.10.2', 1358, [realServer('192.168.200.2', 1358, { inhibitOnFailure: true })], {
      sorryServer: sorry,
    });
    const start = initialPool(vs, statuses(vs, true)).state;
    const { state } = updatePool(vs, start, statuses(vs, false));
    expect(dests(vs, state)).toEqual(['192.168.200.2:1358/0', '192.168.100.100:1358/1']);
  });
});

describe('pool: several services for one virtual server', () => {
  it('virtual_server_group keys each get the same destinations, filtered by family', () => {
    const vs = virtualServer('x', 80, [realServer('192.168.201.2', 80), realServer('2001:db8::2', 80, { family: 'inet6' })], {
      keys: [
        { kind: 'addr', family: 'inet', protocol: 'tcp', address: '192.168.200.3', port: 80 },
        { kind: 'addr', family: 'inet', protocol: 'tcp', address: '192.168.200.4', port: 80 },
        { kind: 'fwmark', family: 'inet6', fwmark: 1 },
      ],
      flags: 1,
      timeout: 50,
    });
    const { state } = initialPool(vs, statuses(vs, true));
    const entries = desiredEntries(vs, state);
    expect(entries.map((e) => e.destinations.map((d) => d.address))).toEqual([['192.168.201.2'], ['192.168.201.2'], ['2001:db8::2']]);
    expect(entries[2]?.service.netmask).toBe('128');
    expect(entries[0]?.service).toMatchObject({ flags: 1, timeout: 50 });
  });

  it('tunnel destinations carry the tunnel type', () => {
    const vs = virtualServer('10.0.0.1', 80, [realServer('10.0.1.1', 80, { forward: 'tunnel', tunnel: { type: 'gue', port: 6080 } })]);
    const { state } = initialPool(vs, statuses(vs, true));
    expect(desiredEntries(vs, state)[0]?.destinations[0]).toMatchObject({ forward: 'tunnel', tunnelType: 'gue', tunnelPort: 6080 });
  });
});

describe('pool: shutdown', () => {
  it('logs "Shutting down service" for RS in IPVS; omega also runs the RS and VS down notifiers', () => {
    const rs = [realServer('192.168.200.2', 1358), realServer('192.168.200.3', 1358, { inhibitOnFailure: true })];
    const vs = virtualServer('10.10.10.2', 1358, rs);
    const st = { quorumUp: true, rs: { '192.168.200.2:1358': { alive: true, weight: 1 }, '192.168.200.3:1358': { alive: false, weight: 1 } } };
    expect(shutdownEvents(vs, st)).toEqual([
      { kind: 'log', vs: VS, message: `Shutting down service [192.168.200.2]:tcp:1358 from VS ${VS}` },
      { kind: 'log', vs: VS, message: `Shutting down (inhibited) service [192.168.200.3]:tcp:1358 from VS ${VS}` },
    ]);
    const omega = shutdownEvents({ ...vs, omega: true }, st);
    expect(omega.filter((e) => e.kind !== 'log').map((e) => ('fifo' in e ? e.fifo : ''))).toEqual([
      `RS [192.168.200.2]:tcp:1358 ${VS} DOWN`,
      `VS ${VS} DOWN`,
    ]);
  });
});
