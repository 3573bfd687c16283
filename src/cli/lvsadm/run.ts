// Carries out one parsed ipvsadm command (process_options' switch) against an IPVS client, and -R
// (restore_table) with the writes of consecutive lines sent as one pipelined batch.
import type { IpvsOp } from '../../ipvs/ops.js';
import { joinProcTable, parseProcTable, scanProcColumns } from '../../ipvs/proc-table.js';
import type { Destination, Info, IpvsError, Service, ServiceEntry, ServiceKey } from '../../ipvs/types.js';
import {
  AF_INET6,
  LvsadmExit,
  IPPROTO_SCTP,
  IPPROTO_UDP,
  TUNNEL_NAMES,
  parseInvocation,
  tryHelpExit,
  type CommandEntry,
  type FormatFlags,
  type InputResolver,
} from './options.js';
import { ipv4Text } from './cparse.js';
import {
  ConnListError,
  connectionHosts,
  connectionsText,
  daemonsText,
  listAllFromColumns,
  listAllText,
  listServiceText,
  namesWanted,
  timeoutsText,
  type NameLookup,
} from './format.js';
import { splitRestoreLines } from './restore.js';

/** What lvsadm needs from the IPVS library (IpvsClient satisfies it; tests pass fakes). */
export interface LvsadmClient {
  apply(ops: readonly IpvsOp[]): Promise<Array<IpvsError | undefined>>;
  /** `stats: false`: the counters are not wanted (left undefined). */
  getAll(options?: { stats?: boolean }): Promise<ServiceEntry[]>;
  /** The services alone (one GET_SERVICE dump); lets a listing take destinations from /proc/net/ip_vs. */
  getServices?(options?: { stats?: boolean }): Promise<Service[]>;
  getInfo(): Promise<import('../../ipvs/types.js').Info>;
  getService(key: ServiceKey): Promise<Service>;
  getDestinations(key: ServiceKey): Promise<Destination[]>;
  getTimeouts(): Promise<import('../../ipvs/types.js').Timeouts>;
  getDaemons(): Promise<import('../../ipvs/types.js').SyncDaemon[]>;
}

/** The process around a command: output streams, name services, the connection table. */
export interface LvsadmIo {
  out(text: string): void;
  err(text: string): void;
  /** Resolves names for a listing without -n. */
  names(hosts: ReadonlyArray<{ family: 'inet' | 'inet6'; address: string }>): NameLookup;
  readConnections(): string;
  /** Starts reading /proc/net/ip_vs, if this system has one (see listedTable()), and returns what gives its
   * whole text: the kernel prints it while this thread decodes the GET_SERVICE dump. */
  readIpvsTable?: (() => () => string | Promise<string>) | undefined;
  readStdin(): string;
  resolver: InputResolver;
  /** ipvs_strerror() for a failed kernel operation. */
  errorMessage(err: IpvsError): string;
}

const family = (af: number): 'inet' | 'inet6' => (af === AF_INET6 ? 'inet6' : 'inet');
const protocolOf = (p: number): 'tcp' | 'udp' | 'sctp' => (p === IPPROTO_UDP ? 'udp' : p === IPPROTO_SCTP ? 'sctp' : 'tcp');

export function serviceKey(ce: CommandEntry): ServiceKey {
  const s = ce.svc;
  if (s.fwmark) return { kind: 'fwmark', family: family(s.af), fwmark: s.fwmark };
  return { kind: 'addr', family: family(s.af), protocol: protocolOf(s.protocol), address: s.address || (s.af === AF_INET6 ? '::' : '0.0.0.0'), port: s.port };
}

export function serviceOf(ce: CommandEntry): Service {
  const s = ce.svc;
  const key = serviceKey(ce);
  return {
    key,
    scheduler: s.schedName,
    flags: s.flags,
    timeout: s.timeout,
    netmask: key.family === 'inet' ? ipv4Text(s.netmask >>> 0) : String(s.netmask),
    persistenceEngine: s.peName || undefined,
  };
}

const FORWARD: Destination['forward'][] = ['masq', 'local', 'tunnel', 'route', 'bypass'];

export function destinationOf(ce: CommandEntry): Destination {
  const d = ce.dest;
  return {
    family: family(d.af),
    address: d.address,
    port: d.port,
    forward: FORWARD[d.connFlags & 7] ?? 'route',
    weight: d.weight,
    upperThreshold: d.uThreshold,
    lowerThreshold: d.lThreshold,
    tunnelType: TUNNEL_NAMES[d.tunType] ?? 'ipip',
    tunnelPort: d.tunPort,
    tunnelFlags: d.tunFlags,
  };
}

