// Every byte of the link-layer and IP-layer frames lvskeeper writes itself: the IPv4 header of VRRP
// adverts (IP_HDRINCL, as keepalived does), the VRRPv3 IPv4 checksum, gratuitous ARP frames, unsolicited
// neighbour advertisements, and the socket-option structs (ip_mreqn, ipv6_mreq, icmp6_filter).
// Pure functions only: no sockets here, so all of it is covered by golden-byte unit tests.

import { isIPv4, isIPv6 } from 'node:net';

export const IPPROTO_VRRP = 112;
export const VRRP_TOS = 0xc0; // keepalived: IPTOS_PREC_INTERNETCONTROL on every advert
export const VRRP_TTL = 255; // RFC 3768 §5.2.3 / RFC 5798 §5.1.1.3

/** IPv4 dotted quad → 4 bytes (throws a clear error on anything else). */
export function ipv4ToBytes(address: string): Buffer {
  if (!isIPv4(address)) throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(address.split('.').map((p) => Number(p)));
}

export function bytesToIpv4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** IPv6 text (with optional %scope, ignored) → 16 bytes. */
export function ipv6ToBytes(address: string): Buffer {
  const bare = stripScope(address);
  if (!isIPv6(bare)) throw new Error(`not an IPv6 address: ${address}`);
  let text = bare;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const b = ipv4ToBytes(v4[1]);
    text = `${text.slice(0, -v4[1].length)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = 8 - headParts.length - tailParts.length;
  const parts = tail === undefined ? headParts : [...headParts, ...Array<string>(fill).fill('0'), ...tailParts];
  parts.forEach((p, i) => out.writeUInt16BE(parseInt(p, 16), i * 2));
  return out;
}

/** 16 bytes → canonical RFC 5952 text (lower case, longest zero run compressed). */
export function bytesToIpv6(b: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[offset + 2 * i] ?? 0) << 8) | (b[offset + 2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function stripScope(address: string): string {
  const i = address.indexOf('%');
  return i < 0 ? address : address.slice(0, i);
}

/** Canonical text of an address of either family (so comparisons are byte-exact). */
export function canonicalAddress(address: string): string {
  const bare = stripScope(address);
  if (isIPv4(bare)) return bare;
  return bytesToIpv6(ipv6ToBytes(bare));
}

export function isIpv6LinkLocal(address: string): boolean {
  const b = ipv6ToBytes(address);
  return b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80;
}

export function isMulticast(address: string): boolean {
  const bare = stripScope(address);
  if (isIPv4(bare)) {
    const first = Number(bare.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return bare.toLowerCase().startsWith('ff');
}

export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`not a MAC address: ${mac}`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function bytesToMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** RFC 1071 one's-complement sum of several buffers, folded to 16 bits (not yet inverted). */
function onesComplementSum(parts: Uint8Array[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const part of parts) {
    for (const byte of part) {
      if (odd === undefined) odd = byte;
      else {
        sum += (odd << 8) | byte;
        odd = undefined;
      }
    }
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(...parts: Uint8Array[]): number {
  return ~onesComplementSum(parts) & 0xffff;
}

// ---------------------------------------------------------------------------------------------------------
// IPv4 header for IP_HDRINCL sends.
// keepalived builds the header itself (vrrp.c vrrp_build_ip4): that is the only way a raw socket can send
// from unicast_src_ip / mcast_src_ip without bind(), which raw-socket lacks. raw(7): the kernel always fills
// the checksum and total length, and the id when it is 0.

export interface Ipv4HeaderFields {
  source: string;
  destination: string;
  ttl: number;
  tos?: number;
  protocol?: number;
  payloadLength: number;
}

export function buildIpv4Header(f: Ipv4HeaderFields): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45; // version 4, IHL 5 words
  h[1] = f.tos ?? VRRP_TOS;
  h.writeUInt16BE(20 + f.payloadLength, 2);
  h.writeUInt16BE(0, 4); // id: kernel fills
  h.writeUInt16BE(0, 6); // no fragment flags, like keepalived
  h[8] = f.ttl;
  h[9] = f.protocol ?? IPPROTO_VRRP;
  ipv4ToBytes(f.source).copy(h, 12);
  ipv4ToBytes(f.destination).copy(h, 16);
  h.writeUInt16BE(internetChecksum(h), 10);
  return h;
}

export interface ParsedIpv4 {
  ttl: number;
  protocol: number;
  tos: number;
  source: string;
  destination: string;
  payload: Buffer;
}

/** Parses what an AF_INET raw socket hands us (IP header + data). Returns undefined for anything malformed. */
export function parseIpv4Packet(b: Buffer): ParsedIpv4 | undefined {
  if (b.length < 20) return undefined;
  const first = b[0] ?? 0;
  if (first >> 4 !== 4) return undefined;
  const ihl = (first & 0x0f) * 4;
  if (ihl < 20 || ihl > b.length) return undefined;
  const total = b.readUInt16BE(2);
  // Linux hands raw sockets the whole datagram; trust the smaller of what arrived and what the header says.
  const end = total >= ihl && total <= b.length ? total : b.length;
  return {
    tos: b[1] ?? 0,
    ttl: b[8] ?? 0,
    protocol: b[9] ?? 0,
    source: bytesToIpv4(b, 12),
    destination: bytesToIpv4(b, 16),
    payload: Buffer.from(b.subarray(ihl, end)),
  };
}

/**
 * VRRPv3 over IPv4 checksums the message plus the IPv4 pseudo-header (RFC 5798 §5.2.8). The real
 * destination of each unicast send differs from the group the engine may have assumed, so the transport
 * recomputes it per destination, as keepalived does per unicast peer. VRRPv2 (no pseudo-header) and
 * anything that is not a VRRPv3 message are returned unchanged.
 */
export function withVrrp3Ipv4Checksum(payload: Buffer, source: string, destination: string): Buffer {
  if (payload.length < 8 || (payload[0] ?? 0) >> 4 !== 3) return payload;
  const out = Buffer.from(payload);
  out.writeUInt16BE(0, 6);
  const pseudo = Buffer.alloc(12);
  ipv4ToBytes(source).copy(pseudo, 0);
  ipv4ToBytes(destination).copy(pseudo, 4);
  pseudo[9] = IPPROTO_VRRP;
  pseudo.writeUInt16BE(out.length, 10);
  out.writeUInt16BE(internetChecksum(pseudo, out), 6);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// IPv6 header for IPV6_HDRINCL sends. Used only when a source address is configured (unicast_src_ip): Linux
// ignores a sticky IPV6_PKTINFO source on raw sockets and raw-socket has no bind() or sendmsg cmsgs. The
// kernel computes no checksum on this path, so the VRRP checksum is written here (RFC 5798 §5.2.8 with the
// RFC 8200 §8.1 pseudo-header).

export interface Ipv6HeaderFields {
  source: string;
  destination: string;
  hopLimit: number;
  trafficClass?: number;
  nextHeader?: number;
  payloadLength: number;
}

export function buildIpv6Header(f: Ipv6HeaderFields): Buffer {
  const h = Buffer.alloc(40);
  const tc = f.trafficClass ?? VRRP_TOS;
  h.writeUInt32BE(((6 << 28) | (tc << 20)) >>> 0, 0); // version 6, traffic class, flow label 0
  h.writeUInt16BE(f.payloadLength, 4);
  h[6] = f.nextHeader ?? IPPROTO_VRRP;
  h[7] = f.hopLimit;
  ipv6ToBytes(f.source).copy(h, 8);
  ipv6ToBytes(f.destination).copy(h, 24);
  return h;
}

/** VRRP (v2 layout or v3) over IPv6: checksum at offset 6 over the IPv6 pseudo-header and the message. */
export function withVrrpIpv6Checksum(payload: Buffer, source: string, destination: string): Buffer {
  if (payload.length < 8) return payload;
  const out = Buffer.from(payload);
  out.writeUInt16BE(0, 6);
  const pseudo = Buffer.alloc(40);
  ipv6ToBytes(source).copy(pseudo, 0);
  ipv6ToBytes(destination).copy(pseudo, 16);
  pseudo.writeUInt32BE(out.length, 32);
  pseudo[39] = IPPROTO_VRRP;
  out.writeUInt16BE(internetChecksum(pseudo, out), 6);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Gratuitous ARP (RFC 5227 §3 "ARP Announcement"), exactly keepalived's frame
// (vrrp_arp.c send_gratuitous_arp_immediate): a broadcast ARP *request*, sender IP = target IP = VIP,
// target MAC ff:ff:ff:ff:ff:ff. 42 bytes; the NIC pads to 60.

export const ETH_P_ARP = 0x0806;

export function buildGratuitousArp(senderMac: string, vip: string): Buffer {
  const mac = macToBytes(senderMac);
  const ip = ipv4ToBytes(vip);
  const f = Buffer.alloc(42);
  f.fill(0xff, 0, 6); // Ethernet destination: broadcast
  mac.copy(f, 6); // Ethernet source
  f.writeUInt16BE(ETH_P_ARP, 12);
  f.writeUInt16BE(1, 14); // htype Ethernet
  f.writeUInt16BE(0x0800, 16); // ptype IPv4
  f[18] = 6; // hlen
  f[19] = 4; // plen
  f.writeUInt16BE(1, 20); // oper: request
  mac.copy(f, 22); // sender hardware address
  ip.copy(f, 28); // sender protocol address = VIP
  f.fill(0xff, 32, 38); // target hardware address: broadcast, like keepalived
  ip.copy(f, 38); // target protocol address = VIP
  return f;
}

// ---------------------------------------------------------------------------------------------------------
// Unsolicited neighbour advertisement (RFC 4861 §4.4, §7.2.6), the ICMPv6 part only: the kernel adds the
// IPv6 header (hop limit from IPV6_MULTICAST_HOPS = 255) and always computes the ICMPv6 checksum on raw
// ICMPv6 sockets, so bytes 2-3 stay zero. Flags as keepalived (vrrp_ndisc.c): Override set, Solicited
// clear, Router set only when the interface forwards IPv6.

export const ICMPV6_NEIGHBOR_ADVERT = 136;
export const ALL_NODES_V6 = 'ff02::1';

export function buildUnsolicitedNa(targetAddress: string, mac: string, router: boolean): Buffer {
  const m = Buffer.alloc(32);
  m[0] = ICMPV6_NEIGHBOR_ADVERT;
  m[1] = 0; // code
  m[4] = (router ? 0x80 : 0) | 0x20; // R, S=0, O=1
  ipv6ToBytes(targetAddress).copy(m, 8);
  m[24] = 2; // option: Target Link-Layer Address
  m[25] = 1; // length in units of 8 bytes
  macToBytes(mac).copy(m, 26);
  return m;
}

/** struct icmp6_filter that blocks every type: the NA sender never wants to read anything. */
export function icmp6FilterBlockAll(): Buffer {
  return Buffer.alloc(32, 0xff);
}

// ---------------------------------------------------------------------------------------------------------
// Socket option structs (host byte order where the kernel expects ints; Linux/x86 and arm are little endian
// and so is every Node platform we run on).

/** struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; } — IP_ADD_MEMBERSHIP / IP_MULTICAST_IF. */
export function ipMreqn(group: string, local: string, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  ipv4ToBytes(group).copy(b, 0);
  ipv4ToBytes(local).copy(b, 4);
  b.writeInt32LE(ifindex, 8);
  return b;
}

/** struct ipv6_mreq { in6_addr multiaddr; unsigned int ifindex; } — IPV6_JOIN_GROUP. */
export function ipv6Mreq(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  ipv6ToBytes(group).copy(b, 0);
  b.writeUInt32LE(ifindex, 16);
  return b;
}

/** NUL-terminated interface name for SO_BINDTODEVICE. */
export function deviceName(name: string): Buffer {
  if (name.length === 0 || Buffer.byteLength(name) > 15) throw new Error(`bad interface name: "${name}"`);
  return Buffer.from(`${name}\0`);
}
