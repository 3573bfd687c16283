// Golden bytes for RTM_NEWROUTE/RTM_DELROUTE and RTM_NEWRULE/RTM_DELRULE payloads. Each attribute's bytes
// were checked against what `ip route add` / `ip rule add` (iproute2 6.1) send for the same route or rule
// (strace); the attribute order is keepalived's (netlink_route / netlink_rule).
import { describe, expect, it } from 'vitest';
import { encodeRouteRequest, encodeRuleRequest, routeAddFlags } from '../../../src/net/route-codec.js';
import type { IpRoute, IpRule } from '../../../src/net/types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const viaRoute: IpRoute = {
  family: 'inet',
  destination: { address: '10.9.0.0', prefixLength: 16 },
  via: { family: 'inet', address: '10.0.0.254' },
  interface: 'eth0',
  preferredSource: '10.0.0.1',
  table: 100,
  metric: 5,
  protocol: 18,
};

describe('route requests', () => {
  it('`10.9.0.0/16 via 10.0.0.254 dev #3 src 10.0.0.1 table 100 metric 5` (add)', () => {
    expect(encodeRouteRequest(viaRoute, 3)).toEqual(
      hex(`02 10 00 00 64 12 00 01 00000000
           0800 0100 0a090000
           0800 0700 0a000001
           0800 0500 0a0000fe
           0800 0400 03000000
           0800 0600 05000000`),
    );
  });

  it('delete: scope NOWHERE and no type unless one was configured', () => {
    expect(encodeRouteRequest(viaRoute, 3, true).subarray(0, 12)).toEqual(hex('02 10 00 00 64 12 ff 00 00000000'));
    expect(encodeRouteRequest({ ...viaRoute, type: 'unicast', scope: 253 }, 3, true).subarray(0, 12)).toEqual(hex('02 10 00 00 64 12 fd 01 00000000'));
  });

  it('blackhole in table 1000 (RTA_TABLE) with `mtu lock 1400` (RTA_METRICS + RTAX_LOCK)', () => {
    const r: IpRoute = { family: 'inet', type: 'blackhole', destination: { address: '10.5.0.0', prefixLength: 16 }, table: 1000, protocol: 18, metrics: { mtu: 1400 }, locked: ['mtu'] };
    expect(encodeRouteRequest(r, 0)).toEqual(
      hex(`02 10 00 00 00 12 00 06 00000000
           0800 0f00 e8030000
           0800 0100 0a050000
           1400 0800 0800 0200 78050000 0800 0100 04000000`),
    );
  });

  it('IPv6 default via a link-local gateway, onlink; default carries no RTA_DST', () => {
    const r: IpRoute = { family: 'inet6', destination: { address: '::', prefixLength: 0 }, via: { family: 'inet6', address: 'fe80::1' }, interface: 'eth0', table: 254, protocol: 18, onlink: true };
    expect(encodeRouteRequest(r, 2)).toEqual(
      hex(`0a 00 00 00 fe 12 00 01 04000000
           1400 0500 fe800000000000000000000000000001
           0800 0400 02000000`),
    );
  });

  it('an IPv4 route through an IPv6 next hop: RTA_VIA (struct rtvia: u16 family, address)', () => {
    const r: IpRoute = { family: 'inet', destination: { address: '10.0.0.0', prefixLength: 8 }, via: { family: 'inet6', address: 'fe80::1' }, table: 254, protocol: 18 };
    expect(encodeRouteRequest(r, 0)).toEqual(
      hex(`02 08 00 00 fe 12 00 01 00000000
           0800 0100 0a000000
           1600 1200 0a00 fe800000000000000000000000000001 0000`),
    );
  });

  it('IPv6 source routing (`from`): RTA_SRC and rtm_src_len', () => {
    const r: IpRoute = { family: 'inet6', destination: { address: '2001:db8::', prefixLength: 32 }, source: { address: '2001:db8:1::', prefixLength: 48 }, table: 254, protocol: 18 };
    expect(encodeRouteRequest(r, 0)).toEqual(
      hex(`0a 20 30 00 fe 12 00 01 00000000
           1400 0100 20010db8000000000000000000000000
           1400 0200 20010db8000100000000000000000000`),
    );
  });

  it('nlmsg flags: keepalived prepends by default (no NLM_F_EXCL); add → EXCL, append → APPEND', () => {
    expect(routeAddFlags({})).toBe(0x400);
    expect(routeAddFlags({ mode: 'add' })).toBe(0x600);
    expect(routeAddFlags({ mode: 'append' })).toBe(0xc00);
  });

  it('refuses bad values instead of sending garbage', () => {
    expect(() => encodeRouteRequest({ ...viaRoute, destination: { address: '10.0.0.0', prefixLength: 33 } }, 0)).toThrow(/prefix length/);
    expect(() => encodeRouteRequest({ ...viaRoute, metric: -1 }, 0)).toThrow(/metric/);
  });
});

