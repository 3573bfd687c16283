// IPVS connection-synchronisation messages, version 1 (the kernel's net/netfilter/ipvs/ip_vs_sync.c,
// SYNC_PROTO_VER 1), and the connections a backup received through them (/proc/net/ip_vs_conn_sync).
//
// Why lvskeeper writes them: a backup's sync daemon creates each synced connection bound to its real
// server only if the virtual server exists at that moment, and binds an unbound one only when a later
// message for it arrives (ip_vs_proc_conn → ip_vs_try_bind_dest). A virtual server installed at the
// takeover (MASTER-gated) therefore leaves every synced connection unbound: it still flows (the entry
// carries its real server's address and forwarding method), but the real server's connection counters
// miss it and a persistence template without a real server is dropped at its next use, so the client
// can land on another real server. Replaying the backup's own entries to its sync daemon once the
// virtual servers are in binds them, exactly as a message from the old master would have.
import { formatIPv4Word, formatIPv6, parseAddress, parseIPv6 } from './address.js';
import type { Connection } from './connections.js';
import type { AddressFamily, ForwardMethod } from './types.js';
import { FORWARD_METHOD_NUMBER } from './types.js';

export const SYNC_PROC_PATH = '/proc/net/ip_vs_conn_sync';

/** include/uapi/linux/ip_vs.h */
const IP_VS_CONN_F_INACTIVE = 0x0100;
const IP_VS_CONN_F_TEMPLATE = 0x1000;
/** ip_vs_sync.c */
const SYNC_PROTO_VER = 1;
const STYPE_F_INET6 = 1;
const HEADER_BYTES = 8;
const ENTRY_V4_BYTES = 36;
const ENTRY_V6_BYTES = 72;
/** nr_conns is a u8. */
const MAX_CONNS_PER_MESSAGE = 255;

const PROTOCOL_NUMBER: Record<string, number> = { IP: 0, TCP: 6, UDP: 17, SCTP: 132 };

/**
 * State numbers by the names the kernel prints (ip_vs_proto_{tcp,udp,sctp}.c, ip_vs_conn.c
 * ip_vs_ctpl_state_name_table); a synced entry must keep its state, which the message carries.
 */
const STATE_NUMBER: Record<string, Record<string, number>> = {
  TCP: {
    NONE: 0, ESTABLISHED: 1, SYN_SENT: 2, SYN_RECV: 3, FIN_WAIT: 4, TIME_WAIT: 5, CLOSE: 6, CLOSE_WAIT: 7,
    LAST_ACK: 8, LISTEN: 9, SYNACK: 10,
  },
  UDP: { UDP: 0 },
  SCTP: {
    NONE: 0, INIT1: 1, INIT: 2, 'C-SENT': 3, 'C-REPLIED': 4, 'C-WAIT': 5, 'C-ECHOED': 6, ESTABLISHED: 7,
    'S-SENT': 8, 'S-RECEIVED': 9, 'S-ACK-SENT': 10, REJECTED: 11, CLOSED: 12,
  },
};
const TEMPLATE_STATE_NUMBER: Record<string, number> = { NONE: 0, ASSURED: 1 };

/** One entry of /proc/net/ip_vs_conn_sync: an ip_vs_conn line without the expiry, with its origin. */
export interface SyncedEntry
  extends Pick<Connection, 'protocol' | 'family' | 'clientAddress' | 'clientPort' | 'virtualAddress' | 'virtualPort' | 'destinationAddress' | 'destinationPort' | 'state'> {
  /** "SYNC": created by the sync daemon; "LOCAL": scheduled by this node. */
  origin: string;
}

/** What a message says of one connection (ip_vs_sync_v4 / ip_vs_sync_v6). */
export interface SyncConnection {
  family: AddressFamily;
  protocol: number;
  /** IP_VS_CONN_F_* bits: the forwarding method, INACTIVE, TEMPLATE. */
  flags: number;
  state: number;
  clientAddress: string;
  clientPort: number;
  virtualAddress: string;
  virtualPort: number;
  destinationAddress: string;
  destinationPort: number;
  fwmark: number;
  /** Seconds; 0 lets the backup use its own timeout for the state, the value a master would send. */
  timeoutSec: number;
}

function hexAddress(text: string): { family: AddressFamily; address: string } | undefined {
  if (text.includes(':')) {
    const b = parseIPv6(text);
    return b ? { family: 'inet6', address: formatIPv6(b) } : undefined;
  }
  if (!/^[0-9A-Fa-f]{8}$/.test(text)) return undefined;
  return { family: 'inet', address: formatIPv4Word(parseInt(text, 16)) };
}

function hexPort(text: string): number | undefined {
  return /^[0-9A-Fa-f]{4}$/.test(text) ? parseInt(text, 16) : undefined;
}

/**
 * Parses /proc/net/ip_vs_conn_sync ("Pro FromIP FPrt ToIP TPrt DestIP DPrt State Origin Expires");
 * lines that do not read as an entry are skipped.
 */
