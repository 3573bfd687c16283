import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checksumOk,
  computeChecksum,
  decodeAdvert,
  encodeAdvert,
  passwordBytes,
  pseudoHeader,
  VRRP_AUTH_PASS,
} from '../../../src/vrrp/packet.js';
import { compareAddresses, formatIPv6, parseIPv6 } from '../../../src/vrrp/addr.js';

/** Independent one's-complement sum over 16-bit words; a correct message (+pseudo-header) sums to 0xffff. */
function foldSum(...bufs: Buffer[]): number {
  const all = Buffer.concat(bufs);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

describe('VRRPv2 codec (RFC 3768 §5)', () => {
  const pkt = encodeAdvert({
    version: 2,
    family: 'inet',
    vrid: 51,
    priority: 100,
    advertIntCs: 100,
    addresses: ['192.168.60.200', '10.0.0.1'],
    authType: VRRP_AUTH_PASS,
    authPassword: 'secret',
  });
  it('lays out the fields byte by byte', () => {
    expect(pkt.length).toBe(8 + 2 * 4 + 8);
    expect([...pkt.subarray(0, 6)]).toEqual([0x21, 51, 100, 2, 1, 1]);
    expect([...pkt.subarray(8, 16)]).toEqual([192, 168, 60, 200, 10, 0, 0, 1]);
    expect(pkt.subarray(16).toString('latin1')).toBe('secret\0\0');
  });
  it('checksum covers the VRRP message only', () => {
    expect(foldSum(pkt)).toBe(0xffff);
    // Golden: fixed message, checksum computed by hand-independent fold.
    const golden = Buffer.from('2101640101010000c0a83cc8', 'hex');
    const withAuth = Buffer.concat([golden, Buffer.alloc(8)]);
    const sum = computeChecksum(withAuth, 2, 'inet')!;
    withAuth.writeUInt16BE(sum, 6);
    expect(foldSum(withAuth)).toBe(0xffff);
    expect(sum).toBe(0x7c8b); // 0x2101+0x6401+0x0101+0xc0a8+0x3cc8 = 0x18373 → 0x8374 → ~ = 0x7c8b
  });
  it('decodes what it encodes, allowing Ethernet padding', () => {
    const padded = Buffer.concat([pkt, Buffer.alloc(22)]);
    const r = decodeAdvert(padded, 'inet');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.advert).toMatchObject({ version: 2, type: 1, vrid: 51, priority: 100, count: 2, authType: 1, advertIntCs: 100, advertIntField: 1, length: 24 });
    expect(r.advert.addresses).toEqual(['192.168.60.200', '10.0.0.1']);
    expect(r.advert.authData).toEqual(passwordBytes('secret'));
    expect(checksumOk(padded, r.advert, {})).toBe(true);
  });
  it('PASS is NUL-padded or truncated to 8 bytes', () => {
    expect(passwordBytes('ab')).toEqual(Buffer.from([97, 98, 0, 0, 0, 0, 0, 0]));
    expect(passwordBytes('0123456789').toString()).toBe('01234567');
  });
  it('v2 interval is whole seconds', () => {
    const p = encodeAdvert({ version: 2, family: 'inet', vrid: 1, priority: 1, advertIntCs: 300, addresses: [] });
    expect(p[5]).toBe(3);
    expect(decodeAdvert(p, 'inet')).toMatchObject({ ok: true, advert: { advertIntCs: 300 } });
  });
  it('refuses v2 over IPv6 when encoding and decoding', () => {
    expect(() => encodeAdvert({ version: 2, family: 'inet6', vrid: 1, priority: 1, advertIntCs: 100, addresses: [] })).toThrow();
    const p = encodeAdvert({ version: 2, family: 'inet', vrid: 1, priority: 1, advertIntCs: 100, addresses: [] });
    expect(decodeAdvert(p, 'inet6')).toMatchObject({ ok: false, reason: 'family' });
  });
  it('carries up to 255 addresses', () => {
    const addrs = Array.from({ length: 255 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    const p = encodeAdvert({ version: 2, family: 'inet', vrid: 9, priority: 200, advertIntCs: 100, addresses: addrs });
    const r = decodeAdvert(p, 'inet');
    expect(r.ok && r.advert.addresses).toEqual(addrs);
    expect(() => encodeAdvert({ version: 2, family: 'inet', vrid: 9, priority: 200, advertIntCs: 100, addresses: [...addrs, '10.9.9.9'] })).toThrow();
  });
});

describe('VRRPv3 codec (RFC 5798 §5)', () => {
  it('IPv4: 12-bit centisecond interval and the pseudo-header checksum', () => {
    const ctx = { source: '192.168.60.111', destination: '224.0.0.18' };
    const p = encodeAdvert({ version: 3, family: 'inet', vrid: 51, priority: 150, advertIntCs: 10, addresses: ['192.168.60.200'] }, ctx);
    expect(p.length).toBe(12);
    expect(p[0]).toBe(0x31);
    expect(p.readUInt16BE(4)).toBe(10);
    const ph = pseudoHeader('inet', ctx.source, ctx.destination, p.length)!;
    expect([...ph]).toEqual([192, 168, 60, 111, 224, 0, 0, 18, 0, 112, 0, 12]);
    expect(foldSum(ph, p)).toBe(0xffff);
    expect(foldSum(p)).not.toBe(0xffff);
    const r = decodeAdvert(p, 'inet');
    expect(r.ok && r.advert.advertIntCs).toBe(10);
    if (!r.ok) return;
    expect(checksumOk(p, r.advert, ctx)).toBe(true);
    expect(checksumOk(p, r.advert, { ...ctx, destination: '192.168.60.112' })).toBe(false);
    expect(checksumOk(p, r.advert, { v3ChecksumAsV2: true })).toBe(false);
    expect(computeChecksum(p, 3, 'inet', {})).toBeUndefined();
  });
  it('v3_checksum_as_v2 leaves the pseudo-header out', () => {
    const p = encodeAdvert({ version: 3, family: 'inet', vrid: 51, priority: 150, advertIntCs: 100, addresses: ['192.168.60.200'] }, { v3ChecksumAsV2: true });
    expect(foldSum(p)).toBe(0xffff);
  });
  it('IPv6: 16-byte addresses and the RFC 2460 pseudo-header', () => {
    const ctx = { source: 'fe80::1', destination: 'ff02::12' };
    const p = encodeAdvert({ version: 3, family: 'inet6', vrid: 7, priority: 100, advertIntCs: 4095, addresses: ['fe80::200', '2001:db8::200'] }, ctx);
    expect(p.length).toBe(8 + 32);
    expect(p.readUInt16BE(4)).toBe(4095);
    const ph = pseudoHeader('inet6', ctx.source, ctx.destination, p.length)!;
    expect(ph.length).toBe(40);
    expect(ph.readUInt32BE(32)).toBe(40);
    expect(ph[39]).toBe(112);
    expect(foldSum(ph, p)).toBe(0xffff);
    const r = decodeAdvert(p, 'inet6');
    expect(r.ok && r.advert.addresses).toEqual(['fe80::200', '2001:db8::200']);
  });
  it('ignores the reserved bits of the interval field', () => {
    const p = encodeAdvert({ version: 3, family: 'inet', vrid: 1, priority: 1, advertIntCs: 100, addresses: [] }, { v3ChecksumAsV2: true });
    p[4] = p[4]! | 0xf0;
    const r = decodeAdvert(p, 'inet');
    expect(r.ok && r.advert.advertIntCs).toBe(100);
    expect(r.ok && r.advert.reserved).toBe(15);
  });
});

describe('decode failures', () => {
  it('labels short, truncated and unknown-version buffers', () => {
    expect(decodeAdvert(Buffer.alloc(3), 'inet')).toMatchObject({ ok: false, reason: 'too-short' });
    expect(decodeAdvert(Buffer.from([0x21, 1, 100, 2, 0, 1, 0, 0, 1, 2, 3, 4]), 'inet')).toMatchObject({ ok: false, reason: 'truncated' });
    expect(decodeAdvert(Buffer.from([0x41, 1, 100, 0, 0, 1, 0, 0]), 'inet')).toMatchObject({ ok: false, reason: 'version' });
  });
  it('never throws on 100,000 random buffers (seeded)', () => {
    let decoded = 0;
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 96 }),
        fc.constantFrom<'inet' | 'inet6'>('inet', 'inet6'),
        fc.boolean(),
        (bytes, family, plausible) => {
          const b = Buffer.from(bytes);
          // Half the cases start like a VRRP header so the deeper paths run too.
          if (plausible && b.length > 3) {
            b[0] = (b[0]! & 1 ? 0x21 : 0x31);
            b[3] = b[3]! % 6;
          }
          const r = decodeAdvert(b, family);
          if (r.ok) {
            decoded++;
            checksumOk(b, r.advert, { source: family === 'inet' ? '10.0.0.1' : 'fe80::1', destination: family === 'inet' ? '224.0.0.18' : 'ff02::12' });
          }
        },
      ),
      { numRuns: 100_000, seed: 4242 },
    );
    expect(decoded).toBeGreaterThan(1000);
  });
});

describe('addresses', () => {
  it('parses and formats IPv6 (RFC 5952)', () => {
    expect(formatIPv6(parseIPv6('2001:DB8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(parseIPv6('fe80::1%eth0')!)).toBe('fe80::1');
    expect(formatIPv6(parseIPv6('::ffff:10.0.0.1')!)).toBe('::ffff:a00:1');
    expect(parseIPv6('1::2::3')).toBeUndefined();
    expect(parseIPv6('12345::')).toBeUndefined();
  });
  it('compares unsigned in network order', () => {
    expect(compareAddresses('192.168.60.112', '192.168.60.111', 'inet')).toBeGreaterThan(0);
    expect(compareAddresses('10.0.0.200', '9.255.255.255', 'inet')).toBeGreaterThan(0);
    expect(compareAddresses('200.0.0.1', '100.0.0.1', 'inet')).toBeGreaterThan(0);
    expect(compareAddresses('fe80::2', 'fe80::10', 'inet6')).toBeLessThan(0);
  });
});