describe('rule requests', () => {
  it('`from 10.9.0.0/16 fwmark 0x10/0xff table 200 priority 100` with protocol keepalived', () => {
    const r: IpRule = { family: 'inet', from: { address: '10.9.0.0', prefixLength: 16 }, fwmark: 0x10, fwmask: 0xff, action: 'table', table: 200, priority: 100, protocol: 18 };
    expect(encodeRuleRequest(r)).toEqual(
      hex(`02 00 10 00 c8 00 00 01 00000000
           0800 0200 0a090000
           0800 0600 64000000
           0800 0a00 10000000
           0800 1000 ff000000
           0500 1500 12 000000`),
    );
  });

  it('`not to 2001:db8::/32 iif eth0 oif eth1 lookup 1000 pref 7`: FRA_TABLE, names, FIB_RULE_INVERT', () => {
    const r: IpRule = { family: 'inet6', to: { address: '2001:db8::', prefixLength: 32 }, invert: true, iif: 'eth0', oif: 'eth1', action: 'table', table: 1000, priority: 7 };
    expect(encodeRuleRequest(r)).toEqual(
      hex(`0a 20 00 00 00 00 00 01 02000000
           0800 0f00 e8030000
           1400 0100 20010db8000000000000000000000000
           0800 0600 07000000
           0900 0300 6574683000 000000
           0900 1100 6574683100 000000`),
    );
  });

  it('goto, blackhole, l3mdev, uidrange and suppress_prefixlength', () => {
    expect(encodeRuleRequest({ family: 'inet', action: 'goto', gotoTarget: 20, priority: 10 })).toEqual(hex('02 00 00 00 00 00 00 02 00000000 0800 0600 0a000000 0800 0400 14000000'));
    expect(encodeRuleRequest({ family: 'inet', action: 'blackhole', priority: 10 })).toEqual(hex('02 00 00 00 00 00 00 06 00000000 0800 0600 0a000000'));
    expect(encodeRuleRequest({ family: 'inet', action: 'table', l3mdev: true, priority: 10 })).toEqual(hex('02 00 00 00 00 00 00 01 00000000 0800 0600 0a000000 0500 1300 01 000000'));
    expect(encodeRuleRequest({ family: 'inet', action: 'table', table: 5, uidRange: { start: 1000, end: 2000 }, suppressPrefixLength: 0, priority: 10 })).toEqual(
      hex('02 00 00 00 05 00 00 01 00000000 0800 0600 0a000000 0800 0e00 00000000 0c00 1400 e8030000 d0070000'),
    );
  });

  it('table 0 for a table action means main (keepalived), and an over-long interface name is refused', () => {
    expect(encodeRuleRequest({ family: 'inet', action: 'table', priority: 1 })[4]).toBe(254);
    expect(() => encodeRuleRequest({ family: 'inet', action: 'table', table: 5, iif: 'a-very-long-interface', priority: 1 })).toThrow(/interface name/);
  });
});
