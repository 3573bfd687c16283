// virtual_ipaddress / static_ipaddress lines: keepalived 2.2.7's alloc_ipaddress() checks, messages and
// options, and the address the daemon adds for each.
import { describe, expect, it } from 'vitest';
import { addressToAdd } from '../../../src/daemon/vip-address.js';
import { instance, parseText } from './helpers.js';

/** The lines in virtual_ipaddress_excluded (where IPv4 and IPv6 may mix), in order. */
const vipsOf = (lines: string) => {
  const r = parseText(instance(`  virtual_ipaddress_excluded {\n${lines}\n  }`));
  return { r, vips: r.config.vrrpInstances[0]?.virtualIpAddressesExcluded ?? [], errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message) };
};

describe('VIP line values checked as keepalived checks them', () => {
  it('brd: an address, + or - (computed from the prefix); invalid or on IPv6 drops the VIP', () => {
    const { vips, errors } = vipsOf('    10.1.2.3/24 brd +\n    10.1.3.3/24 brd -\n    10.1.4.3/24 brd 10.1.4.255\n    10.1.5.3/24 brd nonsense\n    10.1.6.3/31 brd +');
    expect(vips.map((v) => [v.address, v.brd])).toEqual([
      ['10.1.2.3', '10.1.2.255'],
      ['10.1.3.3', '10.1.3.0'],
      ['10.1.4.3', '10.1.4.255'],
      ['10.1.6.3', undefined],
    ]);
    expect(errors).toEqual(['VRRP is trying to assign invalid broadcast nonsense. skipping VIP...', 'Address prefix length 31 too long for broadcast']);
    expect(vipsOf('    fd00::5/64 brd fd00::ff').errors).toEqual(['VRRP is trying to assign a broadcast brd to the IPv6 address fd00::5/64 !!?? WTF... skipping VIP...']);
  });

  it('label: at most 15 bytes, else the address is removed; not on IPv6', () => {
    const { vips, errors } = vipsOf('    10.1.2.3/24 label eth0:fifteen12\n    10.1.2.4/24 label eth0:sixteen1234\n    fd00::6 label x');
    expect(vips.map((v) => [v.address, v.label])).toEqual([
      ['10.1.2.3', 'eth0:fifteen12'],
      ['fd00::6', undefined],
    ]);
    expect(errors).toEqual(['Address label eth0:sixteen1234 is longer than maximum length 15 - removing address', 'Cannot specify label for IPv6 addresses (fd00::6) - ignoring label']);
  });

  it('scope: a name or 0-255, else ignored with a message; not on IPv6', () => {
    const { vips, errors } = vipsOf('    10.1.2.3/24 scope link\n    10.1.2.4/24 scope 200\n    10.1.2.5/24 scope planet\n    fd00::7 scope host');
    expect(vips.map((v) => v.scope)).toEqual(['link', '200', undefined, undefined]);
    expect(errors).toEqual(["Invalid scope 'planet' specified for 10.1.2.5/24 - ignoring", 'Cannot specify scope for IPv6 addresses (fd00::7) - ignoring scope']);
  });

  it('a keyword without its value drops the line; dev twice drops it', () => {
    const { vips, errors } = vipsOf('    10.1.2.3/24 dev\n    10.1.2.4 dev eth0 dev eth1\n    10.1.2.5');
    expect(vips.map((v) => v.address)).toEqual(['10.1.2.5']);
    expect(errors).toEqual(['No dev parameter specified for 10.1.2.3/24', 'Cannot specify ipaddress device more than once for 10.1.2.4']);
  });

  it('peer (no prefix of its own) makes the address a /32 (/128); broadcast with a peer is dropped', () => {
    const { vips, errors } = vipsOf('    10.1.2.3 peer 10.1.2.9/30\n    10.1.2.4/24 peer 10.1.2.8 brd 10.1.2.255\n    10.1.2.5 peer fd00::1');
    expect(vips.map((v) => [v.address, v.peer, v.prefixLength, v.brd])).toEqual([
      ['10.1.2.3', undefined, 32, undefined],
      ['10.1.2.4', '10.1.2.8', 32, undefined],
      ['10.1.2.5', undefined, 32, undefined],
    ]);
    expect(errors).toEqual([
      'VRRP parsed invalid IP 10.1.2.9/30. skipping IP...',
      'Invalid peer address 10.1.2.9/30',
      'Cannot specify address prefix when specifying peer address - ignoring',
      'Cannot specify broadcast and peer addresses - ignoring broadcast address',
      'Peer address fd00::1 does not match address family',
    ]);
  });

  it('flags and lifetimes reach the address the daemon adds; an IPv6 /128 is deprecated as keepalived does', () => {
    const { vips, errors } = vipsOf('    10.1.2.3/24 home noprefixroute autojoin mngtmpaddr\n    fd00::8\n    fd00::9/64\n    fd00::a preferred_lft forever\n    fd00::b -nodad preferred_lft 30');
    expect(errors).toEqual([]);
    const added = vips.map((v) => addressToAdd(v, 'eth0'));
    expect(added[0]).toMatchObject({ interface: 'eth0', flags: 0x10 | 0x200 | 0x400 | 0x100 });
    expect(added[0]!.preferredLifetime).toBeUndefined();
    expect(added.slice(1).map((a) => [a.address, a.preferredLifetime, a.dad])).toEqual([
      ['fd00::8', 0, undefined],
      ['fd00::9', undefined, undefined],
      ['fd00::a', undefined, undefined],
      ['fd00::b', 30, true],
    ]);
  });

  it('track_group is for static addresses only; use_vmac for VIPs only (reported: no VMAC)', () => {
    const r = parseText(`static_ipaddress {\n  10.9.0.1/24 dev eth0 track_group G use_vmac\n}\n`);
    expect(r.diagnostics.map((d) => [d.severity, d.message])).toEqual([
      ['unsupported', expect.stringMatching(/^track_group is not supported by lvskeeper: static addresses are not tracked/)],
      ['error', "Unknown configuration entry 'use_vmac' for ip address - ignoring"],
    ]);
    // keepalived then reads the group's name as the next option.
    expect(vipsOf('    10.1.2.3/24 track_group G').errors).toEqual(["Unknown configuration entry 'track_group' for ip address - ignoring", "Unknown configuration entry 'G' for ip address - ignoring"]);
  });
});
