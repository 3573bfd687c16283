// The virtual service table as the kernel prints it in /proc/net/ip_vs (ip_vs_info_seq_show() in
// net/netfilter/ipvs/ip_vs_ctl.c): one line per service, then one per destination with its forwarding
// method, weight and connection counts. Reading it is one file read where netlink needs one GET_DEST dump
// per service (1,000 services: ~1,000 round trips, most of an `ipvsadm -Ln`'s kernel time). It lacks what
// netlink has (scheduler flags, persistence engine, thresholds, persistent connections, stats, tunnel
// parameters), so it only supplies destinations, joined to a GET_SERVICE dump by joinProcTable().
//
//   IP Virtual Server version 1.2.1 (size=4096)
//   Prot LocalAddress:Port Scheduler Flags
//     -> RemoteAddress:Port Forward Weight ActiveConn InActConn
//   TCP  0A640001:0050 wrr                       IPv4: 8 hex digits, host-order value of the address
//     -> AC10000A:1F90      Masq    1      0          0
//   UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 rr persistent 300 FFFFFFFF
//   FWM  00000001 wrr ops
//     -> [fd00:0000:0000:0000:0000:0000:0000:0002]:0000      Tunnel  1      0          0
import { formatIPv6, parseIPv6 } from './address.js';
import type { AddressFamily, Destination, ForwardMethod, Info, Service, ServiceEntry } from './types.js';

export const IPVS_TABLE_PATH = '/proc/net/ip_vs';

/** A service line's identity: enough to pair it with the GET_SERVICE reply for the same service. */
export type ProcServiceKey =
  | { kind: 'addr'; protocol: string; family: AddressFamily; address: string; port: number }
  | { kind: 'fwmark'; fwmark: number };

export interface ProcService {
  key: ProcServiceKey;
  /** Destinations in the kernel's list order (the order GET_DEST dumps them). */
  destinations: Destination[];
}

export interface ProcTable {
  info: Info;
  /** Services in the kernel's hash-table order (the order the GET_SERVICE dump uses). */
  services: ProcService[];
}

/** ip_vs_fwd_name(): the kernel prints BYPASS (and any unknown method) as "Masq" too. */
const FORWARD_BY_NAME: Record<string, ForwardMethod | undefined> = { Masq: 'masq', Local: 'local', Tunnel: 'tunnel', Route: 'route' };

const HEADER = /^IP Virtual Server version (\d+)\.(\d+)\.(\d+) \(size=(\d+)\)$/;

/**
 * Reads one line at a time with a position instead of splitting: the file of a 10,000-destination table is
 * ~0.6 MB, read by a process that starts cold, where split/regex per line cost more than the kernel's read.
 * Every reader returns undefined (or -1) on anything unexpected; the parse then fails as a whole.
 */
class LineReader {
  pos = 0;
  constructor(private readonly text: string) {}

