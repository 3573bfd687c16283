// ipvsadm 1.31's command line semantics (ipvsadm.c parse_options / process_options), as pure code:
// argv → a CommandEntry, or an LvsadmExit carrying ipvsadm's message and exit status.
import { formatIPv6 } from '../../ipvs/address.js';
import { inetAton, inetPton4, inetPton6, ipv4Text, strIsDigit, stringToNumber, strtolWhole } from './cparse.js';
import { Popt, type PoptOption } from './popt.js';

/** A fatal outcome with ipvsadm's texts and exit status (fail() → 2, tryhelp_exit() → 255, ...). */
export class LvsadmExit extends Error {
  constructor(
    readonly status: number,
    readonly stderr: string,
    readonly stdout = '',
    /** A popt error after the command: fatal on the command line, only that line fails within -R. */
    readonly recoverableInRestore = false,
  ) {
    super(stderr || stdout);
    this.name = 'LvsadmExit';
  }
}

/** ipvsadm fail(): the message plus a newline on stderr, exit status 2. */
export function fail(message: string): never {
  throw new LvsadmExit(2, `${message}\n`);
}

export function tryHelpExit(program: string): never {
  throw new LvsadmExit(255, `Try \`${program} -h' or '${program} --help' for more information.\n`);
}

// ---- commands and options, in ipvsadm's order (the order decides which error is reported first) ----

export const COMMAND_NAMES = [
  'add-service',
  'edit-service',
  'delete-service',
  'flush',
  'list',
  'add-server',
  'delete-server',
  'edit-server',
  'set',
  'start-daemon',
  'stop-daemon',
  'restore',
  'save',
  'zero',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const OPTION_NAMES = [
  'numeric',
  'connection',
  'service-address',
  'scheduler',
  'persistent',
  'netmask',
  'real-server',
  'forwarding-method',
  'weight',
  'u-threshold',
  'l-threshold',
  'mcast-interface',
  'timeout',
  'daemon',
  'stats',
  'rate',
  'thresholds',
  'persistent-conn',
  'nosort',
  'syncid',
  'exact',
  'ops',
  'pe',
  'sched-flags',
  'mcast-group',
  'mcast-port',
  'mcast-ttl',
  'sync-maxlen',
  'tun-info',
  'tun-type',
  'tun-port',
  'tun-nocsum',
  'tun-csum',
  'tun-remcsum',
] as const;
export type OptionName = (typeof OPTION_NAMES)[number];

/**
 * ipvsadm's commands_v_options table: per command, per option (OPTION_NAMES order):
 * '+' compulsory, 'x' illegal, '1' exclusive (only one '1' option may be given), ' ' optional.
 */
const COMMANDS_V_OPTIONS: Record<CommandName, string> = {
  //               -n -c svc -s -p -M -r fwd -w -x -y mc tot dmn st rt thr pc srt sid ex ops pe -b grp port ttl size tinf type tprt nocs csum remc
  'add-service': 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx',
  'edit-service': 'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx',
  'delete-service': 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  flush: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  list: ' 11xxxxxxxxx11       xxxxxxx xxxxx',
  'add-server': 'xx+xxx+    xxxxxxxxxxxxxxxxxx     ',
  'delete-server': 'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'edit-server': 'xx+xxx+    xxxxxxxxxxxxxxxxxx     ',
  set: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'start-daemon': 'xxxxxxxxxxx xxxxxxx xxxx    xxxxxx',
  'stop-daemon': 'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx',
  restore: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  save: ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  zero: 'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
};

/** tunnel_types_v_options: per tunnel type, for tun-port, tun-nocsum, tun-csum, tun-remcsum. */
const TUNNEL_OPTIONS: readonly OptionName[] = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
const TUNNEL_TYPES_V_OPTIONS: readonly string[] = [
  'xxxx', // ipip
  '+111', // gue
  'x11x', // gre
];
export const TUNNEL_NAMES = ['ipip', 'gue', 'gre'] as const;

// ---- the command entry (ipvsadm's struct ipvs_command_entry) ----

export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

export const SVC_F_PERSISTENT = 0x1;
export const SVC_F_ONEPACKET = 0x4;
export const SVC_F_SCHED1 = 0x8;
export const SVC_F_SCHED2 = 0x10;
export const SVC_F_SCHED3 = 0x20;

export const CONN_F_MASQ = 0;
export const CONN_F_LOCALNODE = 1;
export const CONN_F_TUNNEL = 2;
export const CONN_F_DROUTE = 3;

/** IP_VS_SVC_PERSISTENT_TIMEOUT as Debian's ipvsadm 1.31 uses it (observed: `-p` alone gives 360). */
export const DEFAULT_PERSISTENT_TIMEOUT = 360;
const MAX_TIMEOUT = 86400 * 31;
const DEFAULT_SCHEDULER = 'wlc';
const DEFAULT_MCAST_IFN = 'eth0';
const SCHEDNAME_MAXLEN = 16;
const PENAME_MAXLEN = 16;
const IFNAME_MAXLEN = 16;
const INT_MAX = 2147483647;

export interface FormatFlags {
  numeric: boolean;
  rule: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  nosort: boolean;
  exact: boolean;
  tunInfo: boolean;
}

export const NO_FORMAT: FormatFlags = {
  numeric: false,
  rule: false,
  stats: false,
  rate: false,
  thresholds: false,
  persistentConn: false,
  nosort: false,
  exact: false,
  tunInfo: false,
};

/** An address as ipvsadm holds it: family plus the canonical text (what inet_ntop would print). */
export interface ParsedAddress {
  af: number;
  /** IPv4 dotted quad or canonical IPv6 text; "" while unset. */
  address: string;
}

export interface ServiceEntryArgs extends ParsedAddress {
  protocol: number;
  /** Host order. */
  port: number;
  fwmark: number;
  schedName: string;
  peName: string;
  flags: number;
  timeout: number;
  /** IPv4: the mask as an unsigned 32-bit number (a.b.c.d = a<<24|...); IPv6: the prefix length. */
  netmask: number;
}

export interface DestEntryArgs extends ParsedAddress {
  port: number;
  connFlags: number;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  tunType: number;
  tunPort: number;
  tunFlags: number;
}

export interface DaemonArgs {
  state: 'master' | 'backup' | undefined;
  mcastIfn: string;
  syncId: number;
  syncMaxlen: number;
  mcastGroup: string | undefined;
  mcastPort: number;
  mcastTtl: number;
}

export interface CommandEntry {
  cmd: CommandName;
  options: ReadonlySet<OptionName>;
  format: FormatFlags;
  svc: ServiceEntryArgs;
  dest: DestEntryArgs;
  timeouts: { tcp: number; tcpFin: number; udp: number };
  daemon: DaemonArgs;
}

export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string }
  | { kind: 'command'; entry: CommandEntry };