/** The kernel write a command performs, or undefined for list/save/restore. */
export function opOf(ce: CommandEntry): IpvsOp | undefined {
  switch (ce.cmd) {
    case 'flush':
      return { op: 'flush' };
    case 'add-service':
      return { op: 'add-service', service: serviceOf(ce) };
    case 'edit-service':
      return { op: 'edit-service', service: serviceOf(ce) };
    case 'delete-service':
      return { op: 'del-service', key: serviceKey(ce) };
    case 'zero': {
      // libipvs sends no service (zero everything) when fwmark, address and port are all zero
      const s = ce.svc;
      const anyAddress = s.address === '' || s.address === '0.0.0.0' || s.address === '::';
      return { op: 'zero', key: !s.fwmark && anyAddress && !s.port ? undefined : serviceKey(ce) };
    }
    case 'add-server':
      return { op: 'add-dest', key: serviceKey(ce), dest: destinationOf(ce) };
    case 'edit-server':
      return { op: 'edit-dest', key: serviceKey(ce), dest: destinationOf(ce) };
    case 'delete-server': {
      const d = destinationOf(ce);
      return { op: 'del-dest', key: serviceKey(ce), dest: { family: d.family, address: d.address, port: d.port } };
    }
    case 'set':
      return { op: 'set-timeout', timeouts: { ...ce.timeouts } };
    case 'start-daemon': {
      const dm = ce.daemon;
      return {
        op: 'start-daemon',
        daemon: {
          state: dm.state ?? 'master',
          mcastInterface: dm.mcastIfn,
          syncId: dm.syncId,
          maxLen: dm.syncMaxlen || undefined,
          mcastGroup: dm.mcastGroup,
          mcastPort: dm.mcastPort || undefined,
          mcastTtl: dm.mcastTtl || undefined,
        },
      };
    }
    case 'stop-daemon':
      return { op: 'stop-daemon', state: ce.daemon.state ?? 'master' };
    default:
      return undefined;
  }
}

/** ipvsadm exits 1 after printing the error of a failed listing. */
function listFailure(io: LvsadmIo, e: unknown): never {
  if (e instanceof LvsadmExit) throw e;
  const err = e as IpvsError;
  throw new LvsadmExit(1, `${typeof err.errno === 'number' ? io.errorMessage(err) : String(e)}\n`);
}

/** CMD_LIST / CMD_SAVE: prints the listing. */
export async function list(ce: CommandEntry, client: LvsadmClient, io: LvsadmIo): Promise<void> {
  const o = ce.options;
  const format = ce.cmd === 'save' ? { ...ce.format, rule: true } : ce.format;
  if (ce.cmd === 'list' && o.has('connection')) {
    let text: string;
    try {
      text = io.readConnections();
    } catch {
      throw new LvsadmExit(1, 'cannot open file /proc/net/ip_vs_conn\n');
    }
    try {
      const names = format.numeric ? undefined : io.names(connectionHosts(text));
      io.out(connectionsText(text, format, names ?? io.names([])));
    } catch (e) {
      if (e instanceof ConnListError) throw new LvsadmExit(1, e.message ? `${e.message}\n` : '');
      throw e;
    }
    return;
  }
  if (ce.cmd === 'list' && o.has('service-address')) {
    const key = serviceKey(ce);
    let entry: ServiceEntry;
    try {
      const service = await client.getService(key);
      entry = { service, destinations: await client.getDestinations(service.key) };
    } catch (e) {
      listFailure(io, e);
    }
    io.out(listServiceText(entry, format, io.names(format.numeric ? [] : namesWanted([entry]).hosts)));
    return;
  }
  if (ce.cmd === 'list' && o.has('timeout')) {
    try {
      io.out(timeoutsText(await client.getTimeouts()));
    } catch {
      throw new LvsadmExit(1, '');
    }
    return;
  }
  if (ce.cmd === 'list' && o.has('daemon')) {
    try {
      io.out(daemonsText(await client.getDaemons()));
    } catch {
      throw new LvsadmExit(1, '');
    }
    return;
  }
  let info: Info;
  let entries: ServiceEntry[];
  try {
    const table = await listedTable(format, client, io);
    if (typeof table === 'string') {
      io.out(table); // -Ln printed from /proc/net/ip_vs's columns
      return;
    }
    [info, entries] = table;
  } catch (e) {
    listFailure(io, e);
  }
  io.out(listAllText(info, entries, format, io.names(format.numeric ? [] : namesWanted(entries).hosts)));
}

/** Whether a listing prints only what /proc/net/ip_vs has of a destination (address, port, forwarding
 * method, weight, active and inactive connections): -L without a column option, and -S without tunnels. */
function procTableSuffices(format: FormatFlags, entries: readonly ServiceEntry[]): boolean {
  if (format.rule) return entries.every((e) => e.destinations.every((d) => d.forward !== 'tunnel')); // -S prints tunnel options
  return defaultColumns(format);
}

/** -L's default columns: no --stats, --rate, --thresholds, --persistent-conn or --tun-info. */
function defaultColumns(format: FormatFlags): boolean {
  return !format.stats && !format.rate && !format.thresholds && !format.persistentConn && !format.tunInfo;
}

/** `-Ln` with the default columns: printable from /proc/net/ip_vs's columns (listAllFromColumns). */
function plainNumeric(format: FormatFlags): boolean {
  return format.numeric && !format.nosort && !format.rule && defaultColumns(format);
}

