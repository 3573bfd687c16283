// ipvsadm's listing order: glibc qsort() (a stable top-down merge sort) with libipvs's comparators, which
// are not transitive (they subtract unsigned addresses into an int). format.ts sorts flat int32 keys by
// index; these tests hold it to a plain transcription of glibc msort_with_tmp() and ipvs_cmp_*().
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortDestinations, sortServices } from '../../../src/cli/lvsadm/format.js';
import { formatIPv6 } from '../../../src/ipvs/address.js';
import type { Destination, ServiceEntry, ServiceKey } from '../../../src/ipvs/types.js';

/** glibc msort_with_tmp(): left half = floor(n/2), ties keep the left element first. */
function glibcMergeSort<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  if (items.length <= 1) return items.slice();
  const n1 = Math.floor(items.length / 2);
  const left = glibcMergeSort(items.slice(0, n1), cmp);
  const right = glibcMergeSort(items.slice(n1), cmp);
  const out: T[] = [];
  while (left.length > 0 && right.length > 0) out.push(cmp(left[0]!, right[0]!) <= 0 ? left.shift()! : right.shift()!);
  return [...out, ...left, ...right];
}

const int32 = (n: number): number => n | 0;
/** struct in6_addr / in_addr as four host-order u32 words, as libipvs compares them. */
function words(family: 'inet' | 'inet6', address: string): number[] {
  if (family === 'inet') return [address.split('.').reduce((v, p) => v * 256 + Number(p), 0), 0, 0, 0];
  const groups = address === '::' ? [] : address.split(':');
  expect(groups.length).toBe(8); // the generator below writes all eight groups
  return [0, 1, 2, 3].map((i) => parseInt(groups[2 * i]!, 16) * 65536 + parseInt(groups[2 * i + 1]!, 16));
}
function compareAddr(af: number, a: number[], b: number[]): number {
  let r = 0;
  for (let i = 0; r === 0 && i < (af === 10 ? 4 : 1); i++) r = int32(a[i]! - b[i]!);
  return r;
}

/** libipvs ipvs_cmp_dests(). */
function cmpDests(a: Destination, b: Destination): number {
  const r = compareAddr(a.family === 'inet6' ? 10 : 2, words(a.family, a.address), words(b.family, b.address));
  return r !== 0 ? r : a.port - b.port;
}
/** libipvs ipvs_cmp_services(). */
function cmpServices(x: ServiceEntry, y: ServiceEntry): number {
  const a = x.service.key;
  const b = y.service.key;
  const mark = (k: ServiceKey): number => (k.kind === 'fwmark' ? k.fwmark : 0);
  const af = (k: ServiceKey): number => (k.family === 'inet6' ? 10 : 2);
  const proto = (k: ServiceKey): number => (k.kind === 'addr' ? { tcp: 6, udp: 17, sctp: 132 }[k.protocol] : 0);
  const addr = (k: ServiceKey): number[] => (k.kind === 'addr' ? words(k.family, k.address) : [0, 0, 0, 0]);
  const port = (k: ServiceKey): number => (k.kind === 'addr' ? k.port : 0);
  let r = int32(mark(a) - mark(b));
  if (r === 0) r = af(a) - af(b);
  if (r === 0) r = proto(a) - proto(b);
  if (r === 0) r = compareAddr(af(a), addr(a), addr(b));
  return r !== 0 ? r : port(a) - port(b);
}

// Few distinct values, so that ties (stability) and wrap-around triples (x < y < z < x) are frequent.
const octet = fc.constantFrom(0, 1, 100, 127, 128, 200, 255);
const ipv4 = fc.tuple(octet, octet, fc.constantFrom(0, 7), octet).map((o) => o.join('.'));
const ipv6 = fc
  .array(fc.constantFrom(0, 1, 0x7fff, 0x8000, 0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16).padStart(4, '0')).join(':'));
