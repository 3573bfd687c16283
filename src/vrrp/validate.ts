// Receive validation of one VRRP advert for one instance, in the order of keepalived's
// vrrp_check_packet (RFC 3768 §7.1, RFC 5798 §7.1): length, TTL, version, auth type + password (v2),
// v2 interval, type, VRID, checksum, destination mode, then address checks that only log.
// auth_type AH: AH present iff expected first, then ICV/SPI (checked by the transport) and the replay check
// in place of the password (vrrp_check_packet, vrrp_in_chk_ipsecah; keepalived counts them as auth_failure).
// Pure: returns the first failing reason as a stable label, with keepalived's log phrase.
import type { Family, ReceivedPacket } from '../net/types.js';
import { canonicalAddress } from './addr.js';
import type { AhSequence } from './ipsec-ah.js';
import {
  VRRP_AUTH_AH,
  VRRP_AUTH_NONE,
  VRRP_HEADER_LENGTH,
  VRRP_MULTICAST_V4,
  VRRP_MULTICAST_V6,
  VRRP_TYPE_ADVERTISEMENT,
  checksumOk,
  decodeAdvert,
  messageLength,
  passwordBytes,
  type VrrpAdvert,
  type VrrpVersion,
} from './packet.js';

/** Stable labels of the reasons an advert is dropped (counters and logs use these). */
export const DROP_REASONS = [
  'too-short',
  'truncated',
  'ttl',
  'version',
  'auth-type',
  'auth-pass',
  'ah-icv',
  'ah-spi',
  'ah-replay',
  'interval',
  'type',
  'vrid',
  'checksum',
  'destination',
  'unknown-peer',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
/** Findings that are logged and counted but do not drop the advert (keepalived: log only). */
export type AdvisoryReason = 'address-count' | 'address-list' | 'v3-interval';

export interface ValidationConfig {
  name: string;
  version: VrrpVersion;
  family: Family;
  vrid: number;
  /** v2 auth type (0 none, 1 PASS, 2 AH) */
  authType: number;
  authPassword?: string | Buffer | undefined;
  /** Own configured advert_int in centiseconds. */
  advertIntCs: number;
  /** unicast_peer configured: TTL check skipped, unicast destination expected. */
  unicast: boolean;
  multicastGroup?: string | undefined;
  v3ChecksumAsV2?: boolean | undefined;
  /** Addresses we advertise (virtual_ipaddress, up to 255). */
  addresses: string[];
  skipCheckAdvAddr?: boolean | undefined;
  checkUnicastSrc?: boolean | undefined;
  unicastPeers?: string[] | undefined;
  /** unicast_peer `min_ttl`/`max_ttl`, by peer address (keepalived checks them with check_unicast_src). */
  unicastPeerTtl?: ReadonlyMap<string, { min: number; max: number }> | undefined;
}

export type ValidationResult =
  | {
      ok: true;
      advert: VrrpAdvert;
      advisories: { reason: AdvisoryReason; message: string }[];
      /** The advert's IPv4 VRRPv3 unicast checksum was the old one (multicast group in the pseudo-header). */
      oldUnicastChecksum?: true;
    }
  | { ok: false; reason: DropReason; message: string };

const VRRP_TTL = 255;

function drop(reason: DropReason, message: string): ValidationResult {
  return { ok: false, reason, message };
}

/** `ahSequence`: the instance's AH counter, advanced by an accepted advert; `backup`: the instance is BACKUP. */
export function validateAdvert(
  packet: ReceivedPacket,
  cfg: ValidationConfig,
  opts: {
    checkAddresses?: boolean;
    ahSequence?: AhSequence | undefined;
    backup?: boolean;
    /** old_unicast_checksum: 'old' in use, 'never' to learn it, undefined: learn it from a peer (2.2.7). */
    unicastChecksum?: 'old' | 'never' | undefined;
  } = {},
): ValidationResult {
  const n = `(${cfg.name})`;
  const buf = packet.payload;
  // 0. IPv4: an AH header if and only if auth_type AH.
  const wantAh = cfg.authType === VRRP_AUTH_AH;
  if (cfg.family === 'inet' && (packet.ah !== undefined) !== wantAh) {
    return drop('auth-type', wantAh ? `${n} No AH header but auth type is AH` : `${n} Received AH header but auth type not AH`);
  }
  // 1. Length (header first, then the full message for the advertised count; padding allowed).
  if (!Buffer.isBuffer(buf) || buf.length < VRRP_HEADER_LENGTH) {
    return drop('too-short', `${n} ip/vrrp header too short. ${Buffer.isBuffer(buf) ? buf.length : 0} and expect at least ${VRRP_HEADER_LENGTH}`);
  }
  const pv = buf[0]! >> 4;
  const lenVersion: VrrpVersion = pv === 2 || pv === 3 ? pv : cfg.version;
  const lenFamily: Family = lenVersion === 2 ? 'inet' : cfg.family;
  const expect = messageLength(lenVersion, lenFamily, buf[3]!);
  if (buf.length < expect) return drop('truncated', `${n} ip/vrrp packet too short. ${buf.length} and expect at least ${expect}`);
  // 2. TTL / hop limit 255, multicast only (keepalived skips it with unicast peers). Unknown → not checked.
  if (!cfg.unicast && packet.ttl !== undefined && packet.ttl !== VRRP_TTL) {
    return drop('ttl', `${n} invalid TTL/HL. Received ${packet.ttl} and expect ${VRRP_TTL}`);
  }
  // 3. Version.
  if (pv !== cfg.version) return drop('version', `${n} wrong version. Received ${pv} and expect ${cfg.version}`);
  const decoded = decodeAdvert(buf, cfg.family);
  if (!decoded.ok) {
    return decoded.reason === 'too-short' || decoded.reason === 'truncated'
      ? drop(decoded.reason, `${n} ip/vrrp packet too short. ${decoded.detail}`)
      : drop('version', `${n} wrong version. ${decoded.detail}`);
  }
  const adv = decoded.advert;
  if (cfg.version === 2) {
    // 4. Auth type, then PASS compared over all 8 bytes (constant time).
    if (adv.authType !== cfg.authType) {
      return drop('auth-type', `${n} received a ${adv.authType} auth, expecting ${cfg.authType}!`);
    }
    if (wantAh && packet.ah !== undefined) {
      const ah = packet.ah;
      if (ah.failure) return drop(ah.failure.reason === 'icv' ? 'ah-icv' : 'ah-spi', `${n} ${ah.failure.message}`);
      const seq = opts.ahSequence;
      if (seq !== undefined && !seq.accept(ah.sequence, opts.backup ?? false)) {
        return drop('ah-replay', `${n} IPSEC-AH : sequence number ${ah.sequence} already processed. Packet dropped. Local(${seq.seq})`);
      }
    } else if (cfg.authType !== VRRP_AUTH_NONE) {
      const want = passwordBytes(cfg.authPassword ?? '');
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff |= want[i]! ^ (adv.authData[i] ?? 0);
      if (diff !== 0) return drop('auth-pass', `${n} received an invalid passwd!`);
    }
    // 5. v2: advert_int must match (RFC 3768 §7.1), else drop.
    const mine = Math.max(1, Math.round(cfg.advertIntCs / 100));
    if (adv.advertIntField !== mine) {
      return drop('interval', `${n} advertisement interval mismatch mine=${mine} sec rcv'd=${adv.advertIntField} sec`);
    }
  }
  // 6. Type.
  if (adv.type !== VRRP_TYPE_ADVERTISEMENT) {
    return drop('type', `${n} Invalid packet type. ${adv.type} and expect ${VRRP_TYPE_ADVERTISEMENT}`);
  }
  // VRID (keepalived dispatches by VRID before vrrp_check_packet; a stray one is dropped here).
  if (adv.vrid !== cfg.vrid) return drop('vrid', `${n} received VRID ${adv.vrid}, expect ${cfg.vrid}`);
  // 7. Checksum (v3: pseudo-header with the real destination, else the group for multicast).
  const group = cfg.multicastGroup ?? (cfg.family === 'inet' ? VRRP_MULTICAST_V4 : VRRP_MULTICAST_V6);
  // keepalived vrrp_check_packet: the old unicast v3 checksum puts the group in the pseudo-header.
  const oldChecksumApplies = cfg.unicast && cfg.family === 'inet' && adv.version === 3;
  const destination = oldChecksumApplies && opts.unicastChecksum === 'old' ? group : (packet.destination ?? (cfg.unicast ? undefined : group));
  let ck = checksumOk(buf, adv, { source: packet.source, destination, v3ChecksumAsV2: cfg.v3ChecksumAsV2 });
  let oldUnicastChecksum = false;
  if (ck === false && oldChecksumApplies && opts.unicastChecksum === undefined && destination !== group) {
    oldUnicastChecksum = checksumOk(buf, adv, { source: packet.source, destination: group }) === true;
    if (oldUnicastChecksum) ck = true;
  }
  // Undefined: IPv6 unicast without the destination; the kernel checked it (IPV6_CHECKSUM).
  if (ck === false) return drop('checksum', `${n} Invalid VRRPv${adv.version} checksum`);
  // 8. Multicast vs unicast destination must match the mode (when the transport saw it).
  if (packet.destination !== undefined) {
    const isMcast = cfg.family === 'inet' ? /^2(2[4-9]|3\d)\./.test(packet.destination) : /^ff/i.test(packet.destination);
    if (isMcast === cfg.unicast) {
      return drop('destination', `${n} received ${isMcast ? 'multicast' : 'unicast'} packet in ${cfg.unicast ? 'unicast' : 'multicast'} mode`);
    }
  }
  // 10. check_unicast_src: the source must be a configured peer.
  if (cfg.unicast && cfg.checkUnicastSrc) {
    const src = canonicalAddress(packet.source, cfg.family);
    const peer = (cfg.unicastPeers ?? []).find((p) => canonicalAddress(p, cfg.family) === src);
    if (peer === undefined) {
      return drop('unknown-peer', `${n} unicast source address ${packet.source} not a unicast peer`);
    }
    const range = cfg.unicastPeerTtl?.get(peer);
    if (range !== undefined && packet.ttl !== undefined && (packet.ttl < range.min || packet.ttl > range.max)) {
      return drop('ttl', `${n} TTL/HL ${packet.ttl} not in range ${range.min} - ${range.max}`);
    }
  }
  // 9. Address count and list: logged only (keepalived), the advert is used.
  const advisories: { reason: AdvisoryReason; message: string }[] = [];
  if (adv.version === 3 && adv.advertIntCs !== cfg.advertIntCs && adv.priority !== 0) {
    advisories.push({ reason: 'v3-interval', message: `${n} advertisement interval mismatch mine=${cfg.advertIntCs * 10} milli-sec rcv'd=${adv.advertIntCs * 10} milli-sec` });
  }
  if (adv.priority !== 0) {
    const mine = cfg.addresses.slice(0, 255);
    if (adv.count !== mine.length) {
      advisories.push({ reason: 'address-count', message: `${n} received an invalid ip number count ${adv.count}, expected ${mine.length}!` });
    } else if (opts.checkAddresses ?? !cfg.skipCheckAdvAddr) {
      const got = new Set(adv.addresses.map((a) => canonicalAddress(a, cfg.family)));
      for (const a of mine) {
        if (!got.has(canonicalAddress(a, cfg.family))) {
          advisories.push({ reason: 'address-list', message: `${n} ip address associated with VRID ${cfg.vrid} not present in MASTER advert : ${a}` });
          break;
        }
      }
    }
  }
  return oldUnicastChecksum ? { ok: true, advert: adv, advisories, oldUnicastChecksum: true } : { ok: true, advert: adv, advisories };
}

/**
 * Per-instance drop counters and rate-limited logging. A reason is logged the first time, then at most
 * once per `intervalMs` (with the number suppressed), so a flood of bad packets cannot flood the log.
 */
export class DropCounters {
  readonly counts = new Map<DropReason | AdvisoryReason, number>();
  private lastLogMs = new Map<string, number>();
  private suppressed = new Map<string, number>();
  constructor(private readonly intervalMs = 60_000) {}

  /** Count one finding; returns the line to log (with the peer) or undefined when rate-limited. */
  record(reason: DropReason | AdvisoryReason, message: string, peer: string, nowMs: number): string | undefined {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    const last = this.lastLogMs.get(reason);
    if (last !== undefined && nowMs - last < this.intervalMs) {
      this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
      return undefined;
    }
    this.lastLogMs.set(reason, nowMs);
    const sup = this.suppressed.get(reason) ?? 0;
    this.suppressed.set(reason, 0);
    return `${message} (from ${peer}${sup > 0 ? `, ${sup} more suppressed` : ''})`;
  }

  clear(): void {
    this.counts.clear();
    this.suppressed.clear();
  }

  get(reason: DropReason | AdvisoryReason): number {
    return this.counts.get(reason) ?? 0;
  }

  total(): number {
    let t = 0;
    for (const [r, c] of this.counts) if ((DROP_REASONS as readonly string[]).includes(r)) t += c;
    return t;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
