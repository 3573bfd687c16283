// Golden bytes for the rtnetlink payloads, and robustness of their decoders against arbitrary input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAddress,
  decodeLink,
  encodeAddressRequest,
  encodeLinkRequest,
  errnoName,
  parseAttributes,
  parseErrorPayload,
  scopeNumber,
} from '../../../src/net/rtnetlink-codec.js';
import { ipv6ToBytes } from '../../../src/net/packet-codec.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('RTM_NEWADDR / RTM_DELADDR payloads', () => {
  it('IPv4 with broadcast, label and scope, like `ip addr add 10.0.0.1/24 brd 10.0.0.255 label eth0:v scope link dev #2`', () => {
    const b = encodeAddressRequest({
      family: 'inet',
      address: '10.0.0.1',
      prefixLength: 24,
      ifindex: 2,
      broadcast: '10.0.0.255',
      label: 'eth0:v',
      scope: 'link',
      nodad: true, // meaningless for IPv4: not encoded
    });
    expect(b).toEqual(
      hex(`02 18 00 fd 02000000
           0800 0200 0a000001
           0800 0100 0a000001
           0800 0400 0a0000ff
           0b00 0300 657468303a76 00 00`),
    );
  });

  it('IPv6 with IFA_F_NODAD both in ifa_flags and IFA_FLAGS', () => {
    const b = encodeAddressRequest({ family: 'inet6', address: '2001:db8::1', prefixLength: 64, ifindex: 3, nodad: true });
    const a = ipv6ToBytes('2001:db8::1').toString('hex');
    expect(b).toEqual(hex(`0a 40 02 00 03000000  1400 0200 ${a}  1400 0100 ${a}  0800 0800 02000000`));
  });

  it('peer, extra flags and an IPv6 preferred lifetime, like `ip addr add A peer P noprefixroute home preferred_lft 0`', () => {
    const v4 = encodeAddressRequest({ family: 'inet', address: '10.0.0.1', prefixLength: 32, ifindex: 2, peer: '10.0.0.2', flags: 0x200 | 0x10 });
    expect(v4).toEqual(hex('02 20 10 00 02000000  0800 0200 0a000001  0800 0100 0a000002  0800 0800 10020000'));
    const a = ipv6ToBytes('2001:db8::1').toString('hex');
    const v6 = encodeAddressRequest({ family: 'inet6', address: '2001:db8::1', prefixLength: 128, ifindex: 3, nodad: true, preferredLifetime: 0 });
    // IFA_CACHEINFO: preferred 0, valid forever, stamps 0 (keepalived netlink_ipaddress).
    expect(v6).toEqual(hex(`0a 80 02 00 03000000  1400 0200 ${a}  1400 0100 ${a}  1400 0600 00000000 ffffffff 00000000 00000000  0800 0800 02000000`));
    // A delete names the peer: the kernel matches IFA_ADDRESS against it.
    expect(encodeAddressRequest({ family: 'inet', address: '10.0.0.1', prefixLength: 32, ifindex: 2, peer: '10.0.0.2', flags: 0x200 }, true)).toEqual(
      hex('02 20 00 00 02000000  0800 0200 0a000001  0800 0100 0a000002'),
    );
  });

  it('delete requests carry only the address (no label, broadcast or flags)', () => {
    const b = encodeAddressRequest(
      { family: 'inet', address: '10.0.0.1', prefixLength: 32, ifindex: 2, label: 'x', broadcast: '10.0.0.1' },
      true,
    );
    expect(b).toEqual(hex('02 20 00 00 02000000 0800 0200 0a000001 0800 0100 0a000001'));
  });

  it('rejects bad prefixes, labels and scopes with clear messages', () => {
    const base = { family: 'inet' as const, address: '10.0.0.1', ifindex: 2 };
    expect(() => encodeAddressRequest({ ...base, prefixLength: 33 })).toThrow(/bad prefix length \/33 for 10\.0\.0\.1/);
    expect(() => encodeAddressRequest({ ...base, prefixLength: 32, label: 'sixteen-chars-xx' })).toThrow(/longer than 15/);
    expect(() => scopeNumber(256)).toThrow(/bad address scope/);
    expect(scopeNumber('host')).toBe(254);
    expect(scopeNumber(undefined)).toBe(0);
  });
});