/** Name lookups parse_service() may need (gethostbyname, getservbyname); sync like the C calls. */
export interface InputResolver {
  /** IPv4 address (unsigned 32-bit) of a host name, or undefined. */
  hostToIPv4(name: string): number | undefined;
  /** Port of a service name for "tcp", "udp" or "sctp", or undefined. */
  serviceToPort(name: string, protocol: 'tcp' | 'udp' | 'sctp'): number | undefined;
}

export const NO_RESOLVER: InputResolver = {
  hostToIPv4: () => undefined,
  serviceToPort: () => undefined,
};

// ---- popt's option table, as ipvsadm declares it ----

type Tag =
  | 'A' | 'E' | 'D' | 'C' | 'L' | 'Z' | 'a' | 'e' | 'd' | 'set' | 'h' | 'v' | 'R' | 'S'
  | 'start-daemon' | 'stop-daemon' | 't' | 'u' | 'sctp' | 'f' | 's' | 'p' | 'M' | 'r' | 'm' | 'i' | 'g'
  | 'w' | 'x' | 'y' | 'n' | 'c' | 'mcast-interface' | 'syncid' | 'timeout' | 'daemon' | 'stats' | 'rate'
  | 'thresholds' | 'persistent-conn' | 'nosort' | 'sort' | 'X' | '6' | 'o' | 'pe' | 'b' | 'mcast-group'
  | 'mcast-port' | 'mcast-ttl' | 'sync-maxlen' | 'tun-info' | 'tun-type' | 'tun-port' | 'tun-nocsum'
  | 'tun-csum' | 'tun-remcsum';

const opt = (long: string, short: string | undefined, arg: PoptOption['arg'], tag: Tag): PoptOption<Tag> => ({
  long,
  short,
  arg,
  tag,
});