export function parseSyncedEntries(text: string): SyncedEntry[] {
  const out: SyncedEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 10 || f[0] === 'Pro') continue;
    const c = hexAddress(f[1]!);
    const v = hexAddress(f[3]!);
    const d = hexAddress(f[5]!);
    const cp = hexPort(f[2]!);
    const vp = hexPort(f[4]!);
    const dp = hexPort(f[6]!);
    if (!c || !v || !d || cp === undefined || vp === undefined || dp === undefined) continue;
    out.push({
      protocol: f[0]!,
      family: c.family,
      clientAddress: c.address,
      clientPort: cp,
      virtualAddress: v.address,
      virtualPort: vp,
      destinationAddress: d.address,
      destinationPort: dp,
      state: f[7]!,
      origin: f[8]!,
    });
  }
  return out;
}

/**
 * The message entry that re-announces `entry` as it is, forwarded with `forward`; undefined when
 * its state or protocol cannot be named in a message. A persistence template prints client port 0
 * and a template state (ip_vs_state_name); a connection never has client port 0 in those states.
 */
export function syncConnectionOf(entry: SyncedEntry, forward: ForwardMethod): SyncConnection | undefined {
  const protocol = PROTOCOL_NUMBER[entry.protocol];
  if (protocol === undefined) return undefined;
  const template = entry.clientPort === 0 && TEMPLATE_STATE_NUMBER[entry.state] !== undefined;
  const state = template ? TEMPLATE_STATE_NUMBER[entry.state] : STATE_NUMBER[entry.protocol]?.[entry.state];
  if (state === undefined) return undefined;
  let flags = FORWARD_METHOD_NUMBER[forward];
  if (template) flags |= IP_VS_CONN_F_TEMPLATE;
  // ip_vs_sync_conn: a master marks every TCP/SCTP entry that is not established inactive.
  else if ((entry.protocol === 'TCP' && state !== 1) || (entry.protocol === 'SCTP' && state !== 7)) flags |= IP_VS_CONN_F_INACTIVE;
  return {
    family: entry.family,
    protocol,
    flags,
    state,
    clientAddress: entry.clientAddress,
    clientPort: entry.clientPort,
    virtualAddress: entry.virtualAddress,
    virtualPort: entry.virtualPort,
    destinationAddress: entry.destinationAddress,
    destinationPort: entry.destinationPort,
    fwmark: 0,
    timeoutSec: 0,
  };
}

function addressBytes(family: AddressFamily, text: string): Uint8Array {
  const b = parseAddress(family, text);
  if (!b) throw new Error(`not an ${family === 'inet' ? 'IPv4' : 'IPv6'} address: ${text}`);
  return b;
}

/**
 * Version 1 messages carrying `conns`, each at most `maxBytes` long (the receiver's sync_maxlen; a
 * longer datagram is truncated and dropped by the kernel) and 255 entries.
 */
export function encodeSyncMessages(conns: readonly SyncConnection[], syncId: number, maxBytes: number): Buffer[] {
  const out: Buffer[] = [];
  let batch: SyncConnection[] = [];
  let bytes = HEADER_BYTES;
  const flush = () => {
    if (batch.length > 0) out.push(encodeMessage(batch, syncId, bytes));
    batch = [];
    bytes = HEADER_BYTES;
  };
  for (const c of conns) {
    const size = c.family === 'inet' ? ENTRY_V4_BYTES : ENTRY_V6_BYTES;
    if (HEADER_BYTES + size > maxBytes) throw new Error(`sync message limit ${maxBytes} bytes is below one entry`);
    if (bytes + size > maxBytes || batch.length === MAX_CONNS_PER_MESSAGE) flush();
    batch.push(c);
    bytes += size;
  }
  flush();
  return out;
}

function encodeMessage(conns: readonly SyncConnection[], syncId: number, total: number): Buffer {
  const buf = Buffer.alloc(total);
  // struct ip_vs_sync_mesg: reserved (0), syncid, size, nr_conns, version, spare (0)
  buf[1] = syncId & 0xff;
  buf.writeUInt16BE(total, 2);
  buf[4] = conns.length;
  buf[5] = SYNC_PROTO_VER;
  let at = HEADER_BYTES;
  for (const c of conns) {
    const v6 = c.family === 'inet6';
    const size = v6 ? ENTRY_V6_BYTES : ENTRY_V4_BYTES;
    buf[at] = v6 ? STYPE_F_INET6 : 0;
    buf[at + 1] = c.protocol;
    buf.writeUInt16BE(size, at + 2); // version 0 in the top 4 bits, then the entry's size
    buf.writeUInt32BE(c.flags >>> 0, at + 4);
    buf.writeUInt16BE(c.state, at + 8);
    buf.writeUInt16BE(c.clientPort, at + 10);
    buf.writeUInt16BE(c.virtualPort, at + 12);
    buf.writeUInt16BE(c.destinationPort, at + 14);
    buf.writeUInt32BE(c.fwmark >>> 0, at + 16);
    buf.writeUInt32BE(c.timeoutSec >>> 0, at + 20);
    let a = at + 24;
    for (const addr of [c.clientAddress, c.virtualAddress, c.destinationAddress]) {
      buf.set(addressBytes(c.family, addr), a);
      a += v6 ? 16 : 4;
    }
    at += size;
  }
  return buf;
}
