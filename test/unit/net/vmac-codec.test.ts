// Golden bytes of the VMAC requests, in the layout keepalived 2.2.7 sends (vrrp_vmac.c, vrrp_if_config.c;
// the same attributes, lengths and order as `strace -e sendmsg keepalived` shows), and decodeLinkKind.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLink,
  decodeLinkKind,
  encodeAddrGenModeNone,
  encodeIpv4Devconf,
  encodeLinkDelete,
  encodeLinkUp,
  encodeMacvlanCreate,
} from '../../../src/net/rtnetlink-codec.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const IFINFO0 = '00 00 0000 00000000 00000000 00000000';

describe('macvlan VMAC requests', () => {
  it('RTM_NEWLINK create: LINKINFO{KIND "macvlan" (no NUL), DATA{MODE private}}, LINK, IFNAME (no NUL), ADDRESS', () => {
    const b = encodeMacvlanCreate({ name: 'vrrp.51', parentIndex: 1074, mac: '00:00:5e:00:01:33' });
    expect(b).toEqual(
      hex(`${IFINFO0}
           1c00 1200  0b00 0100 6d6163766c616e 00  0c00 0200 0800 0100 01000000
           0800 0500 32040000
           0b00 0300 767272702e3531 00
           0a00 0100 00005e000133 0000`),
    );
    expect(b.length).toBe(92 - 16); // keepalived's nlmsg_len 92 less the nlmsghdr
  });

  it('an IPv6 VMAC differs only in name and MAC; bad names are refused before any request', () => {
    const b = encodeMacvlanCreate({ name: 'vrrp.52', parentIndex: 2, mac: '00:00:5E:00:02:34' });
    expect(b.subarray(b.length - 12).toString('hex')).toBe('0a00010000005e0002340000');
    for (const name of ['', 'a'.repeat(16), 'a/b', 'a:b', 'a b', '.', '..']) expect(() => encodeMacvlanCreate({ name, parentIndex: 2, mac: '00:00:5e:00:01:01' })).toThrow(/bad interface name/);
    expect(() => encodeMacvlanCreate({ name: 'v', parentIndex: 2, mac: '00:00:5e:00:01' })).toThrow(/MAC/);
    // 15 bytes is IFNAMSIZ - 1: allowed
    expect(() => encodeMacvlanCreate({ name: 'a'.repeat(15), parentIndex: 2, mac: '00:00:5e:00:01:01' })).not.toThrow();
  });

  it('RTM_DELLINK (ifi_family AF_INET as keepalived) and link up (flags = change = IFF_UP)', () => {
    expect(encodeLinkDelete(7)).toEqual(hex('02 00 0000 07000000 00000000 00000000'));
    expect(encodeLinkUp(7)).toEqual(hex('00 00 0000 07000000 01000000 01000000'));
  });

  it('IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE u8 NONE } }', () => {
    expect(encodeAddrGenModeNone(3)).toEqual(hex(`00 00 0000 03000000 00000000 00000000  1000 1a00  0c00 0a00  0500 0800 01 000000`));
  });

  it('IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { IPV4_DEVCONF_* u32 } } }: the VMAC set and the base set', () => {
    const vmac = encodeIpv4Devconf(3, { arp_ignore: 1, accept_local: 1, rp_filter: 0, promote_secondaries: 1 });
    expect(vmac).toEqual(
      hex(`00 00 0000 03000000 00000000 00000000
           2c00 1a00  2800 0200  2400 0100
           0800 1300 01000000  0800 1700 01000000  0800 0800 00000000  0800 1400 01000000`),
    );
    const base = encodeIpv4Devconf(2, { arp_ignore: 1, arp_filter: 1 });
    expect(base).toEqual(hex('00 00 0000 02000000 00000000 00000000  1c00 1a00 1800 0200 1400 0100  0800 1300 01000000  0800 0d00 01000000'));
    expect(() => encodeIpv4Devconf(2, {})).toThrow();
  });
});

describe('decodeLinkKind', () => {
  /** An RTM_NEWLINK as the kernel reports a macvlan (IFLA_INFO_KIND with its NUL, as the kernel sends it). */
  const kernelMacvlan = (mode: number): Buffer =>
    Buffer.concat([
      hex('00 00 0100 05000000 43100100 00000000'),
      hex('0c00 0300 767272702e353100'), // IFLA_IFNAME "vrrp.51\0"
      hex('0a00 0100 00005e000133 0000'),
      hex('0800 0500 02000000'), // IFLA_LINK 2
      Buffer.concat([hex('2000 1200'), hex('0c00 0100 6d6163766c616e00'), hex('1000 0200'), hex('0800 0100'), Buffer.from([mode, 0, 0, 0]), hex('0800 0200 00000000')]),
    ]);

  it('kind, lower device and macvlan mode', () => {
    const d = kernelMacvlan(1);
    expect(decodeLinkKind(d)).toEqual({ kind: 'macvlan', parentIndex: 2, macvlanMode: 1 });
    expect(decodeLink(d)).toMatchObject({ name: 'vrrp.51', index: 5, mac: '00:00:5e:00:01:33', up: true });
    expect(decodeLinkKind(kernelMacvlan(4)).macvlanMode).toBe(4);
  });

  it('a plain device has no kind; what we encode decodes back', () => {
    expect(decodeLinkKind(hex('00 00 0100 02000000 00000000 00000000 0800 0300 65746800'))).toEqual({ kind: undefined });
    const ours = encodeMacvlanCreate({ name: 'vrrp.9', parentIndex: 4, mac: '00:00:5e:00:01:09' });
    expect(decodeLinkKind(ours)).toEqual({ kind: 'macvlan', parentIndex: 4, macvlanMode: 1 });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (a) => {
        decodeLinkKind(Buffer.from(a));
      }),
    );
  });
});
