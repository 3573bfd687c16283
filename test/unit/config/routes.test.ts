// virtual_routes / virtual_rules / static_* lines → typed specs, with keepalived 2.2.7's defaults and messages.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseNamesFile, parseRouteLine, parseRuleLine, routeParseContext } from '../../../src/config/routes.js';
import type { SourceLocation } from '../../../src/config/model.js';
import { instance, parseText, parseVirtual } from './helpers.js';

const at: SourceLocation = { file: '/etc/keepalived/keepalived.conf', line: 7 };

function ctx(files: Record<string, string> = {}) {
  const reports: string[] = [];
  const c = routeParseContext((m, where, severity) => reports.push(`${where.line}${severity === 'info' ? ' info' : ''}: ${m}`), (p) => files[p]);
  return { c, reports };
}

const route = (line: string, files?: Record<string, string>, isStatic = false) => {
  const { c, reports } = ctx(files);
  return { r: parseRouteLine(line.split(' '), at, c, isStatic), reports };
};
const rule = (line: string, isStatic = false) => {
  const { c, reports } = ctx();
  return { r: parseRuleLine(line.split(' '), at, c, isStatic), reports };
};

describe('parseRouteLine', () => {
  it('reads destination, via, dev, src, table, metric, scope, protocol with keepalived defaults', () => {
    const { r, reports } = route('10.9.0.0/16 via 10.0.0.254 dev eth0 src 10.0.0.1 table 100 metric 5 scope link');
    expect(reports).toEqual([]);
    expect(r).toEqual({
      family: 'inet',
      destination: { address: '10.9.0.0', prefixLength: 16 },
      via: { family: 'inet', address: '10.0.0.254' },
      interface: 'eth0',
      preferredSource: '10.0.0.1',
      table: 100,
      metric: 5,
      scope: 253,
      protocol: 18,
      noTrack: false,
      location: at,
    });
  });

  it('defaults: table main, protocol keepalived (18), no type; a host route without /len', () => {
    const { r } = route('10.1.2.3 dev eth0');
    expect(r).toMatchObject({ destination: { address: '10.1.2.3', prefixLength: 32 }, table: 254, protocol: 18 });
    expect(r?.type).toBeUndefined();
  });

  it('type prefixes, `to`, `default`, IPv6, `via inet6` (RTA_VIA) and metric aliases', () => {
    expect(route('blackhole 10.5.0.0/16 no_track').r).toMatchObject({ type: 'blackhole', destination: { address: '10.5.0.0', prefixLength: 16 }, noTrack: true });
    expect(route('to unreachable 10.6.0.0/16 no_track').r).toMatchObject({ type: 'unreachable' });
    expect(route('prohibit 10.7.0.0/16 no_track').r?.type).toBe('prohibit');
    expect(route('throw 10.8.0.0/16 no_track').r?.type).toBe('throw');
    expect(route('default via 10.0.0.1 dev eth0').r).toMatchObject({ family: 'inet', destination: { address: '0.0.0.0', prefixLength: 0 } });
    expect(route('inet6 default via fe80::1 dev eth0').r).toMatchObject({ family: 'inet6', destination: { address: '::', prefixLength: 0 } });
    expect(route('2001:db8::/32 via 2001:db8:1::1 dev eth0 preference 7').r).toMatchObject({ family: 'inet6', metric: 7, via: { family: 'inet6' } });
    expect(route('10.0.0.0/8 via inet6 fe80::1 dev eth0').r).toMatchObject({ family: 'inet', via: { family: 'inet6', address: 'fe80::1' } });
    expect(route('10.0.0.0/8 dev eth0 priority 9').r?.metric).toBe(9);
  });

  it('onlink, mtu lock, advmss, add/append modes, protocol with no_track, names from rt_tables', () => {
    const files = { '/etc/iproute2/rt_tables': '# comment\n200 vips\n254 main\n' };
    const { r, reports } = route('10.3.0.0/16 via 192.0.2.1 dev eth0 onlink mtu lock 1400 advmss 1360 append table vips protocol static no_track', files);
    expect(reports).toEqual([]);
    expect(r).toMatchObject({ onlink: true, metrics: { mtu: 1400, advmss: 1360 }, locked: ['mtu'], mode: 'append', table: 200, protocol: 4, noTrack: true });
    expect(route('10.3.0.0/16 dev eth0 add').r?.mode).toBe('add');
    expect(route('10.3.0.0/16 dev eth0 table main').r?.table).toBe(254);
    // a table file in /usr/share when /etc has none (newer iproute2)
    expect(route('10.3.0.0/16 dev eth0 table edge', { '/usr/share/iproute2/rt_tables': '77 edge\n' }).r?.table).toBe(77);
  });

  it('keepalived: a tracked route without dev is reported and not tracked; a protocol is reset to keepalived', () => {
    const a = route('10.9.0.0/16 via 10.0.0.254');
    expect(a.r).toMatchObject({ noTrack: true, protocol: 18 });
    expect(a.reports).toEqual(['7: Warning - cannot track route 10.9.0.0/16 with no interface specified, not tracking']);
    const b = route('10.9.0.0/16 dev eth0 protocol static');
    expect(b.r?.protocol).toBe(18);
    expect(b.reports).toEqual(['7: Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol']);
  });

  it('drops a bad line with keepalived\'s message', () => {
    const cases: [string, string][] = [
      ['10.9.0.0/16 via 10.0.0.300 dev eth0', 'invalid route via address 10.0.0.300'],
      ['nonsense dev eth0', 'unknown route keyword nonsense'],
      ['10.9.0.0/16 table nosuch dev eth0', 'Routing table nosuch not found for route'],
      ['10.9.0.0/16 metric x dev eth0', 'Invalid metric x specified for route'],
      ['10.9.0.0/16 scope far dev eth0', 'Scope far not found or invalid for route'],
      ['10.9.0.0/16 via 2001:db8::1 dev eth0', 'Cannot mix IPv4 and IPv6 addresses for route'],
      ['dev eth0', 'Route must have a destination'],
      ['10.9.0.0/16 from 10.0.0.0/8 dev eth0', 'route from address only supported with IPv6 (10.0.0.0/8)'],
      ['10.9.0.0/16 mtu big dev eth0', 'Invalid MTU big specified for route'],
      ['10.9.0.0/16 dev', 'Route keyword dev has no value - skipping route'],
      ['10.9.0.0/16 nexthop via 10.0.0.1 dev eth0', "multipath routes ('nexthop') are not supported by lvskeeper - route skipped"],
      ['10.9.0.0/16 dev eth0 realms 3', "route option 'realms' is not supported by lvskeeper - route skipped"],
      ['10.9.0.0/16 dev eth0 track_group G', 'unknown route keyword track_group'], // only static routes have track_group
    ];
    for (const [line, message] of cases) {
      const { r, reports } = route(line);
      expect(r, line).toBeUndefined();
      expect(reports, line).toContain(`7: ${message}`);
    }
  });

  it('"gw" is deprecated but works; a bad prefix length falls back to the host length', () => {
    const { r, reports } = route('10.9.0.0/40 gw 10.0.0.1 dev eth0');
    expect(r).toMatchObject({ destination: { prefixLength: 32 }, via: { address: '10.0.0.1' } });
    expect(reports).toEqual(['7: Invalid address prefix len 40 for address 10.9.0.0/40 - using 32', '7: "gw" for routes is deprecated. Please use "via"']);
  });

  it('static routes accept track_group (ignored, with a note)', () => {
    const { r, reports } = route('10.9.0.0/16 dev eth0 track_group G', undefined, true);
    expect(r).toBeDefined();
    expect(reports).toEqual(['7 info: track_group G is ignored: lvskeeper does not track static routes']);
  });
});

