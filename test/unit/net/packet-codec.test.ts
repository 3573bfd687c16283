// Golden bytes for everything src/net writes itself, and fuzzing of what it parses.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildGratuitousArp,
  buildIpv4Header,
  buildIpv6Header,
  buildUnsolicitedNa,
  bytesToIpv6,
  canonicalAddress,
  deviceName,
  internetChecksum,
  ipMreqn,
  ipv4ToBytes,
  ipv6Mreq,
  ipv6ToBytes,
  isIpv6LinkLocal,
  isMulticast,
  parseIpv4Packet,
  withVrrp3Ipv4Checksum,
  withVrrpIpv6Checksum,
} from '../../../src/net/packet-codec.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('internet checksum', () => {
  it('matches the RFC 1071 §3 example', () => {
    // 0001 f203 f4f5 f6f7 sums to 0xddf2; the checksum is its complement.
    expect(internetChecksum(hex('0001f203f4f5f6f7'))).toBe(0x220d);
  });
  it('handles odd lengths and split buffers like one buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), (bytes, cut) => {
        const b = Buffer.from(bytes);
        const at = Math.min(cut, b.length) & ~1; // splits on even offsets keep word alignment
        expect(internetChecksum(b.subarray(0, at), b.subarray(at))).toBe(internetChecksum(b));
      }),
    );
  });
});

describe('IPv4 header (IP_HDRINCL)', () => {
  it('is keepalived\'s header: TOS 0xc0, TTL 255, protocol 112, checksum', () => {
    const h = buildIpv4Header({ source: '192.168.60.111', destination: '224.0.0.18', ttl: 255, payloadLength: 20 });
    expect(h).toEqual(hex('45c00028 00000000 ff70dd7b c0a83c6f e0000012'));
    expect(internetChecksum(h)).toBe(0);
  });
});

describe('parseIpv4Packet', () => {
  const packet = Buffer.concat([
    buildIpv4Header({ source: '10.0.0.1', destination: '224.0.0.18', ttl: 254, payloadLength: 4 }),
    hex('21330101'),
  ]);
  it('reads TTL, TOS, addresses and strips the header', () => {
    expect(parseIpv4Packet(packet)).toEqual({
      tos: 0xc0,
      ttl: 254,
      protocol: 112,
      source: '10.0.0.1',
      destination: '224.0.0.18',
      payload: hex('21330101'),
    });
  });
  it('honours IHL (options) and a total length shorter than the buffer', () => {
    const withOptions = Buffer.concat([packet.subarray(0, 20), hex('01010100'), hex('21330101'), hex('ffff')]);
    withOptions[0] = 0x46;
    withOptions.writeUInt16BE(28, 2);
    expect(parseIpv4Packet(withOptions)?.payload).toEqual(hex('21330101'));
  });
  it('rejects malformed headers and never throws', () => {
    expect(parseIpv4Packet(hex('4500'))).toBeUndefined();
    expect(parseIpv4Packet(Buffer.concat([hex('65'), packet.subarray(1)]))).toBeUndefined(); // version 6
    expect(parseIpv4Packet(Buffer.concat([hex('4f'), packet.subarray(1)]))).toBeUndefined(); // IHL 60 > length
    expect(parseIpv4Packet(Buffer.concat([hex('44'), packet.subarray(1)]))).toBeUndefined(); // IHL 16 < 20
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => void parseIpv4Packet(Buffer.from(b))));
  });
});

describe('VRRP checksums per destination', () => {
  const v3 = hex('3133640100640000 0a0000c8');
  it('VRRPv3/IPv4 gets the pseudo-header checksum of the real source and destination', () => {
    const out = withVrrp3Ipv4Checksum(v3, '10.0.0.1', '10.0.0.2');
    const pseudo = hex('0a000001 0a000002 0070 000c');
    expect(internetChecksum(pseudo, out)).toBe(0);
    expect(out.subarray(0, 6)).toEqual(v3.subarray(0, 6));
    expect(withVrrp3Ipv4Checksum(v3, '10.0.0.1', '224.0.0.18').readUInt16BE(6)).not.toBe(out.readUInt16BE(6));
    expect(v3.readUInt16BE(6)).toBe(0); // input untouched
  });
  it('leaves VRRPv2 and short garbage alone', () => {
    const v2 = hex('2133640100010000 0a0000c8 0000000000000000');
    expect(withVrrp3Ipv4Checksum(v2, '10.0.0.1', '10.0.0.2')).toBe(v2);
    expect(withVrrp3Ipv4Checksum(hex('31'), '10.0.0.1', '10.0.0.2')).toEqual(hex('31'));
  });
  it('VRRPv3/IPv6 gets the RFC 8200 §8.1 pseudo-header checksum', () => {
    const m = Buffer.concat([hex('3133640100640000'), ipv6ToBytes('fe80::1')]);
    const out = withVrrpIpv6Checksum(m, 'fe80::1', 'ff02::12');
    const pseudo = Buffer.concat([ipv6ToBytes('fe80::1'), ipv6ToBytes('ff02::12'), hex('00000018 00000070')]);
    expect(internetChecksum(pseudo, out)).toBe(0);
  });
});

