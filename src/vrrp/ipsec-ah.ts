// VRRPv2 `auth_type AH` as keepalived 2.2.7 does it (vrrp.c vrrp_build_ipsecah / vrrp_update_pkt /
// vrrp_in_chk_ipsecah, vrrp_ipsecah.c hmac_md5): an RFC 2402 AH header between the IPv4 header and the
// VRRP message. Pure: builds and verifies whole IPv4 packets; HMAC-MD5 from node:crypto.
//
//   IPv4 header (protocol 51) | next header 112, payload len 4, reserved 0, SPI, sequence, ICV (12) | VRRP
//
// * SPI = the sender's IPv4 source address (network order), checked by the receiver against the source.
// * ICV = HMAC-MD5-96 (RFC 2403) keyed with auth_pass NUL-padded/truncated to 8 bytes (keepalived's
//   auth_data[8]), over: the IP header with TOS, frag_off and checksum zeroed (TTL too, but only in unicast
//   mode: keepalived zeroes it when the *local* instance has unicast peers), the AH header with the ICV
//   zeroed, then the VRRP message. The IP ID is covered, so the sender must set it (non-zero: with
//   IP_HDRINCL the kernel replaces an ID of 0 after we computed the ICV).
// * Sequence numbers (AhSequence): one counter per instance shared by send and receive.
import { createHmac } from 'node:crypto';
import { formatIPv4, parseIPv4 } from './addr.js';
import { passwordBytes } from './packet.js';

export const IPPROTO_AH = 51;
const IPPROTO_VRRP = 112;
/** next header, payload len, reserved, SPI, sequence, 96-bit ICV (keepalived ipsec_ah_t). */
export const AH_HEADER_LENGTH = 24;
export const AH_ICV_LENGTH = 12;
/** RFC 2402 §2.2: AH length in 32-bit words minus 2 (6 - 2), keepalived IPSEC_AH_PLEN. */
export const AH_PAYLOAD_LEN = 4;
/** keepalived stops incrementing past this (vrrp_update_pkt: "Cycled assumed if 0xFFFFFFFD reached"). */
export const AH_SEQ_LIMIT = 0xfffffffd;
const IPV4_HEADER_LENGTH = 20;
const VRRP_TOS = 0xc0;

/** The HMAC key: auth_pass as keepalived stores it (8 bytes, NUL-padded or truncated). */
export function ahKey(password: string | Buffer): Buffer {
  return passwordBytes(password);
}

/**
 * The 96-bit ICV over `ipHeader` (with options, as received), `ah` (24 bytes) and `vrrp`. Copies what it
 * zeroes: TOS, frag_off, checksum, TTL if `unicast`, the ICV field.
 */
export function ahIcv(password: string | Buffer, ipHeader: Buffer, ah: Buffer, vrrp: Buffer, unicast: boolean): Buffer {
  const ip = Buffer.from(ipHeader);
  ip[1] = 0; // TOS
  ip.writeUInt16BE(0, 6); // flags + fragment offset
  ip.writeUInt16BE(0, 10); // header checksum
  if (unicast) ip[8] = 0; // TTL (keepalived: only with unicast peers)
  const a = Buffer.from(ah.subarray(0, AH_HEADER_LENGTH));
  a.fill(0, 12, 24);
  return createHmac('md5', ahKey(password)).update(ip).update(a).update(vrrp).digest().subarray(0, AH_ICV_LENGTH);
}

export interface AhPacketInput {
  source: string;
  destination: string;
  ttl: number;
  /** IP ID, 1-65535 (0 would be replaced by the kernel after the ICV was computed). */
  id: number;
  sequence: number;
  /** The VRRPv2 message (checksummed, auth type 2, auth data zero). */
  vrrp: Buffer;
  password: string | Buffer;
  /** Local unicast mode: TTL is left out of the ICV. */
  unicast: boolean;
  tos?: number | undefined;
}

/** The whole IPv4 packet for an IP_HDRINCL raw socket (header checksum filled; the kernel refills it). */
export function buildAhPacket(i: AhPacketInput): Buffer {
  const src = parseIPv4(i.source);
  const dst = parseIPv4(i.destination);
  if (src === undefined || dst === undefined) throw new Error(`AH packet: bad IPv4 address ${src === undefined ? i.source : i.destination}`);
  if (!Number.isInteger(i.id) || i.id < 1 || i.id > 0xffff) throw new Error(`AH packet: IP ID ${i.id} out of range 1-65535`);
  const total = IPV4_HEADER_LENGTH + AH_HEADER_LENGTH + i.vrrp.length;
  const p = Buffer.alloc(total);
  p[0] = 0x45;
  p[1] = i.tos ?? VRRP_TOS;
  p.writeUInt16BE(total, 2);
  p.writeUInt16BE(i.id, 4);
  p[8] = i.ttl;
  p[9] = IPPROTO_AH;
  src.copy(p, 12);
  dst.copy(p, 16);
  const ah = p.subarray(IPV4_HEADER_LENGTH, IPV4_HEADER_LENGTH + AH_HEADER_LENGTH);
  ah[0] = IPPROTO_VRRP;
  ah[1] = AH_PAYLOAD_LEN;
  src.copy(ah, 4); // SPI = source address, as keepalived sets it
  ah.writeUInt32BE(i.sequence >>> 0, 8);
  i.vrrp.copy(p, IPV4_HEADER_LENGTH + AH_HEADER_LENGTH);
  ahIcv(i.password, p.subarray(0, IPV4_HEADER_LENGTH), ah, i.vrrp, i.unicast).copy(ah, 12);
  p.writeUInt16BE(ipv4HeaderChecksum(p.subarray(0, IPV4_HEADER_LENGTH)), 10);
  return p;
}