const OPTION_TABLE: readonly PoptOption<Tag>[] = [
  opt('add-service', 'A', 'none', 'A'),
  opt('edit-service', 'E', 'none', 'E'),
  opt('delete-service', 'D', 'none', 'D'),
  opt('clear', 'C', 'none', 'C'),
  opt('list', 'L', 'none', 'L'),
  opt('list', 'l', 'none', 'L'),
  opt('zero', 'Z', 'none', 'Z'),
  opt('add-server', 'a', 'none', 'a'),
  opt('edit-server', 'e', 'none', 'e'),
  opt('delete-server', 'd', 'none', 'd'),
  opt('set', undefined, 'none', 'set'),
  opt('help', 'h', 'none', 'h'),
  opt('version', 'v', 'none', 'v'),
  opt('restore', 'R', 'none', 'R'),
  opt('save', 'S', 'none', 'S'),
  opt('start-daemon', undefined, 'required', 'start-daemon'),
  opt('stop-daemon', undefined, 'required', 'stop-daemon'),
  opt('tcp-service', 't', 'required', 't'),
  opt('udp-service', 'u', 'required', 'u'),
  opt('sctp-service', undefined, 'required', 'sctp'),
  opt('fwmark-service', 'f', 'required', 'f'),
  opt('scheduler', 's', 'required', 's'),
  opt('persistent', 'p', 'optional', 'p'),
  opt('netmask', 'M', 'required', 'M'),
  opt('real-server', 'r', 'required', 'r'),
  opt('masquerading', 'm', 'none', 'm'),
  opt('ipip', 'i', 'none', 'i'),
  opt('gatewaying', 'g', 'none', 'g'),
  opt('weight', 'w', 'required', 'w'),
  opt('u-threshold', 'x', 'required', 'x'),
  opt('l-threshold', 'y', 'required', 'y'),
  opt('numeric', 'n', 'none', 'n'),
  opt('connection', 'c', 'none', 'c'),
  opt('mcast-interface', undefined, 'required', 'mcast-interface'),
  opt('syncid', undefined, 'required', 'syncid'),
  opt('timeout', undefined, 'none', 'timeout'),
  opt('daemon', undefined, 'none', 'daemon'),
  opt('stats', undefined, 'none', 'stats'),
  opt('rate', undefined, 'none', 'rate'),
  opt('thresholds', undefined, 'none', 'thresholds'),
  opt('persistent-conn', undefined, 'none', 'persistent-conn'),
  opt('nosort', undefined, 'none', 'nosort'),
  opt('sort', undefined, 'none', 'sort'),
  opt('exact', 'X', 'none', 'X'),
  opt('ipv6', '6', 'none', '6'),
  opt('ops', 'o', 'none', 'o'),
  opt('pe', undefined, 'required', 'pe'),
  opt('sched-flags', 'b', 'required', 'b'),
  opt('mcast-group', undefined, 'required', 'mcast-group'),
  opt('mcast-port', undefined, 'required', 'mcast-port'),
  opt('mcast-ttl', undefined, 'required', 'mcast-ttl'),
  opt('sync-maxlen', undefined, 'required', 'sync-maxlen'),
  opt('tun-info', undefined, 'none', 'tun-info'),
  opt('tun-type', undefined, 'required', 'tun-type'),
  opt('tun-port', undefined, 'required', 'tun-port'),
  opt('tun-nocsum', undefined, 'none', 'tun-nocsum'),
  opt('tun-csum', undefined, 'none', 'tun-csum'),
  opt('tun-remcsum', undefined, 'none', 'tun-remcsum'),
];

const COMMAND_OF_TAG: Partial<Record<Tag, CommandName>> = {
  A: 'add-service',
  E: 'edit-service',
  D: 'delete-service',
  a: 'add-server',
  e: 'edit-server',
  d: 'delete-server',
  C: 'flush',
  L: 'list',
  Z: 'zero',
  set: 'set',
  R: 'restore',
  S: 'save',
  'start-daemon': 'start-daemon',
  'stop-daemon': 'stop-daemon',
};

function newEntry(cmd: CommandName): CommandEntry & { options: Set<OptionName> } {
  return {
    cmd,
    options: new Set<OptionName>(),
    format: { ...NO_FORMAT },
    svc: {
      af: 0,
      address: '',
      protocol: 0,
      port: 0,
      fwmark: 0,
      schedName: '',
      peName: '',
      flags: 0,
      timeout: 0,
      netmask: 0xffffffff, // persistent granularity /32 by default
    },
    dest: {
      af: 0,
      address: '',
      port: 0,
      connFlags: CONN_F_DROUTE, // direct routing by default
      weight: 1,
      uThreshold: 0,
      lThreshold: 0,
      tunType: 0,
      tunPort: 0,
      tunFlags: 0,
    },
    timeouts: { tcp: 0, tcpFin: 0, udp: 0 },
    daemon: {
      state: undefined,
      mcastIfn: '',
      syncId: 0,
      syncMaxlen: 0,
      mcastGroup: undefined,
      mcastPort: 0,
      mcastTtl: 0,
    },
  };
}