  get atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): number {
    return this.text.charCodeAt(this.pos);
  }
  /** Skips spaces; true if at least one was skipped. */
  blanks(): boolean {
    const from = this.pos;
    while (this.text.charCodeAt(this.pos) === 32) this.pos++;
    return this.pos > from;
  }
  /** Consumes `s` if it comes next. */
  literal(s: string): boolean {
    if (!this.text.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    return true;
  }
  /** Up to the next space or end of line. */
  word(): string {
    const from = this.pos;
    for (let c = this.peek(); c === c && c !== 32 && c !== 10; c = this.peek()) this.pos++; // c === c: not NaN (end)
    return this.text.slice(from, this.pos);
  }
  /** Exactly `digits` hex digits (the kernel's %08X / %04X), or -1. */
  hex(digits: number): number {
    let v = 0;
    for (let i = 0; i < digits; i++) {
      const c = this.text.charCodeAt(this.pos + i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    this.pos += digits;
    return v;
  }
  /** A %d: optional minus, decimal digits. */
  int(): number | undefined {
    const negative = this.text.charCodeAt(this.pos) === 45;
    if (negative) this.pos++;
    const from = this.pos;
    let v = 0;
    for (let c = this.peek(); c >= 48 && c <= 57; c = this.peek()) {
      v = v * 10 + (c - 48);
      this.pos++;
    }
    if (this.pos === from) return undefined;
    return negative ? -v : v;
  }
  /** Trailing spaces, then the newline (or the end); false if anything else is left on the line. */
  endOfLine(): boolean {
    this.blanks();
    if (this.atEnd) return true;
    if (this.peek() !== 10) return false;
    this.pos++;
    return true;
  }
  /** The rest of the line (newline consumed). */
  restOfLine(): string {
    let end = this.text.indexOf('\n', this.pos);
    if (end < 0) end = this.text.length;
    const line = this.text.slice(this.pos, end);
    this.pos = end + 1;
    return line;
  }
  /** "0A640001:0050" or "[2001:0db8:…:0001]:0050". */
  addrPort(): { family: AddressFamily; address: string; port: number } | undefined {
    let family: AddressFamily;
    let address: string;
    if (this.literal('[')) {
      const close = this.text.indexOf(']', this.pos);
      const bytes = close < 0 || close - this.pos > 39 ? undefined : parseIPv6(this.text.slice(this.pos, close));
      if (!bytes) return undefined;
      this.pos = close + 1;
      family = 'inet6';
      address = formatIPv6(bytes);
    } else {
      const v = this.hex(8);
      if (v < 0) return undefined;
      family = 'inet';
      address = `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
    }
    if (!this.literal(':')) return undefined;
    const port = this.hex(4);
    return port < 0 ? undefined : { family, address, port };
  }
}

/** "  -> ADDR:PORT      Forward Weight ActiveConn InActConn" after the "  -> ". */
function readDestination(r: LineReader): Destination | undefined {
  const at = r.addrPort();
  if (!at || !r.blanks()) return undefined;
  const forward = FORWARD_BY_NAME[r.word()];
  if (!forward || !r.blanks()) return undefined;
  const weight = r.int();
  if (weight === undefined || !r.blanks()) return undefined;
  const active = r.int();
  if (active === undefined || !r.blanks()) return undefined;
  const inactive = r.int();
  if (inactive === undefined || !r.endOfLine()) return undefined;
  return {
    family: at.family,
    address: at.address,
    port: at.port,
    forward,
    weight,
    // not in /proc/net/ip_vs: zero here; listings that print them use GET_DEST instead
    upperThreshold: 0,
    lowerThreshold: 0,
    activeConns: active >>> 0,
    inactiveConns: inactive >>> 0,
  };
}

/** "TCP  0A640001:0050 wrr …" / "FWM  00000001 wrr …" → its key (the rest of the line is not needed). */
function readServiceKey(r: LineReader): ProcServiceKey | undefined {
  const protocol = r.word();
  if (!r.blanks()) return undefined;
  let key: ProcServiceKey | undefined;
  if (protocol === 'FWM') {
    const fwmark = r.hex(8);
    key = fwmark < 0 ? undefined : { kind: 'fwmark', fwmark };
  } else {
    const at = r.addrPort();
    key = at && { kind: 'addr', protocol, ...at };
  }
  if (key && r.peek() !== 32) return undefined;
  r.restOfLine(); // scheduler, ops, persistent timeout and mask: taken from GET_SERVICE
  return key;
}

/** Parses the whole file; undefined if any line is not in the layout above (another kernel's format). */
export function parseProcTable(text: string): ProcTable | undefined {
  const r = new LineReader(text);
  const m = HEADER.exec(r.restOfLine());
  if (!m) return undefined;
  const info: Info = { version: (Number(m[1]) << 16) | (Number(m[2]) << 8) | Number(m[3]), connTableSize: Number(m[4]) };
  r.restOfLine(); // the two column titles
  r.restOfLine();
  const services: ProcService[] = [];
  let current: ProcService | undefined;
  while (!r.atEnd) {
    if (r.literal('  -> ')) {
      const d = current && readDestination(r);
      if (!d) return undefined;
      current!.destinations.push(d);
    } else {
      const key = readServiceKey(r);
      if (!key) return undefined;
      current = { key, destinations: [] };
      services.push(current);
    }
  }
  return { info, services };
}

const PROC_PROTOCOL: Record<string, string> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

function sameService(s: Service, p: ProcServiceKey): boolean {
  const k = s.key;
  if (k.kind === 'fwmark') return p.kind === 'fwmark' && p.fwmark === k.fwmark >>> 0;
  return (
    p.kind === 'addr' &&
    p.protocol === PROC_PROTOCOL[k.protocol] &&
    p.family === k.family &&
    p.port === k.port &&
    p.address === k.address
  );
}

/**
 * The services of a GET_SERVICE dump with their destinations from /proc/net/ip_vs. Both walk the kernel's
 * service tables in the same order (ip_vs_genl_dump_services and ip_vs_info_array), so service i of one is
 * service i of the other; undefined when they differ (the table changed between the two reads), and the
 * caller then asks GET_DEST for every service instead.
 */
export function joinProcTable(services: readonly Service[], table: ProcTable): ServiceEntry[] | undefined {
  if (services.length !== table.services.length) return undefined;
  const out: ServiceEntry[] = new Array(services.length);
  for (let i = 0; i < services.length; i++) {
    const service = services[i]!;
    const p = table.services[i]!;
    if (!sameService(service, p.key)) return undefined;
    // An IPv4 service's IPv6 destination (or the reverse) only exists with tunnelling; its family is kept.
    out[i] = { service, destinations: p.destinations };
  }
  return out;
}