describe('parseRuleLine', () => {
  it('reads from, to, fwmark/mask, iif, oif, priority, table, not, tos, uidrange', () => {
    const { r, reports } = rule('not from 10.9.0.0/16 to 10.1.0.0/16 fwmark 0x10/0xff iif eth0 oif eth1 priority 100 table 200 tos 0x10 uidrange 1000-2000');
    expect(reports).toEqual([]);
    expect(r).toEqual({
      family: 'inet',
      invert: true,
      from: { address: '10.9.0.0', prefixLength: 16 },
      to: { address: '10.1.0.0', prefixLength: 16 },
      fwmark: 16,
      fwmask: 255,
      iif: 'eth0',
      oif: 'eth1',
      priority: 100,
      action: 'table',
      table: 200,
      tos: 16,
      uidRange: { start: 1000, end: 2000 },
      protocol: 18,
      noTrack: false,
      location: at,
    });
  });

  it('aliases (lookup, preference, order, dev), actions (goto, blackhole, type prohibit, nop, l3mdev), no_track', () => {
    expect(rule('from all lookup main preference 5').r).toMatchObject({ table: 254, priority: 5, from: { address: '0.0.0.0', prefixLength: 0 } });
    expect(rule('dev eth0 order 5 table 7').r).toMatchObject({ iif: 'eth0', priority: 5 });
    expect(rule('from 10.0.0.0/8 priority 10 goto 20').r).toMatchObject({ action: 'goto', gotoTarget: 20 });
    expect(rule('to 10.0.0.0/8 priority 10 blackhole').r?.action).toBe('blackhole');
    expect(rule('to 10.0.0.0/8 priority 10 type prohibit').r?.action).toBe('prohibit');
    expect(rule('priority 10 nop').r?.action).toBe('nop');
    expect(rule('priority 10 l3mdev').r).toMatchObject({ action: 'table', l3mdev: true });
    expect(rule('from 2001:db8::/32 priority 3 table 9 no_track').r).toMatchObject({ family: 'inet6', noTrack: true });
    expect(rule('from 2001:db8::/32 priority 3 table 9 no_track').r?.protocol).toBeUndefined();
    expect(rule('priority 3 table 9 suppress_prefixlength 0').r?.suppressPrefixLength).toBe(0);
  });

  it('numbers rules without a preference from 16384 down per family, across lines (keepalived)', () => {
    const { c, reports } = ctx();
    const a = parseRuleLine(['from', '10.0.0.1', 'table', '5'], at, c);
    const b = parseRuleLine(['from', '10.0.0.2', 'table', '5'], at, c);
    const v6 = parseRuleLine(['from', '2001:db8::1', 'table', '5'], at, c);
    expect([a?.priority, b?.priority, v6?.priority]).toEqual([16384, 16383, 16384]);
    expect(reports[0]).toBe('7: Rule has no preference specified - setting to 16384. This is probably not what you want.');
  });

  it('drops a bad line with keepalived\'s message', () => {
    const cases: [string, string][] = [
      ['from 10.0.0.1 priority 1', 'No action specified for rule - ignoring'],
      ['from 10.0.0.1 priority 1 table 0', 'Table 0 is not valid'],
      ['from 10.0.0.1 priority 1 table 5 blackhole', 'Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule'],
      ['from 10.0.0.1 to 2001:db8::1 priority 1 table 5', 'rule specification has mixed IPv4 and IPv6'],
      ['fwmark 0x1/zz priority 1 table 5', 'Invalid rule fwmark 0x1/zz specified'],
      ['from 10.0.0.1 priority x table 5', 'Invalid rule preference x specified'],
      ['priority 30 goto 20', 'Invalid rule - preference 30 >= goto target 20'],
      ['goto 20', 'Invalid rule - goto target 20 specified without preference'],
      ['priority 1 blackhole suppress_prefixlength 0', 'suppressor/realm specified for non table action - skipping'],
      ['priority 1 local', 'Invalid rule action local'],
      ['priority 1 table 5 bogus', 'Unknown rule option bogus'],
      ['priority 1 table 5 sport 80', "rule option 'sport' is not supported by lvskeeper - rule skipped"],
      ['priority 1 table 5 iif', 'Rule keyword iif has no value - skipping rule'],
    ];
    for (const [line, message] of cases) {
      const { r, reports } = rule(line);
      expect(r, line).toBeUndefined();
      expect(reports, line).toContain(`7: ${message}`);
    }
  });
});

