// Value readers with keepalived's messages (lib/parser.c read_unsigned/read_int/read_double/read_timer,
// check_true_false) and address helpers. Each reader reports through `fail` and returns undefined on error.

import type { AddressFamily } from './model.js';

export type Fail = (message: string) => void;

/** strtol-style decimal integer: optional sign, then digits only. */
export function isDecimalInt(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (n !== 0 && (s.charCodeAt(0) === 43 || s.charCodeAt(0) === 45)) i = 1;
  if (i >= n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export function readUnsigned(word: string | undefined, min: number, max: number, fail: Fail): number | undefined {
  if (word === undefined) {
    fail('missing number');
    return undefined;
  }
  const t = word.trimStart();
  if (t.startsWith('-')) {
    fail(`negative number '${word}'`);
    return undefined;
  }
  if (!isDecimalInt(t)) {
    fail(`invalid number '${word}'`);
    return undefined;
  }
  const v = Number(t);
  if (v > 4294967295) {
    fail(`number '${word}' outside unsigned integer range`);
    return undefined;
  }
  if (v < min || v > max) {
    fail(`number '${word}' outside range [${min}, ${max}]`);
    return undefined;
  }
  return v;
}

export function readInt(word: string | undefined, min: number, max: number, fail: Fail): number | undefined {
  if (word === undefined) {
    fail('missing number');
    return undefined;
  }
  if (!isDecimalInt(word)) {
    fail(`invalid number '${word}'`);
    return undefined;
  }
  const v = Number(word);
  if (v < -2147483648 || v > 2147483647) {
    fail(`number '${word}' outside integer range`);
    return undefined;
  }
  if (v < min || v > max) {
    fail(`number '${word}' outside range [${min}, ${max}]`);
    return undefined;
  }
  return v;
}

const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function readDouble(word: string | undefined, min: number, max: number, fail: Fail): number | undefined {
  if (word === undefined) {
    fail('missing number');
    return undefined;
  }
  if (!isDecimalInt(word) && !DOUBLE.test(word)) {
    fail(`invalid number '${word}'`);
    return undefined;
  }
  const v = Number(word);
  if (!Number.isFinite(v)) {
    fail(`infinite number '${word}'`);
    return undefined;
  }
  if (v < min || v > max) {
    fail(`number '${word}' outside range [${fmt(min)}, ${fmt(max)}]`);
    return undefined;
  }
  return v;
}

function fmt(n: number): string {
  // keepalived prints timer bounds with 6 decimals when fractional.
  return Number.isInteger(n) ? String(n) : n.toFixed(6);
}

/** keepalived's TIMER_MAXIMUM in seconds (ULONG_MAX µs would be ~1.8e13 s; 2.2.7 prints this bound). */
export const TIMER_MAX_S = 18446744073709.551614;
/** A 32-bit µs timer bound as vrrp_garp_interval uses. */
export const TIMER_MAX_UINT_S = 4294.967295;

/** A timer in seconds (µs resolution) → milliseconds. */
export function readTimerMs(word: string | undefined, minS: number, maxS: number, fail: Fail): number | undefined {
  const v = readDouble(word, minS, maxS, fail);
  if (v === undefined) return undefined;
  return Math.round(v * 1e6) / 1e3;
}

/** on|true|yes → true, off|false|no → false, anything else undefined. */
export function trueFalse(word: string): boolean | undefined {
  if (word === 'true' || word === 'on' || word === 'yes') return true;
  if (word === 'false' || word === 'off' || word === 'no') return false;
  return undefined;
}

/** A flag keyword with an optional boolean argument (`vrrp_strict`, `vrrp_strict off`). */
export function readFlag(words: string[], fail: Fail): boolean {
  const w = words[1];
  if (w === undefined) return true;
  const v = trueFalse(w);
  if (v === undefined) {
    fail(`invalid value '${w}' for ${words[0]} - assuming true`);
    return true;
  }
  return v;
}

/** Dotted quad, each part 0..255 without leading zeros (a hot path on big farms: no regex). */
export function isIPv4(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || value > 255) return false;
      parts++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return false;
      value = value * 10 + (c - 48);
      if (++digits > 3) return false;
    } else return false;
  }
  return parts === 4;
}

export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45 || s.indexOf(':') < 0) return false;
  let text = s;
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct);
  let groupsNeeded = 8;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.indexOf('.') >= 0) {
    if (!isIPv4(tail)) return false;
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return false;
  const hex = /^[0-9a-fA-F]{1,4}$/;
  const check = (part: string): number | undefined => {
    if (part === '') return 0;
    const groups = part.split(':');
    for (const g of groups) if (!hex.test(g)) return undefined;
    return groups.length;
  };
  if (dbl >= 0) {
    const a = check(text.slice(0, dbl));
    const b = check(text.slice(dbl + 2));
    if (a === undefined || b === undefined) return false;
    return a + b < groupsNeeded;
  }
  const n = check(text);
  groupsNeeded = 8;
  return n === groupsNeeded;
}

export function familyOf(address: string): AddressFamily | undefined {
  if (isIPv4(address)) return 'inet';
  if (isIPv6(address)) return 'inet6';
  return undefined;
}

/** `ADDR[/LEN]` → address, prefix (default /32 or /128), family. */
export function parsePrefix(text: string): { address: string; prefixLength: number; family: AddressFamily } | undefined {
  const slash = text.indexOf('/');
  const address = slash >= 0 ? text.slice(0, slash) : text;
  const family = familyOf(address);
  if (family === undefined) return undefined;
  const max = family === 'inet' ? 32 : 128;
  if (slash < 0) return { address, prefixLength: max, family };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  if (prefixLength > max) return undefined;
  return { address, prefixLength, family };
}

/** IPv6 address → 8 groups, for range arithmetic. */
export function ipv6Groups(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address;
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct);
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let v4: number[] = [];
  if (tail.indexOf('.') >= 0) {
    const o = tail.split('.').map(Number);
    v4 = [((o[0] ?? 0) << 8) | (o[1] ?? 0), ((o[2] ?? 0) << 8) | (o[3] ?? 0)];
    text = text.slice(0, lastColon + 1) + 'x';
    text = text.replace(/:x$/, '');
    if (text.endsWith(':')) text += ':';
  }
  const want = 8 - v4.length;
  const dbl = text.indexOf('::');
  const parse = (p: string): number[] => (p === '' ? [] : p.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  if (dbl >= 0) {
    const a = parse(text.slice(0, dbl));
    const b = parse(text.slice(dbl + 2));
    groups = [...a, ...new Array<number>(Math.max(0, want - a.length - b.length)).fill(0), ...b];
  } else groups = parse(text);
  groups = [...groups, ...v4];
  return groups.length === 8 ? groups : undefined;
}

export function formatIpv6(groups: number[]): string {
  // Canonical-enough: compress the longest run of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] === 0) {
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > bestLen && j - i > 1) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    } else i++;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
