// Every byte of the IPVS generic netlink protocol: message framing, command and attribute ids, byte orders,
// nesting. Pure functions only; the layout follows include/uapi/linux/ip_vs.h and net/netfilter/ipvs/ip_vs_ctl.c.
//
// Byte orders (kernel policy): netlink/genl headers, u16/u32/u64 attributes and struct ip_vs_flags are host
// order; service, destination and tunnel ports are network order; the IPv4 persistence netmask is the mask's
// network-order bytes while the IPv6 one is a host-order prefix length; the sync daemon's MCAST_GROUP is an
// in_addr (network order) and its MCAST_PORT host order.
import { endianness } from 'node:os';
import { formatAddress, formatIPv4, parseAddress, parseIPv4 } from './address.js';
import type { DestinationKey, IpvsOp } from './ops.js';
import {
  FORWARD_METHOD_NUMBER,
  IpvsError,
  PROTOCOL_NUMBER,
  SERVICE_FLAGS,
  TUNNEL_TYPE_NUMBER,
  type AddressFamily,
  type Destination,
  type ForwardMethod,
  type Info,
  type IpvsOperation,
  type Protocol,
  type Service,
  type ServiceKey,
  type Stats,
  type SyncDaemon,
  type Timeouts,
  type TunnelType,
} from './types.js';

const LE = endianness() === 'LE';

// ---- netlink / generic netlink constants (linux/netlink.h, linux/genetlink.h) ----

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;

export const NETLINK_GENERIC = 16;
export const GENL_ID_CTRL = 16;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;

const NLMSG_HDRLEN = 16;
const GENL_HDRLEN = 4;
const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff; // strips NLA_F_NESTED / NLA_F_NET_BYTEORDER

// ---- IPVS (linux/ip_vs.h) ----

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

export const CMD = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  NEW_DAEMON: 9,
  DEL_DAEMON: 10,
  GET_DAEMON: 11,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  SET_INFO: 14,
  GET_INFO: 15,
  ZERO: 16,
  FLUSH: 17,
} as const;

const CMD_ATTR = { SERVICE: 1, DEST: 2, DAEMON: 3, TIMEOUT_TCP: 4, TIMEOUT_TCP_FIN: 5, TIMEOUT_UDP: 6 } as const;
const SVC_ATTR = {
  AF: 1,
  PROTOCOL: 2,
  ADDR: 3,
  PORT: 4,
  FWMARK: 5,
  SCHED_NAME: 6,
  FLAGS: 7,
  TIMEOUT: 8,
  NETMASK: 9,
  STATS: 10,
  PE_NAME: 11,
  STATS64: 12,
} as const;
const DEST_ATTR = {
  ADDR: 1,
  PORT: 2,
  FWD_METHOD: 3,
  WEIGHT: 4,
  U_THRESH: 5,
  L_THRESH: 6,
  ACTIVE_CONNS: 7,
  INACT_CONNS: 8,
  PERSIST_CONNS: 9,
  STATS: 10,
  ADDR_FAMILY: 11,
  STATS64: 12,
  TUN_TYPE: 13,
  TUN_PORT: 14,
  TUN_FLAGS: 15,
} as const;
const DAEMON_ATTR = {
  STATE: 1,
  MCAST_IFN: 2,
  SYNC_ID: 3,
  SYNC_MAXLEN: 4,
  MCAST_GROUP: 5,
  MCAST_GROUP6: 6,
  MCAST_PORT: 7,
  MCAST_TTL: 8,
} as const;
const STATS_ATTR = {
  CONNS: 1,
  INPKTS: 2,
  OUTPKTS: 3,
  INBYTES: 4,
  OUTBYTES: 5,
  CPS: 6,
  INPPS: 7,
  OUTPPS: 8,
  INBPS: 9,
  OUTBPS: 10,
  PAD: 11,
} as const;
const INFO_ATTR = { VERSION: 1, CONN_TAB_SIZE: 2 } as const;

const AF_NUMBER: Record<AddressFamily, number> = { inet: 2, inet6: 10 };
const DAEMON_STATE: Record<SyncDaemon['state'], number> = { master: 1, backup: 2 };
const IP_VS_CONN_F_FWD_MASK = 0x7;
const SCHEDNAME_MAXLEN = 16;
const PENAME_MAXLEN = 16;
const IFNAME_MAXLEN = 16;

// ---- primitive encoders ----

function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}
function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  if (LE) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}
function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}
function cstring(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
}
// Host-order reads by bytes: Buffer#readUInt*'s argument and range checks cost more than the read in the
// receive path (1,000s of messages, each with a dozen attributes, in a process that starts cold). Callers
// check lengths first; a byte beyond the buffer would read as 0, never throw.
function readU16(b: Uint8Array, o = 0): number {
  return LE ? (b[o]! | (b[o + 1]! << 8)) & 0xffff : ((b[o]! << 8) | b[o + 1]!) & 0xffff;
}
function readS32(b: Uint8Array, o = 0): number {
  return LE ? b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24) : (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}