describe('parseNamesFile', () => {
  it('reads NUMBER NAME lines, skipping comments, other shapes and out-of-range numbers', () => {
    expect([...parseNamesFile('# x\n1 one\n0x10 hex # tail\nbad line here\n300 big\n', 255)]).toEqual([
      ['one', 1],
      ['hex', 16],
    ]);
  });
});

describe('in keepalived.conf', () => {
  it('virtual_routes/rules and static_* land in the model; errors carry file:line and drop only their line', () => {
    const r = parseText(
      [
        'static_ipaddress {',
        ' 192.168.9.1/24 dev eth0 scope link',
        ' 192.168.9.2/24',
        '}',
        'static_routes {',
        ' 10.8.0.0/16 via 10.0.0.1 dev eth0',
        ' 10.8.0.0/16 via bogus dev eth0',
        '}',
        'static_rules {',
        ' from 10.8.0.0/16 table 100 priority 100',
        '}',
        instance(' virtual_routes {\n  10.9.0.0/16 via 10.0.0.254 dev eth0 table 100\n  blackhole 10.10.0.0/16 dev eth0\n }\n virtual_rules {\n  from 10.9.0.1 fwmark 3 table 100 priority 50\n }'),
      ].join('\n'),
    );
    const c = r.config;
    expect(c.staticIpAddresses).toMatchObject([{ address: '192.168.9.1', prefixLength: 24, dev: 'eth0', scope: 'link' }]);
    expect(c.staticRoutes).toHaveLength(1);
    expect(c.staticRules).toMatchObject([{ from: { address: '10.8.0.0', prefixLength: 16 }, table: 100, priority: 100 }]);
    const vi = c.vrrpInstances[0]!;
    expect(vi.virtualRoutes.map((x) => x.type ?? 'unicast')).toEqual(['unicast', 'blackhole']);
    expect(vi.virtualRules).toMatchObject([{ fwmark: 3, table: 100, priority: 50, location: { line: 23 } }]);
    expect(r.diagnostics.map((d) => `${d.line}: ${d.message}`)).toEqual([
      '3: Static address 192.168.9.2/24 requires an interface (dev): lvskeeper has no default interface - skipping it',
      '7: invalid route via address bogus',
    ]);
    expect(r.diagnostics.every((d) => d.file === '/etc/keepalived/keepalived.conf')).toBe(true);
  });

  it('route tables by name from /etc/iproute2/rt_tables', () => {
    const r = parseVirtual({
      '/etc/keepalived/keepalived.conf': 'static_routes {\n 10.8.0.0/16 dev eth0 table vips\n}\n',
      '/etc/iproute2/rt_tables': '100 vips\n',
    });
    expect(r.config.staticRoutes[0]?.table).toBe(100);
  });
});

describe('robustness', () => {
  it('any words: a spec or undefined with at least one message, never a throw', () => {
    const word = fc.oneof(
      fc.constantFrom('via', 'inet6', 'inet', 'dev', 'table', 'from', 'to', 'src', 'blackhole', 'default', 'mtu', 'lock', 'fwmark', 'goto', 'priority', 'not', 'no_track', 'track_group', 'uidrange', '10.0.0.1/8', 'fe80::1', '0x10/0xff', '5', 'eth0', ''),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 10 }), fc.boolean(), (words, isStatic) => {
        const { c, reports } = ctx();
        const r = parseRouteLine(words, at, c, isStatic);
        if (r === undefined) expect(reports.length).toBeGreaterThan(0);
        const u = parseRuleLine(words, at, c, isStatic);
        if (u === undefined) expect(reports.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});
