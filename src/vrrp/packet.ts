// VRRP message codec: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 5798 §5), IPv4 and IPv6.
// Pure: no sockets, no clocks. decodeAdvert never throws; it returns an advert or a drop reason.
// The IP header is not part of the message: the transport strips it and reports TTL/addresses apart.
import type { Family } from '../net/types.js';
import { addressLength, formatAddress, parseAddress } from './addr.js';

export const VRRP_PROTOCOL = 112;
export const VRRP_TYPE_ADVERTISEMENT = 1;
export const VRRP_AUTH_NONE = 0;
export const VRRP_AUTH_PASS = 1;
export const VRRP_AUTH_AH = 2;
/** RFC 3768 §5.3.10 (and RFC 2338 simple text password): always 8 bytes in a v2 message. */
export const VRRP_V2_AUTH_DATA_LENGTH = 8;
export const VRRP_HEADER_LENGTH = 8;
export const VRRP_MAX_ADDRESSES = 255;
/** RFC 5798 §5.2.7: 12-bit Max Adver Int in centiseconds. */
export const VRRP_V3_MAX_ADVERT_INT_CS = 4095;
export const VRRP_MULTICAST_V4 = '224.0.0.18';
export const VRRP_MULTICAST_V6 = 'ff02::12';

export type VrrpVersion = 2 | 3;

export interface VrrpAdvert {
  version: VrrpVersion;
  type: number;
  vrid: number;
  priority: number;
  /** Count IPvX Addr field as sent (addresses.length when the message is well formed). */
  count: number;
  family: Family;
  addresses: string[];
  /** v2 Auth Type; 0 for v3. */
  authType: number;
  /** v2 Authentication Data (8 bytes); empty for v3. */
  authData: Buffer;
  /** Advertisement interval in centiseconds: v2 seconds × 100, v3 the 12-bit field. */
  advertIntCs: number;
  /** The raw interval field: seconds (v2) or centiseconds (v3). */
  advertIntField: number;
  /** v3: the 4 reserved bits in front of the interval (must be sent as 0, ignored on receipt). */
  reserved: number;
  checksum: number;
  /** Length of the VRRP message proper; the buffer may be longer (Ethernet padding). */
  length: number;
}

export type DecodeFailure = 'too-short' | 'version' | 'family' | 'truncated';
export type DecodeResult =
  | { ok: true; advert: VrrpAdvert }
  | { ok: false; reason: DecodeFailure; detail: string };

/** Length of a message of this version with `count` addresses. */
export function messageLength(version: VrrpVersion, family: Family, count: number): number {
  return VRRP_HEADER_LENGTH + count * addressLength(family) + (version === 2 ? VRRP_V2_AUTH_DATA_LENGTH : 0);
}

/** 8-byte NUL-padded (or truncated) PASS data, as keepalived stores auth_pass. */
export function passwordBytes(password: string | Buffer): Buffer {
  const src = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const out = Buffer.alloc(VRRP_V2_AUTH_DATA_LENGTH);
  src.copy(out, 0, 0, Math.min(src.length, VRRP_V2_AUTH_DATA_LENGTH));
  return out;
}

