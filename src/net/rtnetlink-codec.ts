// Every byte of the rtnetlink payloads lvskeeper sends and reads (ifaddrmsg, ifinfomsg and their
// attributes). The netlink package only carries the nlmsghdr; we encode the rest here so that errors keep
// their errno, unknown attributes are skipped safely, and NEWADDR/DELADDR stay distinguishable (its
// RtNetlinkSocket drops the message type: peers.md §3.3). Constants from include/uapi/linux/rtnetlink.h,
// if_addr.h, if_link.h, if.h. Host byte order (little endian) as the kernel expects.

import { bytesToIpv4, bytesToIpv6, bytesToMac, ipv4ToBytes, ipv6ToBytes, macToBytes } from './packet-codec.js';
import type { Family } from './types.js';

export const NETLINK_ROUTE = 0;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const RTNLGRP_LINK = 1;
export const RTNLGRP_IPV4_IFADDR = 5;
export const RTNLGRP_IPV6_IFADDR = 9;

export const AF_INET = 2;
export const AF_INET6 = 10;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_CACHEINFO = 6;
const IFA_FLAGS = 8;

export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_MANAGETEMPADDR = 0x100;
export const IFA_F_NOPREFIXROUTE = 0x200;
export const IFA_F_MCAUTOJOIN = 0x400;
/** ifa_cacheinfo lifetimes: forever. */
export const INFINITY_LIFE_TIME = 0xffffffff;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_TENTATIVE = 0x40;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_OPERSTATE = 16;

export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

const SCOPES = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
export type ScopeName = keyof typeof SCOPES;

export function scopeNumber(scope: ScopeName | number | undefined): number {
  if (scope === undefined) return 0;
  if (typeof scope === 'number') {
    if (!Number.isInteger(scope) || scope < 0 || scope > 255) throw new Error(`bad address scope ${scope}`);
    return scope;
  }
  return SCOPES[scope];
}

export function familyNumber(family: Family): number {
  return family === 'inet' ? AF_INET : AF_INET6;
}

export function familyName(af: number): Family | undefined {
  return af === AF_INET ? 'inet' : af === AF_INET6 ? 'inet6' : undefined;
}

// errno values (asm-generic/errno*.h) the adapters map to results rather than errors.
export const ENOENT = 2;
export const ESRCH = 3;
export const ENODEV = 19;
export const EINVAL = 22;
export const EEXIST = 17;
export const EADDRNOTAVAIL = 99;

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  12: 'ENOMEM',
  13: 'EACCES',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  34: 'ERANGE',
  95: 'EOPNOTSUPP',
  97: 'EAFNOSUPPORT',
  99: 'EADDRNOTAVAIL',
  105: 'ENOBUFS',
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** NLMSG_ERROR payload: s32 error (0 = ACK, else −errno) followed by the offending header. */
export function parseErrorPayload(data: Buffer): number {
  if (data.length < 4) return EINVAL;
  const error = data.readInt32LE(0);
  return error === 0 ? 0 : -error;
}

// --- attributes -------------------------------------------------------------------------------------------

/** One rtattr: u16 length, u16 type, the value, padded to 4 bytes. */
export function attr(type: number, value: Buffer): Buffer {
  const len = 4 + value.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

/** One nlmsghdr and its payload, as read from a notification socket. */
export interface NetlinkDatagramMessage {
  type: number;
  flags: number;
  seq: number;
  port: number;
  data: Buffer;
}

/** Splits a netlink datagram into its messages (16-byte nlmsghdr, 4-byte aligned); stops at a malformed one. */
export function parseNetlinkDatagram(buf: Buffer): NetlinkDatagramMessage[] {
  const out: NetlinkDatagramMessage[] = [];
  let p = 0;
  while (p + 16 <= buf.length) {
    const len = buf.readUInt32LE(p);
    if (len < 16 || p + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(p + 4),
      flags: buf.readUInt16LE(p + 6),
      seq: buf.readUInt32LE(p + 8),
      port: buf.readUInt32LE(p + 12),
      data: buf.subarray(p + 16, p + len),
    });
    p += (len + 3) & ~3;
  }
  return out;
}