const SERVICE_NONE = 0;
const SERVICE_ADDR = 1;
const SERVICE_PORT = 2;

const protocolName = (protocol: number): 'tcp' | 'udp' | 'sctp' | undefined =>
  protocol === IPPROTO_TCP ? 'tcp' : protocol === IPPROTO_UDP ? 'udp' : protocol === IPPROTO_SCTP ? 'sctp' : undefined;

/**
 * ipvsadm parse_service(): host[:port], [ipv6]:port or a bare IPv6 address. Updates `into` (af, address,
 * port, and netmask 128 for IPv6) and returns SERVICE_ADDR|SERVICE_PORT bits, 0 when unusable.
 */
export function parseService(
  text: string,
  protocol: number,
  into: { af: number; address: string; port: number; netmask?: number },
  resolver: InputResolver,
): number {
  if (strIsDigit(text)) return SERVICE_NONE;
  let buf = text;
  let portText: string | undefined;
  if (buf[0] === '[') {
    const close = buf.indexOf(']');
    if (close < 0) return SERVICE_NONE;
    if (buf[close + 1] !== ':') return SERVICE_NONE;
    portText = buf.slice(close + 2);
    buf = buf.slice(1, close);
  }
  const v6 = inetPton6(buf);
  if (v6) {
    into.address = formatIPv6(v6);
    into.af = AF_INET6;
    into.netmask = 128;
  } else {
    // Not IPv6: the port follows the last ':' (a bracketed IPv4 address loses its port, as in ipvsadm).
    const colon = buf.lastIndexOf(':');
    portText = colon >= 0 ? buf.slice(colon + 1) : undefined;
    const host = colon >= 0 ? buf.slice(0, colon) : buf;
    const v4 = inetAton(host) ?? resolver.hostToIPv4(host);
    if (v4 === undefined) return SERVICE_NONE;
    into.address = ipv4Text(v4);
    into.af = AF_INET;
  }
  let result = SERVICE_ADDR;
  if (portText !== undefined) {
    result |= SERVICE_PORT;
    let port = stringToNumber(portText, 0, 65535);
    if (port === undefined) {
      const proto = protocolName(protocol);
      port = proto ? resolver.serviceToPort(portText, proto) : undefined;
    }
    if (port === undefined) return SERVICE_NONE;
    into.port = port;
  }
  return result;
}

function parseTimeout(text: string | undefined, min: number, max: number): number {
  if (text === undefined) return DEFAULT_PERSISTENT_TIMEOUT;
  const n = stringToNumber(text, min, max);
  if (n === undefined) fail(`invalid timeout value \`${text}' specified`);
  return n;
}

function parseFwmark(text: string): number {
  const n = strtolWhole(text);
  if (n === undefined || n <= 0 || n > 0xffffffff) fail(`invalid fwmark value \`${text}' specified`);
  return n;
}

function parseSchedFlags(scheduler: string, text: string): number {
  const sched = scheduler || DEFAULT_SCHEDULER;
  let flags = 0;
  // strtok(",") skips empty tokens; an argument of only commas still checks one (empty) flag.
  const tokens = text.split(',').filter((t) => t !== '');
  if (tokens.length === 0) tokens.push('');
  for (const flag of tokens) {
    const needs = (name: string): void => {
      if (sched !== name) fail(`incompatible scheduler flag \`${flag}'`);
    };
    switch (flag) {
      case 'flag-1':
        flags |= SVC_F_SCHED1;
        break;
      case 'flag-2':
        flags |= SVC_F_SCHED2;
        break;
      case 'flag-3':
        flags |= SVC_F_SCHED3;
        break;
      case 'sh-fallback':
        flags |= SVC_F_SCHED1;
        needs('sh');
        break;
      case 'sh-port':
        flags |= SVC_F_SCHED2;
        needs('sh');
        break;
      case 'mh-fallback':
        flags |= SVC_F_SCHED1;
        needs('mh');
        break;
      case 'mh-port':
        flags |= SVC_F_SCHED2;
        needs('mh');
        break;
      default:
        fail(`invalid scheduler flag \`${flag}'`);
    }
  }
  return flags;
}

function genericOptCheck(cmd: CommandName, options: ReadonlySet<OptionName>): void {
  const row = COMMANDS_V_OPTIONS[cmd];
  let last: OptionName | undefined;
  OPTION_NAMES.forEach((name, j) => {
    const rule = row[j];
    if (!options.has(name)) {
      if (rule === '+') fail(`You need to supply the '${name}' option for the '${cmd}' command`);
      return;
    }
    if (rule === 'x') fail(`Illegal '${name}' option with the '${cmd}' command`);
    if (rule === '1') {
      if (last === undefined) last = name;
      else fail(`The option '${name}' conflicts with the '${last}' option in the '${cmd}' command`);
    }
  });
}