const family = fc.constantFrom<'inet' | 'inet6'>('inet', 'inet', 'inet6');
const destination = fc.tuple(family, ipv4, ipv6, fc.constantFrom(0, 80, 8080), fc.nat(9)).map(
  ([f, a4, a6, port, weight]): Destination => ({
    family: f,
    address: f === 'inet' ? a4 : a6,
    port,
    forward: 'masq',
    weight, // tells equal keys apart
    upperThreshold: 0,
    lowerThreshold: 0,
  }),
);
const service = fc
  .tuple(family, ipv4, ipv6, fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'), fc.constantFrom(0, 80), fc.constantFrom(0, 0, 0, 1, 0x80000001), fc.nat(9))
  .map(([f, a4, a6, protocol, port, fwmark, timeout]): ServiceEntry => {
    const key: ServiceKey = fwmark
      ? { kind: 'fwmark', family: f, fwmark }
      : { kind: 'addr', family: f, protocol, address: f === 'inet' ? a4 : a6, port };
    return { service: { key, scheduler: 'rr', flags: 0, timeout, netmask: '0.0.0.0' }, destinations: [] };
  });

describe('listing order (glibc merge sort with libipvs comparators)', () => {
  it('destinations: same order as the reference, wrap-around and ties included', () => {
    fc.assert(
      fc.property(fc.array(destination, { maxLength: 24 }), (ds) => {
        expect(sortDestinations(ds)).toEqual(glibcMergeSort(ds, cmpDests));
      }),
      { numRuns: 400 },
    );
  });

  it('destinations read from /proc/net/ip_vs (with their addressWord) sort as the same ones without it', () => {
    const word = (a: string): number => a.split('.').reduce((w, o) => (w << 8) | Number(o), 0) | 0;
    fc.assert(
      fc.property(fc.array(destination, { maxLength: 24 }), (ds) => {
        const withWords = ds.map((d) => (d.family === 'inet' ? { ...d, addressWord: word(d.address) } : d));
        expect(sortDestinations(withWords).map((d) => d.weight)).toEqual(sortDestinations(ds).map((d) => d.weight));
      }),
      { numRuns: 200 },
    );
    // the word is what is compared when present (no dotted quad is parsed back)
    const d = (address: string, addressWord?: number): Destination => ({ family: 'inet', address, port: 80, forward: 'masq', weight: 0, upperThreshold: 0, lowerThreshold: 0, addressWord });
    const claimsNine = d('10.0.0.1', word('10.0.0.9'));
    const five = d('10.0.0.5');
    expect(sortDestinations([claimsNine, five])).toEqual([five, claimsNine]);
  });

  it('services: same order as the reference, fwmarks and families mixed', () => {
    fc.assert(
      fc.property(fc.array(service, { maxLength: 24 }), (ss) => {
        expect(sortServices(ss)).toEqual(glibcMergeSort(ss, cmpServices));
      }),
      { numRuns: 400 },
    );
  });

  // Addresses within less than 2^31 of each other: the comparators are then a total order, and format.ts
  // takes its short cuts (destinations already in order are left as they are; IPv4 services sort natively).
  const narrowIpv4 = fc.tuple(fc.constantFrom(10, 100, 127), octet, fc.constantFrom(0, 7), octet).map((o) => o.join('.'));
  const narrowDestination = fc.tuple(narrowIpv4, fc.constantFrom(0, 80, 8080), fc.nat(9)).map(
    ([address, port, weight]): Destination => ({ family: 'inet', address, port, forward: 'masq', weight, upperThreshold: 0, lowerThreshold: 0 }),
  );
  const narrowService = fc
    .tuple(narrowIpv4, fc.constantFrom<'tcp' | 'udp' | 'sctp'>('tcp', 'udp', 'sctp'), fc.constantFrom(0, 80, 443, 65535), fc.nat(9))
    .map(([address, protocol, port, timeout]): ServiceEntry => ({
      service: { key: { kind: 'addr', family: 'inet', protocol, address, port }, scheduler: 'rr', flags: 0, timeout, netmask: '0.0.0.0' },
      destinations: [],
    }));

  it('destinations that do not wrap, in order or not, ties included: same order as the reference', () => {
    fc.assert(
      fc.property(fc.array(narrowDestination, { maxLength: 24 }), fc.boolean(), (ds, presorted) => {
        const input = presorted ? glibcMergeSort(ds, cmpDests) : ds;
        expect(sortDestinations(input)).toEqual(glibcMergeSort(input, cmpDests));
      }),
      { numRuns: 400 },
    );
  });

  it('IPv4 services that do not wrap, with and without equal keys: same order as the reference', () => {
    fc.assert(
      fc.property(fc.array(narrowService, { maxLength: 40 }), (ss) => {
        expect(sortServices(ss)).toEqual(glibcMergeSort(ss, cmpServices));
      }),
      { numRuns: 400 },
    );
    // one far address makes pairs wrap: the merge sort's order, not the numeric one
    const far = (address: string, port: number): ServiceEntry => ({
      service: { key: { kind: 'addr', family: 'inet', protocol: 'tcp', address, port }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '0.0.0.0' },
      destinations: [],
    });
    const wrapping = [far('200.0.0.1', 80), far('100.0.0.1', 80), far('0.0.0.1', 80)];
    expect(sortServices(wrapping)).toEqual(glibcMergeSort(wrapping, cmpServices));
  });

  it('splits at floor(n/2): a non-transitive triple keeps the order only that split gives', () => {
    // x < y, y < z, but z < x: (int)(0x00000001 - 0xC8000001) > 0
    const d = (address: string, weight: number): Destination => ({ family: 'inet', address, port: 80, forward: 'masq', weight, upperThreshold: 0, lowerThreshold: 0 });
    const [x, y, z] = [d('0.0.0.1', 1), d('100.0.0.1', 2), d('200.0.0.1', 3)];
    expect(sortDestinations([x, y, z])).toEqual([x, y, z]); // [x] | [y z]; a split [x y] | [z] gives z x y
    expect(sortDestinations([y, y, x])).toEqual([x, y, y]);
  });

  it('reads IPv6 keys in canonical text', () => {
    const d = (address: string): Destination => ({ family: 'inet6', address, port: 1, forward: 'masq', weight: 0, upperThreshold: 0, lowerThreshold: 0 });
    const a = d(formatIPv6(new Uint8Array([0xfd, ...new Array(14).fill(0), 2])));
    const b = d('fd00::1');
    expect(sortDestinations([a, b])).toEqual([b, a]);
  });
});
