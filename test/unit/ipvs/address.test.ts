import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, formatIPv6, parseIPv4, parseIPv6 } from '../../../src/ipvs/address.js';

describe('addresses', () => {
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['fe80:0:0:0:1:0:0:1', 'fe80::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'], // a single zero group is not compressed
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['::0.0.0.1', '::1'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['[2001:db8::5]', '2001:db8::5'],
  ])('IPv6 %s prints as inet_ntop would: %s', (input, out) => {
    expect(formatIPv6(parseIPv6(input)!)).toBe(out);
  });

  it.each(['', ':', '10.0.0.1:80', '1:2', '[1:2]', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::', '12345::', '1:2:3:4:5:6:7', '::1.2.3', 'fe80::1%eth0'])('rejects IPv6 %j', (s) => {
    expect(parseIPv6(s)).toBeUndefined();
  });

  it.each(['1.2.3', '1.2.3.256', '01234.1.1.1', '1.2.3.4.5', 'a.b.c.d', ''])('rejects IPv4 %j', (s) => {
    expect(parseIPv4(s)).toBeUndefined();
  });

  it('IPv6 round trip: format(parse(format(bytes))) is stable and parses back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.nat(7), { maxLength: 8 }), (bytes, zeros) => {
        for (const z of zeros) bytes[z * 2] = bytes[z * 2 + 1] = 0;
        const text = formatIPv6(bytes);
        expect(Buffer.from(parseIPv6(text)!).equals(Buffer.from(bytes))).toBe(true);
        expect(canonicalAddress('inet6', text)).toBe(text);
      }),
    );
  });
});