function ipv4HeaderChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < h.length; i += 2) if (i !== 10) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** What the AH check of one received packet found; `failure` set = drop (keepalived counts auth_failure). */
export interface AhReceived {
  sequence: number;
  /** SPI as a dotted quad (keepalived puts the sender's address there). */
  spi: string;
  failure?: { reason: 'icv' | 'spi'; message: string } | undefined;
}

export type AhParseResult =
  | { ok: true; ah: AhReceived; vrrp: Buffer; source: string; destination: string; ttl: number }
  /** Not an AH-protected VRRP packet: too short, not IPv4/AH, or AH for another protocol (keepalived drops it silently). */
  | { ok: false; why: string };

/**
 * Checks one received IPv4 packet (what an AF_INET raw socket for protocol 51 reads). The ICV is checked
 * first, then SPI = source (vrrp_in_chk_ipsecah). The replay check needs the instance's counter
 * (AhSequence.accept), so it is not done here.
 */
export function verifyAhPacket(packet: Buffer, password: string | Buffer, unicast: boolean): AhParseResult {
  if (packet.length < IPV4_HEADER_LENGTH || packet[0]! >> 4 !== 4) return { ok: false, why: 'not IPv4' };
  const ihl = (packet[0]! & 0x0f) * 4;
  if (ihl < IPV4_HEADER_LENGTH || packet[9] !== IPPROTO_AH) return { ok: false, why: 'not AH' };
  const total = packet.readUInt16BE(2);
  const end = total >= ihl && total <= packet.length ? total : packet.length;
  if (end < ihl + AH_HEADER_LENGTH) return { ok: false, why: `IPv4 VRRP packet with AH too short - ${end} bytes` };
  const ah = packet.subarray(ihl, ihl + AH_HEADER_LENGTH);
  if (ah[0] !== IPPROTO_VRRP) return { ok: false, why: `AH next header ${ah[0]}, not VRRP` };
  const vrrp = Buffer.from(packet.subarray(ihl + AH_HEADER_LENGTH, end));
  const source = formatIPv4(packet, 12);
  const destination = formatIPv4(packet, 16);
  const spi = formatIPv4(ah, 4);
  const sequence = ah.readUInt32BE(8);
  const base = { ok: true as const, vrrp, source, destination, ttl: packet[8]! };
  const want = ahIcv(password, packet.subarray(0, ihl), ah, vrrp, unicast);
  let diff = 0;
  for (let i = 0; i < AH_ICV_LENGTH; i++) diff |= want[i]! ^ ah[12 + i]!;
  if (diff !== 0) {
    return { ...base, ah: { sequence, spi, failure: { reason: 'icv', message: 'IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !' } } };
  }
  if (!ah.subarray(4, 8).equals(packet.subarray(12, 16))) {
    return { ...base, ah: { sequence, spi, failure: { reason: 'spi', message: `IPSEC AH : invalid IPSEC SPI value. ${source} and expect ${spi}` } } };
  }
  return { ...base, ah: { sequence, spi } };
}

/**
 * keepalived's seq_counter_t (one per instance, kept across reloads): the last sequence number sent *or*
 * accepted. A new master therefore continues the old master's sequence, which the other backups accept.
 */
export class AhSequence {
  constructor(
    public seq = 0,
    /** Set when sending past AH_SEQ_LIMIT; the next takeover restarts at 0. */
    public cycle = false,
  ) {}

  /** The sequence number of the next advert (vrrp_update_pkt): +1, but it stops (cycle) past 0xFFFFFFFD. */
  next(): number {
    if (this.seq > AH_SEQ_LIMIT) this.cycle = true;
    else this.seq++;
    return this.seq;
  }

  /** Anti-replay (vrrp_in_chk_ipsecah): only a number above the last one is accepted and becomes the last. */
  accept(sequence: number, backup: boolean): boolean {
    if (sequence <= this.seq) return false;
    this.seq = sequence;
    if (backup) this.cycle = false; // vrrp_check_packet: BACKUP and seq >= counter
    return true;
  }

  /** MASTER received a lower priority advert: continue after its number (vrrp_state_master_rx "Syncing seq_num"). */
  masterRxLower(sequence: number): void {
    this.seq = (sequence + 1) >>> 0;
    this.cycle = false;
  }

  /** MASTER received a higher priority advert. */
  masterRxHigher(): void {
    this.cycle = false;
  }

  /** Becoming MASTER after the counter cycled: the anti-replay restarts (vrrp_state_goto_master). */
  becomingMaster(): void {
    if (!this.cycle) return;
    this.cycle = false;
    this.seq = 0;
  }
}
