// static_ipaddress / static_routes / static_rules through the VRRP process's life, in keepalived's order
// (vrrp_daemon.c start_vrrp, clear_diff_static_*, vrrp_terminate_phase1).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { StaticEntries } from '../../../src/daemon/static-entries.js';
import { describeRoute, describeRule } from '../../../src/net/routes.js';

function config(text: string) {
  const { config, diagnostics } = parseConfig('/k.conf', { readFile: () => text, hostname: 'h' });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return config;
}

function fake() {
  const ops: string[] = [];
  const errors: string[] = [];
  const s = new StaticEntries(
    { add: async (a) => void ops.push(`+addr ${a.address}/${a.prefixLength} ${a.interface}`), remove: async (a) => void ops.push(`-addr ${a.address}/${a.prefixLength} ${a.interface}`) },
    {
      addRoute: async (r) => void ops.push(`+route ${describeRoute(r)}`),
      removeRoute: async (r) => {
        if (r.destination.address === '10.99.0.0') throw new Error('cannot remove route 10.99.0.0/16: EPERM');
        ops.push(`-route ${describeRoute(r)}`);
      },
      addRule: async (r) => void ops.push(`+rule ${describeRule(r)}`),
      removeRule: async (r) => void ops.push(`-rule ${describeRule(r)}`),
      close: () => undefined,
    },
    { error: (m: string) => void errors.push(m) },
  );
  return { s, ops, errors };
}

const ONE = `static_ipaddress {
  192.168.9.1/24 dev eth0
}
static_routes {
  10.8.0.0/16 via 192.168.9.254 dev eth0
}
static_rules {
  from 10.8.0.0/16 table 100 priority 100
}
`;

describe('StaticEntries', () => {
  it('start: leftovers cleared (addresses, routes, rules), then set (addresses, routes, rules)', async () => {
    const { s, ops } = fake();
    await s.start(config(ONE));
    expect(ops).toEqual([
      '-addr 192.168.9.1/24 eth0',
      '-route 10.8.0.0/16 via 192.168.9.254 dev eth0',
      '-rule 100: from 10.8.0.0/16 lookup 100',
      '+addr 192.168.9.1/24 eth0',
      '+route 10.8.0.0/16 via 192.168.9.254 dev eth0',
      '+rule 100: from 10.8.0.0/16 lookup 100',
    ]);
  });

  it('reload: what the new configuration lacks goes (rules, routes, addresses), then all are set', async () => {
    const { s, ops } = fake();
    await s.start(config(ONE));
    ops.length = 0;
    await s.reload(config(`static_routes {\n  10.8.0.0/16 dev eth0 via 192.168.9.254\n  10.7.0.0/16 dev eth0\n}\n`));
    expect(ops).toEqual([
      '-rule 100: from 10.8.0.0/16 lookup 100',
      '-addr 192.168.9.1/24 eth0',
      '+route 10.8.0.0/16 via 192.168.9.254 dev eth0',
      '+route 10.7.0.0/16 dev eth0',
    ]);
  });

  it('stop: rules, routes, addresses removed; a failure is logged and the rest still removed', async () => {
    const { s, ops, errors } = fake();
    await s.start(config(ONE + 'static_routes {\n  10.99.0.0/16 dev eth0\n}\n'));
    ops.length = 0;
    await s.stop();
    expect(ops).toEqual(['-rule 100: from 10.8.0.0/16 lookup 100', '-route 10.8.0.0/16 via 192.168.9.254 dev eth0', '-addr 192.168.9.1/24 eth0']);
    expect(errors.at(-1)).toBe('static entry: cannot remove route 10.99.0.0/16: EPERM');
    ops.length = 0;
    await s.stop();
    expect(ops).toEqual([]);
  });
});