describe('decodeAddress', () => {
  it('decodes what the kernel sends for IPv4 (IFA_LOCAL wins over IFA_ADDRESS) with label and flags', () => {
    const msg = Buffer.concat([
      hex('02 20 80 00 05000000'), // ifa_flags 0x80 (permanent) is superseded by the 32-bit IFA_FLAGS below
      hex('0800 0100 0a000009'), // IFA_ADDRESS (peer)
      hex('0800 0200 0a000001'), // IFA_LOCAL
      hex('0900 0300 7669703100 000000'), // IFA_LABEL "vip1\0"
      hex('0800 0800 01000000'), // IFA_FLAGS = secondary
      hex('0800 ff00 deadbeef'), // unknown attribute: skipped
    ]);
    expect(decodeAddress(msg)).toEqual({
      family: 'inet',
      address: '10.0.0.1',
      prefixLength: 32,
      flags: 1,
      scope: 0,
      ifindex: 5,
      label: 'vip1',
      broadcast: undefined,
    });
  });

  it('decodes IPv6 from IFA_ADDRESS', () => {
    const msg = Buffer.concat([hex('0a 40 00 fd 02000000'), hex('1400 0100'), ipv6ToBytes('fe80::1')]);
    expect(decodeAddress(msg)).toMatchObject({ family: 'inet6', address: 'fe80::1', prefixLength: 64, scope: 253 });
  });

  it('returns undefined for foreign families, missing addresses and truncation; never throws', () => {
    expect(decodeAddress(hex('07 20 00 00 02000000 0800 0200 0a000001'))).toBeUndefined();
    expect(decodeAddress(hex('02 20 00 00 02000000'))).toBeUndefined();
    expect(decodeAddress(hex('02 20 00'))).toBeUndefined();
    expect(decodeAddress(hex('02 20 00 00 02000000 0800 0200 0a00'))).toBeUndefined();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void decodeAddress(Buffer.from(b))));
  });
});

describe('links', () => {
  it('encodes RTM_GETLINK by name (index 0 + IFLA_IFNAME) and as a dump', () => {
    expect(encodeLinkRequest({ name: 'eth0' })).toEqual(hex('00 00 0000 00000000 00000000 00000000 0900 0300 6574683000 000000'));
    expect(encodeLinkRequest({})).toEqual(Buffer.alloc(16));
  });

  it('decodes flags (IFF_UP, IFF_RUNNING), name, MAC and operstate', () => {
    const msg = Buffer.concat([
      hex('00 00 0100 07000000 43100100 00000000'), // index 7, flags UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
      hex('0900 0300 6574683000 000000'),
      hex('0a00 0100 020000000001 0000'),
      hex('0500 1000 06 000000'),
    ]);
    expect(decodeLink(msg)).toEqual({
      index: 7,
      name: 'eth0',
      flags: 0x11043,
      up: true,
      running: true,
      mac: '02:00:00:00:00:01',
      operstate: 6,
    });
    const down = Buffer.from(msg);
    down.writeUInt32LE(0x1002, 8);
    expect(decodeLink(down)).toMatchObject({ up: false, running: false });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void decodeLink(Buffer.from(b))));
  });
});

describe('attributes and errors', () => {
  it('stops at a malformed attribute but keeps the ones before it', () => {
    const attrs = parseAttributes(hex('0800 0100 01020304 ff00 0200 00'), 0);
    expect([...attrs.keys()]).toEqual([1]);
  });
  it('reads NLMSG_ERROR payloads as positive errnos', () => {
    expect(parseErrorPayload(hex('efffffff'))).toBe(17);
    expect(parseErrorPayload(hex('00000000'))).toBe(0);
    expect(errnoName(17)).toBe('EEXIST');
    expect(errnoName(99)).toBe('EADDRNOTAVAIL');
    expect(errnoName(4242)).toBe('errno 4242');
  });
});
