// The pure half of the no-accept firewall: which VIPs are dropped in which state, and the nft batches.
// The table layout expected here is what keepalived 2.2.7 created (test/netns/net/firewall.test.ts checks
// the same against the kernel).
import { describe, expect, it } from 'vitest';
import {
  NO_FIREWALL,
  noAcceptDropSets,
  nftRemoveScript,
  nftUpdateScript,
  resolveFirewallOptions,
  type AppliedFirewall,
  type DropSets,
} from '../../../src/net/firewall.js';
import type { FirewallInstance, FirewallVip } from '../../../src/net/types.js';

const v4 = (address: string): FirewallVip => ({ family: 'inet', address, interface: 'eth0' });
const v6 = (address: string, iface = 'eth0'): FirewallVip => ({ family: 'inet6', address, interface: iface });
const inst = (name: string, state: FirewallInstance['state'], accept: boolean, vips: FirewallVip[]): FirewallInstance => ({
  name,
  state,
  accept,
  vips,
});
const defaults = resolveFirewallOptions();

describe('noAcceptDropSets', () => {
  it('drops only the VIPs of MASTER instances that do not accept', () => {
    const sets = noAcceptDropSets([
      inst('VI_1', 'MASTER', false, [v4('10.0.0.101'), v4('10.0.0.100')]),
      inst('VI_2', 'MASTER', true, [v4('10.0.0.102')]),
      inst('VI_3', 'BACKUP', false, [v4('10.0.0.103')]),
      inst('VI_4', 'FAULT', false, [v4('10.0.0.104')]),
      inst('VI_5', 'INIT', false, [v4('10.0.0.105')]),
      inst('VI_6', 'STOP', false, [v4('10.0.0.106')]),
    ]);
    expect(sets).toEqual({ ipv4: ['10.0.0.100', '10.0.0.101'], ipv6: [], ipv6LinkLocal: [] });
  });

  it('splits IPv6 link-local VIPs (with their interface) from the others and canonicalises', () => {
    const sets = noAcceptDropSets([
      inst('VI_6', 'MASTER', false, [v6('2001:DB8:0:0::100'), v6('fe80::100'), v6('FE80:0::100', 'eth1'), v6('febf::1')]),
    ]);
    expect(sets).toEqual({
      ipv4: [],
      ipv6: ['2001:db8::100'],
      ipv6LinkLocal: [
        { address: 'fe80::100', interface: 'eth0' },
        { address: 'fe80::100', interface: 'eth1' },
        { address: 'febf::1', interface: 'eth0' },
      ],
    });
  });

  it('lists a VIP shared by two no-accept masters once', () => {
    const sets = noAcceptDropSets([
      inst('A', 'MASTER', false, [v4('10.0.0.1'), v6('fe80::1')]),
      inst('B', 'MASTER', false, [v4('10.0.0.1'), v6('fe80::1')]),
    ]);
    expect(sets.ipv4).toEqual(['10.0.0.1']);
    expect(sets.ipv6LinkLocal).toHaveLength(1);
  });

  it('rejects a VIP of the wrong family or an interface name that is not one, naming the instance', () => {
    expect(() => noAcceptDropSets([inst('VI_X', 'MASTER', false, [v4('2001:db8::1')])])).toThrow(
      '(VI_X) no-accept firewall: VIP "2001:db8::1" is not an IPv4 address',
    );
    expect(() => noAcceptDropSets([inst('VI_Y', 'MASTER', false, [v6('fe80::1', 'eth0" } ; flush ruleset')])])).toThrow(
      /\(VI_Y\) no-accept firewall: invalid interface name/,
    );
    // not checked while it is not applied
    expect(noAcceptDropSets([inst('VI_X', 'BACKUP', false, [v4('nonsense')])]).ipv4).toEqual([]);
  });
});

describe('resolveFirewallOptions', () => {
  it("defaults to keepalived's table name and priority, without counters", () => {
    expect(defaults).toEqual({ table: 'keepalived', priority: -1, counters: false });
  });
  it('refuses table names nft would need quoted', () => {
    expect(() => resolveFirewallOptions({ table: 'my table' })).toThrow('invalid nftables table name "my table"');
    expect(() => resolveFirewallOptions({ priority: 1.5 })).toThrow('must be an integer');
  });
});