function onesComplementSum(buffers: Buffer[]): number {
  let sum = 0;
  for (const b of buffers) {
    // Every piece here except the last has even length, so 16-bit words never straddle pieces.
    let i = 0;
    for (; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    if (i < b.length) sum += b[i]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Pseudo-header of RFC 5798 §5.2.8 (IPv4 as for UDP; IPv6 as RFC 2460 §8.1), next header 112. */
export function pseudoHeader(family: Family, source: string, destination: string, length: number): Buffer | undefined {
  const src = parseAddress(source, family);
  const dst = parseAddress(destination, family);
  if (!src || !dst) return undefined;
  if (family === 'inet') {
    const tail = Buffer.alloc(4);
    tail[1] = VRRP_PROTOCOL;
    tail.writeUInt16BE(length & 0xffff, 2);
    return Buffer.concat([src, dst, tail]);
  }
  const tail = Buffer.alloc(8);
  tail.writeUInt32BE(length >>> 0, 0);
  tail[7] = VRRP_PROTOCOL;
  return Buffer.concat([src, dst, tail]);
}

export interface ChecksumContext {
  /** IP source and destination; needed for the v3 pseudo-header. */
  source?: string | undefined;
  destination?: string | undefined;
  /** keepalived `v3_checksum_as_v2`: v3 over IPv4 without the pseudo-header. */
  v3ChecksumAsV2?: boolean | undefined;
}

/**
 * Checksum of `message` (its checksum field is treated as zero). v2 covers the message only
 * (RFC 3768 §5.3.8); v3 adds the pseudo-header (RFC 5798 §5.2.8) unless v3ChecksumAsV2 (IPv4 only).
 * Undefined when a needed pseudo-header address is missing or malformed.
 */
export function computeChecksum(message: Buffer, version: VrrpVersion, family: Family, ctx: ChecksumContext = {}): number | undefined {
  const copy = Buffer.from(message);
  if (copy.length >= VRRP_HEADER_LENGTH) copy.writeUInt16BE(0, 6);
  const parts: Buffer[] = [];
  if (version === 3 && !(ctx.v3ChecksumAsV2 && family === 'inet')) {
    if (ctx.source === undefined || ctx.destination === undefined) return undefined;
    const ph = pseudoHeader(family, ctx.source, ctx.destination, copy.length);
    if (!ph) return undefined;
    parts.push(ph);
  }
  parts.push(copy);
  return ~onesComplementSum(parts) & 0xffff;
}

export interface EncodeInput {
  version: VrrpVersion;
  family: Family;
  vrid: number;
  priority: number;
  /** Interval in centiseconds; v2 sends whole seconds (rounded, at least 1). */
  advertIntCs: number;
  addresses: string[];
  /** v2 only. Default none. */
  authType?: number | undefined;
  /** v2 PASS: NUL-padded/truncated to 8 bytes. */
  authPassword?: string | Buffer | undefined;
}

/**
 * Build one advertisement with its checksum. Throws only on programming errors (bad VRID, v2 over
 * IPv6, unparsable configured address, more than 255 addresses, v3 without pseudo-header addresses).
 */
export function encodeAdvert(input: EncodeInput, ctx: ChecksumContext = {}): Buffer {
  const { version, family } = input;
  if (version === 2 && family !== 'inet') throw new Error('VRRPv2 is IPv4 only (RFC 3768)');
  if (!Number.isInteger(input.vrid) || input.vrid < 1 || input.vrid > 255) throw new Error(`bad VRID ${input.vrid}`);
  if (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > 255) throw new Error(`bad priority ${input.priority}`);
  if (input.addresses.length > VRRP_MAX_ADDRESSES) throw new Error('more than 255 addresses');
  const len = messageLength(version, family, input.addresses.length);
  const buf = Buffer.alloc(len);
  buf[0] = (version << 4) | VRRP_TYPE_ADVERTISEMENT;
  buf[1] = input.vrid;
  buf[2] = input.priority;
  buf[3] = input.addresses.length;
  if (version === 2) {
    buf[4] = input.authType ?? VRRP_AUTH_NONE;
    buf[5] = Math.min(255, Math.max(1, Math.round(input.advertIntCs / 100)));
  } else {
    buf.writeUInt16BE(Math.min(VRRP_V3_MAX_ADVERT_INT_CS, Math.max(1, Math.round(input.advertIntCs))) & 0x0fff, 4);
  }
  const alen = addressLength(family);
  input.addresses.forEach((a, i) => {
    const b = parseAddress(a, family);
    if (!b) throw new Error(`bad ${family} address ${a}`);
    b.copy(buf, VRRP_HEADER_LENGTH + i * alen);
  });
  if (version === 2 && (input.authType ?? 0) === VRRP_AUTH_PASS && input.authPassword !== undefined) {
    passwordBytes(input.authPassword).copy(buf, len - VRRP_V2_AUTH_DATA_LENGTH);
  }
  const sum = computeChecksum(buf, version, family, ctx);
  if (sum === undefined) throw new Error('VRRPv3 checksum needs source and destination addresses');
  buf.writeUInt16BE(sum, 6);
  return buf;
}

/** Version nibble, or undefined for an empty buffer. */
export function peekVersion(buf: Buffer): number | undefined {
  return buf.length > 0 ? buf[0]! >> 4 : undefined;
}

/** VRID byte, or undefined when the buffer is too short. */
export function peekVrid(buf: Buffer): number | undefined {
  return buf.length > 1 ? buf[1] : undefined;
}

/**
 * Structural decode. Checks only what is needed to read the fields: header present, version 2 or 3
 * (v2 only over IPv4), and the advertised count of addresses (plus v2 auth data) fits; trailing bytes
 * (Ethernet padding) are allowed. Semantic checks (TTL, auth, interval, type, VRID, checksum) are in
 * validate.ts, in keepalived's order.
 */
export function decodeAdvert(buf: Buffer, family: Family): DecodeResult {
  if (!Buffer.isBuffer(buf) || buf.length < VRRP_HEADER_LENGTH) {
    return { ok: false, reason: 'too-short', detail: `${Buffer.isBuffer(buf) ? buf.length : 0} bytes, expect at least ${VRRP_HEADER_LENGTH}` };
  }
  const version = buf[0]! >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'version', detail: `version ${version}` };
  if (version === 2 && family !== 'inet') return { ok: false, reason: 'family', detail: 'VRRPv2 over IPv6' };
  const count = buf[3]!;
  const len = messageLength(version, family, count);
  if (buf.length < len) return { ok: false, reason: 'truncated', detail: `${buf.length} bytes, expect ${len} for ${count} addresses` };
  const alen = addressLength(family);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(formatAddress(buf, family, VRRP_HEADER_LENGTH + i * alen));
  const v2 = version === 2;
  const advertIntField = v2 ? buf[5]! : buf.readUInt16BE(4) & 0x0fff;
  return {
    ok: true,
    advert: {
      version,
      type: buf[0]! & 0x0f,
      vrid: buf[1]!,
      priority: buf[2]!,
      count,
      family,
      addresses,
      authType: v2 ? buf[4]! : 0,
      authData: v2 ? Buffer.from(buf.subarray(len - VRRP_V2_AUTH_DATA_LENGTH, len)) : Buffer.alloc(0),
      advertIntCs: v2 ? advertIntField * 100 : advertIntField,
      advertIntField,
      reserved: v2 ? 0 : buf[4]! >> 4,
      checksum: buf.readUInt16BE(6),
      length: len,
    },
  };
}

/** Whether the checksum of the first `advert.length` bytes of `buf` is right; undefined when it cannot be checked. */
export function checksumOk(buf: Buffer, advert: VrrpAdvert, ctx: ChecksumContext): boolean | undefined {
  const sum = computeChecksum(buf.subarray(0, advert.length), advert.version, advert.family, ctx);
  return sum === undefined ? undefined : sum === advert.checksum;
}