/** Walks rtattrs; stops quietly at the first malformed one (never throws on kernel or network input). */
export function parseAttributes(data: Buffer, offset: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let p = offset;
  while (p + 4 <= data.length) {
    const len = data.readUInt16LE(p);
    const type = data.readUInt16LE(p + 2) & 0x3fff; // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
    if (len < 4 || p + len > data.length) break;
    if (!out.has(type)) out.set(type, data.subarray(p + 4, p + len));
    p += (len + 3) & ~3;
  }
  return out;
}

function addressBytes(family: Family, address: string): Buffer {
  return family === 'inet' ? ipv4ToBytes(address) : ipv6ToBytes(address);
}

function addressText(af: number, b: Buffer | undefined): string | undefined {
  if (b === undefined) return undefined;
  if (af === AF_INET && b.length === 4) return bytesToIpv4(b);
  if (af === AF_INET6 && b.length === 16) return bytesToIpv6(b);
  return undefined;
}

function cString(b: Buffer | undefined): string | undefined {
  if (b === undefined) return undefined;
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

// --- addresses (ifaddrmsg: u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index) ------------------------

export interface AddressRequest {
  family: Family;
  address: string;
  prefixLength: number;
  ifindex: number;
  broadcast?: string | undefined;
  scope?: ScopeName | number | undefined;
  label?: string | undefined;
  /** IPv6: skip duplicate address detection so the VIP is usable at once (keepalived sets IFA_F_NODAD). */
  nodad?: boolean | undefined;
  /** More IFA_F_* flags (home, mngtmpaddr, noprefixroute, autojoin), added as IFA_FLAGS. */
  flags?: number | undefined;
  /** `peer`: the other end of a point-to-point address (IFA_ADDRESS, with IFA_LOCAL the address). */
  peer?: string | undefined;
  /** IPv6 preferred lifetime in seconds (IFA_CACHEINFO, valid forever); 0 = deprecated at once. */
  preferredLifetime?: number | undefined;
}

/** RTM_NEWADDR / RTM_DELADDR payload, shaped like iproute2's `ip addr add|del`: IFA_LOCAL and IFA_ADDRESS. */
export function encodeAddressRequest(r: AddressRequest, forDelete = false): Buffer {
  const max = r.family === 'inet' ? 32 : 128;
  if (!Number.isInteger(r.prefixLength) || r.prefixLength < 0 || r.prefixLength > max) {
    throw new Error(`bad prefix length /${r.prefixLength} for ${r.address}`);
  }
  const addr = addressBytes(r.family, r.address);
  const flags = forDelete ? 0 : (r.family === 'inet6' && r.nodad ? IFA_F_NODAD : 0) | (r.flags ?? 0);
  const head = Buffer.alloc(8);
  head[0] = familyNumber(r.family);
  head[1] = r.prefixLength;
  head[2] = flags & 0xff;
  head[3] = scopeNumber(r.scope);
  head.writeUInt32LE(r.ifindex, 4);
  const parts = [head, attr(IFA_LOCAL, addr), attr(IFA_ADDRESS, r.peer === undefined ? addr : addressBytes(r.family, r.peer))];
  if (!forDelete) {
    if (r.preferredLifetime !== undefined && r.family === 'inet6') {
      // struct ifa_cacheinfo { ifa_prefered, ifa_valid, cstamp, tstamp } (keepalived netlink_ipaddress).
      const info = Buffer.alloc(16);
      info.writeUInt32LE(r.preferredLifetime >>> 0, 0);
      info.writeUInt32LE(INFINITY_LIFE_TIME, 4);
      parts.push(attr(IFA_CACHEINFO, info));
    }
    if (r.broadcast !== undefined && r.family === 'inet') parts.push(attr(IFA_BROADCAST, ipv4ToBytes(r.broadcast)));
    if (r.label !== undefined) {
      if (Buffer.byteLength(r.label) > 15) throw new Error(`address label "${r.label}" is longer than 15 bytes`);
      parts.push(attr(IFA_LABEL, Buffer.from(`${r.label}\0`)));
    }
    if (flags !== 0) parts.push(attr(IFA_FLAGS, u32(flags)));
  }
  return Buffer.concat(parts);
}

/** RTM_GETADDR dump request for one family (0 = all). */
export function encodeAddressDump(af: number): Buffer {
  const head = Buffer.alloc(8);
  head[0] = af;
  return head;
}

export interface AddressInfo {
  family: Family;
  address: string;
  prefixLength: number;
  ifindex: number;
  scope: number;
  flags: number;
  label?: string | undefined;
  broadcast?: string | undefined;
}

export function decodeAddress(data: Buffer): AddressInfo | undefined {
  if (data.length < 8) return undefined;
  const af = data[0] ?? 0;
  const family = familyName(af);
  if (family === undefined) return undefined;
  const attrs = parseAttributes(data, 8);
  // IPv4: IFA_LOCAL is the address, IFA_ADDRESS the peer on point-to-point links; IPv6 puts it in IFA_ADDRESS.
  const address = addressText(af, attrs.get(IFA_LOCAL)) ?? addressText(af, attrs.get(IFA_ADDRESS));
  if (address === undefined) return undefined;
  const fl = attrs.get(IFA_FLAGS);
  return {
    family,
    address,
    prefixLength: data[1] ?? 0,
    flags: fl !== undefined && fl.length >= 4 ? fl.readUInt32LE(0) : (data[2] ?? 0),
    scope: data[3] ?? 0,
    ifindex: data.readUInt32LE(4),
    label: cString(attrs.get(IFA_LABEL)),
    broadcast: addressText(af, attrs.get(IFA_BROADCAST)),
  };
}

// --- links (ifinfomsg: u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change) ---------------------

/** RTM_GETLINK: by name (index 0 + IFLA_IFNAME), by index, or a dump (neither). */
export function encodeLinkRequest(by: { name?: string; index?: number }): Buffer {
  const head = Buffer.alloc(16);
  head.writeInt32LE(by.index ?? 0, 4);
  if (by.name === undefined) return head;
  return Buffer.concat([head, attr(IFLA_IFNAME, Buffer.from(`${by.name}\0`))]);
}

export interface LinkInfo {
  index: number;
  name: string;
  flags: number;
  up: boolean;
  running: boolean;
  mac?: string | undefined;
  operstate?: number | undefined;
}

export function decodeLink(data: Buffer): LinkInfo | undefined {
  if (data.length < 16) return undefined;
  const index = data.readInt32LE(4);
  const flags = data.readUInt32LE(8);
  const attrs = parseAttributes(data, 16);
  const name = cString(attrs.get(IFLA_IFNAME));
  if (name === undefined) return undefined;
  const mac = attrs.get(IFLA_ADDRESS);
  const oper = attrs.get(IFLA_OPERSTATE);
  return {
    index,
    name,
    flags,
    up: (flags & IFF_UP) !== 0,
    // keepalived IF_ISUP: IFF_UP && IFF_RUNNING (RUNNING = operstate up: carrier and not dormant)
    running: (flags & IFF_RUNNING) !== 0,
    mac: mac !== undefined && mac.length === 6 ? bytesToMac(mac) : undefined,
    operstate: oper?.[0],
  };
}

// --- link management: macvlan VMACs (keepalived vrrp_vmac.c netlink_link_add_vmac / _del_vmac) ---------

const IFLA_LINK = 5;
const IFLA_LINKINFO = 18;
const IFLA_AF_SPEC = 26;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_MACVLAN_MODE = 1;
const IFLA_INET_CONF = 1;
const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;
const AF_UNSPEC = 0;

export const MACVLAN_MODE_PRIVATE = 1;
export const MACVLAN_MODE_VEPA = 2;
export const MACVLAN_MODE_BRIDGE = 4;

/** IPV4_DEVCONF_* (include/uapi/linux/ip.h): the per-interface IPv4 sysctls keepalived sets on VMACs. */
export const IPV4_DEVCONF = { rp_filter: 8, arp_filter: 13, arp_ignore: 19, promote_secondaries: 20, accept_local: 23 } as const;
export type Ipv4DevconfName = keyof typeof IPV4_DEVCONF;

function ifinfomsg(index: number, flags = 0, change = 0, family = AF_UNSPEC): Buffer {
  const head = Buffer.alloc(16);
  head[0] = family;
  head.writeInt32LE(index, 4);
  head.writeUInt32LE(flags >>> 0, 8);
  head.writeUInt32LE(change >>> 0, 12);
  return head;
}

/** A nested attribute (no NLA_F_NESTED, as keepalived's addattr_l nests). */
function nest(type: number, ...children: Buffer[]): Buffer {
  return attr(type, Buffer.concat(children));
}

/** An interface name as keepalived sends it: strlen bytes, no NUL (the kernel copies at most IFNAMSIZ-1). */
function ifname(name: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length === 0 || b.length > 15 || /[/:\s]/.test(name) || name === '.' || name === '..') throw new Error(`bad interface name "${name}"`);
  return b;
}

