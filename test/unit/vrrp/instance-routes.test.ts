// virtual_routes / virtual_rules follow the instance (keepalived vrrp_state_become_master /
// vrrp_restore_interface): VIPs, routes, rules, then GARPs on takeover; rules, routes, VIPs when leaving
// MASTER; a reload while MASTER touches only the difference. Fake wire, clock and kernel (engine-harness.ts).
import { describe, expect, it } from 'vitest';
import type { EngineAdapters } from '../../../src/daemon/vrrp-engine.js';
import { describeRoute, describeRule } from '../../../src/net/routes.js';
import type { RouteManager } from '../../../src/net/types.js';
import { FakeTimers } from '../../../src/vrrp/timers.js';
import { conf, Node, run, Wire } from './engine-harness.js';

/** A node whose VIP, route, rule and announce operations go to one ordered log. */
class RouteNode extends Node {
  ops: string[] = [];
  failRoute = false;
  override adapters(): EngineAdapters {
    const base = super.adapters();
    const ops = this.ops;
    const routes: RouteManager = {
      addRoute: async (r) => {
        if (this.failRoute) throw new Error(`cannot add route ${describeRoute(r)}: ENETUNREACH`);
        ops.push(`+route ${describeRoute(r)}`);
      },
      removeRoute: async (r) => void ops.push(`-route ${describeRoute(r)}`),
      addRule: async (r) => void ops.push(`+rule ${describeRule(r)}`),
      removeRule: async (r) => void ops.push(`-rule ${describeRule(r)}`),
      close: () => undefined,
    };
    return {
      ...base,
      routes,
      addresses: {
        ...base.addresses,
        add: async (v) => {
          ops.push(`+vip ${v.address}`);
          await base.addresses.add(v);
        },
        remove: async (v) => {
          ops.push(`-vip ${v.address}`);
          await base.addresses.remove(v);
        },
      },
      announcer: { announce: async (_i, v) => void ops.push(`garp ${v.address}`), close: () => undefined },
    };
  }
}

const ROUTES = `virtual_routes {
    10.9.0.0/16 via 192.168.60.254 dev eth0 table 100
    blackhole 10.10.0.0/16 dev eth0
  }
  virtual_rules {
    from 192.168.60.200 table 100 priority 100
    fwmark 7 table 100 priority 101
  }
  garp_master_repeat 1
  garp_master_refresh 0`;

async function pair(): Promise<{ t: FakeTimers; a: RouteNode; b: RouteNode }> {
  const t = new FakeTimers();
  const wire = new Wire(t);
  const a = new RouteNode(wire, '192.168.60.111');
  const b = new RouteNode(wire, '192.168.60.112');
  await a.start(conf(150, ROUTES));
  await b.start(conf(90, ROUTES));
  await run(t, 5000, 1);
  expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
  return { t, a, b };
}

describe('virtual routes and rules', () => {
  it('takeover: VIPs, then routes and rules in configuration order, then GARPs; the BACKUP never touches them', async () => {
    const { a, b } = await pair();
    expect(a.ops.filter((o) => !o.startsWith('-vip'))).toEqual([
      '+vip 192.168.60.200',
      '+route 10.9.0.0/16 via 192.168.60.254 dev eth0 table 100',
      '+route blackhole 10.10.0.0/16 dev eth0',
      '+rule 100: from 192.168.60.200 lookup 100',
      '+rule 101: from all fwmark 0x7 lookup 100',
      'garp 192.168.60.200',
    ]);
    // At start only stale VIPs are removed (keepalived removes only routes and rules it set: none yet).
    expect(b.ops).toEqual(['-vip 192.168.60.200']);
  });

  it('leaving MASTER: rules, then routes, then VIPs; the new master sets them', async () => {
    const { t, a, b } = await pair();
    a.ops.length = 0;
    b.ops.length = 0;
    a.setLink(false); // A: FAULT; B takes over after its down timer
    await run(t, 5000, 1);
    expect([a.state(), b.state()]).toEqual(['FAULT', 'MASTER']);
    expect(a.ops).toEqual([
      '-rule 100: from 192.168.60.200 lookup 100',
      '-rule 101: from all fwmark 0x7 lookup 100',
      '-route 10.9.0.0/16 via 192.168.60.254 dev eth0 table 100',
      '-route blackhole 10.10.0.0/16 dev eth0',
      '-vip 192.168.60.200',
    ]);
    expect(b.ops.slice(0, 5)).toEqual([
      '+vip 192.168.60.200',
      '+route 10.9.0.0/16 via 192.168.60.254 dev eth0 table 100',
      '+route blackhole 10.10.0.0/16 dev eth0',
      '+rule 100: from 192.168.60.200 lookup 100',
      '+rule 101: from all fwmark 0x7 lookup 100',
    ]);
  });

  it('stop while MASTER: rules, routes, then VIPs removed', async () => {
    const { a } = await pair();
    a.ops.length = 0;
    await a.engine.stop();
    expect(a.ops).toEqual([
      '-rule 100: from 192.168.60.200 lookup 100',
      '-rule 101: from all fwmark 0x7 lookup 100',
      '-route 10.9.0.0/16 via 192.168.60.254 dev eth0 table 100',
      '-route blackhole 10.10.0.0/16 dev eth0',
      '-vip 192.168.60.200',
    ]);
  });

  it('a reload while MASTER adds the new ones and removes the dropped ones, leaving the others alone', async () => {
    const { t, a } = await pair();
    a.ops.length = 0;
    await a.reload(
      conf(
        150,
        `virtual_routes {
    blackhole 10.10.0.0/16 dev eth0
    10.11.0.0/16 dev eth0 via 192.168.60.254
  }
  virtual_rules {
    fwmark 7 priority 101 table 100
  }
  garp_master_repeat 1
  garp_master_refresh 0`,
      ),
    );
    await run(t, 50, 1);
    expect(a.state()).toBe('MASTER');
    expect(a.ops).toEqual([
      '-rule 100: from 192.168.60.200 lookup 100',
      '-route 10.9.0.0/16 via 192.168.60.254 dev eth0 table 100',
      '+route 10.11.0.0/16 via 192.168.60.254 dev eth0',
    ]);
  });

  it('a route the kernel refuses is logged with the instance name; the rest still goes in', async () => {
    const t = new FakeTimers();
    const a = new RouteNode(new Wire(t), '192.168.60.111');
    a.failRoute = true;
    await a.start(conf(150, ROUTES));
    await run(t, 5000, 1);
    expect(a.state()).toBe('MASTER');
    expect(a.lines()).toContain('(VI_1) cannot add route 10.9.0.0/16 via 192.168.60.254 dev eth0 table 100: ENETUNREACH');
    expect(a.ops).toContain('+rule 101: from all fwmark 0x7 lookup 100');
    expect(a.ops).toContain('garp 192.168.60.200');
  });
});
