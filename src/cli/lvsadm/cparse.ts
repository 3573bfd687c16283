// The C library number and address parsers ipvsadm relies on, reproduced so lvsadm accepts exactly
// what ipvsadm accepts: strtol (string_to_number), inet_aton, inet_pton(AF_INET6).
import { formatIPv4Word, parseIPv6 } from '../../ipvs/address.js';

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * strtol(s, &end, 10) where the whole string must be consumed: leading white space and one sign are
 * allowed, at least one digit is needed. Returns undefined when glibc would leave *end != '\0', set
 * ERANGE (outside a 64-bit long) or parse nothing.
 */
export function strtolWhole(s: string): number | undefined {
  let i = 0;
  while (isSpace(s[i])) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  const start = i;
  while (isDigit(s[i])) i++;
  if (i === start || i !== s.length) return undefined;
  const digits = s.slice(start, i);
  const value = BigInt(digits) * (negative ? -1n : 1n);
  if (value > 9223372036854775807n || value < -9223372036854775808n) return undefined; // ERANGE
  // Numbers beyond 2^53 are only compared against int ranges, so a rounded value is good enough.
  return Number(value);
}

/** ipvsadm string_to_number(): a whole decimal number within [min, max], else undefined (ipvsadm's -1). */
export function stringToNumber(s: string, min: number, max: number): number | undefined {
  const n = strtolWhole(s);
  return n !== undefined && n >= min && n <= max ? n : undefined;
}

/** ipvsadm str_is_digit(): true for "" and all-digit strings. */
export function strIsDigit(s: string): boolean {
  for (const c of s) if (!isDigit(c)) return false;
  return true;
}

/**
 * glibc inet_aton(): 1 to 4 parts in decimal, octal (leading 0) or hex (0x), the last part filling the
 * remaining bytes ("10.1" is 10.0.0.1); anything after the address must start with white space.
 * Returns the address as an unsigned 32-bit number, or undefined.
 */
export function inetAton(s: string): number | undefined {
  const parts: number[] = [];
  let i = 0;
  for (;;) {
    if (!isDigit(s[i])) return undefined;
    let base = 10;
    if (s[i] === '0') {
      if ((s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
        base = 16; // strtoul reads "0x" without a hex digit as "0", leaving "x" behind (rejected below)
        i += 2;
      } else {
        base = 8;
        i++;
      }
    }
    let value = 0;
    for (;;) {
      const c = s[i];
      if (c === undefined) break;
      let d: number;
      if (isDigit(c)) {
        d = c.charCodeAt(0) - 48;
        if (base === 8 && d > 7) return undefined;
      } else if (base === 16 && /[a-fA-F]/.test(c)) {
        d = (c.toLowerCase().charCodeAt(0) - 97) + 10;
      } else break;
      value = value * base + d;
      if (value > 0xffffffff) return undefined;
      i++;
    }
    if (s[i] === '.') {
      if (parts.length >= 3 || value > 0xff) return undefined;
      parts.push(value);
      i++;
      continue;
    }
    if (s[i] !== undefined && !isSpace(s[i])) return undefined;
    const n = parts.length;
    const limits = [0xffffffff, 0xffffff, 0xffff, 0xff];
    if (value > limits[n]!) return undefined;
    let addr = value;
    for (let k = 0; k < n; k++) addr += parts[k]! * 2 ** (24 - 8 * k);
    return addr >>> 0;
  }
}

/** inet_ntoa() of a host-order value. */
export const ipv4Text = formatIPv4Word;

/** glibc inet_pton(AF_INET): exactly four decimal parts, no leading zeros beyond one digit. */
export function inetPton4(s: string): number | undefined {
  let addr = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final '.'
    if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return undefined; // no leading zeros
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46) {
      if (digits === 0 || ++parts > 4) return undefined;
      addr = addr * 256 + part;
      part = 0;
      digits = 0;
    } else return undefined;
  }
  return parts === 4 ? addr : undefined;
}

/** glibc inet_pton(AF_INET6) → 16 bytes, or undefined. */
export function inetPton6(s: string): Uint8Array | undefined {
  if (s.startsWith('[')) return undefined;
  return parseIPv6(s);
}
