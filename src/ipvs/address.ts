// IP address text <-> bytes, with the canonical text the kernel's users print (glibc inet_ntop).
// Used by the codec (bytes on the wire) and by the reconciler (comparing addresses written differently).
import type { AddressFamily } from './types.js';

/** Parses dotted-quad IPv4 text into 4 bytes, or undefined (1–3 decimal digits per part, ≤ 255). */
export function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      value = value * 10 + (c - 48);
    } else if (c === 46 && digits > 0 && part < 3) {
      if (value > 255) return undefined;
      out[part++] = value;
      digits = 0;
      value = 0;
    } else return undefined;
  }
  if (part !== 3 || digits === 0 || value > 255) return undefined;
  out[3] = value;
  return out;
}

/** Parses IPv6 text (with "::" and an optional embedded IPv4 tail) into 16 bytes, or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.length === 0 || s.includes('%')) return undefined;
  // Every IPv6 text has two colons at least ("::"): "10.0.0.1:80", which lvsadm asks about first as
  // ipvsadm does, is turned down before any splitting (11,000 times in an `lvsadm -R` of a large table).
  const firstColon = s.indexOf(':');
  if (firstColon < 0 || s.indexOf(':', firstColon + 1) < 0) return undefined;
  const words: number[] = [];
  let tailV4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > lastColon) {
    tailV4 = parseIPv4(s.slice(lastColon + 1));
    if (!tailV4) return undefined;
    s = s.slice(0, lastColon + 1); // keeps "…::" whole, else drop the lone separator below
    if (!s.endsWith('::')) s = s.slice(0, -1);
    if (s === '') return undefined;
  }
  const groupsWanted = tailV4 ? 6 : 8;
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const tail = parseGroups(s.slice(dbl + 2));
    if (!head || !tail) return undefined;
    const fill = groupsWanted - head.length - tail.length;
    if (fill < 1) return undefined;
    words.push(...head, ...new Array<number>(fill).fill(0), ...tail);
  } else {
    const all = parseGroups(s);
    if (!all || all.length !== groupsWanted) return undefined;
    words.push(...all);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < groupsWanted; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  if (tailV4) out.set(tailV4, 12);
  return out;
}

export function parseAddress(family: AddressFamily, text: string): Uint8Array | undefined {
  return family === 'inet' ? parseIPv4(text) : parseIPv6(text);
}

/** An IPv4 address given as its host-order 32-bit value (signed or not) → dotted quad. */
export function formatIPv4Word(word: number): string {
  return `${word >>> 24}.${(word >>> 16) & 0xff}.${(word >>> 8) & 0xff}.${word & 0xff}`;
}

export function formatIPv4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** IPv6 bytes → text exactly as glibc/BIND inet_ntop6 writes it (ipvsadm prints with inet_ntop). */
export function formatIPv6(b: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[offset + i * 2]! << 8) | b[offset + i * 2 + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (
      i === 6 &&
      bestBase === 0 &&
      (bestLen === 6 || (bestLen === 7 && words[7] !== 0x0001) || (bestLen === 5 && words[5] === 0xffff))
    ) {
      out += formatIPv4(b, offset + 12);
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

export function formatAddress(family: AddressFamily, b: Uint8Array, offset = 0): string {
  return family === 'inet' ? formatIPv4(b, offset) : formatIPv6(b, offset);
}

/** The canonical spelling of an address (what the kernel hands back, as inet_ntop prints it); input if invalid. */
export function canonicalAddress(family: AddressFamily, text: string): string {
  const b = parseAddress(family, text);
  return b ? formatAddress(family, b) : text;
}
