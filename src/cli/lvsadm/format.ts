// ipvsadm 1.31's listings as pure functions of the kernel state: list_all / list_service (-L, -S),
// --stats/--rate/--thresholds/--persistent-conn/--tun-info, list_conn (-c), list_timeout, list_daemon.
// Byte-for-byte the printf formats of ipvsadm.c, including its sort order (glibc qsort = merge sort
// with ipvsadm's wrapping comparators) and its truncations (33/28 columns for IPv4 names).
import { parseIPv6 } from '../../ipvs/address.js';
import type { Destination, Info, Service, ServiceEntry, Stats, SyncDaemon, Timeouts } from '../../ipvs/types.js';
import { inetPton4, inetPton6, ipv4Text } from './cparse.js';
import { formatIPv6 } from '../../ipvs/address.js';
import type { FormatFlags } from './options.js';
import { sameService, type ProcColumns } from '../../ipvs/proc-table.js';

export type ProtocolName = 'tcp' | 'udp' | 'sctp';

/** gethostbyaddr()/getservbyport() answers; the caller resolves them beforehand (see names.ts). */
export interface NameLookup {
  host(family: 'inet' | 'inet6', address: string): string | undefined;
  service(port: number, protocol: ProtocolName): string | undefined;
}

export const NUMERIC_ONLY: NameLookup = { host: () => undefined, service: () => undefined };

// ---- printf helpers ----

// printf's %-Ns / %Ns (padEnd/padStart leave longer strings whole, as printf does).
const padRight = (s: string, width: number): string => s.padEnd(width);
const padLeft = (s: string, width: number): string => s.padStart(width);
/** printf("%s", NULL) in glibc. */
const orNull = (s: string | undefined): string => s ?? '(null)';
const int32 = (n: number): number => n | 0;
const uint32 = (n: number): number => n >>> 0;