function readU32(b: Uint8Array, o = 0): number {
  return readS32(b, o) >>> 0;
}
function readU64(b: Buffer, o = 0): bigint {
  return LE ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
}

const align4 = (n: number): number => (n + 3) & ~3;

// Direct byte stores: Buffer#writeUInt* adds range checks that cost more than the encoding itself when
// thousands of requests are built by a cold process (lvsadm -R).
function put16(b: Uint8Array, at: number, v: number): void {
  if (LE) {
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
  } else {
    b[at] = (v >>> 8) & 0xff;
    b[at + 1] = v & 0xff;
  }
}
function put16be(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}
function put32(b: Uint8Array, at: number, v: number): void {
  if (LE) {
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
    b[at + 2] = (v >>> 16) & 0xff;
    b[at + 3] = (v >>> 24) & 0xff;
  } else {
    b[at] = (v >>> 24) & 0xff;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
  }
}

/** One netlink attribute: header, payload, zero padding to 4. Nested = payload built from attributes. */
function attr(type: number, payload: Buffer | Buffer[]): Buffer {
  const data = Array.isArray(payload) ? Buffer.concat(payload) : payload;
  const len = NLA_HDRLEN + data.length;
  const out = Buffer.alloc(align4(len));
  if (LE) {
    out.writeUInt16LE(len, 0);
    out.writeUInt16LE(type, 2);
  } else {
    out.writeUInt16BE(len, 0);
    out.writeUInt16BE(type, 2);
  }
  data.copy(out, NLA_HDRLEN);
  return out;
}

/** Attribute payloads by type; later duplicates win. PAD and other zero-length attributes are kept as empty. */
export function parseAttrs(b: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let o = 0;
  while (o + NLA_HDRLEN <= b.length) {
    const len = readU16(b, o);
    const type = readU16(b, o + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || o + len > b.length) break;
    out.set(type, b.subarray(o + NLA_HDRLEN, o + len));
    o += align4(len);
  }
  return out;
}

// ---- netlink framing ----

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** nlmsghdr + payload (padded). */
export function frameMessage(m: NetlinkMessage): Buffer {
  return frameMessages([m]);
}

/** Several messages framed back to back into one datagram (one allocation). */
export function frameMessages(ms: readonly NetlinkMessage[]): Buffer {
  let total = 0;
  for (const m of ms) total += align4(NLMSG_HDRLEN + m.payload.length);
  const out = Buffer.alloc(total);
  let o = 0;
  for (const m of ms) {
    const len = NLMSG_HDRLEN + m.payload.length;
    put32(out, o, len);
    put16(out, o + 4, m.type);
    put16(out, o + 6, m.flags);
    put32(out, o + 8, m.seq);
    put32(out, o + 12, m.pid);
    out.set(m.payload, o + NLMSG_HDRLEN);
    o += align4(len);
  }
  return out;
}

/** Splits one received datagram into its netlink messages (stops at the first malformed header). */
export function parseMessages(b: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let o = 0;
  while (o + NLMSG_HDRLEN <= b.length) {
    const len = readU32(b, o);
    if (len < NLMSG_HDRLEN || o + len > b.length) break;
    out.push({
      type: readU16(b, o + 4),
      flags: readU16(b, o + 6),
      seq: readU32(b, o + 8),
      pid: readU32(b, o + 12),
      payload: b.subarray(o + NLMSG_HDRLEN, o + len),
    });
    o += align4(len);
  }
  return out;
}

/** The positive errno of an NLMSG_ERROR (0 = ACK) or NLMSG_DONE payload. */
export function parseErrno(payload: Buffer): number {
  if (payload.length < 4) return 0;
  return -readS32(payload, 0) | 0; // | 0: no -0
}

/** genlmsghdr (cmd, version, reserved) + attributes. */
function genl(cmd: number, attrs: Buffer[], version = IPVS_GENL_VERSION): Buffer {
  return Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);
}

export interface GenlMessage {
  cmd: number;
  version: number;
  attrs: Map<number, Buffer>;
}

export function parseGenl(payload: Buffer): GenlMessage {
  if (payload.length < GENL_HDRLEN) throw new DecodeError('short generic netlink message');
  return { cmd: payload[0]!, version: payload[1]!, attrs: parseAttrs(payload.subarray(GENL_HDRLEN)) };
}

// ---- nlctrl: family resolution ----

/** CTRL_CMD_GETFAMILY for "IPVS" (sent to GENL_ID_CTRL, flags REQUEST). */
export function encodeGetFamily(name = IPVS_GENL_NAME): Buffer {
  return new AttrWriter(CTRL_CMD_GETFAMILY, 1).cstring(CTRL_ATTR_FAMILY_NAME, name).done();
}