/**
 * The whole table for list_all(). ipvsadm asks GET_DEST once per service, and so does getAll(): with 1,000
 * services that is 1,000 netlink round trips, each decoded in JavaScript. When the listing prints nothing
 * /proc/net/ip_vs lacks, one GET_SERVICE dump plus one read of that file give the same table; if the file
 * is missing, has another layout or no longer matches the services (the table changed in between), the
 * listing falls back to getAll().
 */
async function listedTable(format: FormatFlags, client: LvsadmClient, io: LvsadmIo): Promise<[Info, ServiceEntry[]] | string> {
  const wantsStats = !format.rule && (format.stats || format.rate);
  if (!wantsStats && client.getServices && io.readIpvsTable) {
    // Started first, so that the kernel's printing of a 10,000-destination table (~0.15 s in the test VM)
    // overlaps with the dump's decoding on this thread as far as it can.
    let whole: (() => string | Promise<string>) | undefined;
    try {
      whole = io.readIpvsTable();
    } catch {
      // no /proc/net/ip_vs (no procfs, or ip_vs without it): ask the kernel per service
    }
    const services = await client.getServices({ stats: false }).catch(async (e: unknown) => {
      await wholeText(whole); // closes the file
      throw e;
    });
    const text = await wholeText(whole);
    if (text !== undefined && plainNumeric(format)) {
      const columns = scanProcColumns(text);
      const listing = columns && listAllFromColumns(columns, services, format);
      if (listing !== undefined) return listing;
    }
    const table = text === undefined ? undefined : parseProcTable(text);
    const entries = table && joinProcTable(services, table);
    if (table && entries && procTableSuffices(format, entries)) return [table.info, entries];
  }
  return Promise.all([client.getInfo(), client.getAll({ stats: wantsStats })]);
}

/** The whole file from readIpvsTable()'s reader, undefined if it could not be read (as if there were none). */
async function wholeText(whole: (() => string | Promise<string>) | undefined): Promise<string | undefined> {
  try {
    return whole && (await whole());
  } catch {
    return undefined;
  }
}

/** Runs argv as ipvsadm would; returns the exit status (LvsadmExit is reported, not thrown). */
export async function runArgv(argv: readonly string[], program: string, connect: () => Promise<LvsadmClient>, io: LvsadmIo): Promise<number> {
  try {
    if (argv.length === 0) {
      // no argument: list the table (ipvsadm main)
      const inv = parseInvocation(['-L'], program, io.resolver);
      if (inv.kind === 'command') await list(inv.entry, await connect(), io);
      return 0;
    }
    const inv = parseInvocation(argv, program, io.resolver);
    if (inv.kind !== 'command') {
      io.out(inv.text);
      return 0;
    }
    const ce = inv.entry;
    if (ce.cmd === 'restore') return await restore(program, connect, io);
    const client = await connect();
    const op = opOf(ce);
    if (!op) {
      await list(ce, client, io);
      return 0;
    }
    const [err] = await client.apply([op]);
    if (err) {
      io.err(`${io.errorMessage(err)}\n`);
      return 255;
    }
    return 0;
  } catch (e) {
    if (e instanceof LvsadmExit) {
      if (e.stdout) io.out(e.stdout);
      if (e.stderr) io.err(e.stderr);
      return e.status;
    }
    throw e;
  }
}

/**
 * ipvsadm restore_table(): every stdin line is a command. Writes of consecutive lines go to the kernel as
 * one pipelined batch; a line that lists, or any fatal error, first flushes the batch so that output and
 * error messages keep ipvsadm's order. The exit status is that of the last line (0, or 255 if it failed).
 */
async function restore(program: string, connect: () => Promise<LvsadmClient>, io: LvsadmIo): Promise<number> {
  const lines = splitRestoreLines(io.readStdin());
  const client = await connect();
  let lastResult = 0;
  let batch: IpvsOp[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const ops = batch;
    batch = [];
    const errors = await client.apply(ops);
    for (const err of errors) {
      if (err) io.err(`${io.errorMessage(err)}\n`);
      lastResult = err ? -1 : 0;
    }
  };
  for (const tokens of lines) {
    let inv;
    try {
      inv = parseInvocation(tokens, program, io.resolver);
    } catch (e) {
      await flush();
      if (e instanceof LvsadmExit && e.recoverableInRestore) {
        io.err(e.stderr);
        lastResult = -1;
        continue;
      }
      throw e;
    }
    if (inv.kind !== 'command') {
      await flush();
      io.out(inv.text);
      throw new LvsadmExit(0, '');
    }
    const ce = inv.entry;
    if (ce.cmd === 'restore') {
      await flush();
      tryHelpExit(program); // no restore within a restore
    }
    const op = opOf(ce);
    if (op) {
      batch.push(op);
      continue;
    }
    await flush();
    await list(ce, client, io);
    lastResult = 0;
  }
  await flush();
  return lastResult === 0 ? 0 : 255;
}
