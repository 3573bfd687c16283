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
import { closeSync, openSync, read, readSync } from 'node:fs';
import { formatIPv4Word, formatIPv6, parseIPv6 } from './address.js';
import type { AddressFamily, Destination, ForwardMethod, Info, Service, ServiceEntry } from './types.js';

export const IPVS_TABLE_PATH = '/proc/net/ip_vs';

/**
 * Reads a /proc file such as /proc/net/ip_vs in the background, then whole on demand. The kernel prints a
 * seq_file one page per read() (~3.8 KB: a 10,000-destination table takes ~185 reads), so reading it in
 * libuv's thread pool costs a hand-off between threads per page, and each next read waits for this thread
 * to ask for it. So pages are read in the pool only while this thread is busy elsewhere (the GET_SERVICE
 * dump), and text() reads the rest here, in a loop of read() calls. Uses node:fs, loaded with Node itself
 * (node:fs/promises is not: loading it took ~60 ms of an `lvsadm -Ln` in the emulated test VM).
 */
export class ProcFileReader {
  private buf = Buffer.allocUnsafe(1 << 20);
  private length = 0;
  private eof = false;
  private error: Error | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;

  private constructor(private readonly fd: number) {}

  /** Opens the file (throws as openSync does) and starts reading it in the background. */
  static start(path: string): ProcFileReader {
    const reader = new ProcFileReader(openSync(path, 'r')); // opening prints nothing: the work is in read()
    reader.readInPool();
    return reader;
  }

  /** The whole text (latin1); closes the file. Rejects with the read's error. */
  async text(): Promise<string> {
    this.stopped = true;
    await this.inFlight;
    try {
      if (this.error) throw this.error; // a read in the pool failed
      while (!this.eof) this.got(readSync(this.fd, this.room(), this.length, this.buf.length - this.length, null));
    } finally {
      closeSync(this.fd);
    }
    return this.buf.toString('latin1', 0, this.length);
  }

  private readInPool(): void {
    if (this.stopped || this.eof || this.error) return;
    this.inFlight = new Promise((resolve) => {
      read(this.fd, this.room(), this.length, this.buf.length - this.length, null, (error, got) => {
        this.inFlight = undefined;
        if (error) this.error = error;
        else this.got(got);
        resolve();
        this.readInPool();
      });
    });
  }