function tunnelOptCheck(tunType: number, options: ReadonlySet<OptionName>): void {
  const row = TUNNEL_TYPES_V_OPTIONS[tunType] ?? '    ';
  const type = TUNNEL_NAMES[tunType] ?? '';
  let last: OptionName | undefined;
  TUNNEL_OPTIONS.forEach((name, j) => {
    const rule = row[j];
    if (!options.has(name)) {
      if (rule === '+') fail(`You need to supply the '${name}' option for the '${type}' tunnel type`);
      return;
    }
    if (rule === 'x') fail(`Illegal '${name}' option with the '${type}' tunnel type`);
    if (rule === '1') {
      if (last === undefined) last = name;
      else fail(`The option '${name}' conflicts with the '${last}' option in the '${type}' tunnel type`);
    }
  });
}

const IN_MULTICAST = (addr: number): boolean => addr >>> 28 === 0xe;

/**
 * Parses one ipvsadm invocation (argv without the program name). `program` is what ipvsadm prints as
 * argv[0] in its help and "Try ..." messages. Throws LvsadmExit on every error ipvsadm reports.
 */
export function parseInvocation(argv: readonly string[], program: string, resolver: InputResolver = NO_RESOLVER): Invocation {
  const popt = new Popt<Tag>(argv, OPTION_TABLE);
  const first = popt.next();
  if (!first || first.type === 'error') tryHelpExit(program);
  if (first.tag === 'h') return { kind: 'help', text: usageText(program) };
  if (first.tag === 'v') return { kind: 'version', text: VERSION_LINE };
  const cmd = COMMAND_OF_TAG[first.tag];
  if (!cmd) tryHelpExit(program);
  const ce = newEntry(cmd);
  if (cmd === 'start-daemon' || cmd === 'stop-daemon') {
    if (first.arg === 'master') ce.daemon.state = 'master';
    else if (first.arg === 'backup') ce.daemon.state = 'backup';
    else fail(cmd === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
  }

  const setOption = (name: OptionName): void => {
    if (ce.options.has(name)) fail(`multiple '${name}' options specified`);
    ce.options.add(name);
  };
  let schedFlagsArg = '';

  for (let item = popt.next(); item; item = popt.next()) {
    if (item.type === 'error') {
      throw new LvsadmExit(255, `${item.word}: ${item.error}\n`, '', true);
    }
    const arg = item.arg ?? '';
    switch (item.tag) {
      case 't':
      case 'u':
      case 'sctp': {
        setOption('service-address');
        ce.svc.protocol = item.tag === 't' ? IPPROTO_TCP : item.tag === 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
        const parsed = parseService(arg, ce.svc.protocol, ce.svc, resolver);
        if (!(parsed & SERVICE_ADDR)) fail('illegal virtual server address[:port] specified');
        break;
      }
      case 'f':
        setOption('service-address');
        // ipvsadm sets a sane protocol even though a fwmark service does not use it
        ce.svc.af = AF_INET;
        ce.svc.protocol = IPPROTO_TCP;
        ce.svc.fwmark = parseFwmark(arg);
        break;
      case 's':
        setOption('scheduler');
        ce.svc.schedName = truncateC(arg, SCHEDNAME_MAXLEN - 1);
        break;
      case 'p':
        setOption('persistent');
        ce.svc.flags |= SVC_F_PERSISTENT;
        ce.svc.timeout = parseTimeout(item.arg, 1, MAX_TIMEOUT);
        break;
      case 'M':
        setOption('netmask');
        if (ce.svc.af !== AF_INET6) {
          const mask = inetAton(arg) ?? resolver.hostToIPv4(arg);
          if (mask === undefined) fail('illegal virtual server persistent mask specified');
          ce.svc.netmask = mask;
        } else {
          ce.svc.netmask = atoi(arg);
          if (ce.svc.netmask < 1 || ce.svc.netmask > 128) fail('illegal ipv6 netmask specified');
        }
        break;
      case 'r': {
        setOption('real-server');
        const target = { af: ce.svc.af, address: ce.svc.address, port: ce.svc.port };
        const parsed = parseService(arg, ce.svc.protocol, target, resolver);
        ce.dest.af = target.af;
        ce.dest.address = target.address;
        ce.dest.port = target.port;
        if (!(parsed & SERVICE_ADDR)) fail('illegal real server address[:port] specified');
        if (parsed === SERVICE_ADDR) ce.dest.port = ce.svc.port; // copy vport to dport if not specified
        break;
      }
      case 'i':
        setOption('forwarding-method');
        ce.dest.connFlags = CONN_F_TUNNEL;
        break;
      case 'g':
        setOption('forwarding-method');
        ce.dest.connFlags = CONN_F_DROUTE;
        break;
      case 'm':
        setOption('forwarding-method');
        ce.dest.connFlags = CONN_F_MASQ;
        break;
      case 'w': {
        setOption('weight');
        const n = stringToNumber(arg, 0, INT_MAX);
        if (n === undefined) fail('illegal weight specified');
        ce.dest.weight = n;
        break;
      }
      case 'x': {
        setOption('u-threshold');
        const n = stringToNumber(arg, 0, INT_MAX);
        if (n === undefined) fail('illegal u_threshold specified');
        ce.dest.uThreshold = n;
        break;
      }
      case 'y': {
        setOption('l-threshold');
        const n = stringToNumber(arg, 0, INT_MAX);
        if (n === undefined) fail('illegal l_threshold specified');
        ce.dest.lThreshold = n;
        break;
      }
      case 'c':
        setOption('connection');
        break;
      case 'n':
        setOption('numeric');
        ce.format.numeric = true;
        break;
      case 'mcast-interface':
        setOption('mcast-interface');
        ce.daemon.mcastIfn = truncateC(arg, IFNAME_MAXLEN - 1);
        break;
      case 'syncid': {
        setOption('syncid');
        const n = stringToNumber(arg, 0, 255);
        if (n === undefined) fail('illegal syncid specified');
        ce.daemon.syncId = n;
        break;
      }
      case 'timeout':
        setOption('timeout');
        break;
      case 'daemon':
        setOption('daemon');
        break;
      case 'stats':
        setOption('stats');
        ce.format.stats = true;
        break;
      case 'rate':
        setOption('rate');
        ce.format.rate = true;
        break;
      case 'thresholds':
        setOption('thresholds');
        ce.format.thresholds = true;
        break;
      case 'persistent-conn':
        setOption('persistent-conn');
        ce.format.persistentConn = true;
        break;
      case 'nosort':
        setOption('nosort');
        ce.format.nosort = true;
        break;
      case 'sort':
        break; // sorting is the default; accepted for compatibility
      case 'X':
        setOption('exact');
        ce.format.exact = true;
        break;
      case '6':
        if (!ce.svc.fwmark) fail('-6 used before -f\n'); // ipvsadm's message ends in its own newline, then fail() adds one
        ce.svc.af = AF_INET6;
        ce.svc.netmask = 128;
        break;
      case 'o':
        setOption('ops');
        ce.svc.flags |= SVC_F_ONEPACKET;
        break;
      case 'pe':
        setOption('pe');
        ce.svc.peName = truncateC(arg, PENAME_MAXLEN);
        break;
      case 'b':
        setOption('sched-flags');
        schedFlagsArg = truncateC(arg, 127);
        break;
      case 'mcast-group': {
        setOption('mcast-group');
        if (arg.includes(':')) {
          const v6 = inetPton6(arg);
          if (!v6 || v6[0] !== 0xff) fail(`invalid IPv6 mcast-group \`${arg}'`);
          ce.daemon.mcastGroup = formatIPv6(v6);
        } else {
          const v4 = inetPton4(arg);
          if (v4 === undefined || !IN_MULTICAST(v4)) fail(`invalid IPv4 mcast-group \`${arg}'`);
          ce.daemon.mcastGroup = ipv4Text(v4);
        }
        break;
      }
      case 'mcast-port': {
        setOption('mcast-port');
        const n = stringToNumber(arg, 1, 65535);
        if (n === undefined) fail('illegal mcast-port specified');
        ce.daemon.mcastPort = n;
        break;
      }
      case 'mcast-ttl': {
        setOption('mcast-ttl');
        const n = stringToNumber(arg, 1, 255);
        if (n === undefined) fail('illegal mcast-ttl specified');
        ce.daemon.mcastTtl = n;
        break;
      }
      case 'sync-maxlen': {
        setOption('sync-maxlen');
        const n = stringToNumber(arg, 1, 65535 - 20 - 8);
        if (n === undefined) fail('illegal sync-maxlen specified');
        ce.daemon.syncMaxlen = n;
        break;
      }
      case 'tun-info':
        setOption('tun-info');
        ce.format.tunInfo = true;
        break;
      case 'tun-type': {
        setOption('tun-type');
        const type = TUNNEL_NAMES.indexOf(arg as (typeof TUNNEL_NAMES)[number]);
        if (type < 0) fail('illegal tunnel type specified');
        ce.dest.tunType = type;
        break;
      }
      case 'tun-port': {
        setOption('tun-port');
        const n = stringToNumber(arg, 1, 65535);
        if (n === undefined) fail('illegal tunnel port specified');
        ce.dest.tunPort = n;
        break;
      }
      case 'tun-nocsum':
        setOption('tun-nocsum');
        ce.dest.tunFlags |= 0;
        break;
      case 'tun-csum':
        setOption('tun-csum');
        ce.dest.tunFlags |= 1;
        break;
      case 'tun-remcsum':
        setOption('tun-remcsum');
        ce.dest.tunFlags |= 2;
        break;
      default:
        // A command letter, -h or -v after the command.
        fail(`invalid option \`${item.word}'`);
    }
  }

  if (cmd === 'set') {
    const tcp = popt.takeLeftover();
    const fin = popt.takeLeftover();
    const udp = popt.takeLeftover();
    if (tcp === undefined || fin === undefined || udp === undefined) fail('--set option requires 3 timeout values');
    ce.timeouts.tcp = parseTimeout(tcp, 0, MAX_TIMEOUT);
    ce.timeouts.tcpFin = parseTimeout(fin, 0, MAX_TIMEOUT);
    ce.timeouts.udp = parseTimeout(udp, 0, MAX_TIMEOUT);
  }
  const extra = popt.takeLeftover();
  if (extra !== undefined) fail(`unexpected argument ${extra}`);

  if (schedFlagsArg) {
    ce.svc.flags &= ~(SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3);
    ce.svc.flags |= parseSchedFlags(ce.svc.schedName, schedFlagsArg);
  }

  checkEntry(ce);
  return { kind: 'command', entry: ce };
}

/** The checks process_options() makes after parsing, before talking to the kernel. */
function checkEntry(ce: CommandEntry): void {
  genericOptCheck(ce.cmd, ce.options);
  const { svc, dest } = ce;
  if (ce.cmd === 'add-service' || ce.cmd === 'edit-service') {
    if (!svc.fwmark && !svc.port && !(svc.flags & SVC_F_PERSISTENT)) fail('Zero port specified for non-persistent service');
    if (svc.flags & SVC_F_ONEPACKET && !svc.fwmark && svc.protocol !== IPPROTO_UDP) {
      fail('One-Packet Scheduling is only for UDP virtual services');
    }
    if (svc.schedName === '') svc.schedName = DEFAULT_SCHEDULER;
  }
  if (ce.cmd === 'start-daemon' && ce.daemon.mcastIfn === '') ce.daemon.mcastIfn = DEFAULT_MCAST_IFN;
  if (ce.cmd === 'add-server' || ce.cmd === 'edit-server') {
    const fwd = dest.connFlags;
    // Tunnel and direct routing cannot change the port (not checked for fwmark services).
    if (!svc.fwmark && (fwd === CONN_F_TUNNEL || fwd === CONN_F_DROUTE)) dest.port = svc.port;
    if (dest.af !== svc.af && fwd !== CONN_F_TUNNEL) fail('Different address family is allowed only for tunneling servers');
    const tunnelOptions: OptionName[] = ['tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
    if (tunnelOptions.some((o) => ce.options.has(o)) && fwd !== CONN_F_TUNNEL) {
      fail('Tunnel options conflict with forward method');
    }
    tunnelOptCheck(dest.tunType, ce.options);
  }
  if (ce.cmd === 'list') {
    const o = ce.options;
    if (
      ((o.has('connection') || o.has('timeout') || o.has('daemon')) &&
        (o.has('stats') || o.has('rate') || o.has('thresholds'))) ||
      ((o.has('timeout') || o.has('daemon')) && o.has('persistent-conn'))
    ) {
      fail('options conflicts in the list command');
    }
  }
}

/** C atoi(): leading white space, a sign, digits; anything else ends the number (0 if none). */
function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (!m) return 0;
  const n = Number(m[1]);
  return Math.trunc(n) | 0;
}

/** strncpy into a fixed buffer that keeps a terminating NUL: at most `max` bytes survive. */
function truncateC(s: string, max: number): string {
  const b = Buffer.from(s);
  return b.length <= max ? s : b.subarray(0, max).toString();
}

export const VERSION_LINE = 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n';

/** ipvsadm -h, as Debian's ipvsadm 1.31 prints it (compared in the VM). */
export function usageText(program: string): string {
  const p = program;
  return (
    VERSION_LINE +
    'Usage:\n' +
    `  ${p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]\n` +
    `  ${p} -D virtual-service\n` +
    `  ${p} -C\n` +
    `  ${p} -R\n` +
    `  ${p} -S [-n]\n` +
    `  ${p} -a|e virtual-service -r server-address [options]\n` +
    `  ${p} -d virtual-service -r server-address\n` +
    `  ${p} -L|l [virtual-service] [options]\n` +
    `  ${p} -Z [virtual-service]\n` +
    `  ${p} --set tcp tcpfin udp\n` +
    `  ${p} --start-daemon {master|backup} [daemon-options]\n` +
    `  ${p} --stop-daemon {master|backup}\n` +
    `  ${p} -h\n\n` +
    'Commands:\n' +
    'Either long or short options are allowed.\n' +
    '  --add-service     -A        add virtual service with options\n' +
    '  --edit-service    -E        edit virtual service with options\n' +
    '  --delete-service  -D        delete virtual service\n' +
    '  --clear           -C        clear the whole table\n' +
    '  --restore         -R        restore rules from stdin\n' +
    '  --save            -S        save rules to stdout\n' +
    '  --add-server      -a        add real server with options\n' +
    '  --edit-server     -e        edit real server with options\n' +
    '  --delete-server   -d        delete real server\n' +
    '  --list            -L|-l     list the table\n' +
    '  --zero            -Z        zero counters in a service or all services\n' +
    '  --set tcp tcpfin udp        set connection timeout values\n' +
    '  --start-daemon              start connection sync daemon\n' +
    '  --stop-daemon               stop connection sync daemon\n' +
    '  --help            -h        display this help message\n\n' +
    'virtual-service:\n' +
    '  --tcp-service|-t  service-address   service-address is host[:port]\n' +
    '  --udp-service|-u  service-address   service-address is host[:port]\n' +
    '  --sctp-service    service-address   service-address is host[:port]\n' +
    '  --fwmark-service|-f fwmark          fwmark is an integer greater than zero\n\n' +
    'Options:\n' +
    '  --ipv6         -6                   fwmark entry uses IPv6\n' +
    '  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,\n' +
    '                                      the default scheduler is wlc.\n' +
    '  --pe            engine              alternate persistence engine may be sip,\n' +
    '                                      not set by default.\n' +
    '  --persistent   -p [timeout]         persistent service\n' +
    '  --netmask      -M netmask           persistent granularity mask\n' +
    '  --real-server  -r server-address    server-address is host (and port)\n' +
    '  --gatewaying   -g                   gatewaying (direct routing) (default)\n' +
    '  --ipip         -i                   ipip encapsulation (tunneling)\n' +
    '  --masquerading -m                   masquerading (NAT)\n' +
    '  --tun-type      type                one of ipip|gue|gre,\n' +
    '                                      the default tunnel type is ipip.\n' +
    '  --tun-port      port                tunnel destination port\n' +
    '  --tun-nocsum                        tunnel encapsulation without checksum\n' +
    '  --tun-csum                          tunnel encapsulation with checksum\n' +
    '  --tun-remcsum                       tunnel encapsulation with remote checksum\n' +
    '  --weight       -w weight            capacity of real server\n' +
    '  --u-threshold  -x uthreshold        upper threshold of connections\n' +
    '  --l-threshold  -y lthreshold        lower threshold of connections\n' +
    '  --connection   -c                   output of current IPVS connections\n' +
    '  --timeout                           output of timeout (tcp tcpfin udp)\n' +
    '  --daemon                            output of daemon information\n' +
    '  --stats                             output of statistics information\n' +
    '  --rate                              output of rate information\n' +
    '  --exact                             expand numbers (display exact values)\n' +
    '  --thresholds                        output of thresholds information\n' +
    '  --persistent-conn                   output of persistent connection info\n' +
    '  --tun-info                          output of tunnel information\n' +
    '  --nosort                            disable sorting output of service/server entries\n' +
    '  --sort                              does nothing, for backwards compatibility\n' +
    '  --ops          -o                   one-packet scheduling\n' +
    '  --numeric      -n                   numeric output of addresses and ports\n' +
    '  --sched-flags  -b flags             scheduler flags (comma-separated)\n' +
    'Daemon Options:\n' +
    '  --syncid sid                        syncid for connection sync (default=255)\n' +
    '  --sync-maxlen length                Max sync message length (default=1472)\n' +
    '  --mcast-interface interface         multicast interface for connection sync\n' +
    '  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)\n' +
    '  --mcast-port port                   UDP port (default=8848)\n' +
    '  --mcast-ttl ttl                     Multicast TTL (default=1)\n'
  );
}