export interface MacvlanRequest {
  name: string;
  /** The lower (base) interface. */
  parentIndex: number;
  mac: string;
  mode?: number | undefined;
}

/**
 * RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) creating a macvlan, attributes in keepalived's order:
 * IFLA_LINKINFO { IFLA_INFO_KIND "macvlan", IFLA_INFO_DATA { IFLA_MACVLAN_MODE } }, IFLA_LINK, IFLA_IFNAME,
 * IFLA_ADDRESS.
 */
export function encodeMacvlanCreate(r: MacvlanRequest): Buffer {
  return Buffer.concat([
    ifinfomsg(0),
    nest(IFLA_LINKINFO, attr(IFLA_INFO_KIND, Buffer.from('macvlan')), nest(IFLA_INFO_DATA, attr(IFLA_MACVLAN_MODE, u32(r.mode ?? MACVLAN_MODE_PRIVATE)))),
    attr(IFLA_LINK, u32(r.parentIndex)),
    attr(IFLA_IFNAME, ifname(r.name)),
    attr(IFLA_ADDRESS, macToBytes(r.mac)),
  ]);
}

/** RTM_DELLINK by index (keepalived sends ifi_family AF_INET). */
export function encodeLinkDelete(index: number): Buffer {
  return ifinfomsg(index, 0, 0, AF_INET);
}

