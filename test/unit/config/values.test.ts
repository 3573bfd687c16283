import { describe, expect, it } from 'vitest';
import { isIPv4, isIPv6, parsePrefix, readDouble, readInt, readTimerMs, readUnsigned, trueFalse } from '../../../src/config/values.js';

describe('address helpers', () => {
  it('isIPv4 accepts dotted quads only', () => {
    for (const ok of ['1.2.3.4', '255.255.255.255', '0.0.0.0', '10.0.0.1']) expect(isIPv4(ok)).toBe(true);
    for (const bad of ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', 'a.b.c.d', '192.168.100.', '1.2.3.4 ']) expect(isIPv4(bad)).toBe(false);
  });
  it('isIPv6 accepts the usual forms', () => {
    for (const ok of ['::1', 'fe80::1', '2001:db8::5', 'ae00::2', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8', 'fe80::1%eth0']) expect(isIPv6(ok)).toBe(true);
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '1.2.3.4', ':']) expect(isIPv6(bad)).toBe(false);
  });
  it('parsePrefix defaults to /32 and /128 and rejects bad lengths', () => {
    expect(parsePrefix('10.0.0.1')).toEqual({ address: '10.0.0.1', prefixLength: 32, family: 'inet' });
    expect(parsePrefix('2001:db8::1')).toEqual({ address: '2001:db8::1', prefixLength: 128, family: 'inet6' });
    expect(parsePrefix('10.0.0.1/24')?.prefixLength).toBe(24);
    expect(parsePrefix('10.0.0.1/33')).toBeUndefined();
    expect(parsePrefix('192.168.100./24')).toBeUndefined();
  });
});

describe('number readers (keepalived messages)', () => {
  const run = <T>(f: (fail: (m: string) => void) => T): [T, string[]] => {
    const msgs: string[] = [];
    return [f((m) => msgs.push(m)), msgs];
  };
  it('readUnsigned', () => {
    expect(run((f) => readUnsigned('42', 1, 255, f))).toEqual([42, []]);
    expect(run((f) => readUnsigned('-1', 1, 255, f))).toEqual([undefined, ["negative number '-1'"]]);
    expect(run((f) => readUnsigned('4x', 1, 255, f))).toEqual([undefined, ["invalid number '4x'"]]);
    expect(run((f) => readUnsigned('300', 1, 255, f))).toEqual([undefined, ["number '300' outside range [1, 255]"]]);
  });
  it('readInt and readDouble', () => {
    expect(run((f) => readInt('-20', -253, 253, f))).toEqual([-20, []]);
    expect(run((f) => readDouble('1.5', 0, 3, f))).toEqual([1.5, []]);
    expect(run((f) => readDouble('x', 0, 3, f))).toEqual([undefined, ["invalid number 'x'"]]);
  });
  it('readTimerMs converts seconds with µs resolution', () => {
    expect(run((f) => readTimerMs('0.000001', 0.000001, 10, f))).toEqual([0.001, []]);
    expect(run((f) => readTimerMs('3', 0, 10, f))).toEqual([3000, []]);
  });
  it('trueFalse', () => {
    expect(['on', 'true', 'yes', 'off', 'false', 'no', 'maybe'].map(trueFalse)).toEqual([true, true, true, false, false, false, undefined]);
  });
});
