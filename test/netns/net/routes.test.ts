// RouteManager against the real kernel in a namespace: routes (via/dev/table/metric/src, blackhole, IPv6)
// and rules (from/fwmark/table/priority) seen with `ip route` / `ip rule`, idempotency, and an absent
// interface named in the error. Namespace `lkr-rt`, removed in afterAll.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpRoute, IpRule } from '../../../src/net/types.js';
import { buildAdapters, ipn, repoRoot, sh } from './helpers.js';

const NS = 'lkr-rt';
const here = dirname(fileURLToPath(import.meta.url));

/** Runs the operations in NS with the compiled adapters; one result per operation. */
function manager(ops: [string, IpRoute | IpRule][]): ({ ok: true } | { error: string })[] {
  const out = execFileSync('ip', ['netns', 'exec', NS, process.execPath, join(here, 'routes-probe.mjs'), join(repoRoot, 'dist-check', 'netns-net'), JSON.stringify(ops)], {
    encoding: 'utf8',
  });
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ok: true } | { error: string });
}

interface IpRouteJson {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
  prefsrc?: string;
  flags?: string[];
}
interface IpRuleJson {
  priority: number;
  src?: string;
  srclen?: number;
  fwmark?: string;
  fwmask?: string;
  table?: string;
  protocol?: string;
  not?: null;
  iif?: string;
}

const routes = (table: string, family = '-4'): IpRouteJson[] => JSON.parse(ipn(NS, '-j', family, 'route', 'show', 'table', table)) as IpRouteJson[];
const rules = (family = '-4'): IpRuleJson[] => JSON.parse(ipn(NS, '-j', family, 'rule', 'show')) as IpRuleJson[];

const viaRoute: IpRoute = {
  family: 'inet',
  destination: { address: '10.9.0.0', prefixLength: 16 },
  via: { family: 'inet', address: '10.78.0.254' },
  interface: 'eth0',
  preferredSource: '10.78.0.1',
  table: 100,
  metric: 5,
  protocol: 18,
};
const blackhole: IpRoute = { family: 'inet', type: 'blackhole', destination: { address: '10.10.0.0', prefixLength: 16 }, table: 101, protocol: 18 };
const rule: IpRule = { family: 'inet', from: { address: '10.9.0.0', prefixLength: 16 }, fwmark: 0x10, fwmask: 0xff, action: 'table', table: 100, priority: 1000, protocol: 18 };

beforeAll(() => {
  buildAdapters();
  sh('ip', ['netns', 'del', NS], true);
  sh('ip', ['netns', 'add', NS]);
  ipn(NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
  ipn(NS, 'addr', 'add', '10.78.0.1/24', 'dev', 'eth0');
  ipn(NS, 'addr', 'add', '2001:db8:78::1/64', 'dev', 'eth0', 'nodad');
  for (const l of ['eth0', 'eth1', 'lo']) ipn(NS, 'link', 'set', l, 'up');
});

afterAll(() => {
  sh('ip', ['netns', 'del', NS], true);
});

describe('RouteManager (real kernel)', () => {
  it('adds a route with via, dev, table, metric and src (protocol keepalived), idempotently, and removes it idempotently', () => {
    expect(manager([['addRoute', viaRoute], ['addRoute', viaRoute]])).toEqual([{ ok: true }, { ok: true }]);
    const found = routes('100');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ dst: '10.9.0.0/16', gateway: '10.78.0.254', dev: 'eth0', metric: 5, prefsrc: '10.78.0.1', protocol: 'keepalived' });
    expect(routes('main').some((r) => r.dst === '10.9.0.0/16')).toBe(false);

    expect(manager([['removeRoute', viaRoute], ['removeRoute', viaRoute]])).toEqual([{ ok: true }, { ok: true }]);
    expect(routes('100')).toEqual([]);
  });

  it('adds and removes a blackhole route in its table', () => {
    expect(manager([['addRoute', blackhole]])).toEqual([{ ok: true }]);
    expect(routes('101')).toMatchObject([{ type: 'blackhole', dst: '10.10.0.0/16', protocol: 'keepalived' }]);
    expect(manager([['removeRoute', blackhole], ['removeRoute', blackhole]])).toEqual([{ ok: true }, { ok: true }]);
    expect(routes('101')).toEqual([]);
  });

  it('an IPv6 route through a link-local gateway, and `mtu lock`', () => {
    const r: IpRoute = { family: 'inet6', destination: { address: '2001:db8:9::', prefixLength: 48 }, via: { family: 'inet6', address: 'fe80::1' }, interface: 'eth0', table: 102, protocol: 18, metrics: { mtu: 1400 }, locked: ['mtu'] };
    expect(manager([['addRoute', r], ['addRoute', r]])).toEqual([{ ok: true }, { ok: true }]);
    const shown = ipn(NS, '-6', 'route', 'show', 'table', '102');
    expect(shown).toContain('2001:db8:9::/48 via fe80::1 dev eth0 proto keepalived');
    expect(shown).toContain('mtu lock 1400');
    expect(manager([['removeRoute', r], ['removeRoute', r]])).toEqual([{ ok: true }, { ok: true }]);
    expect(ipn(NS, '-6', 'route', 'show', 'table', '102').trim()).toBe('');
  });

  it('adds a rule (from, fwmark/mask, table, priority), idempotently, and removes it idempotently', () => {
    expect(manager([['addRule', rule], ['addRule', rule]])).toEqual([{ ok: true }, { ok: true }]);
    const found = rules().filter((r) => r.priority === 1000);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ src: '10.9.0.0', srclen: 16, fwmark: '0x10', fwmask: '0xff', table: '100', protocol: 'keepalived' });
    expect(manager([['removeRule', rule], ['removeRule', rule]])).toEqual([{ ok: true }, { ok: true }]);
    expect(rules().some((r) => r.priority === 1000)).toBe(false);
  });

  it('`not … iif` rules name their interface (which need not exist yet)', () => {
    const r: IpRule = { family: 'inet', invert: true, iif: 'ghost0', action: 'table', table: 100, priority: 1001 };
    expect(manager([['addRule', r]])).toEqual([{ ok: true }]);
    expect(rules().find((x) => x.priority === 1001)).toMatchObject({ not: null, iif: 'ghost0', table: '100' });
    expect(manager([['removeRule', r]])).toEqual([{ ok: true }]);
    expect(rules().some((x) => x.priority === 1001)).toBe(false);
  });

  it('a route on an absent interface: add fails naming it, remove succeeds', () => {
    const r: IpRoute = { ...viaRoute, interface: 'nosuch0' };
    const [added, removed] = manager([['addRoute', r], ['removeRoute', r]]);
    expect(added).toEqual({ error: 'cannot add route 10.9.0.0/16 via 10.78.0.254 dev nosuch0 table 100 metric 5 src 10.78.0.1: interface nosuch0 not found' });
    expect(removed).toEqual({ ok: true });
  });

  it('a route the kernel refuses reports its errno (gateway not on any link)', () => {
    const r: IpRoute = { ...viaRoute, via: { family: 'inet', address: '10.200.0.1' }, preferredSource: undefined };
    const [added] = manager([['addRoute', r]]);
    expect(added).toMatchObject({ error: expect.stringMatching(/^cannot add route 10\.9\.0\.0\/16 via 10\.200\.0\.1 dev eth0 table 100 metric 5: (ENETUNREACH|errno 101)$/) as unknown });
  });
});