describe('nftUpdateScript', () => {
  const none: DropSets = { ipv4: [], ipv6: [], ipv6LinkLocal: [] };

  it('creates nothing while no VIP has to be dropped', () => {
    expect(nftUpdateScript(NO_FIREWALL, none, defaults)).toEqual({ script: '', next: NO_FIREWALL });
  });

  it('creates only the IPv4 table for IPv4 VIPs, in the layout keepalived uses', () => {
    const { script, next } = nftUpdateScript(NO_FIREWALL, { ...none, ipv4: ['10.0.0.1', '10.0.0.2'] }, defaults);
    expect(script).toBe(
      [
        'add table ip keepalived',
        'add set ip keepalived vips { type ipv4_addr; }',
        'add chain ip keepalived out { type filter hook output priority -1; policy accept; }',
        'add chain ip keepalived in { type filter hook input priority -1; policy accept; }',
        'add rule ip keepalived out ip saddr @vips drop',
        'add rule ip keepalived in ip daddr @vips drop',
        'add element ip keepalived vips { 10.0.0.1, 10.0.0.2 }',
        '',
      ].join('\n'),
    );
    expect(next).toMatchObject({ ipv4Table: true, ipv6Table: false, ipv6LinkLocalSet: false });
  });

  it('adds the link-local set and its rules with the first link-local VIP only', () => {
    const first = nftUpdateScript(NO_FIREWALL, { ...none, ipv6: ['2001:db8::1'] }, defaults);
    expect(first.script).toContain('add chain ip6 keepalived in_link_local\n');
    expect(first.script).toContain('add rule ip6 keepalived in icmpv6 type @neighbor-discovery accept\n');
    expect(first.script).toContain('add rule ip6 keepalived in ip6 daddr fe80::/10 goto in_link_local\n');
    expect(first.script).not.toContain('vips_link_local');
    expect(first.script).not.toContain('table ip keepalived');

    const second = nftUpdateScript(first.next, { ...none, ipv6: ['2001:db8::1'], ipv6LinkLocal: [{ address: 'fe80::1', interface: 'eth0' }] }, defaults);
    expect(second.script).toBe(
      [
        'add set ip6 keepalived vips_link_local { type ipv6_addr . iface_index; }',
        'add rule ip6 keepalived in_link_local ip6 daddr . iif @vips_link_local drop',
        'add rule ip6 keepalived out_link_local ip6 saddr . oif @vips_link_local drop',
        'add element ip6 keepalived vips_link_local { fe80::1 . "eth0" }',
        '',
      ].join('\n'),
    );
  });

  it('on leaving MASTER deletes the elements but keeps tables and sets, as keepalived', () => {
    const master = nftUpdateScript(NO_FIREWALL, { ipv4: ['10.0.0.1'], ipv6: ['2001:db8::1'], ipv6LinkLocal: [{ address: 'fe80::1', interface: 'eth0' }] }, defaults);
    const backup = nftUpdateScript(master.next, none, defaults);
    expect(backup.script).toBe(
      [
        'delete element ip keepalived vips { 10.0.0.1 }',
        'delete element ip6 keepalived vips { 2001:db8::1 }',
        'delete element ip6 keepalived vips_link_local { fe80::1 . "eth0" }',
        '',
      ].join('\n'),
    );
    expect(backup.next).toEqual({ ipv4Table: true, ipv6Table: true, ipv6LinkLocalSet: true, sets: none } satisfies AppliedFirewall);
    // and back to MASTER: elements only
    expect(nftUpdateScript(backup.next, master.next.sets, defaults).script).toBe(
      [
        'add element ip keepalived vips { 10.0.0.1 }',
        'add element ip6 keepalived vips { 2001:db8::1 }',
        'add element ip6 keepalived vips_link_local { fe80::1 . "eth0" }',
        '',
      ].join('\n'),
    );
  });

  it('changes only what differs and is empty when nothing does', () => {
    const a = nftUpdateScript(NO_FIREWALL, { ...none, ipv4: ['10.0.0.1', '10.0.0.2'] }, defaults);
    expect(nftUpdateScript(a.next, a.next.sets, defaults).script).toBe('');
    expect(nftUpdateScript(a.next, { ...none, ipv4: ['10.0.0.2', '10.0.0.3'] }, defaults).script).toBe(
      'delete element ip keepalived vips { 10.0.0.1 }\nadd element ip keepalived vips { 10.0.0.3 }\n',
    );
  });

  it('applies nftables NAME, nftables_priority and nftables_counters', () => {
    const o = resolveFirewallOptions({ table: 'mytab', priority: -5, counters: true });
    const { script } = nftUpdateScript(NO_FIREWALL, { ipv4: ['10.0.0.1'], ipv6: [], ipv6LinkLocal: [{ address: 'fe80::1', interface: 'eth0' }] }, o);
    expect(script).toContain('add chain ip mytab in { type filter hook input priority -5; policy accept; }\n');
    expect(script).toContain('add rule ip mytab in ip daddr @vips counter drop\n');
    expect(script).toContain('add rule ip6 mytab out icmpv6 type @neighbor-discovery counter accept\n');
    expect(script).toContain('add rule ip6 mytab out ip6 saddr fe80::/10 counter goto out_link_local\n');
    expect(script).toContain('add rule ip6 mytab in_link_local ip6 daddr . iif @vips_link_local counter drop\n');
    expect(script).not.toMatch(/keepalived/);
  });
});

describe('nftRemoveScript', () => {
  it('deletes both tables whether they exist or not', () => {
    expect(nftRemoveScript('keepalived')).toBe(
      'add table ip keepalived\ndelete table ip keepalived\nadd table ip6 keepalived\ndelete table ip6 keepalived\n',
    );
  });
});