describe('IPv6 header (IPV6_HDRINCL)', () => {
  it('has version 6, traffic class 0xc0, next header 112 and the hop limit', () => {
    const h = buildIpv6Header({ source: 'fe80::1', destination: 'ff02::12', hopLimit: 255, payloadLength: 24 });
    expect(h).toEqual(hex(`6c000000 0018 70 ff fe800000000000000000000000000001 ff020000000000000000000000000012`));
  });
});

describe('gratuitous ARP frame', () => {
  it('is keepalived\'s 42-byte broadcast request with sender IP = target IP = VIP', () => {
    expect(buildGratuitousArp('02:00:00:00:00:01', '192.168.60.200')).toEqual(
      hex(`ffffffffffff 020000000001 0806
           0001 0800 06 04 0001
           020000000001 c0a83cc8
           ffffffffffff c0a83cc8`),
    );
  });
  it('rejects bad input with clear messages', () => {
    expect(() => buildGratuitousArp('02:00:00:00:00', '10.0.0.1')).toThrow(/not a MAC address/);
    expect(() => buildGratuitousArp('02:00:00:00:00:01', '10.0.0')).toThrow(/not an IPv4 address/);
  });
});

describe('unsolicited neighbour advertisement', () => {
  it('has type 136, Override set, target and the Target Link-Layer Address option', () => {
    expect(buildUnsolicitedNa('2001:db8::200', '02:00:00:00:00:01', false)).toEqual(
      hex(`88 00 0000 20000000
           20010db8000000000000000000000200
           02 01 020000000001`),
    );
  });
  it('sets Router when asked', () => {
    expect(buildUnsolicitedNa('2001:db8::200', '02:00:00:00:00:01', true)[4]).toBe(0xa0);
  });
});

describe('socket option structs', () => {
  it('ip_mreqn: group, local, ifindex (host order)', () => {
    expect(ipMreqn('224.0.0.18', '0.0.0.0', 3)).toEqual(hex('e0000012 00000000 03000000'));
  });
  it('ipv6_mreq: group, ifindex', () => {
    expect(ipv6Mreq('ff02::12', 7)).toEqual(hex('ff020000000000000000000000000012 07000000'));
  });
  it('device names are NUL-terminated and at most 15 bytes', () => {
    expect(deviceName('eth0')).toEqual(hex('6574683000'));
    expect(() => deviceName('a-very-long-ifname')).toThrow(/bad interface name/);
  });
});

describe('address helpers', () => {
  it('parses and prints IPv6 like the WHATWG URL serializer (RFC 5952 form)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = bytesToIpv6(bytes);
        expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname);
        expect(ipv6ToBytes(text)).toEqual(Buffer.from(bytes));
      }),
    );
    expect(canonicalAddress('2001:DB8:0:0::1%eth0')).toBe('2001:db8::1');
    expect(ipv6ToBytes('::ffff:10.0.0.1')).toEqual(hex('00000000000000000000ffff0a000001'));
  });
  it('classifies link-local and multicast addresses', () => {
    expect(isIpv6LinkLocal('fe80::1')).toBe(true);
    expect(isIpv6LinkLocal('febf::1')).toBe(true);
    expect(isIpv6LinkLocal('fec0::1')).toBe(false);
    expect(isMulticast('224.0.0.18')).toBe(true);
    expect(isMulticast('10.0.0.1')).toBe(false);
    expect(isMulticast('ff02::12')).toBe(true);
    expect(isMulticast('fe80::1')).toBe(false);
  });
  it('rejects non-addresses', () => {
    expect(() => ipv4ToBytes('1.2.3.256')).toThrow(/not an IPv4/);
    expect(() => ipv6ToBytes('1::2::3')).toThrow(/not an IPv6/);
  });
});