/** ipvsadm print_largenum(): 9 columns, K/M/G/T suffixes above 10^8 unless --exact. */
export function largeNumber(value: bigint, exact: boolean): string {
  if (exact) {
    const s = value.toString();
    return padLeft(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (value < 100000000n) return padLeft(value.toString(), 9);
  if (value < 1000000000n) return padLeft((value / 1000n).toString(), 8) + 'K';
  if (value < 100000000000n) return padLeft((value / 1000000n).toString(), 8) + 'M';
  if (value < 100000000000000n) return padLeft((value / 1000000000n).toString(), 8) + 'G';
  return padLeft((value / 1000000000000n).toString(), 8) + 'T';
}

const protocolNumber = (p: ProtocolName | undefined): number => (p === 'tcp' ? 6 : p === 'udp' ? 17 : p === 'sctp' ? 132 : 0);

/** ipvsadm addrport_to_anyname(): "addr:port", IPv6 in brackets, names unless numeric; 59 chars at most. */
export function addrPortName(
  family: 'inet' | 'inet6',
  address: string,
  port: number,
  protocol: ProtocolName | undefined,
  numeric: boolean,
  names: NameLookup,
): string {
  const open = family === 'inet' ? '' : '[';
  const close = family === 'inet' ? '' : ']';
  let text: string;
  if (numeric) text = `${open}${address}${close}:${port}`;
  else {
    const host = names.host(family, address) ?? address;
    const service = protocol ? names.service(port, protocol) : undefined;
    text = `${open}${host}${close}:${service ?? String(port)}`;
  }
  return text.length > 59 ? text.slice(0, 59) : text; // malloc(60) + snprintf
}

// ---- sorting: glibc qsort() (a top-down merge sort) with ipvsadm's comparators ----

/**
 * Sort keys of ipvsadm's comparators in flat arrays, slot i for item i (a listing sorts 10,000s of
 * destinations in a process that starts cold: no object per item). `words` holds the 16-byte union
 * nf_inet_addr as four 32-bit words per item, IPv4 in the first. Addresses and marks are kept as int32:
 * ipvsadm's int32(a - b) of two unsigned values equals (a - b) | 0 of the same bits read as signed, and
 * integer arithmetic avoids the floating point that uint32 values above 2^31 would cost.
 */
class SortKeys {
  readonly fwmark: Int32Array;
  readonly af: Int32Array;
  readonly protocol: Int32Array;
  readonly words: Int32Array;
  readonly port: Int32Array;

  constructor(n: number) {
    this.fwmark = new Int32Array(n);
    this.af = new Int32Array(n);
    this.protocol = new Int32Array(n);
    this.words = new Int32Array(4 * n);
    this.port = new Int32Array(n);
  }

  setAddress(i: number, family: 'inet' | 'inet6', address: string, word?: number): void {
    this.af[i] = AF_NUMBER[family];
    if (family === 'inet') {
      this.words[4 * i] = word ?? ipv4Word(address);
      return;
    }
    const b = parseIPv6(address) ?? new Uint8Array(16);
    for (let w = 0; w < 4; w++) this.words[4 * i + w] = (b[w * 4]! << 24) | (b[w * 4 + 1]! << 16) | (b[w * 4 + 2]! << 8) | b[w * 4 + 3]!;
  }
}

/** The canonical dotted quads the kernel's addresses are printed as, read without a loop per character. */
const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** inet_pton(AF_INET) as an int32 of the host-order value, 0 when it fails (ipvsadm's zeroed address). */
function ipv4Word(address: string): number {
  const m = DOTTED_QUAD.exec(address);
  if (!m) return (inetPton4(address) ?? 0) | 0;
  const a = Number(m[1]);
  const b = Number(m[2]);
  const c = Number(m[3]);
  const d = Number(m[4]);
  return a > 255 || b > 255 || c > 255 || d > 255 ? 0 : (a << 24) | (b << 16) | (c << 8) | d;
}

const AF_NUMBER = { inet: 2, inet6: 10 } as const;

/**
 * libipvs ipvs_cmp_services() (`services`) and ipvs_cmp_dests() on keys x and y. Destinations compare no
 * fwmark, family or protocol; for both, the first item's family decides how many words are compared.
 */
function compareKeys(k: SortKeys, services: boolean, x: number, y: number): number {
  let r: number;
  if (services) {
    r = (k.fwmark[x]! - k.fwmark[y]!) | 0;
    if (r !== 0) return r;
    r = k.af[x]! - k.af[y]!;
    if (r !== 0) return r;
    r = k.protocol[x]! - k.protocol[y]!;
    if (r !== 0) return r;
  }
  const w = k.words;
  r = (w[4 * x]! - w[4 * y]!) | 0;
  if (k.af[x] === AF_NUMBER.inet6) {
    for (let i = 1; r === 0 && i < 4; i++) r = (w[4 * x + i]! - w[4 * y + i]!) | 0;
  }
  if (r !== 0) return r;
  return k.port[x]! - k.port[y]!;
}

/**
 * glibc qsort() (msort_with_tmp(): a stable top-down merge sort, left half = floor(n/2)) of the indices
 * 0..n-1 by compareKeys(), which reproduces ipvsadm's order exactly even though its comparators are not
 * transitive (they subtract unsigned addresses into an int). No closure per call or comparison.
 */
function sortIndices(k: SortKeys, services: boolean, n: number): number[] {
  const a = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = i;
  if (!(services && numericServiceSort(k, a))) mergeSortRange(k, services, a, new Array<number>(n), 0, n);
  return a;
}

/** Below this span of addresses (as unsigned values) ipvsadm's int32(a - b) has the sign of a - b for every pair. */
const NO_WRAP_SPAN = 2 ** 31;

/**
 * The span of the IPv4 addresses of slots a[lo..lo+n) as unsigned values, or Infinity when one is not IPv4.
 * Below NO_WRAP_SPAN, ipvsadm's comparators are a total order on these slots (numeric order of address, then
 * port), so any correct sort of distinct keys gives glibc's merge sort's result.
 */
function ipv4Span(k: SortKeys, a: readonly number[], lo: number, n: number): number {
  let min = Infinity;
  let max = -Infinity;
  for (let j = lo; j < lo + n; j++) {
    const x = a[j]!;
    if (k.af[x] !== AF_NUMBER.inet) return Infinity;
    const u = k.words[4 * x]! >>> 0;
    if (u < min) min = u;
    if (u > max) max = u;
  }
  return max - min;
}

/**
 * Sorts service slots a (0..n-1 in order) with a native numeric sort when that gives ipvsadm's order: IPv4
 * services without fwmarks whose addresses span less than NO_WRAP_SPAN, and no two with the same key (the
 * merge sort keeps ties in input order). Each key packs protocol (rank among 6 < 17 < 132), address and port
 * into one double (< 2^50). Returns false, leaving a untouched, when it does not apply.
 */
function numericServiceSort(k: SortKeys, a: number[]): boolean {
  const n = a.length;
  if (n < 2 || ipv4Span(k, a, 0, n) >= NO_WRAP_SPAN) return false;
  const packed = new Float64Array(n);
  const slotOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (k.fwmark[i] !== 0) return false;
    const p = k.protocol[i]!;
    const rank = p === 6 ? 0 : p === 17 ? 1 : p === 132 ? 2 : -1;
    if (rank < 0) return false;
    const key = rank * 2 ** 48 + (k.words[4 * i]! >>> 0) * 2 ** 16 + k.port[i]!;
    packed[i] = key;
    slotOf.set(key, i);
  }
  if (slotOf.size !== n) return false; // equal keys: only the merge sort keeps their input order
  packed.sort();
  for (let i = 0; i < n; i++) a[i] = slotOf.get(packed[i]!)!;
  return true;
}

/**
 * Destination slots a[lo..lo+n) in ipvsadm's order: as they are when they already are (the usual case, as
 * real servers are added in order; /proc/net/ip_vs lists them in insertion order), else glibc's merge sort.
 * "Already" is checked on neighbours only, which holds for every pair when the IPv4 addresses do not wrap.
 */
function sortDestinationRange(k: SortKeys, a: number[], tmp: number[], lo: number, n: number): void {
  if (n <= 1) return;
  if (ipv4Span(k, a, lo, n) < NO_WRAP_SPAN) {
    let ordered = true;
    for (let j = lo + 1; ordered && j < lo + n; j++) ordered = compareKeys(k, false, a[j - 1]!, a[j]!) <= 0;
    if (ordered) return;
  }
  mergeSortRange(k, false, a, tmp, lo, n);
}

function mergeSortRange(k: SortKeys, services: boolean, a: number[], tmp: number[], lo: number, n: number): void {
  if (n <= 1) return;
  const n1 = n >>> 1;
  const n2 = n - n1;
  mergeSortRange(k, services, a, tmp, lo, n1);
  mergeSortRange(k, services, a, tmp, lo + n1, n2);
  let i = lo;
  let j = lo + n1;
  let left = n1;
  let right = n2;
  let t = 0;
  while (left > 0 && right > 0) {
    if (compareKeys(k, services, a[i]!, a[j]!) <= 0) {
      tmp[t++] = a[i++]!;
      left--;
    } else {
      tmp[t++] = a[j++]!;
      right--;
    }
  }
  while (left > 0) {
    tmp[t++] = a[i++]!;
    left--;
  }
  for (let m = 0; m < t; m++) a[lo + m] = tmp[m]!;
}

export function sortServices(entries: readonly ServiceEntry[]): ServiceEntry[] {
  const n = entries.length;
  const keys = new SortKeys(n);
  for (let i = 0; i < n; i++) {
    const key = entries[i]!.service.key;
    if (key.kind === 'fwmark') {
      keys.fwmark[i] = key.fwmark | 0;
      keys.af[i] = AF_NUMBER[key.family];
    } else {
      keys.protocol[i] = protocolNumber(key.protocol);
      keys.setAddress(i, key.family, key.address);
      keys.port[i] = key.port;
    }
  }
  return sortIndices(keys, true, n).map((i) => entries[i]!);
}

export function sortDestinations(dests: readonly Destination[]): Destination[] {
  return sortEachDestinations([dests])[0]!;
}

/**
 * sortDestinations() of every list at once: one pass fills the keys of all destinations and one merge
 * sort runs over each list's slots, so a 1,000-service listing runs these loops hot instead of setting up
 * 1,000 small sorts.
 */
function sortEachDestinations(lists: ReadonlyArray<readonly Destination[]>): Destination[][] {
  let total = 0;
  for (const l of lists) total += l.length;
  const keys = new SortKeys(total);
  const order = new Array<number>(total);
  let slot = 0;
  for (const l of lists) {
    for (const d of l) {
      keys.setAddress(slot, d.family, d.address, d.addressWord);
      keys.port[slot] = d.port;
      order[slot] = slot;
      slot++;
    }
  }
  const tmp = new Array<number>(total);
  const out: Destination[][] = new Array(lists.length);
  let first = 0;
  for (let i = 0; i < lists.length; i++) {
    const l = lists[i]!;
    sortDestinationRange(keys, order, tmp, first, l.length);
    const sorted = new Array<Destination>(l.length);
    for (let j = 0; j < l.length; j++) sorted[j] = l[order[first + j]! - first]!;
    out[i] = sorted;
    first += l.length;
  }
  return out;
}

// ---- the table ----

const SVC_F_PERSISTENT = 0x1;
const SVC_F_ONEPACKET = 0x4;
const SVC_F_SCHED1 = 0x8;
const SVC_F_SCHED2 = 0x10;
const SVC_F_SCHED3 = 0x20;
const SCHED_FLAGS = SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3;

export function versionHeader(info: Info): string {
  const v = info.version;
  return `IP Virtual Server version ${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff} (size=${info.connTableSize})\n`;
}

/** ipvsadm print_title(). */
export function title(format: FormatFlags): string {
  const first = padRight('Prot LocalAddress:Port', 33);
  if (format.stats) {
    return `${first} ${['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((s) => padLeft(s, 8)).join(' ')}\n  -> RemoteAddress:Port\n`;
  }
  if (format.rate) {
    return `${first} ${['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((s) => padLeft(s, 8)).join(' ')}\n  -> RemoteAddress:Port\n`;
  }
  if (format.thresholds) {
    return `${first} ${['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'].map((s) => padRight(s, 10)).join(' ')}\n  -> RemoteAddress:Port\n`;
  }
  if (format.persistentConn) {
    return `${first} ${padRight('Weight', 9)} ${padRight('PersistConn', 11)} ${padRight('ActiveConn', 10)} ${padRight('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  }
  if (format.tunInfo) {
    return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  }
  if (!format.rule) {
    return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  }
  return '';
}

/** ipvsadm print_sched_flags(): names depend on the scheduler. */
function schedFlagsText(s: Service): string {
  const names: string[] = [];
  if (s.scheduler === 'sh' || s.scheduler === 'mh') {
    if (s.flags & SVC_F_SCHED1) names.push(`${s.scheduler}-fallback`);
    if (s.flags & SVC_F_SCHED2) names.push(`${s.scheduler}-port`);
  } else {
    if (s.flags & SVC_F_SCHED1) names.push('flag-1');
    if (s.flags & SVC_F_SCHED2) names.push('flag-2');
    if (s.flags & SVC_F_SCHED3) names.push('flag-3');
  }
  return names.join(',');
}

const FWD_NAME: Record<Destination['forward'], string | undefined> = {
  masq: 'Masq',
  local: 'Local',
  tunnel: 'Tunnel',
  route: 'Route',
  bypass: undefined,
};
const FWD_SWITCH: Record<Destination['forward'], string | undefined> = {
  masq: '-m',
  tunnel: '-i',
  local: '-g',
  route: '-g',
  bypass: undefined,
};
/** "%-7s" of the forwarding method's name, for the default listing. */
const FWD_COLUMN = Object.fromEntries(
  Object.entries(FWD_NAME).map(([method, name]) => [method, padRight(orNull(name), 7)]),
) as Record<Destination['forward'], string>;
/** Small numbers left-justified in 6 and 10 columns, made once: most weights and connection counts of a
 * listing repeat a few values. */
const NUMBER_COLUMNS: Record<number, string[]> = { 6: [], 10: [] };
function numberColumn(n: number, width: 6 | 10): string {
  if (n < 0 || n >= 1024) return padRight(String(n), width);
  const made = NUMBER_COLUMNS[width]!;
  return (made[n] ??= padRight(String(n), width));
}
const TUN_FLAGS = ['-c', '+c', 'r+c'];
const TUN_FLAG_OPTS = ['--tun-nocsum', '--tun-csum', '--tun-remcsum'];

/** ipvsadm fwd_tun_info() (a 16-byte buffer). */
function tunnelInfo(d: Destination): string | undefined {
  if (d.forward !== 'tunnel') return undefined;
  const type = d.tunnelType ?? 'ipip';
  let s: string;
  if (type === 'ipip') s = 'ipip';
  else if (type === 'gue') s = `gue:${d.tunnelPort ?? 0}:${orNull(TUN_FLAGS[d.tunnelFlags ?? 0])}`;
  else s = `gre:${orNull(TUN_FLAGS[d.tunnelFlags ?? 0])}`;
  return s.length > 15 ? s.slice(0, 15) : s;
}

const ZERO_STATS: Stats = {
  conns: 0n,
  inPkts: 0n,
  outPkts: 0n,
  inBytes: 0n,
  outBytes: 0n,
  cps: 0n,
  inPps: 0n,
  outPps: 0n,
  inBps: 0n,
  outBps: 0n,
};

/** ipvsadm print_service_entry(): the service line and its (sorted) destinations. */
export function serviceEntryText(entry: ServiceEntry, format: FormatFlags, names: NameLookup): string {
  return serviceText(entry, format.nosort ? entry.destinations : sortDestinations(entry.destinations), format, names);
}

/** serviceEntryText() with the destinations already in the order to print. */
function serviceText(entry: ServiceEntry, dests: readonly Destination[], format: FormatFlags, names: NameLookup): string {
  const s = entry.service;
  const k = s.key;
  const protocol = k.kind === 'addr' ? k.protocol : undefined;
  let svcName: string;
  if (k.kind === 'fwmark') {
    const mark = int32(k.fwmark);
    if (format.rule) svcName = k.family === 'inet6' ? `-f ${mark} -6` : `-f ${mark}`;
    else svcName = k.family === 'inet6' ? `FWM  ${mark} IPv6` : `FWM  ${mark}`;
  } else {
    const vname = addrPortName(k.family, k.address, k.port, k.protocol, format.numeric, names);
    if (format.rule) {
      const stype = k.protocol === 'tcp' ? '-t' : k.protocol === 'udp' ? '-u' : k.protocol === 'sctp' ? '--sctp-service' : '--xxx-service';
      svcName = `${stype} ${vname}`;
    } else {
      const stype = k.protocol === 'tcp' ? 'TCP' : k.protocol === 'udp' ? 'UDP' : k.protocol === 'sctp' ? 'SCTP' : '?';
      svcName = `${padRight(stype, 4)} ${vname}`;
      if (k.family !== 'inet6' && svcName.length > 33) svcName = svcName.slice(0, 33);
    }
  }

  const persistent = (s.flags & SVC_F_PERSISTENT) !== 0;
  const maskText = (): string => {
    if (k.family === 'inet') return s.netmask !== '255.255.255.255' ? s.netmask : '';
    return s.netmask !== '128' ? s.netmask : '';
  };
  const stats = s.stats ?? ZERO_STATS;
  let out: string;
  if (format.rule) {
    out = `-A ${svcName} -s ${s.scheduler}`;
    if (persistent) {
      out += ` -p ${uint32(s.timeout)}`;
      const mask = maskText();
      if (mask) out += ` -M ${mask}`;
    }
    if (s.persistenceEngine) out += ` --pe ${s.persistenceEngine}`;
    if (s.flags & SVC_F_ONEPACKET) out += ' -o';
    if (s.flags & SCHED_FLAGS) out += ` -b ${schedFlagsText(s)}`;
  } else if (format.stats) {
    out =
      padRight(svcName, 33) +
      [stats.conns, stats.inPkts, stats.outPkts, stats.inBytes, stats.outBytes].map((v) => largeNumber(v, format.exact)).join('');
  } else if (format.rate) {
    out =
      padRight(svcName, 33) +
      [stats.cps, stats.inPps, stats.outPps, stats.inBps, stats.outBps].map((v) => largeNumber(v, format.exact)).join('');
  } else {
    out = `${svcName} ${s.scheduler}`;
    if (s.flags & SCHED_FLAGS) out += ` (${schedFlagsText(s)})`;
    if (persistent) {
      out += ` persistent ${uint32(s.timeout)}`;
      const mask = maskText();
      if (mask) out += ` mask ${mask}`;
      if (s.persistenceEngine) out += ` pe ${s.persistenceEngine}`;
    }
    if (s.flags & SVC_F_ONEPACKET) out += ' ops';
  }
  out += '\n';

  // one flat string per service from an array of lines: appending 10,000s of lines to one string builds a
  // rope whose nodes all survive until output, and copying them is most of a large listing's GC time
  const lines: string[] = [out];
  for (const d of dests) {
    let dname = addrPortName(d.family, d.address, d.port, protocol, format.numeric, names);
    if (!format.rule && d.family !== 'inet6' && dname.length > 28) dname = dname.slice(0, 28);
    const weight = int32(d.weight);
    const ds = d.stats ?? ZERO_STATS;
    const active = uint32(d.activeConns ?? 0);
    const inactive = uint32(d.inactiveConns ?? 0);
    if (format.rule) {
      const head = `-a ${svcName} -r ${dname} ${orNull(FWD_SWITCH[d.forward])} -w ${weight}`;
      if (d.forward === 'tunnel') {
        const type = d.tunnelType ?? 'ipip';
        const flagOpt = orNull(TUN_FLAG_OPTS[d.tunnelFlags ?? 0]);
        if (type === 'gre') lines.push(`${head} --tun-type gre ${flagOpt}\n`);
        else if (type === 'gue') lines.push(`${head} --tun-type gue --tun-port ${d.tunnelPort ?? 0} ${flagOpt}\n`);
        else lines.push(`${head} --tun-type ipip\n`);
      } else lines.push(`${head}\n`);
    } else if (format.stats) {
      lines.push(`  -> ${padRight(dname, 28)}${[ds.conns, ds.inPkts, ds.outPkts, ds.inBytes, ds.outBytes].map((v) => largeNumber(v, format.exact)).join('')}\n`);
    } else if (format.rate) {
      lines.push(
        `  -> ${padRight(dname, 28)} ${padLeft(ds.cps.toString(), 8)} ${padLeft(ds.inPps.toString(), 8)} ${padLeft(ds.outPps.toString(), 8)}` +
          `${largeNumber(ds.inBps, format.exact)}${largeNumber(ds.outBps, format.exact)}\n`,
      );
    } else if (format.thresholds) {
      lines.push(`  -> ${padRight(dname, 28)} ${padRight(String(uint32(d.upperThreshold)), 10)} ${padRight(String(uint32(d.lowerThreshold)), 10)} ${padRight(String(active), 10)} ${padRight(String(inactive), 10)}\n`);
    } else if (format.persistentConn) {
      lines.push(`  -> ${padRight(dname, 28)} ${padRight(String(weight), 9)} ${padRight(String(uint32(d.persistConns ?? 0)), 11)} ${padRight(String(active), 10)} ${padRight(String(inactive), 10)}\n`);
    } else if (format.tunInfo) {
      lines.push(`  -> ${padRight(dname, 28)} ${padRight(orNull(FWD_NAME[d.forward]), 7)} ${padRight(tunnelInfo(d) ?? 'n/a', 13)} ${padRight(String(weight), 6)} ${padRight(String(active), 10)} ${padRight(String(inactive), 10)}\n`);
    } else {
      lines.push(`  -> ${padRight(dname, 28)} ${FWD_COLUMN[d.forward]} ${numberColumn(weight, 6)} ${numberColumn(active, 10)} ${numberColumn(inactive, 10)}\n`);
    }
  }
  return lines.join('');
}

/** ipvsadm list_all(): -L / -S (format.rule) of the whole table. */
export function listAllText(info: Info, entries: readonly ServiceEntry[], format: FormatFlags, names: NameLookup): string {
  const sorted = format.nosort ? entries : sortServices(entries);
  const parts = [format.rule ? '' : versionHeader(info), title(format)];
  const dests = format.nosort ? sorted.map((e) => e.destinations) : sortEachDestinations(sorted.map((e) => e.destinations));
  sorted.forEach((e, i) => parts.push(serviceText(e, dests[i]!, format, names)));
  return parts.join('');
}

/** The spaces after an IPv4 "address:port" of each length: padRight(field, 28) and the column's separator. */
const PAD_TO_29 = Array.from({ length: 22 }, (_, n) => ' '.repeat(29 - n));

/**
 * listAllText() for `-Ln` (numeric, sorted, default columns) straight from /proc/net/ip_vs's columns:
 * the same text without a Destination object per destination. undefined when the file's services are not
 * the GET_SERVICE dump's (the table changed between the two reads): the caller takes the general path.
 */
export function listAllFromColumns(columns: ProcColumns, services: readonly Service[], format: FormatFlags): string | undefined {
  const n = services.length;
  if (columns.services.length !== n) return undefined;
  const entries: ServiceEntry[] = new Array(n);
  const slotOf = new Map<ServiceEntry, number>();
  for (let i = 0; i < n; i++) {
    if (!sameService(services[i]!, columns.services[i]!)) return undefined;
    entries[i] = { service: services[i]!, destinations: [] };
    slotOf.set(entries[i]!, i);
  }
  const { text, first, address, port, tailStart, lineEnd } = columns;
  const total = first[n]!;
  const keys = new SortKeys(total);
  const order = new Array<number>(total);
  for (let slot = 0; slot < total; slot++) {
    keys.af[slot] = AF_NUMBER.inet;
    keys.words[4 * slot] = address[slot]!;
    keys.port[slot] = port[slot]!;
    order[slot] = slot;
  }
  const tmp = new Array<number>(total);
  const parts: string[] = [versionHeader(columns.info), title(format)];
  for (const entry of sortServices(entries)) {
    const i = slotOf.get(entry)!;
    const lo = first[i]!;
    const hi = first[i + 1]!;
    sortDestinationRange(keys, order, tmp, lo, hi - lo);
    // One flat string per service (as serviceText()): its lines' pieces die young, where 10,000s of lines
    // kept until the end would each be copied by the garbage collector.
    const lines: string[] = [serviceText(entry, [], format, NUMERIC_ONLY)];
    for (let j = lo; j < hi; j++) {
      const slot = order[j]!;
      const field = `${ipv4Text(address[slot]!)}:${port[slot]!}`; // at most 21 characters: never cut at 28
      lines.push(`  -> ${field}${PAD_TO_29[field.length]!}${text.slice(tailStart[slot]!, lineEnd[slot]!)}`);
    }
    parts.push(lines.join(''));
  }
  return parts.join('');
}

/** ipvsadm list_service(): -L with a virtual service (no version header). */
export function listServiceText(entry: ServiceEntry, format: FormatFlags, names: NameLookup): string {
  return title(format) + serviceEntryText(entry, format, names);
}

export function timeoutsText(t: Timeouts): string {
  return `Timeout (tcp tcpfin udp): ${int32(t.tcp)} ${int32(t.tcpFin)} ${int32(t.udp)}\n`;
}

/** ipvsadm list_daemon(). */
export function daemonsText(daemons: readonly SyncDaemon[]): string {
  let out = '';
  for (const d of daemons.slice(0, 2)) {
    out += `${d.state} sync daemon (mcast=${d.mcastInterface}, syncid=${int32(d.syncId)}`;
    if (d.maxLen) out += `, maxlen=${d.maxLen}`;
    if (d.mcastGroup) out += `, group=${d.mcastGroup}`;
    if (d.mcastPort) out += `, port=${d.mcastPort}`;
    if (d.mcastTtl) out += `, ttl=${d.mcastTtl}`;
    out += ')\n';
  }
  return out;
}

// ---- -c: /proc/net/ip_vs_conn ----

interface ConnAddress {
  family: 'inet' | 'inet6';
  address: string;
}

/** print_conn(): inet_pton(AF_INET6), then inet_pton(AF_INET), else the kernel's %08X hex. */
function connAddress(text: string, family?: 'inet' | 'inet6'): ConnAddress {
  if (family !== 'inet') {
    const v6 = inetPton6(text);
    if (v6) return { family: 'inet6', address: formatIPv6(v6) };
    if (family === 'inet6') return { family: 'inet6', address: '::' };
  }
  const v4 = inetPton4(text);
  if (v4 !== undefined) return { family: 'inet', address: ipv4Text(v4) };
  const n = Number.parseInt(text, 16);
  return { family: 'inet', address: ipv4Text(Number.isNaN(n) ? 0 : uint32(n)) };
}

export class ConnListError extends Error {}

/** ipvsadm list_conn(): the header, then one line per connection of /proc/net/ip_vs_conn. */
export function connectionsText(procText: string, format: FormatFlags, names: NameLookup): string {
  const lines = procText.split('\n');
  if (procText === '') throw new ConnListError('unexpected input from /proc/net/ip_vs_conn');
  let out = 'IPVS connection entries\n';
  if (format.persistentConn) {
    out += `pro expire ${padRight('state', 11)} ${padRight('source', 18)} ${padRight('virtual', 18)} ${padRight('destination', 18)} ${padRight('pe name', 16)} pe_data\n`;
  } else {
    out += `pro expire ${padRight('state', 11)} ${padRight('source', 18)} ${padRight('virtual', 18)} destination\n`;
  }
  const body = lines.slice(1);
  if (body.length > 0 && body[body.length - 1] === '') body.pop();
  for (const line of body) {
    const f = line.split(/[ \t\r\f\v]+/).filter((x) => x !== '');
    if (f.length === 0) throw new ConnListError(''); // sscanf() == EOF: ipvsadm exits 1 silently
    const [protocol = '', caddr = '', cport = '', vaddr = '', vport = '', daddr = '', dport = '', state = '', expiresText = ''] = f;
    const proto: ProtocolName | undefined = protocol === 'TCP' ? 'tcp' : protocol === 'UDP' ? 'udp' : protocol === 'SCTP' ? 'sctp' : undefined;
    const c = connAddress(caddr);
    const v = connAddress(vaddr, c.family);
    const d = connAddress(daddr);
    const hex = (t: string): number => {
      const m = /^[0-9a-fA-F]+/.exec(t);
      return m ? Number.parseInt(m[0], 16) & 0xffff : 0;
    };
    const cname = addrPortName(c.family, c.address, hex(cport), proto, format.numeric, names);
    const vname = addrPortName(v.family, v.address, hex(vport), proto, format.numeric, names);
    const dname = addrPortName(d.family, d.address, hex(dport), proto, format.numeric, names);
    const expires = uint32(Number.parseInt(expiresText, 10) || 0);
    const expire = `${String(Math.floor(expires / 60)).padStart(2, '0')}:${String(expires % 60).padStart(2, '0')}`;
    if (format.persistentConn && f.length >= 11) {
      out += `${padRight(protocol, 3)} ${padRight(expire, 6)} ${padRight(state, 11)} ${padRight(cname, 18)} ${padRight(vname, 18)} ${padRight(dname, 16)} ${padRight(f[9]!, 18)} ${f[10]!}\n`;
    } else {
      out += `${padRight(protocol, 3)} ${padRight(expire, 6)} ${padRight(state, 11)} ${padRight(cname, 18)} ${padRight(vname, 18)} ${dname}\n`;
    }
  }
  return out;
}

/** Every (family, address) and (port, protocol) a listing would look up without -n. */
export function namesWanted(entries: readonly ServiceEntry[]): {
  hosts: Array<{ family: 'inet' | 'inet6'; address: string }>;
} {
  const hosts = new Map<string, { family: 'inet' | 'inet6'; address: string }>();
  for (const e of entries) {
    const k = e.service.key;
    if (k.kind === 'addr') hosts.set(`${k.family} ${k.address}`, { family: k.family, address: k.address });
    for (const d of e.destinations) hosts.set(`${d.family} ${d.address}`, { family: d.family, address: d.address });
  }
  return { hosts: [...hosts.values()] };
}

/** The addresses a -c listing mentions. */
export function connectionHosts(procText: string): Array<{ family: 'inet' | 'inet6'; address: string }> {
  const out = new Map<string, { family: 'inet' | 'inet6'; address: string }>();
  for (const line of procText.split('\n').slice(1)) {
    const f = line.split(/[ \t\r\f\v]+/).filter((x) => x !== '');
    if (f.length < 6) continue;
    const c = connAddress(f[1]!);
    for (const a of [c, connAddress(f[3]!, c.family), connAddress(f[5]!)]) out.set(`${a.family} ${a.address}`, a);
  }
  return [...out.values()];
}