  /** The buffer, grown when full. */
  private room(): Buffer {
    if (this.length === this.buf.length) {
      const bigger = Buffer.allocUnsafe(2 * this.buf.length);
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    return this.buf;
  }

  private got(bytes: number): void {
    if (bytes === 0) this.eof = true;
    this.length += bytes;
  }
}

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

const HEADER = /^IP Virtual Server version (\d+)\.(\d+)\.(\d+) \(size=(\d+)\)\n/y;
const TITLES = 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';
/** A destination line: IPv4 as %08X or IPv6 as [%pI6], port %04X, forwarding method, three %d. */
const DESTINATION = /  -> (?:([0-9A-F]{8})|\[([0-9a-f:]{15,39})\]):([0-9A-F]{4}) +([A-Za-z]+) +(-?\d+) +(-?\d+) +(-?\d+) *(?:\n|$)/y;
/** A service line's key; what follows (scheduler, ops, persistence) comes from GET_SERVICE instead. */
const SERVICE = /(?:FWM  ([0-9A-F]{8})|([A-Z0-9_]+)  (?:([0-9A-F]{8})|\[([0-9a-f:]{15,39})\]):([0-9A-F]{4})) [^\n]*(?:\n|$)/y;

/** The version header and column titles; the first service line starts at `pos`. */
function header(text: string): { info: Info; pos: number } | undefined {
  HEADER.lastIndex = 0;
  const m = HEADER.exec(text);
  if (!m || !text.startsWith(TITLES, HEADER.lastIndex)) return undefined;
  return {
    info: { version: (Number(m[1]) << 16) | (Number(m[2]) << 8) | Number(m[3]), connTableSize: Number(m[4]) },
    pos: HEADER.lastIndex + TITLES.length,
  };
}

function ipv6Text(full: string): string | undefined {
  const bytes = parseIPv6(full);
  return bytes && formatIPv6(bytes);
}

/** The service line at pos; SERVICE.lastIndex is then the next line's start. */
function serviceKeyAt(text: string, pos: number): ProcServiceKey | undefined {
  SERVICE.lastIndex = pos;
  const s = SERVICE.exec(text);
  if (!s) return undefined;
  if (s[1] !== undefined) return { kind: 'fwmark', fwmark: parseInt(s[1], 16) };
  const address = s[3] !== undefined ? formatIPv4Word(parseInt(s[3], 16)) : ipv6Text(s[4]!);
  if (address === undefined) return undefined;
  return { kind: 'addr', protocol: s[2]!, family: s[3] !== undefined ? 'inet' : 'inet6', address, port: parseInt(s[5]!, 16) };
}

/**
 * Parses the whole file; undefined if any line is not in the layout above (another kernel's format).
 * Sticky regular expressions walk the text line by line: the file of a 10,000-destination table is ~0.6 MB,
 * parsed by a process that starts cold, where matching runs as compiled code and JavaScript per character
 * would not.
 */
export function parseProcTable(text: string): ProcTable | undefined {
  const head = header(text);
  if (!head) return undefined;
  const info = head.info;
  const services: ProcService[] = [];
  let current: ProcService | undefined;
  let pos = head.pos;
  while (pos < text.length) {
    DESTINATION.lastIndex = pos;
    const d = DESTINATION.exec(text);
    if (d) {
      const forward = FORWARD_BY_NAME[d[4]!];
      const word = d[1] !== undefined ? parseInt(d[1], 16) : undefined;
      const address = word !== undefined ? formatIPv4Word(word) : ipv6Text(d[2]!);
      if (!current || !forward || address === undefined) return undefined;
      current.destinations.push({
        family: word !== undefined ? 'inet' : 'inet6',
        address,
        addressWord: word === undefined ? undefined : word | 0,
        port: parseInt(d[3]!, 16),
        forward,
        weight: Number(d[5]),
        // not in /proc/net/ip_vs: zero here; listings that print them use GET_DEST instead
        upperThreshold: 0,
        lowerThreshold: 0,
        activeConns: Number(d[6]) >>> 0,
        inactiveConns: Number(d[7]) >>> 0,
      });
      pos = DESTINATION.lastIndex;
      continue;
    }
    const key = serviceKeyAt(text, pos);
    if (!key) return undefined;
    current = { key, destinations: [] };
    services.push(current);
    pos = SERVICE.lastIndex;
  }
  return { info, services };
}

const PROC_PROTOCOL: Record<string, string> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

export function sameService(s: Service, p: ProcServiceKey): boolean {
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

/**
 * The same file as columns, for the plain numeric listing (`-Ln`), which prints each destination's
 * forwarding method, weight and counters exactly as the kernel wrote them: the kernel's
 * "%-7s %-6d %-10d %-10d" tail is ipvsadm's "%-7s %-6d %-10u %-10u" for counts that are not negative.
 * So a destination is an address, a port and where its tail lies in the text, not an object.
 */
export interface ProcColumns {
  info: Info;
  text: string;
  /** Service keys in the kernel's order (as parseProcTable's). */
  services: ProcServiceKey[];
  /** The destinations of service i are slots first[i] .. first[i + 1] - 1. */
  first: Int32Array;
  /** Per destination slot: the IPv4 address (host-order value as an int32) and the port. */
  address: Int32Array;
  port: Int32Array;
  /** Per destination slot: where the tail starts in `text`, and where its line ends (after the newline). */
  tailStart: Int32Array;
  lineEnd: Int32Array;
}

/** A destination line is at least this long: "  -> " + 8 + ":" + 4 + 6 spaces + the 36-column tail + "\n". */
const MIN_DESTINATION_LINE = 61;
/** Where the tail starts in an IPv4 destination line. */
const TAIL_OFFSET = 24;
const IPV4_DESTINATION = /  -> ([0-9A-F]{8}):([0-9A-F]{4})      [^-\n]{36,}\n/y;

/**
 * Scans the file into ProcColumns; undefined when a line is not in the layout above, when a destination
 * is IPv6, or when a count is negative (callers then take parseProcTable's general path).
 */
export function scanProcColumns(text: string): ProcColumns | undefined {
  const head = header(text);
  if (!head) return undefined;
  const capacity = Math.ceil(text.length / MIN_DESTINATION_LINE) + 1;
  const address = new Int32Array(capacity);
  const port = new Int32Array(capacity);
  const tailStart = new Int32Array(capacity);
  const lineEnd = new Int32Array(capacity);
  const services: ProcServiceKey[] = [];
  const firsts: number[] = [];
  let n = 0;
  let pos = head.pos;
  while (pos < text.length) {
    IPV4_DESTINATION.lastIndex = pos;
    const d = IPV4_DESTINATION.exec(text);
    if (d) {
      if (services.length === 0) return undefined;
      address[n] = parseInt(d[1]!, 16) | 0;
      port[n] = parseInt(d[2]!, 16);
      tailStart[n] = pos + TAIL_OFFSET;
      pos = IPV4_DESTINATION.lastIndex;
      lineEnd[n] = pos;
      n++;
      continue;
    }
    if (text.startsWith('  -> ', pos)) return undefined; // not an IPv4 line of this layout
    const key = serviceKeyAt(text, pos);
    if (!key) return undefined;
    services.push(key);
    firsts.push(n);
    pos = SERVICE.lastIndex;
  }
  firsts.push(n);
  return { info: head.info, text, services, first: Int32Array.from(firsts), address, port, tailStart, lineEnd };
}
