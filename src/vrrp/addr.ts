// Address helpers for the VRRP codec: text <-> network-order bytes, and the unsigned network-order
// comparison RFC 3768 §6.4.3 / RFC 5798 §6.4.3 use to break priority ties. Pure; never throws on input
// from the network (parse returns undefined).
import type { Family } from '../net/types.js';

export function addressLength(family: Family): 4 | 16 {
  return family === 'inet' ? 4 : 16;
}

/** Parse a dotted quad; undefined when malformed. */
export function parseIPv4(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** Parse an IPv6 address (with optional %scope and embedded IPv4 tail); undefined when malformed. */
export function parseIPv6(text: string): Buffer | undefined {
  const pct = text.indexOf('%');
  const t = pct >= 0 ? text.slice(0, pct) : text;
  if (t.length === 0) return undefined;
  const dbl = t.indexOf('::');
  if (dbl >= 0 && t.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i] ?? '';
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        groups.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        groups.push(parseInt(g, 16));
      }
    }
    return groups;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(t.slice(0, dbl));
    const tail = parseGroups(t.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const g = parseGroups(t);
    if (!g || g.length !== 8) return undefined;
    groups = g;
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function parseAddress(text: string, family: Family): Buffer | undefined {
  return family === 'inet' ? parseIPv4(text) : parseIPv6(text);
}

export function formatIPv4(buf: Buffer, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** RFC 5952 text form (lower case, longest zero run of ≥ 2 groups compressed). */
export function formatIPv6(buf: Buffer, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(offset + i * 2));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

export function formatAddress(buf: Buffer, family: Family, offset = 0): string {
  return family === 'inet' ? formatIPv4(buf, offset) : formatIPv6(buf, offset);
}

/** Canonical text of an address (so "FE80::1" and "fe80:0::1" compare equal); the input when malformed. */
export function canonicalAddress(text: string, family: Family): string {
  const b = parseAddress(text, family);
  return b ? formatAddress(b, family) : text;
}

/**
 * Unsigned network-order comparison (RFC 5798 §6.4.3 "primary IPvX Address of the sender is greater than
 * the local primary IPvX Address"). Returns <0, 0, >0; malformed addresses sort lowest.
 */
export function compareAddresses(a: string, b: string, family: Family): number {
  const ba = parseAddress(a, family);
  const bb = parseAddress(b, family);
  if (!ba && !bb) return 0;
  if (!ba) return -1;
  if (!bb) return 1;
  return Buffer.compare(ba, bb);
}