export function decodeFamilyId(payload: Buffer): number | undefined {
  const id = parseGenl(payload).attrs.get(CTRL_ATTR_FAMILY_ID);
  return id && id.length >= 2 ? readU16(id) : undefined;
}

// ---- IPVS requests ----

/** A request ready to frame: genl payload plus whether it is a dump and the op it reports errors as. */
export interface IpvsRequest {
  op: IpvsOperation;
  cmd: number;
  dump: boolean;
  payload: Buffer;
}

function invalid(op: IpvsOperation, what: string): IpvsError {
  return new IpvsError(op, 22, `Invalid argument: ${what}`);
}

/**
 * Writes a generic netlink payload (genlmsghdr + attributes) straight into one buffer: requests are encoded
 * thousands at a time by apply(), so no per-attribute allocation. Padding stays zero (Buffer.alloc).
 */
class AttrWriter {
  private buf: Buffer;
  private len = 0;

  constructor(cmd: number, version = IPVS_GENL_VERSION, size = 160) {
    this.buf = Buffer.alloc(size);
    this.buf[0] = cmd;
    this.buf[1] = version;
    this.len = GENL_HDRLEN;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  private header(at: number, len: number, type: number): void {
    put16(this.buf, at, len);
    put16(this.buf, at + 2, type);
  }

  /** Reserves an attribute of `size` payload bytes and returns the payload offset. */
  private put(type: number, size: number): number {
    this.room(align4(NLA_HDRLEN + size));
    this.header(this.len, NLA_HDRLEN + size, type);
    const at = this.len + NLA_HDRLEN;
    this.len += align4(NLA_HDRLEN + size);
    return at;
  }

  u8(type: number, v: number): this {
    this.buf[this.put(type, 1)] = v & 0xff;
    return this;
  }
  u16(type: number, v: number): this {
    put16(this.buf, this.put(type, 2), v);
    return this;
  }
  be16(type: number, v: number): this {
    put16be(this.buf, this.put(type, 2), v);
    return this;
  }
  u32(type: number, v: number): this {
    put32(this.buf, this.put(type, 4), v);
    return this;
  }
  /** Two host-order u32 (struct ip_vs_flags { flags, mask }). */
  u32pair(type: number, a: number, b: number): this {
    const at = this.put(type, 8);
    put32(this.buf, at, a);
    put32(this.buf, at + 4, b);
    return this;
  }
  bytes(type: number, b: Uint8Array, size = b.length): this {
    const at = this.put(type, size);
    this.buf.set(b, at);
    return this;
  }
  cstring(type: number, s: string): this {
    const n = Buffer.byteLength(s);
    const at = this.put(type, n + 1);
    this.buf.write(s, at, 'utf8');
    return this;
  }
  nest(type: number, body: (w: this) => void): this {
    this.room(NLA_HDRLEN);
    const start = this.len;
    this.len += NLA_HDRLEN;
    body(this);
    this.header(start, this.len - start, type);
    return this;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

function addressBytes(op: IpvsOperation, family: AddressFamily, text: string): Uint8Array {
  const b = parseAddress(family, text);
  if (!b) throw invalid(op, `bad ${family === 'inet' ? 'IPv4' : 'IPv6'} address "${text}"`);
  return b;
}

function checkRange(op: IpvsOperation, what: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw invalid(op, `${what} ${v} out of range 0..${max}`);
  return v;
}

function checkName(op: IpvsOperation, what: string, s: string, maxlen: number): string {
  if (Buffer.byteLength(s) >= maxlen || s.includes('\0')) throw invalid(op, `${what} "${s}" too long`);
  return s;
}

/** AF, then FWMARK or PROTOCOL + ADDR (16 bytes, union nf_inet_addr, as libipvs sends it) + PORT (be16). */
function serviceId(w: AttrWriter, op: IpvsOperation, key: ServiceKey): void {
  w.u16(SVC_ATTR.AF, AF_NUMBER[key.family]);
  if (key.kind === 'fwmark') {
    w.u32(SVC_ATTR.FWMARK, checkRange(op, 'fwmark', key.fwmark, 0xffffffff));
    return;
  }
  const proto = PROTOCOL_NUMBER[key.protocol];
  if (proto === undefined) throw invalid(op, `protocol ${String(key.protocol)}`);
  w.u16(SVC_ATTR.PROTOCOL, proto);
  w.bytes(SVC_ATTR.ADDR, addressBytes(op, key.family, key.address), 16);
  w.be16(SVC_ATTR.PORT, checkRange(op, 'port', key.port, 0xffff));
}

/** IPv4: the mask's network-order bytes; IPv6: the prefix length as a host u32 (ip_vs_add_service checks 1..128). */
function netmask(w: AttrWriter, op: IpvsOperation, family: AddressFamily, text: string): void {
  if (family === 'inet') {
    const b = parseIPv4(text);
    if (!b) throw invalid(op, `bad netmask "${text}"`);
    w.bytes(SVC_ATTR.NETMASK, b);
    return;
  }
  const t = text.startsWith('/') ? text.slice(1) : text;
  const prefix = /^\d{1,3}$/.test(t) ? Number(t) : NaN;
  if (!(prefix >= 1 && prefix <= 128)) throw invalid(op, `bad IPv6 prefix length "${text}"`);
  w.u32(SVC_ATTR.NETMASK, prefix);
}

function serviceFull(w: AttrWriter, op: IpvsOperation, s: Service): void {
  serviceId(w, op, s.key);
  w.cstring(SVC_ATTR.SCHED_NAME, checkName(op, 'scheduler', s.scheduler, SCHEDNAME_MAXLEN));
  if (s.persistenceEngine) w.cstring(SVC_ATTR.PE_NAME, checkName(op, 'persistence engine', s.persistenceEngine, PENAME_MAXLEN));
  const flags = checkRange(op, 'flags', s.flags, 0xffffffff) & ~SERVICE_FLAGS.hashed;
  w.u32pair(SVC_ATTR.FLAGS, flags, 0xffffffff); // mask ~0: replace all flags, as libipvs does
  w.u32(SVC_ATTR.TIMEOUT, checkRange(op, 'timeout', s.timeout, 0xffffffff));
  netmask(w, op, s.key.family, s.netmask);
}

function destId(w: AttrWriter, op: IpvsOperation, d: DestinationKey): void {
  w.u16(DEST_ATTR.ADDR_FAMILY, AF_NUMBER[d.family]);
  w.bytes(DEST_ATTR.ADDR, addressBytes(op, d.family, d.address), 16);
  w.be16(DEST_ATTR.PORT, checkRange(op, 'port', d.port, 0xffff));
}

function destFull(w: AttrWriter, op: IpvsOperation, d: Destination): void {
  const fwd = FORWARD_METHOD_NUMBER[d.forward];
  if (fwd === undefined) throw invalid(op, `forwarding method ${String(d.forward)}`);
  destId(w, op, d);
  w.u32(DEST_ATTR.FWD_METHOD, fwd);
  w.u32(DEST_ATTR.WEIGHT, checkRange(op, 'weight', d.weight, 0x7fffffff));
  w.u32(DEST_ATTR.U_THRESH, checkRange(op, 'upper threshold', d.upperThreshold, 0xffffffff));
  w.u32(DEST_ATTR.L_THRESH, checkRange(op, 'lower threshold', d.lowerThreshold, 0xffffffff));
  if (d.forward === 'tunnel') {
    const type = TUNNEL_TYPE_NUMBER[d.tunnelType ?? 'ipip'];
    if (type === undefined) throw invalid(op, `tunnel type ${String(d.tunnelType)}`);
    w.u8(DEST_ATTR.TUN_TYPE, type);
    w.be16(DEST_ATTR.TUN_PORT, checkRange(op, 'tunnel port', d.tunnelPort ?? 0, 0xffff));
    w.u16(DEST_ATTR.TUN_FLAGS, checkRange(op, 'tunnel flags', d.tunnelFlags ?? 0, 0xffff));
  }
}

function daemon(w: AttrWriter, op: IpvsOperation, d: SyncDaemon): void {
  w.u32(DAEMON_ATTR.STATE, DAEMON_STATE[d.state]);
  w.cstring(DAEMON_ATTR.MCAST_IFN, checkName(op, 'interface', d.mcastInterface, IFNAME_MAXLEN));
  w.u32(DAEMON_ATTR.SYNC_ID, checkRange(op, 'syncid', d.syncId, 0xffffffff));
  if (d.maxLen !== undefined) w.u16(DAEMON_ATTR.SYNC_MAXLEN, checkRange(op, 'maxlen', d.maxLen, 0xffff));
  if (d.mcastGroup !== undefined) {
    const v4 = parseAddress('inet', d.mcastGroup);
    if (v4) w.bytes(DAEMON_ATTR.MCAST_GROUP, v4); // in_addr, network order
    else {
      const v6 = parseAddress('inet6', d.mcastGroup);
      if (!v6) throw invalid(op, `bad multicast group "${d.mcastGroup}"`);
      w.bytes(DAEMON_ATTR.MCAST_GROUP6, v6);
    }
  }
  if (d.mcastPort !== undefined) w.u16(DAEMON_ATTR.MCAST_PORT, checkRange(op, 'mcast port', d.mcastPort, 0xffff)); // host order
  if (d.mcastTtl !== undefined) w.u8(DAEMON_ATTR.MCAST_TTL, checkRange(op, 'mcast ttl', d.mcastTtl, 255));
}

function request(op: IpvsOperation, cmd: number, dump: boolean, body?: (w: AttrWriter) => void): IpvsRequest {
  const w = new AttrWriter(cmd);
  body?.(w);
  return { op, cmd, dump, payload: w.done() };
}

/** Encodes a write operation. Throws IpvsError (EINVAL) for values the kernel could not take. */
export function encodeOp(o: IpvsOp): IpvsRequest {
  const op = o.op;
  switch (o.op) {
    case 'add-service':
    case 'edit-service':
      return request(op, o.op === 'add-service' ? CMD.NEW_SERVICE : CMD.SET_SERVICE, false, (w) =>
        w.nest(CMD_ATTR.SERVICE, () => serviceFull(w, op, o.service)),
      );
    case 'del-service':
      return request(op, CMD.DEL_SERVICE, false, (w) => w.nest(CMD_ATTR.SERVICE, () => serviceId(w, op, o.key)));
    case 'add-dest':
    case 'edit-dest':
      return request(op, o.op === 'add-dest' ? CMD.NEW_DEST : CMD.SET_DEST, false, (w) => {
        w.nest(CMD_ATTR.SERVICE, () => serviceId(w, op, o.key));
        w.nest(CMD_ATTR.DEST, () => destFull(w, op, o.dest));
      });
    case 'del-dest':
      return request(op, CMD.DEL_DEST, false, (w) => {
        w.nest(CMD_ATTR.SERVICE, () => serviceId(w, op, o.key));
        w.nest(CMD_ATTR.DEST, () => destId(w, op, o.dest));
      });
    case 'set-timeout':
      return request(op, CMD.SET_CONFIG, false, (w) => {
        w.u32(CMD_ATTR.TIMEOUT_TCP, checkRange(op, 'tcp timeout', o.timeouts.tcp, 0x7fffffff));
        w.u32(CMD_ATTR.TIMEOUT_TCP_FIN, checkRange(op, 'tcpfin timeout', o.timeouts.tcpFin, 0x7fffffff));
        w.u32(CMD_ATTR.TIMEOUT_UDP, checkRange(op, 'udp timeout', o.timeouts.udp, 0x7fffffff));
      });
    case 'start-daemon':
      return request(op, CMD.NEW_DAEMON, false, (w) => w.nest(CMD_ATTR.DAEMON, () => daemon(w, op, o.daemon)));
    case 'stop-daemon':
      return request(op, CMD.DEL_DAEMON, false, (w) => w.nest(CMD_ATTR.DAEMON, () => w.u32(DAEMON_ATTR.STATE, DAEMON_STATE[o.state])));
    case 'zero': {
      const key = o.key;
      return request(op, CMD.ZERO, false, key ? (w) => w.nest(CMD_ATTR.SERVICE, () => serviceId(w, op, key)) : undefined);
    }
    case 'flush':
      return request(op, CMD.FLUSH, false);
  }
}

export function encodeGetServices(): IpvsRequest {
  return request('get-service', CMD.GET_SERVICE, true);
}
export function encodeGetService(key: ServiceKey): IpvsRequest {
  return request('get-service', CMD.GET_SERVICE, false, (w) => w.nest(CMD_ATTR.SERVICE, () => serviceId(w, 'get-service', key)));
}
export function encodeGetDests(key: ServiceKey): IpvsRequest {
  return request('get-dest', CMD.GET_DEST, true, (w) => w.nest(CMD_ATTR.SERVICE, () => serviceId(w, 'get-dest', key)));
}
export function encodeGetDaemons(): IpvsRequest {
  return request('get-daemon', CMD.GET_DAEMON, true);
}
export function encodeGetConfig(): IpvsRequest {
  return request('get-timeout', CMD.GET_CONFIG, false);
}
export function encodeGetInfo(): IpvsRequest {
  return request('get-info', CMD.GET_INFO, false);
}

// ---- IPVS replies ----

function familyOf(n: number | undefined): AddressFamily | undefined {
  return n === 2 ? 'inet' : n === 10 ? 'inet6' : undefined;
}
// Reverse tables built once: a lookup per decoded message (11,000 in a big GET_DEST listing) must not
// walk Object.entries().
const PROTOCOL_BY_NUMBER = new Map(Object.entries(PROTOCOL_NUMBER).map(([name, num]) => [num, name as Protocol]));
const FORWARD_BY_NUMBER = new Map(Object.entries(FORWARD_METHOD_NUMBER).map(([name, num]) => [num, name as ForwardMethod]));
function protocolOf(n: number): Protocol | undefined {
  return PROTOCOL_BY_NUMBER.get(n);
}
function forwardOf(n: number): ForwardMethod {
  return FORWARD_BY_NUMBER.get(n & IP_VS_CONN_F_FWD_MASK) ?? 'masq';
}
function tunnelOf(n: number): TunnelType {
  for (const [name, num] of Object.entries(TUNNEL_TYPE_NUMBER)) if (num === n) return name as TunnelType;
  return 'ipip';
}
function getU16(a: Map<number, Buffer>, t: number): number | undefined {
  const b = a.get(t);
  return b && b.length >= 2 ? readU16(b) : undefined;
}
function getU32(a: Map<number, Buffer>, t: number): number | undefined {
  const b = a.get(t);
  return b && b.length >= 4 ? readU32(b) : undefined;
}
function getString(a: Map<number, Buffer>, t: number): string | undefined {
  const b = a.get(t);
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

const STATS_FIELDS: ReadonlyArray<readonly [keyof Stats, number]> = [
  ['conns', STATS_ATTR.CONNS],
  ['inPkts', STATS_ATTR.INPKTS],
  ['outPkts', STATS_ATTR.OUTPKTS],
  ['inBytes', STATS_ATTR.INBYTES],
  ['outBytes', STATS_ATTR.OUTBYTES],
  ['cps', STATS_ATTR.CPS],
  ['inPps', STATS_ATTR.INPPS],
  ['outPps', STATS_ATTR.OUTPPS],
  ['inBps', STATS_ATTR.INBPS],
  ['outBps', STATS_ATTR.OUTBPS],
];

/** STATS (u32, bytes u64) or STATS64 (all u64); reads each value by its length; PAD (zero length) is skipped. */
export function decodeStats(nested: Buffer): Stats {
  return statsAt(nested, 0, nested.length);
}

// The list decoders (GET_DEST dumps: one message per destination, 10,000s in a big table) read attributes
// in place by offset: a Buffer per attribute (parseAttrs) costs more than the decoding itself.

/**
 * Where each attribute of types 1..max lies in b[start, end): spans[2t] the payload offset (-1: absent),
 * spans[2t+1] its length. Same rules as parseAttrs: stops at a malformed header, a later duplicate wins.
 */
function attrSpans(b: Buffer, start: number, end: number, max: number): Int32Array {
  const spans = new Int32Array(2 * (max + 1)).fill(-1);
  let o = start;
  while (o + NLA_HDRLEN <= end) {
    const len = readU16(b, o);
    const type = readU16(b, o + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || o + len > end) break;
    if (type <= max) {
      spans[2 * type] = o + NLA_HDRLEN;
      spans[2 * type + 1] = len - NLA_HDRLEN;
    }
    o += align4(len);
  }
  return spans;
}

/** decodeStats over b[start, start + length) without copying. */
function statsAt(b: Buffer, start: number, length: number): Stats {
  const s: Stats = { conns: 0n, inPkts: 0n, outPkts: 0n, inBytes: 0n, outBytes: 0n, cps: 0n, inPps: 0n, outPps: 0n, inBps: 0n, outBps: 0n };
  const end = start + length;
  let o = start;
  while (o + NLA_HDRLEN <= end) {
    const len = readU16(b, o);
    const type = readU16(b, o + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || o + len > end) break;
    const field = type >= 1 && type <= STATS_FIELDS.length ? STATS_FIELDS[type - 1]![0] : undefined;
    if (field) {
      const n = len - NLA_HDRLEN;
      const v = o + NLA_HDRLEN;
      s[field] = n >= 8 ? readU64(b, v) : n >= 4 ? BigInt(readU32(b, v)) : 0n;
    }
    o += align4(len);
  }
  return s;
}

/** What the reply decoders throw for a reply that does not follow the protocol (and nothing else). */
export class DecodeError extends Error {}

/** What a reply decoder may leave out: the ten 64-bit counters cost most of a decode, and listings that
 * print no --stats/--rate have no use for them. */
export interface DecodeOptions {
  /** Decode STATS/STATS64 (default true); when false, `stats` is undefined. */
  stats?: boolean;
}

/** A NEW_SERVICE message (GET_SERVICE reply) → Service. One pass over the attributes into locals (a
 * listing decodes 1,000s of these in a process that starts cold, where every helper call counts). */
export function decodeService(payload: Buffer, options: DecodeOptions = {}): Service {
  if (payload.length < GENL_HDRLEN) throw new DecodeError('short generic netlink message');
  const top = attrSpans(payload, GENL_HDRLEN, payload.length, CMD_ATTR.SERVICE);
  const start = top[2 * CMD_ATTR.SERVICE]!;
  if (start < 0) throw new DecodeError('service message without IPVS_CMD_ATTR_SERVICE');
  const b = payload;
  const end = start + top[2 * CMD_ATTR.SERVICE + 1]!;
  // payload offset of each attribute used, -1 when absent or too short for its type
  let af = -1;
  let protocolAt = -1;
  let addr = -1;
  let addrLen = 0;
  let portAt = -1;
  let fwmarkAt = -1;
  let schedAt = -1;
  let schedLen = 0;
  let flagsAt = -1;
  let timeoutAt = -1;
  let netmaskAt = -1;
  let peAt = -1;
  let peLen = 0;
  let statsOff = -1;
  let statsLen = 0;
  let stats64At = -1;
  let stats64Len = 0;
  for (let o = start; o + NLA_HDRLEN <= end; ) {
    const len = readU16(b, o);
    if (len < NLA_HDRLEN || o + len > end) break;
    const n = len - NLA_HDRLEN;
    const at = o + NLA_HDRLEN;
    switch (readU16(b, o + 2) & NLA_TYPE_MASK) {
      case SVC_ATTR.AF:
        af = n >= 2 ? at : -1;
        break;
      case SVC_ATTR.PROTOCOL:
        protocolAt = n >= 2 ? at : -1;
        break;
      case SVC_ATTR.ADDR:
        addr = at;
        addrLen = n;
        break;
      case SVC_ATTR.PORT:
        portAt = n >= 2 ? at : -1;
        break;
      case SVC_ATTR.FWMARK:
        fwmarkAt = n >= 4 ? at : -1;
        break;
      case SVC_ATTR.SCHED_NAME:
        schedAt = at;
        schedLen = n;
        break;
      case SVC_ATTR.FLAGS:
        flagsAt = n >= 4 ? at : -1;
        break;
      case SVC_ATTR.TIMEOUT:
        timeoutAt = n >= 4 ? at : -1;
        break;
      case SVC_ATTR.NETMASK:
        netmaskAt = n >= 4 ? at : -1;
        break;
      case SVC_ATTR.PE_NAME:
        peAt = at;
        peLen = n;
        break;
      case SVC_ATTR.STATS:
        statsOff = at;
        statsLen = n;
        break;
      case SVC_ATTR.STATS64:
        stats64At = at;
        stats64Len = n;
        break;
    }
    o += align4(len);
  }
  const family = familyOf(af >= 0 ? readU16(b, af) : undefined);
  if (!family) throw new DecodeError('service without a known address family');
  const fwmark = fwmarkAt >= 0 ? readU32(b, fwmarkAt) : 0;
  let key: ServiceKey;
  if (fwmark !== 0) key = { kind: 'fwmark', family, fwmark };
  else {
    const protocol = protocolOf(protocolAt >= 0 ? readU16(b, protocolAt) : 0);
    if (!protocol || addr < 0 || addrLen < (family === 'inet' ? 4 : 16)) throw new DecodeError('service without protocol/address');
    key = { kind: 'addr', family, protocol, address: formatAddress(family, b, addr), port: portAt >= 0 ? b.readUInt16BE(portAt) : 0 };
  }
  const netmask =
    netmaskAt < 0 ? (family === 'inet' ? '0.0.0.0' : '0') : family === 'inet' ? formatIPv4(b, netmaskAt) : String(readU32(b, netmaskAt));
  const pe = peAt >= 0 ? cstringAt(b, peAt, peLen) : undefined;
  let stats: Stats | undefined;
  if (options.stats !== false) {
    if (stats64At >= 0) stats = statsAt(b, stats64At, stats64Len);
    else if (statsOff >= 0) stats = statsAt(b, statsOff, statsLen);
  }
  return {
    key,
    scheduler: schedAt >= 0 ? cstringAt(b, schedAt, schedLen) : '',
    // >>> 0: `&` is signed; a flag in bit 31 must not make the u32 negative (found by fuzzing)
    flags: flagsAt >= 0 ? (readU32(b, flagsAt) & ~SERVICE_FLAGS.hashed) >>> 0 : 0,
    timeout: timeoutAt >= 0 ? readU32(b, timeoutAt) : 0,
    netmask,
    persistenceEngine: pe ? pe : undefined,
    stats,
  };
}

/** A NUL-terminated (or attribute-long) string at b[at, at + length). */
function cstringAt(b: Buffer, at: number, length: number): string {
  const nul = b.indexOf(0, at);
  return b.toString('utf8', at, nul >= 0 && nul < at + length ? nul : at + length);
}

/** A NEW_DEST message (GET_DEST dump part) → Destination; serviceFamily when ADDR_FAMILY is absent (< 3.18). */
export function decodeDestination(payload: Buffer, serviceFamily: AddressFamily, options: DecodeOptions = {}): Destination {
  if (payload.length < GENL_HDRLEN) throw new DecodeError('short generic netlink message');
  const top = attrSpans(payload, GENL_HDRLEN, payload.length, CMD_ATTR.DEST);
  const start = top[2 * CMD_ATTR.DEST]!;
  if (start < 0) throw new DecodeError('destination message without IPVS_CMD_ATTR_DEST');
  const b = payload;
  const a = attrSpans(b, start, start + top[2 * CMD_ATTR.DEST + 1]!, DEST_ATTR.TUN_FLAGS);
  const off = (t: number): number => a[2 * t]!;
  const has = (t: number, n: number): boolean => a[2 * t]! >= 0 && a[2 * t + 1]! >= n;
  const u32 = (t: number): number | undefined => (has(t, 4) ? readU32(b, off(t)) : undefined);
  const be16 = (t: number): number | undefined => (has(t, 2) ? b.readUInt16BE(off(t)) : undefined);
  const family = familyOf(has(DEST_ATTR.ADDR_FAMILY, 2) ? readU16(b, off(DEST_ATTR.ADDR_FAMILY)) : undefined) ?? serviceFamily;
  if (!has(DEST_ATTR.ADDR, family === 'inet' ? 4 : 16)) throw new DecodeError('destination without address');
  const forward = forwardOf(u32(DEST_ATTR.FWD_METHOD) ?? 0);
  const statsType =
    options.stats === false ? 0 : off(DEST_ATTR.STATS64) >= 0 ? DEST_ATTR.STATS64 : off(DEST_ATTR.STATS) >= 0 ? DEST_ATTR.STATS : 0;
  const d: Destination = {
    family,
    address: formatAddress(family, b, off(DEST_ATTR.ADDR)),
    port: be16(DEST_ATTR.PORT) ?? 0,
    forward,
    weight: u32(DEST_ATTR.WEIGHT) ?? 0,
    upperThreshold: u32(DEST_ATTR.U_THRESH) ?? 0,
    lowerThreshold: u32(DEST_ATTR.L_THRESH) ?? 0,
    activeConns: u32(DEST_ATTR.ACTIVE_CONNS),
    inactiveConns: u32(DEST_ATTR.INACT_CONNS),
    persistConns: u32(DEST_ATTR.PERSIST_CONNS),
    stats: statsType ? statsAt(b, off(statsType), a[2 * statsType + 1]!) : undefined,
  };
  if (forward === 'tunnel') {
    d.tunnelType = tunnelOf(has(DEST_ATTR.TUN_TYPE, 1) ? b[off(DEST_ATTR.TUN_TYPE)]! : 0);
    d.tunnelPort = be16(DEST_ATTR.TUN_PORT) ?? 0;
    d.tunnelFlags = has(DEST_ATTR.TUN_FLAGS, 2) ? readU16(b, off(DEST_ATTR.TUN_FLAGS)) : 0;
  }
  return d;
}

/** A NEW_DAEMON message (GET_DAEMON dump part) → SyncDaemon. */
export function decodeDaemon(payload: Buffer): SyncDaemon {
  const top = parseGenl(payload).attrs.get(CMD_ATTR.DAEMON);
  if (!top) throw new DecodeError('daemon message without IPVS_CMD_ATTR_DAEMON');
  const a = parseAttrs(top);
  const state = getU32(a, DAEMON_ATTR.STATE);
  const d: SyncDaemon = {
    state: state === 2 ? 'backup' : 'master',
    mcastInterface: getString(a, DAEMON_ATTR.MCAST_IFN) ?? '',
    syncId: getU32(a, DAEMON_ATTR.SYNC_ID) ?? 0,
  };
  const maxLen = getU16(a, DAEMON_ATTR.SYNC_MAXLEN);
  if (maxLen !== undefined) d.maxLen = maxLen;
  const g4 = a.get(DAEMON_ATTR.MCAST_GROUP);
  const g6 = a.get(DAEMON_ATTR.MCAST_GROUP6);
  if (g6 && g6.length >= 16 && g6.some((x) => x !== 0)) d.mcastGroup = formatAddress('inet6', g6);
  else if (g4 && g4.length >= 4) d.mcastGroup = formatIPv4(g4);
  const port = getU16(a, DAEMON_ATTR.MCAST_PORT);
  if (port !== undefined) d.mcastPort = port;
  const ttl = a.get(DAEMON_ATTR.MCAST_TTL);
  if (ttl && ttl.length >= 1) d.mcastTtl = ttl[0]!;
  return d;
}

/** The SET_CONFIG reply to GET_CONFIG → Timeouts. */
export function decodeTimeouts(payload: Buffer): Timeouts {
  const a = parseGenl(payload).attrs;
  return {
    tcp: getU32(a, CMD_ATTR.TIMEOUT_TCP) ?? 0,
    tcpFin: getU32(a, CMD_ATTR.TIMEOUT_TCP_FIN) ?? 0,
    udp: getU32(a, CMD_ATTR.TIMEOUT_UDP) ?? 0,
  };
}

/** The SET_INFO reply to GET_INFO → Info. */
export function decodeInfo(payload: Buffer): Info {
  const a = parseGenl(payload).attrs;
  return { version: getU32(a, INFO_ATTR.VERSION) ?? 0, connTableSize: getU32(a, INFO_ATTR.CONN_TAB_SIZE) ?? 0 };
}

// ---- builders for replies (tests and fakes construct kernel messages with the same layout) ----

export const replyBuilders = {
  attr,
  genl,
  u8,
  u16,
  be16,
  u32,
  cstring,
  u64(v: bigint): Buffer {
    const b = Buffer.alloc(8);
    if (LE) b.writeBigUInt64LE(v);
    else b.writeBigUInt64BE(v);
    return b;
  },
  CMD_ATTR,
  SVC_ATTR,
  DEST_ATTR,
  DAEMON_ATTR,
  STATS_ATTR,
  INFO_ATTR,
} as const;