/** RTM_NEWLINK setting IFF_UP (ifi_change = ifi_flags = IFF_UP: keepalived netlink_link_up). */
export function encodeLinkUp(index: number): Buffer {
  return ifinfomsg(index, IFF_UP, IFF_UP);
}

/**
 * RTM_NEWLINK IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE u8 NONE } }: no automatic link-local
 * address on the VMAC (RFC 5798 §7.4; keepalived sends it before bringing the link up).
 */
export function encodeAddrGenModeNone(index: number): Buffer {
  return Buffer.concat([ifinfomsg(index), nest(IFLA_AF_SPEC, nest(AF_INET6, attr(IFLA_INET6_ADDR_GEN_MODE, Buffer.from([IN6_ADDR_GEN_MODE_NONE]))))]);
}

/** RTM_NEWLINK IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { IPV4_DEVCONF_x u32 … } } } (vrrp_if_config.c netlink_set_interface_flags). */
export function encodeIpv4Devconf(index: number, values: Partial<Record<Ipv4DevconfName, number>>): Buffer {
  const entries = Object.entries(values) as [Ipv4DevconfName, number][];
  if (entries.length === 0) throw new Error('no IPv4 devconf value to set');
  const conf = entries.map(([k, v]) => attr(IPV4_DEVCONF[k], u32(v)));
  return Buffer.concat([ifinfomsg(index), nest(IFLA_AF_SPEC, nest(AF_INET, nest(IFLA_INET_CONF, ...conf)))]);
}

export interface LinkKind {
  /** IFLA_INFO_KIND ("macvlan", "veth", …); undefined for a plain device. */
  kind?: string | undefined;
  /** IFLA_LINK: the lower device's index (macvlan, vlan, veth peer). */
  parentIndex?: number | undefined;
  /** IFLA_MACVLAN_MODE for a macvlan. */
  macvlanMode?: number | undefined;
}

/** The link type facts of an RTM_NEWLINK message (what a VMAC look-up compares). */
export function decodeLinkKind(data: Buffer): LinkKind {
  if (data.length < 16) return {};
  const attrs = parseAttributes(data, 16);
  const link = attrs.get(IFLA_LINK);
  const info = attrs.get(IFLA_LINKINFO);
  const out: LinkKind = {};
  if (link !== undefined && link.length >= 4) out.parentIndex = link.readUInt32LE(0);
  if (info !== undefined) {
    const nested = parseAttributes(info, 0);
    out.kind = cString(nested.get(IFLA_INFO_KIND));
    const d = nested.get(IFLA_INFO_DATA);
    if (out.kind === 'macvlan' && d !== undefined) {
      const mode = parseAttributes(d, 0).get(IFLA_MACVLAN_MODE);
      if (mode !== undefined && mode.length >= 4) out.macvlanMode = mode.readUInt32LE(0);
    }
  }
  return out;
}
