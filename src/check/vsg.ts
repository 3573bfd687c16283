// virtual_server_group range expansion (keepalived check_data.c / ipvswrapper.c walk a range
// "192.168.200.3-10" or "ae00::2-9" one address at a time and add one IPVS service per address).

import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../ipvs/address.js';
import type { AddressFamily } from '../ipvs/types.js';

/** Refuse to expand larger ranges (keepalived limits a range to the last octet / group anyway). */
export const MAX_RANGE_ADDRESSES = 65536;

function toBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBig(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Every address from `first` to `last` inclusive, in canonical text (the IPVS library's format).
 * Returns a string describing the problem when the range is invalid or too large.
 */
export function expandAddressRange(family: AddressFamily, first: string, last?: string): string[] | string {
  const parse = family === 'inet' ? parseIPv4 : parseIPv6;
  const format = family === 'inet' ? formatIPv4 : formatIPv6;
  const len = family === 'inet' ? 4 : 16;
  const a = parse(first);
  if (!a) return `invalid address ${first}`;
  if (last === undefined) return [format(a)];
  const b = parse(last);
  if (!b) return `invalid address ${last}`;
  const lo = toBig(a);
  const hi = toBig(b);
  if (hi < lo) return `range ${first}-${last} ends before it starts`;
  if (hi - lo + 1n > BigInt(MAX_RANGE_ADDRESSES)) return `range ${first}-${last} has more than ${MAX_RANGE_ADDRESSES} addresses`;
  const out: string[] = [];
  for (let v = lo; v <= hi; v++) out.push(format(fromBig(v, len)));
  return out;
}
