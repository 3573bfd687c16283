// parseConfig(): keepalived.conf → typed model + diagnostics, as keepalived 2.2.7 reads it.
// The keyword tables follow keepalived's global_parser.c, vrrp_parser.c and check_parser.c; the
// completion pass follows vrrp_complete_instance() and check_data.c's validation. Never throws.

import type {
  AddressFamily,
  Checker,
  CheckerKind,
  Config,
  Diagnostic,
  FifoSetting,
  ForwardMethod,
  GlobalDefs,
  HttpUrl,
  NotifyScripts,
  ParseOptions,
  ParseResult,
  RealServer,
  ScriptCommand,
  SmtpHost,
  SourceLocation,
  TrackFile,
  TrackFileRef,
  TrackInterface,
  TrackProcessRef,
  TrackScript,
  TunnelSettings,
  VirtualIpAddress,
  VirtualServer,
  VirtualServerGroup,
  VrrpInstance,
  VrrpScript,
  VrrpSyncGroup,
  VrrpTrackProcess,
} from './model.js';
import { Engine, type Keyword, type KeywordStatus, type KeywordTable } from './engine.js';
import { LineReader, type FileAccess } from './reader.js';
import {
  familyOf,
  formatIpv6,
  ipv6Groups,
  isDecimalInt,
  isIPv4,
  parsePrefix,
  readDouble,
  readFlag,
  readInt,
  readTimerMs,
  readUnsigned,
  TIMER_MAX_S,
  TIMER_MAX_UINT_S,
} from './values.js';
import { nodeFileAccess, nodeInterfaceExists, shortHostname } from './node-io.js';
import { parseRouteLine, parseRuleLine, routeParseContext, type RouteParseContext } from './routes.js';
import { loadSslFiles } from './ssl.js';
import { regexOptionFlags } from './regex-options.js';

// ---------------------------------------------------------------------------------------------
// Drafts: the model object plus what was explicitly configured, for default resolution.

interface InstanceDraft {
  vi: VrrpInstance;
  priority?: number;
  advertIntS?: number;
  version?: 2 | 3;
  accept?: boolean;
  routerIdSet: boolean;
  strictMode?: boolean;
  garpMasterDelayMs?: number;
  garpMasterRepeat?: number;
  garpMasterRefreshMs?: number;
  garpMasterRefreshRepeat?: number;
  garpLowerPrioDelayMs?: number;
  garpLowerPrioRepeat?: number;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  downTimerAdverts?: number;
  skipCheckAdvAddr?: boolean;
  notifyPriorityChanges?: boolean;
  smtpAlert?: boolean;
  checkUnicastSrc?: boolean;
  interfaceAt?: SourceLocation;
  preemptDelaySet: boolean;
  nopreemptSet: boolean;
}

interface VsDraft {
  vs: VirtualServer;
  protocolSet: boolean;
  schedulerSet: boolean;
  methodSet: boolean;
  delayLoopSet: boolean;
  warmupSet: boolean;
  weight: number;
  rs: RsDraft[];
  /** `sorry_server_inhibit` read before `sorry_server` (keepalived 2.2.7 drops it; lvskeeper applies it). */
  earlySorryInhibit?: SourceLocation | undefined;
}

interface RsDraft {
  rs: RealServer;
  portSet: boolean;
  delayLoopMs?: number;
  connectTimeoutMs?: number;
  retry?: number;
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  alpha?: boolean;
  smtpAlert?: boolean;
  weightSet: boolean;
  methodSet: boolean;
  inhibitSet: boolean;
  checkers: CheckerDraft[];
}

interface CheckerDraft {
  checker: Checker;
  connectTimeoutMs?: number;
  retry?: number;
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  delayLoopMs?: number;
  alpha?: boolean;
  miscTimeoutMs?: number;
}

const SCHEDULERS = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos']);

const CHECKER_DEFAULTS: Record<CheckerKind, { retry: number; delayBeforeRetryMs: number }> = {
  TCP_CHECK: { retry: 1, delayBeforeRetryMs: 1000 },
  HTTP_GET: { retry: 1, delayBeforeRetryMs: 3000 },
  SSL_GET: { retry: 1, delayBeforeRetryMs: 3000 },
  SMTP_CHECK: { retry: 1, delayBeforeRetryMs: 1000 },
  DNS_CHECK: { retry: 3, delayBeforeRetryMs: 1000 },
  MISC_CHECK: { retry: 0, delayBeforeRetryMs: 1000 },
  UDP_CHECK: { retry: 1, delayBeforeRetryMs: 1000 },
  PING_CHECK: { retry: 1, delayBeforeRetryMs: 1000 },
  FILE_CHECK: { retry: 0, delayBeforeRetryMs: 0 },
  BFD_CHECK: { retry: 0, delayBeforeRetryMs: 0 },
};

/** Extra options for the script-security checks of `-t` (injectable for tests). */
export interface ScriptCheckOptions {
  /** Whether the command's executable exists and is executable. */
  scriptExists: (command: string) => boolean;
  /** Whether a user exists (for the default `keepalived_script`). */
  userExists: (name: string) => boolean;
}

export interface FullParseOptions extends ParseOptions {
  scriptChecks?: ScriptCheckOptions;
  /** `-e`: a missing or unreadable include is an error. */
  allConfig?: boolean;
  files?: FileAccess;
}

export interface FullParseResult extends ParseResult {
  /** keepalived -t exit 6: scripts would run as root without enable_script_security. */
  securityViolation: boolean;
  /** The main file could not be read (keepalived -t: "Config files missing"). */
  missingFile: boolean;
}

function defaultGlobal(file: string, hostname: string): GlobalDefs {
  return {
    location: { file, line: 1 },
    routerId: hostname,
    notificationEmail: [],
    smtpConnectTimeoutMs: 30000,
    smtpAlert: undefined,
    smtpAlertVrrp: undefined,
    smtpAlertChecker: undefined,
    checkerLogAllFailures: false,
    vrrpMcastGroup4: '224.0.0.18',
    vrrpMcastGroup6: 'ff02::12',
    vrrpVersion: 2,
    vrrpGarpMasterDelayMs: 5000,
    vrrpGarpMasterRepeat: 5,
    vrrpGarpMasterRefreshMs: 0,
    vrrpGarpMasterRefreshRepeat: 1,
    vrrpGarpLowerPrioDelayMs: 5000,
    vrrpGarpLowerPrioRepeat: 5,
    vrrpGarpIntervalMs: 0,
    vrrpGnaIntervalMs: 0,
    vrrpMinGarp: false,
    vrrpStrict: false,
    vrrpSkipCheckAdvAddr: false,
    vrrpNotifyPriorityChanges: false,
    vrrpCheckUnicastSrc: false,
    vrrpLowerPrioNoAdvert: false,
    vrrpHigherPrioSendAdvert: false,
    vrrpDownTimerAdverts: 3,
    vrrpStartupDelayMs: 0,
    dynamicInterfaces: false,
    enableScriptSecurity: false,
    lvsFlush: false,
    lvsFlushOnStop: 'off',
    lvsProgramOnAllNodes: false,
  };
}

/** Longest diagnostic message: about a line's worth (keepalived's MAXBUF is 1024). */
export const MAX_DIAGNOSTIC_CHARS = 1024;

/** Parses a keepalived configuration file. Never throws. */
export function parseConfig(path: string, options: FullParseOptions = {}): FullParseResult {
  try {
    return new Parser(path, options).parse();
  } catch (err) {
    // A parser bug must not take the daemon down with a stack trace; report it as a config error.
    const config = emptyConfig(path, options.hostname ?? 'localhost');
    return {
      config,
      diagnostics: [{ severity: 'error', file: path, line: 1, message: `internal parser error: ${String(err)}` }],
      securityViolation: false,
      missingFile: false,
    };
  }
}

/**
 * The parser's keyword tables, root first, for the keyword catalogue (docs/KEYWORDS.md). Building them
 * has no effect: handlers only run on input.
 */
export function parserKeywordTables(): KeywordTable {
  const none: FileAccess = { readFile: () => undefined, expandGlob: () => [], dirname: () => '/', resolve: (_d, p) => p, cwd: () => '/' };
  return new Parser('/dev/null', { files: none, hostname: 'localhost' }).keywordTables();
}

/**
 * The options of a virtual_ipaddress / static_ipaddress line that keepalived 2.2.7 accepts
 * (vrrp_ipaddress.c alloc_ipaddress), with what lvskeeper does with each: undefined = applied.
 */
export const VIP_OPTION_STATUS: Readonly<Record<string, KeywordStatus | undefined>> = {
  dev: undefined,
  brd: undefined,
  broadcast: undefined,
  scope: undefined,
  label: undefined,
  peer: undefined,
  preferred_lft: undefined,
  home: undefined,
  '-nodad': undefined,
  noprefixroute: undefined,
  autojoin: undefined,
  mngtmpaddr: undefined,
  no_track: undefined,
  track_group: { kind: 'warns', why: 'static addresses are not tracked: one deleted by someone else comes back at the next reload' },
  use_vmac: { kind: 'warns', why: 'lvskeeper creates no VMAC interfaces: the address is added on the real interface' },
};

/** An address's lifetimes: forever (ifa_cacheinfo's INFINITY_LIFE_TIME). */
const INFINITY_LIFETIME = 0xffffffff;

/** `brd +` / `brd -` (keepalived alloc_ipaddress): the address with its host bits set or cleared. */
function ipv4Broadcast(address: string, prefixLength: number, set: boolean): string {
  const n = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const host = prefixLength === 0 ? 0xffffffff : 2 ** (32 - prefixLength) - 1;
  const b = set ? (n | host) >>> 0 : (n & ~host) >>> 0;
  return [24, 16, 8, 0].map((sh) => (b >>> sh) & 255).join('.');
}

/** A route/address scope: keepalived's names (rt_scopes) or a number 0-255. */
function scopeNumber(word: string): number | undefined {
  const named: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
  if (Object.hasOwn(named, word)) return named[word];
  return /^\d{1,3}$/.test(word) && Number(word) <= 255 ? Number(word) : undefined;
}

function emptyConfig(file: string, hostname: string): Config {
  return {
    file,
    global: defaultGlobal(file, hostname),
    vrrpScripts: [],
    trackFiles: [],
    vrrpTrackProcesses: [],
    vrrpInstances: [],
    vrrpSyncGroups: [],
    virtualServerGroups: [],
    virtualServers: [],
    staticIpAddresses: [],
    staticRoutes: [],
    staticRules: [],
    scriptCount: 0,
  };
}

class Parser {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly config: Config;
  private readonly engine: Engine;
  private readonly reader: LineReader;
  private readonly hostname: string;
  private readonly instances: InstanceDraft[] = [];
  private readonly globalSet = new Set<string>();
  private readonly scriptLocations = new Map<VrrpScript, boolean>();
  private inst: InstanceDraft | undefined;
  private script: VrrpScript | undefined;
  private scriptHasCommand = false;
  private trackFile: TrackFile | undefined;
  private trackProcess: VrrpTrackProcess | undefined;
  private sync: VrrpSyncGroup | undefined;
  private vsg: VirtualServerGroup | undefined;
  private vs: VsDraft | undefined;
  private rs: RsDraft | undefined;
  private check: CheckerDraft | undefined;
  private url: HttpUrl | undefined;
  private smtpHost: SmtpHost | undefined;
  /** Sync groups with their own smtp_alert (the others take the global default at the end). */
  private readonly syncSmtpAlertSet = new WeakSet<VrrpSyncGroup>();
  private missingInterfaceAt: SourceLocation | undefined;
  /** Routes and rules (config/routes.ts): rule preferences are numbered across the whole configuration. */
  private routeCtx: RouteParseContext | undefined;

  private routes(): RouteParseContext {
    const files = this.options.files ?? nodeFileAccess(this.options);
    this.routeCtx ??= routeParseContext(
      (message, at, severity) => this.engine.error(message, undefined, at, severity ?? 'error'),
      (p) => files.readFile(p, 1 << 20),
    );
    return this.routeCtx;
  }

  constructor(
    private readonly path: string,
    private readonly options: FullParseOptions,
  ) {
    this.hostname = options.hostname ?? shortHostname();
    this.config = emptyConfig(path, this.hostname);
    const report = (d: Diagnostic): void => {
      // Messages quote words of the input: capped, so a long word quoted by every message of its block
      // cannot turn a 1 MB file into gigabytes of log at start and at each reload (found by fuzzing).
      if (d.message.length > MAX_DIAGNOSTIC_CHARS) d.message = `${d.message.slice(0, MAX_DIAGNOSTIC_CHARS - 3)}...`;
      this.diagnostics.push(d);
    };
    this.reader = new LineReader(path, options.files ?? nodeFileAccess(options), options.configId ?? this.hostname, report);
    this.engine = new Engine(this.reader, report);
    if (options.allConfig) this.reader.requireAllIncludes();
  }

  parse(): FullParseResult {
    if (!this.reader.open()) {
      this.diagnostics.push({ severity: 'error', file: this.path, line: 1, message: `Config files missing '${this.path}'.` });
      return { config: this.config, diagnostics: this.diagnostics, securityViolation: false, missingFile: true };
    }
    this.engine.run(this.rootTable());
    const open = this.reader.unclosedBlocks;
    if (open > 0) {
      this.engine.error(`There are ${open} missing '}'s or extra '{'s`, undefined, {
        file: this.reader.lastFile,
        line: this.reader.lastLine,
      });
    }
    this.completeVrrp();
    this.completeLvs();
    this.completeSsl();
    if (this.options.checkInterfaces && this.missingInterfaceAt !== undefined) {
      this.engine.error('Non-existent interface specified in configuration', undefined, this.missingInterfaceAt);
    }
    // keepalived -t stops at a missing interface (CONFIG_BAD_IF), before the script checks.
    const securityViolation = this.missingInterfaceAt === undefined ? this.checkScriptSecurity() : false;
    return { config: this.config, diagnostics: this.diagnostics, securityViolation, missingFile: false };
  }

  keywordTables(): KeywordTable {
    return this.rootTable();
  }

  // -------------------------------------------------------------------------------------------
  // helpers

  private fail = (message: string): void => {
    if (message === 'missing number') {
      // keepalived's null_strvec() wording (it then aborts; we report and carry on).
      const w = this.engine.currentWords;
      const first = w[0] ?? '';
      const last = w[w.length - 1] ?? first;
      message = `*** Configuration line starting \`${first}\` is missing a parameter after keyword \`${last}\` at word position ${w.length + 1}`;
    }
    this.engine.error(message);
  };

  /** `vrrp_priority` / `checker_priority`: a nice value, with keepalived's two-line complaint when out of range. */
  private niceValue(word: string | undefined, process: 'vrrp' | 'checker'): number | undefined {
    const v = readInt(word, -20, 19, this.fail);
    if (v === undefined) this.engine.error(`Invalid ${process} process priority specified`);
    return v;
  }

  /**
   * `vrrp_rt_priority` / `checker_rt_priority` (keepalived get_realtime_priority): out-of-range values are
   * clamped to SCHED_RR's 1..99 with keepalived's complaint. 0 is accepted silently as lvskeeper's "not
   * realtime", the one way to turn off the VRRP child's default (keepalived would complain and use 1).
   */
  private realtimePriority(word: string | undefined, process: 'vrrp' | 'checker'): number | undefined {
    if (word === undefined) {
      this.engine.error(`No ${process} process real-time priority specified`);
      return undefined;
    }
    const v = isDecimalInt(word) ? Number(word) : NaN;
    if (!Number.isSafeInteger(v)) {
      this.engine.error(`${process} process real-time priority '${word}' invalid`);
      return undefined;
    }
    if (v === 0) return 0;
    if (v < 1) {
      this.engine.error(`${process} process real-time priority ${v} less than minimum 1 - setting to minimum`);
      return 1;
    }
    if (v > 99) {
      this.engine.error(`${process} process real-time priority ${v} greater than maximum 99 - setting to maximum`);
      return 99;
    }
    return v;
  }

  /** `*_rlimit_rttime USEC` (keepalived get_rt_rlimit; `*_rlimit_rtime` is its deprecated spelling). */
  private realtimeLimit(words: string[], process: 'vrrp' | 'checker'): number | undefined {
    const keyword = words[0] ?? '';
    if (keyword.endsWith('_rtime')) {
      this.engine.error(`Keyword '${keyword}' is deprecated - please use '${keyword.slice(0, -5)}rttime'`, undefined, undefined, 'info');
    }
    const word = words[1];
    const v = word !== undefined && isDecimalInt(word) ? Number(word) : NaN;
    if (!Number.isSafeInteger(v) || v < 1 || v > 0xffffffff) {
      this.engine.error(`Invalid ${process} real-time limit - ${word ?? ''}`);
      return undefined;
    }
    return Math.max(2, v);
  }

  private interfaceMissing(name: string, message: string, at: SourceLocation): void {
    if (!this.options.checkInterfaces) return;
    const exists = this.options.interfaceExists ?? nodeInterfaceExists;
    if (exists(name)) return;
    this.engine.error(message, undefined, at);
    this.missingInterfaceAt ??= at;
  }

  private scriptCommand(words: string[], at: SourceLocation): ScriptCommand | undefined {
    const command = words[1];
    if (command === undefined || command.length === 0) {
      this.engine.error(`No script specified for ${words[0]}`, words[0], at);
      return undefined;
    }
    const cmd: ScriptCommand = { command, location: at };
    const user = words[2];
    if (user !== undefined) {
      const colon = user.indexOf(':');
      if (colon >= 0) {
        cmd.user = user.slice(0, colon);
        cmd.group = user.slice(colon + 1);
      } else {
        cmd.user = user;
        if (words[3] !== undefined) cmd.group = words[3];
      }
    }
    this.config.scriptCount++;
    return cmd;
  }

  private static table(entries: Array<[string, Keyword]>): KeywordTable {
    return new Map(entries);
  }

  /** A keyword keepalived knows that lvskeeper accepts and does not act on: each use is reported. */
  private warns(why: string): Keyword {
    return { status: { kind: 'warns', why } };
  }

  /** The same for a value block (`track_bfd { … }`): its lines are consumed, the keyword reported once. */
  private warnsValueBlock(why: string): Keyword {
    return { status: { kind: 'warns', why }, handler: (w) => this.engine.valueBlock(w, () => undefined) };
  }

  /**
   * The same for a keyword block (`bfd_instance NAME { … }`): the block is skipped, reported once. Its
   * keywords (keepalived's) are listed for the keyword catalogue only: a skipped block never reads them.
   */
  private warnsBlock(why: string, keywords: readonly string[] = []): Keyword {
    const kw: Keyword = { status: { kind: 'warns', why }, handler: () => this.engine.skipBlock() };
    if (keywords.length > 0) kw.sub = Parser.table(keywords.map((k) => [k, { status: { kind: 'warns', why: 'its block is skipped' } }]));
    return kw;
  }

  /** A keyword whose handler reports its own (value-quoting) message about what lvskeeper does instead. */
  private reported(why: string, kw: Keyword): Keyword {
    return { ...kw, status: { kind: 'warns', why, reportedByHandler: true } };
  }

  /** lvskeeper's own keyword (keepalived 2.2.7 reports it as unknown and goes on). */
  private extension(what: string, kw: Keyword): Keyword {
    return { ...kw, status: { kind: 'extension', why: what } };
  }

  /** A keyword whose absence would change safety: an error until lvskeeper implements it. */
  private refuses(why: string, block = false): Keyword {
    return { status: { kind: 'refuses', why }, ...(block ? { handler: () => this.engine.skipBlock() } : {}) };
  }

  // -------------------------------------------------------------------------------------------
  // root

  private rootTable(): KeywordTable {
    // static_ipaddress reads as virtual_ipaddress (parseVip); static_routes/static_rules as config/routes.ts.
    const staticAddresses: Keyword = {
      handler: (words) =>
        this.engine.valueBlock(words, (entry, at) => {
          const a = this.parseVip(entry, at, true);
          if (a === undefined) return;
          // keepalived (alloc_ipaddress) falls back to default_interface or eth0; lvskeeper has no default interface.
          if (a.dev === undefined) this.engine.error(`Static address ${entry[0]} requires an interface (dev): lvskeeper has no default interface - skipping it`, undefined, at);
          else this.config.staticIpAddresses.push(a);
        }),
    };
    const staticRoutes = (kind: 'route' | 'rule'): Keyword => ({
      handler: (words) =>
        this.engine.valueBlock(words, (entry, at) => {
          this.checkRouteInterfaces(entry, at);
          if (kind === 'route') {
            const r = parseRouteLine(entry, at, this.routes(), true);
            if (r) this.config.staticRoutes.push(r);
          } else {
            const r = parseRuleLine(entry, at, this.routes(), true);
            if (r) this.config.staticRules.push(r);
          }
        }),
    });
    return Parser.table([
      ['global_defs', { sub: this.globalTable(), handler: (_w, at) => (this.config.global.location = at) }],
      ['vrrp_script', { sub: this.scriptTable(), handler: (w, at) => this.openScript(w, at), close: () => this.closeScript() }],
      ['vrrp_instance', { sub: this.instanceTable(), handler: (w, at) => this.openInstance(w, at), close: () => (this.inst = undefined) }],
      ['vrrp_sync_group', { sub: this.syncTable(), handler: (w, at) => this.openSync(w, at), close: () => (this.sync = undefined) }],
      ['virtual_server_group', { handler: (w, at) => this.readVsg(w, at) }],
      ['virtual_server', { sub: this.vsTable(), handler: (w, at) => this.openVs(w, at), close: () => this.closeVs() }],
      ['static_ipaddress', staticAddresses],
      ['static_routes', staticRoutes('route')],
      ['static_rules', staticRoutes('rule')],
      ['net_namespace', this.refuses('the daemon would add the VIPs and program IPVS in its own network namespace; start it with -s NAME instead')],
      ['net_namespace_ipvs', this.refuses('IPVS would be programmed in the network namespace the daemon runs in')],
      ['namespace_with_ipsets', this.warns('lvskeeper uses no ipsets')],
      ['instance', this.warns('the pid files keep their names; use -p/-r/-c to name them')],
      ['use_pid_dir', this.warns('the pid files stay in /run (or the directory of -p/-r/-c)')],
      ['child_wait_time', this.warns('children are respawned with lvskeeper\'s own back-off')],
      ['linkbeat_use_polling', this.warns('interface state comes from netlink link notifications')],
      ['linkbeat_interfaces', this.warnsBlock('interface state comes from netlink link notifications')],
      // keepalived 2.2.7: a root value block of `IFNAME DOWN_DELAY [UP_DELAY]` lines (vrrp_parser.c).
      [
        'interface_up_down_delays',
        {
          status: { kind: 'warns', why: 'interface up/down changes are acted on without delay', reportedByHandler: true },
          handler: (w, at) => {
            this.engine.valueBlock(w, () => undefined);
            this.engine.error('interface_up_down_delays is not supported: interface up/down changes are acted on without delay', 'interface_up_down_delays', at, 'unsupported');
          },
        },
      ],
      ['track_group', this.warnsBlock('track_group is only used by static addresses, routes and rules, which lvskeeper sets without tracking')],
      ['track_file', { sub: this.trackFileTable(), handler: (w, at) => this.openTrackFile(w, at), close: () => this.closeTrackFile() }],
      ['vrrp_track_file', { sub: this.trackFileTable(), handler: (w, at) => this.openTrackFile(w, at), close: () => this.closeTrackFile() }],
      ['vrrp_track_process', { sub: this.trackProcessTable(), handler: (w, at) => this.openTrackProcess(w, at), close: () => this.closeTrackProcess() }],
      ['garp_group', this.warnsBlock('gratuitous ARPs follow the instance settings (vrrp_garp_* and garp_master_*)', ['garp_interval', 'gna_interval', 'interface', 'interfaces'])],
      [
        'bfd_instance',
        this.warnsBlock('lvskeeper has no BFD: instances and checkers tracking it never see it fail', [
          'source_ip', 'neighbor_ip', 'neighbour_ip', 'min_rx', 'min_tx', 'idle_tx', 'multiplier', 'passive', 'ttl', 'hoplimit', 'max_hops', 'weight', 'vrrp', 'checker',
        ]),
      ],
      ['SSL', { sub: this.sslTable(), handler: (_w, at) => this.openSsl(at) }],
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // SSL (keepalived check_parser.c ssl_handler / handle_ssl_file)

  private openSsl(at: SourceLocation): void {
    if (this.config.ssl) this.engine.error('SSL context already specified - replacing');
    this.config.ssl = { verifyServerCertificate: false, location: at };
  }

  private sslTable(): KeywordTable {
    // keepalived's names for the fields in its messages: "SSL cafile missing", "SSL keyfile already specified".
    const file = (field: 'password' | 'ca' | 'certificate' | 'key', name: string): Keyword => ({
      handler: (w) => {
        const ssl = this.config.ssl;
        if (!ssl) return;
        if (w[1] === undefined) {
          this.engine.error(`SSL ${name} missing`);
          return;
        }
        if (ssl[field] !== undefined) this.engine.error(`SSL ${name} already specified - replacing`);
        ssl[field] = w[1];
      },
    });
    return Parser.table([
      ['password', file('password', 'password')],
      ['ca', file('ca', 'cafile')],
      ['certificate', file('certificate', 'certfile')],
      ['key', file('key', 'keyfile')],
      [
        'verify_server_certificate',
        this.extension('SSL_GET fails when the server certificate does not chain to `ca` (keepalived loads `ca` but never checks the result)', {
          handler: (w) => this.config.ssl && (this.config.ssl.verifyServerCertificate = readFlag(w, this.fail)),
        }),
      ],
    ]);
  }

  /** keepalived check_daemon.c: the SSL context is built (its files loaded) only when an SSL_GET exists. */
  private completeSsl(): void {
    const ssl = this.config.ssl;
    if (!ssl || !this.config.virtualServers.some((vs) => vs.realServers.some((rs) => rs.checkers.some((c) => c.kind === 'SSL_GET')))) return;
    const files = this.options.files ?? nodeFileAccess(this.options);
    const loaded = loadSslFiles(ssl, (p, max) => files.readFile(p, max));
    if (loaded.error !== undefined) {
      ssl.error = loaded.error;
      this.engine.error(`${loaded.error} - SSL_GET checks will fail`, undefined, ssl.location);
      return;
    }
    ssl.caPem = loaded.caPem;
    ssl.certificatePem = loaded.certificatePem;
    ssl.keyPem = loaded.keyPem;
    if (ssl.verifyServerCertificate && ssl.caPem === undefined) {
      this.engine.warn('verify_server_certificate needs a ca file - the server certificate is not verified', 'verify_server_certificate', ssl.location);
      ssl.verifyServerCertificate = false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // global_defs

  private globalTable(): KeywordTable {
    const g = this.config.global;
    const flag = (apply: (v: boolean) => void): Keyword => ({ handler: (w) => apply(readFlag(w, this.fail)) });
    const str = (apply: (v: string) => void): Keyword => ({
      handler: (w) => {
        if (w[1] === undefined) this.fail(`${w[0]} requires a value`);
        else apply(w[1]);
      },
    });
    const garpDelay = (name: string, apply: (ms: number) => void): Keyword => ({
      handler: (w) => {
        const v = readTimerMs(w[1], 0, TIMER_MAX_S, this.fail);
        if (v === undefined) this.fail(`${name} '${w[1] ?? ''}' invalid`);
        else {
          this.globalSet.add(name);
          apply(v);
        }
      },
    });
    const count = (name: string, min: number, max: number, apply: (v: number) => void): Keyword => ({
      handler: (w) => {
        const v = readUnsigned(w[1], min, max, this.fail);
        if (v === undefined) this.fail(`${name} '${w[1] ?? ''}' invalid`);
        else {
          this.globalSet.add(name);
          apply(v);
        }
      },
    });
    const fifo = (apply: (f: FifoSetting) => void, get: () => FifoSetting | undefined): [Keyword, Keyword] => [
      {
        handler: (w, at) => {
          if (w[1] === undefined) return this.fail(`${w[0]} requires a path`);
          const f: FifoSetting = { path: w[1], location: at };
          const prev = get();
          if (prev?.script) f.script = prev.script;
          if (w[2] !== undefined) {
            const s = this.scriptCommand(['', ...w.slice(2)], at);
            if (s) f.script = s;
          }
          apply(f);
        },
      },
      {
        handler: (w, at) => {
          const s = this.scriptCommand(w, at);
          const f = get();
          if (s && f) f.script = s;
          else if (s) apply({ path: '', script: s, location: at });
        },
      },
    ];
    const [nf, nfs] = fifo((f) => (g.notifyFifo = f), () => g.notifyFifo);
    const [vf, vfs] = fifo((f) => (g.vrrpNotifyFifo = f), () => g.vrrpNotifyFifo);
    const [lf, lfs] = fifo((f) => (g.lvsNotifyFifo = f), () => g.lvsNotifyFifo);
    const entries: Array<[string, Keyword]> = [
      ['router_id', str((v) => (g.routerId = v))],
      [
        'notification_email',
        {
          handler: (w, at) => {
            const before = g.notificationEmail.length;
            this.engine.valueBlock(w, (e) => g.notificationEmail.push(...e));
            if (g.notificationEmail.length === before) this.engine.error('Warning - empty notification_email block', undefined, at);
          },
        },
      ],
      ['notification_email_from', str((v) => (g.notificationEmailFrom = v))],
      [
        'smtp_server',
        {
          handler: (w) => {
            if (w[1] === undefined) return this.fail('smtp_server requires an address');
            let port = 25;
            if (w[2] !== undefined) port = readUnsigned(w[2], 1, 65535, this.fail) ?? 25;
            g.smtpServer = { address: w[1], port };
          },
        },
      ],
      [
        'smtp_connect_timeout',
        {
          handler: (w) => {
            const s = readUnsigned(w[1], 0, 4294, this.fail); // UINT_MAX / TIMER_HZ
            if (s === undefined) return;
            // keepalived accepts 0 for backward compatibility and uses 1 s.
            if (s === 0) this.fail('smtp_conect_timeout must be greater than 0, setting to 1');
            g.smtpConnectTimeoutMs = Math.max(1, s) * 1000;
          },
        },
      ],
      ['smtp_alert', flag((v) => (g.smtpAlert = v))],
      ['smtp_alert_vrrp', flag((v) => (g.smtpAlertVrrp = v))],
      ['smtp_alert_checker', flag((v) => (g.smtpAlertChecker = v))],
      ['smtp_helo_name', str((v) => (g.smtpHeloName = v))],
      ['startup_script', { handler: (w, at) => this.startStopScript(w, at, 'startup') }],
      ['startup_script_timeout', { handler: (w) => this.startStopScriptTimeout(w, 'startup') }],
      ['shutdown_script', { handler: (w, at) => this.startStopScript(w, at, 'shutdown') }],
      ['shutdown_script_timeout', { handler: (w) => this.startStopScriptTimeout(w, 'shutdown') }],
      ['no_checker_emails', flag((v) => (g.noCheckerEmails = v))],
      ['checker_log_all_failures', flag((v) => (g.checkerLogAllFailures = v))],
      [
        'vrrp_mcast_group4',
        str((v) => {
          if (isIPv4(v)) g.vrrpMcastGroup4 = v;
          else this.fail(`vrrp_mcast_group4 '${v}' is invalid`);
        }),
      ],
      [
        'vrrp_mcast_group6',
        str((v) => {
          if (familyOf(v) === 'inet6') g.vrrpMcastGroup6 = v;
          else this.fail(`vrrp_mcast_group6 '${v}' is invalid`);
        }),
      ],
      [
        'vrrp_version',
        {
          handler: (w) => {
            const v = readUnsigned(w[1], 2, 3, this.fail);
            if (v === undefined) this.fail(`vrrp_version invalid`);
            else g.vrrpVersion = v as 2 | 3;
          },
        },
      ],
      ['vrrp_garp_master_delay', garpDelay('vrrp_garp_master_delay', (v) => (g.vrrpGarpMasterDelayMs = v))],
      ['vrrp_garp_master_repeat', count('vrrp_garp_master_repeat', 0, 4294967295, (v) => (g.vrrpGarpMasterRepeat = v))],
      ['vrrp_garp_master_refresh', garpDelay('vrrp_garp_master_refresh', (v) => (g.vrrpGarpMasterRefreshMs = v))],
      [
        'vrrp_garp_master_refresh_repeat',
        count('vrrp_garp_master_refresh_repeat', 1, 4294967295, (v) => (g.vrrpGarpMasterRefreshRepeat = v)),
      ],
      ['vrrp_garp_lower_prio_delay', garpDelay('vrrp_garp_lower_prio_delay', (v) => (g.vrrpGarpLowerPrioDelayMs = v))],
      [
        'vrrp_garp_lower_prio_repeat',
        count('vrrp_garp_lower_prio_repeat', 0, 4294967295, (v) => (g.vrrpGarpLowerPrioRepeat = v)),
      ],
      // 2.2.7 reads these with a minimum of 1 µs, so the sample's explicit `0` is rejected.
      [
        'vrrp_garp_interval',
        {
          status: { kind: 'warns', why: 'the gratuitous ARPs of a burst are sent back to back' },
          handler: (w) => {
            const v = readTimerMs(w[1], 0.000001, TIMER_MAX_UINT_S, this.fail);
            if (v === undefined) this.fail(`vrrp_garp_interval '${w[1] ?? ''}' is invalid`);
            else g.vrrpGarpIntervalMs = v;
          },
        },
      ],
      [
        'vrrp_gna_interval',
        {
          status: { kind: 'warns', why: 'the unsolicited neighbour adverts of a burst are sent back to back' },
          handler: (w) => {
            const v = readTimerMs(w[1], 0.000001, TIMER_MAX_UINT_S, this.fail);
            if (v === undefined) this.fail(`vrrp_gna_interval '${w[1] ?? ''}' is invalid`);
            else g.vrrpGnaIntervalMs = v;
          },
        },
      ],
      [
        'vrrp_min_garp',
        flag((v) => {
          g.vrrpMinGarp = v;
          if (!v) return;
          // keepalived vrrp_min_garp_handler: one GARP/NA and no repeat, refresh or second burst, leaving
          // alone whatever was already set to other than its default (later lines still override).
          if (g.vrrpGarpMasterRepeat === 5) g.vrrpGarpMasterRepeat = 1;
          if (g.vrrpGarpMasterRefreshRepeat === 1) g.vrrpGarpMasterRefreshRepeat = 0;
          if (g.vrrpGarpMasterDelayMs === 5000) g.vrrpGarpMasterDelayMs = 0;
        }),
      ],
      ['vrrp_strict', flag((v) => (g.vrrpStrict = v))],
      ['vrrp_skip_check_adv_addr', flag((v) => (g.vrrpSkipCheckAdvAddr = v))],
      ['vrrp_notify_priority_changes', flag((v) => (g.vrrpNotifyPriorityChanges = v))],
      ['vrrp_check_unicast_src', flag((v) => (g.vrrpCheckUnicastSrc = v))],
      ['vrrp_lower_prio_no_advert', flag((v) => (g.vrrpLowerPrioNoAdvert = v))],
      ['vrrp_higher_prio_send_advert', flag((v) => (g.vrrpHigherPrioSendAdvert = v))],
      [
        'vrrp_down_timer_adverts',
        {
          handler: (w) => {
            const v = readUnsigned(w[1], 1, 100, this.fail);
            if (v !== undefined) g.vrrpDownTimerAdverts = v;
          },
        },
      ],
      [
        'vrrp_startup_delay',
        {
          status: { kind: 'warns', why: 'the instances start at once' },
          handler: (w) => {
            const v = readTimerMs(w[1], 0, TIMER_MAX_S, this.fail);
            if (v !== undefined) g.vrrpStartupDelayMs = v;
          },
        },
      ],
      ['dynamic_interfaces', { ...flag((v) => (g.dynamicInterfaces = v)), status: { kind: 'warns', why: 'an instance whose interface is missing at start is not run' } }],
      [
        'script_user',
        {
          handler: (w) => {
            if (w[1] === undefined) return this.fail('script_user requires a user');
            const [user, group] = w[1].includes(':') ? (w[1].split(':', 2) as [string, string]) : [w[1], w[2]];
            g.scriptUser = group === undefined ? { user } : { user, group };
          },
        },
      ],
      ['enable_script_security', flag((v) => (g.enableScriptSecurity = v))],
      ['notify_fifo', nf],
      ['notify_fifo_script', nfs],
      ['vrrp_notify_fifo', vf],
      ['vrrp_notify_fifo_script', vfs],
      ['lvs_notify_fifo', lf],
      ['lvs_notify_fifo_script', lfs],
      ['lvs_sync_daemon', { handler: (w, at) => this.lvsSyncDaemon(w, at) }],
      ['lvs_timeouts', { handler: (w, at) => this.lvsTimeouts(w, at) }],
      ['lvs_flush', flag((v) => (g.lvsFlush = v))],
      ['lvs_flush_on_stop', { handler: (w) => this.lvsFlushOnStop(w) }],
      // keepalived 2.2.7 keeps the pre-2.1.5 spelling as an alias.
      ['lvs_flush_onstop', { handler: (w) => this.lvsFlushOnStop(w) }],
      ['state_file_location', this.extension('where SIGUSR1 writes the state dump', str((v) => (g.stateFileLocation = v)))],
      ['stats_file_location', this.extension('where SIGUSR2 writes the statistics', str((v) => (g.statsFileLocation = v)))],
      ['json_file_location', this.extension('where the JSON dump is written', str((v) => (g.jsonFileLocation = v)))],
      [
        'max_auto_priority',
        {
          status: { kind: 'warns', why: 'the VRRP process is realtime (SCHED_RR) from the start: see vrrp_rt_priority' },
          handler: (w) => {
            if (w[1] === undefined) g.maxAutoPriority = -1;
            else {
              const v = readInt(w[1], -1, 99, this.fail);
              if (v !== undefined) g.maxAutoPriority = v;
            }
          },
        },
      ],
      ['lvs_program_on_all_nodes', this.extension("every node keeps a VIP's virtual servers installed, as keepalived does (by default only its MASTER does)", flag((v) => (g.lvsProgramOnAllNodes = v)))],
      ['vrrp_priority', { handler: (w) => void (g.vrrpPriority = this.niceValue(w[1], 'vrrp') ?? g.vrrpPriority) }],
      ['checker_priority', { handler: (w) => void (g.checkerPriority = this.niceValue(w[1], 'checker') ?? g.checkerPriority) }],
      ['vrrp_rt_priority', { handler: (w) => void (g.vrrpRtPriority = this.realtimePriority(w[1], 'vrrp') ?? g.vrrpRtPriority) }],
      ['checker_rt_priority', { handler: (w) => void (g.checkerRtPriority = this.realtimePriority(w[1], 'checker') ?? g.checkerRtPriority) }],
      ['vrrp_rlimit_rttime', { handler: (w) => void (g.vrrpRlimitRttimeUs = this.realtimeLimit(w, 'vrrp') ?? g.vrrpRlimitRttimeUs) }],
      ['vrrp_rlimit_rtime', { handler: (w) => void (g.vrrpRlimitRttimeUs = this.realtimeLimit(w, 'vrrp') ?? g.vrrpRlimitRttimeUs) }],
      ['checker_rlimit_rttime', { handler: (w) => void (g.checkerRlimitRttimeUs = this.realtimeLimit(w, 'checker') ?? g.checkerRlimitRttimeUs) }],
      ['checker_rlimit_rtime', { handler: (w) => void (g.checkerRlimitRttimeUs = this.realtimeLimit(w, 'checker') ?? g.checkerRlimitRttimeUs) }],
      // keepalived 2.2.7 accepts these (global_parser.c); lvskeeper does not act on them, and says so.
      [
        'default_interface',
        {
          status: { kind: 'warns', why: 'an instance without interface does not use it', reportedByHandler: true },
          handler: (w, at) => {
            if (w[1] === undefined) return this.fail('default_interface requires interface name');
            this.engine.error(`default_interface is not supported: ignored, an instance without interface does not use ${w[1]}`, 'default_interface', at, 'unsupported');
          },
        },
      ],
      [
        'min_auto_priority_delay',
        {
          status: { kind: 'warns', why: 'the realtime priority does not depend on a start-up delay', reportedByHandler: true },
          handler: (w, at) => {
            if (w[1] === undefined) return this.fail('min_auto_priority_delay requires delay time');
            if (readInt(w[1], 1, 10000000, () => undefined) === undefined) {
              return this.fail(`min_auto_priority_delay '${w[1]}' must be in [1, 10000000] - ignoring`);
            }
            this.engine.error('min_auto_priority_delay is not supported: ignored, the realtime priority does not depend on a start-up delay', 'min_auto_priority_delay', at, 'unsupported');
          },
        },
      ],
      ['no_email_faults', { handler: () => (g.noEmailFaults = true) }],
      // keepalived: "'lvs_process_name' is deprecated - please use 'checker_process_name'".
      ['lvs_process_name', { status: { kind: 'warns', why: 'the checker process keeps its default name', reportedByHandler: true }, handler: (_w, at) => this.engine.error("lvs_process_name is not supported by lvskeeper: the checker process keeps its default name (and the keyword is deprecated: use 'checker_process_name')", 'lvs_process_name', at, 'unsupported') }],
    ];
    // Keywords keepalived 2.2.7 accepts in global_defs that lvskeeper does not act on, with what happens
    // instead. (net_namespace, instance, use_pid_dir, … are root keywords: inside global_defs keepalived
    // reports them as unknown, and so does this table.)
    const processNames = "the processes keep lvskeeper's names";
    const noBfd = 'lvskeeper has no BFD process';
    const noSnmp = 'lvskeeper has no SNMP agent: use `lvskeeper status` or the Prometheus metrics';
    const noDbus = 'lvskeeper has no DBus interface: use `lvskeeper status`';
    const netlinkBufs = 'netlink sockets keep their sizes; an overflow is recovered by reading the state again';
    const noVmac = 'lvskeeper creates no VMAC interfaces';
    const nftIpvs = 'no nftables rules are added for virtual servers (keepalived uses them for IPv6 fwmark groups)';
    const scheduledReload = 'scheduled reloads are not supported: reload with `systemctl reload lvskeeper` (SIGHUP)';
    const unsupportedGlobals: Record<string, string> = {
      process_names: processNames, process_name: processNames, vrrp_process_name: processNames,
      checker_process_name: processNames, bfd_process_name: noBfd,
      vrrp_iptables: 'no_accept and strict instances are filtered with nftables (table keepalived), not iptables',
      nftables: 'the nftables tables keep the name keepalived',
      nftables_priority: 'the nftables chains keep priority filter - 1',
      nftables_ifindex: 'link-local VIPs are matched by interface index either way',
      nftables_counters: 'the nftables rules have no counters',
      nftables_ipvs: nftIpvs, nftables_ipvs_priority: nftIpvs, nftables_ipvs_start_fwmark: nftIpvs,
      bfd_priority: noBfd, bfd_no_swap: noBfd, bfd_cpu_affinity: noBfd, bfd_rt_priority: noBfd,
      bfd_rlimit_rtime: noBfd, bfd_rlimit_rttime: noBfd,
      vrrp_no_swap: 'the VRRP process memory is not locked against swapping',
      checker_no_swap: 'the checker process memory is not locked against swapping',
      vrrp_cpu_affinity: 'the VRRP process may run on any CPU',
      checker_cpu_affinity: 'the checker process may run on any CPU',
      snmp_socket: noSnmp, enable_snmp_keepalived: noSnmp, enable_snmp_vrrp: noSnmp, enable_snmp_checker: noSnmp,
      enable_snmp_rfc: noSnmp, enable_snmp_rfcv2: noSnmp, enable_snmp_rfcv3: noSnmp, enable_traps: noSnmp,
      enable_dbus: noDbus, dbus_service_name: noDbus,
      fifo_write_vrrp_states_on_reload: 'the notify FIFO gets no state lines at a reload',
      vrrp_netlink_cmd_rcv_bufs: netlinkBufs, vrrp_netlink_cmd_rcv_bufs_force: netlinkBufs,
      vrrp_netlink_monitor_rcv_bufs: netlinkBufs, vrrp_netlink_monitor_rcv_bufs_force: netlinkBufs,
      lvs_netlink_cmd_rcv_bufs: netlinkBufs, lvs_netlink_cmd_rcv_bufs_force: netlinkBufs,
      lvs_netlink_monitor_rcv_bufs: netlinkBufs, lvs_netlink_monitor_rcv_bufs_force: netlinkBufs,
      process_monitor_rcv_bufs: netlinkBufs, process_monitor_rcv_bufs_force: netlinkBufs,
      rs_init_notifies: 'notify_up/notify_down scripts run on changes, not for the state found at start',
      vrrp_rx_bufs_policy: 'the VRRP sockets keep the kernel\'s receive buffer size',
      vrrp_rx_bufs_multiplier: 'the VRRP sockets keep the kernel\'s receive buffer size',
      log_unknown_vrids: 'adverts for VRIDs not configured here are dropped without a log line',
      umask: 'files are created with the umask lvskeeper was started with',
      random_seed: 'randomness is not seeded from the configuration',
      reload_check_config: 'every reload is checked before it is applied anyway; the result goes to the journal, not to a file',
      reload_time_file: scheduledReload, reload_repeat: scheduledReload, reload_file: scheduledReload,
      config_save_dir: 'configurations are not saved',
      data_use_instance: 'dump files keep lvskeeper\'s names',
      tmp_config_directory: 'no temporary copy of the configuration is made',
      vrrp_garp_extra_if: 'gratuitous ARPs are sent on the VIPs\' interfaces only',
      vmac_prefix: noVmac, vmac_addr_prefix: noVmac, vrrp_vmac_garp_intvl: noVmac,
      disable_local_igmp: 'IGMP reports are left as the kernel sends them',
    };
    for (const [name, why] of Object.entries(unsupportedGlobals)) {
      if (!entries.some(([n]) => n === name)) entries.push([name, this.warns(why)]);
    }
    return Parser.table(entries);
  }

  /** keepalived startup_shutdown_script(): the parent runs it (core/main.c run_startup_script). */
  private startStopScript(w: string[], at: SourceLocation, type: 'startup' | 'shutdown'): void {
    const g = this.config.global;
    if ((type === 'startup' ? g.startupScript : g.shutdownScript) !== undefined) return this.fail(`${type} script already specified`);
    if (w[1] === undefined) return this.fail(`${type} script missing`);
    const cmd = this.scriptCommand(w, at);
    if (cmd === undefined) return this.fail(`Invalid ${type} script`);
    if (type === 'startup') {
      g.startupScript = cmd;
      g.startupScriptTimeoutS ??= 10;
    } else {
      g.shutdownScript = cmd;
      g.shutdownScriptTimeoutS ??= 10;
    }
  }

  private startStopScriptTimeout(w: string[], type: 'startup' | 'shutdown'): void {
    if (w[1] === undefined) return this.fail(`${type}_script_timeout requires value`);
    const v = isDecimalInt(w[1]) ? Number(w[1]) : NaN;
    if (!(v >= 1 && v <= 1000)) return this.fail(`${type}_script_timeout '${w[1]}' must be in [1, 1000] - ignoring`);
    if (type === 'startup') this.config.global.startupScriptTimeoutS = v;
    else this.config.global.shutdownScriptTimeoutS = v;
  }

  private lvsFlushOnStop(w: string[]): void {
    const g = this.config.global;
    if (w[1] === undefined) g.lvsFlushOnStop = 'all';
    else if (w[1] === 'VS') g.lvsFlushOnStop = 'vs';
    else g.lvsFlushOnStop = readFlag(w, this.fail) ? 'all' : 'off';
  }

  private lvsSyncDaemon(w: string[], at: SourceLocation): void {
    const ifname = w[1];
    if (ifname === undefined) return this.fail('lvs_sync_daemon requires an interface');
    const d: NonNullable<GlobalDefs['lvsSyncDaemon']> = { interface: ifname, port: 8848, location: at };
    let i = 2;
    if (w[i] !== undefined && !['id', 'maxlen', 'port', 'ttl', 'group'].includes(w[i]!)) {
      d.instance = w[i];
      i++;
    }
    for (; i < w.length; i += 2) {
      const key = w[i]!;
      const val = w[i + 1];
      if (key === 'inst' && val !== undefined) d.instance = val;
      else if (key === 'id') d.syncId = readUnsigned(val, 0, 255, this.fail);
      else if (key === 'maxlen') d.maxlen = readUnsigned(val, 1, 65535 - 20 - 8, this.fail);
      else if (key === 'port') d.port = readUnsigned(val, 1, 65535, this.fail) ?? 8848;
      else if (key === 'ttl') d.ttl = readUnsigned(val, 1, 255, this.fail);
      else if (key === 'group' && val !== undefined) d.group = val;
      else {
        this.fail(`Unknown option ${key} specified for lvs_sync_daemon`);
        i--;
      }
    }
    this.config.global.lvsSyncDaemon = d;
    this.interfaceMissing(ifname, `WARNING - interface ${ifname} for lvs_sync_daemon doesn't exist`, at);
  }

  private lvsTimeouts(w: string[], at: SourceLocation): void {
    const t: NonNullable<GlobalDefs['lvsTimeouts']> = this.config.global.lvsTimeouts ?? { location: at };
    for (let i = 1; i < w.length; i += 2) {
      const key = w[i]!;
      const v = readUnsigned(w[i + 1], 0, 2147483647 / 100, this.fail);
      if (key === 'tcp') t.tcp = v;
      else if (key === 'tcpfin') t.tcpFin = v;
      else if (key === 'udp') t.udp = v;
      else this.fail(`Unknown option ${key} specified for lvs_timeouts`);
    }
    this.config.global.lvsTimeouts = t;
  }

  // -------------------------------------------------------------------------------------------
  // vrrp_script

  private openScript(w: string[], at: SourceLocation): void {
    const name = w[1] ?? '';
    if (name === '') this.fail('vrrp_script requires a name');
    this.script = {
      name,
      location: at,
      script: '',
      intervalMs: 1000,
      timeoutMs: 0,
      weight: 0,
      weightReverse: false,
      rise: 1,
      fall: 1,
      initFail: false,
    };
    this.scriptHasCommand = false;
  }

  private closeScript(): void {
    const s = this.script;
    this.script = undefined;
    if (s === undefined) return;
    if (!this.scriptHasCommand) {
      this.engine.error(`No script set for vrrp_script ${s.name} - removing`, undefined, s.location);
      return;
    }
    if (s.timeoutMs === 0) s.timeoutMs = s.intervalMs;
    this.config.vrrpScripts = this.config.vrrpScripts.filter((x) => x.name !== s.name);
    this.config.vrrpScripts.push(s);
    this.scriptLocations.set(s, true);
  }

  private openTrackFile(w: string[], at: SourceLocation): void {
    const name = w[1] ?? '';
    if (name === '') this.fail('track_file requires a name');
    this.trackFile = { name, path: '', weight: 1, weightReverse: false, location: at };
  }

  private closeTrackFile(): void {
    const t = this.trackFile;
    this.trackFile = undefined;
    if (t === undefined) return;
    if (t.path === '') {
      this.engine.error(`No file set for track_file ${t.name} - ignoring`);
      return;
    }
    this.config.trackFiles = [...this.config.trackFiles.filter((x) => x.name !== t.name), t];
  }

  /** keepalived's track_file.c keywords. */
  private trackFileTable(): KeywordTable {
    const on = (fn: (t: TrackFile, w: string[]) => void): Keyword => ({
      handler: (w) => {
        if (this.trackFile) fn(this.trackFile, w);
      },
    });
    return Parser.table([
      ['file', on((t, w) => (t.path = w[1] ?? t.path))],
      [
        'weight',
        on((t, w) => {
          const v = readInt(w[1], -254, 254, this.fail);
          if (v === undefined) {
            this.fail(`Weight (${w[1] ?? ''}) for track_file ${t.name} must be between [-254..254] inclusive. Ignoring...`);
            return;
          }
          t.weight = v;
          if (w[2] === 'reverse') t.weightReverse = true;
          else if (w[2] !== undefined && w[2] !== 'noreverse') this.fail(`track_file ${t.name} weight has unknown option ${w[2]}`);
        }),
      ],
      [
        'init_file',
        on((t, w) => {
          let value = 0;
          let i = 1;
          if (w[i] !== undefined && w[i] !== 'overwrite') {
            value = readInt(w[i], -2147483648, 2147483647, this.fail) ?? 0;
            i++;
          }
          t.initFile = { value, overwrite: w[i] === 'overwrite' };
        }),
      ],
    ]);
  }

  private openTrackProcess(w: string[], at: SourceLocation): void {
    const name = w[1] ?? '';
    if (name === '') this.fail('vrrp_track_process requires a name');
    // keepalived alloc_vrrp_process: quorum 1, quorum_max UINT_MAX, weight 0.
    this.trackProcess = {
      name, location: at, process: '', params: [], paramMatch: 'none', fullCommand: false, quorum: 1, quorumMax: 4294967295,
      weight: 0, weightReverse: false, terminateDelayMs: 0, forkDelayMs: 0,
    };
  }

  private closeTrackProcess(): void {
    const t = this.trackProcess;
    this.trackProcess = undefined;
    if (t === undefined) return;
    if (t.process === '') {
      this.engine.error(`track process '${t.name}' process name not specified`, undefined, t.location);
      return;
    }
    this.config.vrrpTrackProcesses = [...(this.config.vrrpTrackProcesses ?? []).filter((x) => x.name !== t.name), t];
  }

  /** keepalived 2.2.7 vrrp_parser.c vrrp_tprocess_* keywords, with its messages. */
  private trackProcessTable(): KeywordTable {
    const on = (fn: (t: VrrpTrackProcess, w: string[]) => void): Keyword => ({
      handler: (w) => {
        if (this.trackProcess) fn(this.trackProcess, w);
      },
    });
    const quiet = (): void => undefined;
    const delay = (prefix: string, set: (t: VrrpTrackProcess, ms: number) => void): Keyword =>
      on((t, w) => {
        const ms = readTimerMs(w[1], 0.000001, 3600, quiet);
        if (ms === undefined) return this.fail(`${prefix}delay (${w[1] ?? ''}) for vrrp_track_process ${t.name} must be between [0.000001..3600] inclusive. Ignoring...`);
        set(t, ms);
      });
    return Parser.table([
      [
        'process',
        on((t, w) => {
          if (t.process !== '') return this.fail(`Process already set for track process ${t.name} - ignoring ${w[1] ?? ''}`);
          if (w[1] === undefined) return this.fail('missing number');
          t.process = w[1];
          if (w.length > 2) {
            t.params = w.slice(2);
            if (t.paramMatch === 'none') t.paramMatch = 'exact';
            t.fullCommand = true;
          }
        }),
      ],
      [
        'param_match',
        on((t, w) => {
          // 2.2.7: no argument means exact; `exact` itself is not a keyword value.
          if (w[1] === undefined) t.paramMatch = 'exact';
          else if (w[1] === 'initial' || w[1] === 'partial') t.paramMatch = w[1];
          else return this.fail(`Invalid param_match type ${w[1]} - ignoring`);
          t.fullCommand = true;
        }),
      ],
      [
        'weight',
        on((t, w) => {
          if (w[1] === undefined) return this.fail(`No weight specified for track process ${t.name} - ignoring`);
          if (t.weight !== 0) return this.fail(`Weight already set for track process ${t.name} - ignoring ${w[1]}`);
          const v = readInt(w[1], -254, 254, quiet);
          if (v === undefined) return this.fail(`Weight (${w[1]}) for vrrp_track_process ${t.name} must be between [-254..254] inclusive. Ignoring...`);
          if (w[2] === 'reverse') t.weightReverse = true;
          else if (w[2] !== undefined) this.fail(`vrrp_track_process ${t.name} unknown weight option ${w[2]}`);
          t.weight = v;
        }),
      ],
      [
        'quorum',
        on((t, w) => {
          const v = readUnsigned(w[1], 1, 65535, quiet);
          if (v === undefined) return this.fail(`Quorum (${w[1] ?? ''}) for vrrp_track_process ${t.name} must be between [1..65535] inclusive. Ignoring...`);
          if (v > t.quorumMax) return this.fail('Quorum is greater than quorum_max - ignoring');
          t.quorum = v;
        }),
      ],
      [
        'quorum_max',
        on((t, w) => {
          const v = readUnsigned(w[1], 0, 65535, quiet);
          if (v === undefined) return this.fail(`quorum_max (${w[1] ?? ''}) for vrrp_track_process ${t.name} must be between [0..65535] inclusive. Ignoring...`);
          // quorum_max 0 (no such process may run) is allowed when quorum was not raised.
          if ((v !== 0 || t.quorum > 1) && v < t.quorum) return this.fail('quorum_max is less than quorum - ignoring');
          t.quorumMax = v;
          if (v === 0) t.quorum = 0;
          else if (t.quorum === 0) t.quorum = 1;
        }),
      ],
      ['delay', delay('', (t, ms) => (t.terminateDelayMs = t.forkDelayMs = ms))],
      ['terminate_delay', delay('terminate_', (t, ms) => (t.terminateDelayMs = ms))],
      ['fork_delay', delay('fork_', (t, ms) => (t.forkDelayMs = ms))],
      ['full_command', on((t) => (t.fullCommand = true))],
    ]);
  }

  /**
   * `track_file { NAME [weight W [reverse|noreverse]] }` in an instance or sync group, resolved now
   * against the track_file blocks above (keepalived vrrp_alloc_track_file, with its messages).
   */
  private trackFileRefBlock(into: () => TrackFileRef[] | undefined, who: () => string): Keyword {
    return {
      handler: (w) =>
        this.engine.valueBlock(w, (e, at) => {
          const name = e[0]!;
          const list = into();
          const def = this.config.trackFiles.find((t) => t.name === name);
          if (def === undefined) return this.engine.error(`(${who()}) track file ${name} not found, ignoring...`, undefined, at);
          if (list?.some((t) => t.name === name)) return this.engine.error(`(${who()}) duplicate track_file ${name} - ignoring`, undefined, at);
          const ref: TrackFileRef = { name, weight: def.weight, reverse: def.weightReverse, location: at };
          if (e.length >= 2) {
            if (e[1] !== 'weight') return this.engine.error(`(${who()}) unknown track file option ${e[1]} - ignoring`, undefined, at);
            if (e.length === 2) return this.engine.error(`(${who()}) weight without value specified for track file ${name} - ignoring`, undefined, at);
            const v = readInt(e[2], -254, 254, () => undefined);
            if (v === undefined) this.engine.error(`(${who()}) weight for track file ${name} must be in [-254..254] inclusive. Ignoring...`, undefined, at);
            else ref.weight = v;
            if (e.length >= 4) {
              if (e[3] === 'reverse') ref.reverse = true;
              else if (e[3] === 'noreverse') ref.reverse = false;
              else return this.engine.error(`(${who()}) unknown track file ${name} weight option ${e[3]} - ignoring`, undefined, at);
            }
          }
          list?.push(ref);
        }),
    };
  }

  /** `track_process { NAME [weight W [reverse|noreverse]] }` (keepalived alloc_track_process, its messages). */
  private trackProcessRefBlock(into: () => TrackProcessRef[] | undefined, who: () => string): Keyword {
    return {
      handler: (w) =>
        this.engine.valueBlock(w, (e, at) => {
          const name = e[0]!;
          const list = into();
          const def = this.config.vrrpTrackProcesses?.find((t) => t.name === name);
          if (def === undefined) return this.engine.error(`(${who()}) track process ${name} not found, ignoring...`, undefined, at);
          if (list?.some((t) => t.name === name)) return this.engine.error(`(${who()}) duplicate track_process ${name} - ignoring`, undefined, at);
          const ref: TrackProcessRef = { name, weight: def.weight, reverse: def.weightReverse, location: at };
          if (e.length >= 2) {
            if (e[1] !== 'weight') return this.engine.error(`(${who()}) unknown track process option ${e[1]} - ignoring`, undefined, at);
            if (e.length === 2) return this.engine.error(`(${who()}) weight without value specified for track process ${name} - ignoring`, undefined, at);
            const v = readInt(e[2], -254, 254, () => undefined);
            if (v === undefined) this.engine.error(`(${who()}) weight for track process ${name} must be in [-254..254] inclusive. Ignoring...`, undefined, at);
            else ref.weight = v;
            if (e.length >= 4) {
              if (e[3] === 'reverse') ref.reverse = true;
              else if (e[3] === 'noreverse') ref.reverse = false;
              else this.engine.error(`(${who()}) unknown track_process ${name} weight option ${e[3]} - ignoring`, undefined, at);
            }
          }
          list?.push(ref);
        }),
    };
  }

  private scriptTable(): KeywordTable {
    const on = (fn: (s: VrrpScript, w: string[], at: SourceLocation) => void): Keyword => ({
      handler: (w, at) => {
        if (this.script) fn(this.script, w, at);
      },
    });
    return Parser.table([
      [
        'script',
        on((s, w, at) => {
          // keepalived joins the words when the command is not quoted.
          const cmd = w.slice(1).join(' ');
          if (cmd.length === 0) return;
          s.script = cmd;
          s.location = s.location ?? at;
          this.scriptHasCommand = true;
          this.config.scriptCount++;
        }),
      ],
      ['interval', on((s, w) => (s.intervalMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, this.fail) ?? s.intervalMs))],
      ['timeout', on((s, w) => (s.timeoutMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, this.fail) ?? s.timeoutMs))],
      [
        'weight',
        on((s, w) => {
          const v = readInt(w[1], -253, 253, this.fail);
          if (v !== undefined) s.weight = v;
          if (w[2] === 'reverse') s.weightReverse = true;
          else if (w[2] !== undefined && w[2] !== 'noreverse') this.fail(`vrrp_script ${s.name} weight has unknown option ${w[2]}`);
        }),
      ],
      ['rise', on((s, w) => (s.rise = readUnsigned(w[1], 1, 2147483647, this.fail) ?? s.rise))],
      ['fall', on((s, w) => (s.fall = readUnsigned(w[1], 1, 2147483647, this.fail) ?? s.fall))],
      [
        'user',
        on((s, w) => {
          if (w[1] === undefined) return this.fail('user requires a name');
          const [u, gr] = w[1].includes(':') ? w[1].split(':', 2) : [w[1], w[2]];
          s.user = u;
          if (gr !== undefined) s.group = gr;
        }),
      ],
      ['init_fail', on((s) => (s.initFail = true))],
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // vrrp_instance

  private openInstance(w: string[], at: SourceLocation): void {
    const name = w[1] ?? '';
    if (name === '') this.fail('vrrp_instance requires a name');
    if (this.instances.some((d) => d.vi.name === name)) this.fail(`vrrp instance ${name} already defined`);
    const g = this.config.global;
    const vi: VrrpInstance = {
      name,
      location: at,
      state: 'BACKUP',
      virtualRouterId: 0,
      priority: 100,
      advertIntervalMs: 1000,
      version: g.vrrpVersion,
      family: 'inet',
      nopreempt: false,
      preemptDelayMs: 0,
      virtualIpAddresses: [],
      virtualIpAddressesExcluded: [],
      virtualRoutes: [],
      virtualRules: [],
      unicastPeers: [],
      mcastGroup: g.vrrpMcastGroup4,
      trackInterfaces: [],
      trackScripts: [],
      trackFiles: [],
      trackProcesses: [],
      notify: {},
      smtpAlert: false,
      dontTrackPrimary: false,
      accept: true,
      skipCheckAdvAddr: false,
      notifyPriorityChanges: false,
      checkUnicastSrc: false,
      strictMode: false,
      lowerPrioNoAdvert: false,
      higherPrioSendAdvert: false,
      downTimerAdverts: 3,
      garpMasterDelayMs: 5000,
      garpMasterRepeat: 5,
      garpMasterRefreshMs: 0,
      garpMasterRefreshRepeat: 1,
      garpLowerPrioDelayMs: 5000,
      garpLowerPrioRepeat: 5,
    };
    this.inst = { vi, routerIdSet: false, preemptDelaySet: false, nopreemptSet: false };
    this.instances.push(this.inst);
  }

  private notifyKeywords(target: () => NotifyScripts | undefined): Array<[string, Keyword]> {
    const set = (key: keyof NotifyScripts): Keyword => ({
      handler: (w, at) => {
        const n = target();
        const cmd = this.scriptCommand(w, at);
        if (n && cmd) n[key] = cmd;
      },
    });
    return [
      ['notify_master', set('master')],
      ['notify_backup', set('backup')],
      ['notify_fault', set('fault')],
      ['notify_stop', set('stop')],
      ['notify', set('generic')],
      ['notify_master_rx_lower_pri', set('masterRxLowerPri')],
      ['notify_deleted', set('deleted')],
    ];
  }

  private trackInterfaceBlock(into: () => TrackInterface[] | undefined, who: () => string): Keyword {
    return {
      handler: (w) =>
        this.engine.valueBlock(w, (e, at) => {
          const list = into();
          const name = e[0]!;
          const t: TrackInterface = { name, weight: 0, reverse: false, location: at };
          for (let i = 1; i < e.length; i++) {
            if (e[i] === 'weight') {
              const v = readInt(e[i + 1], -253, 253, this.fail);
              if (v !== undefined) t.weight = v;
              i++;
            } else if (e[i] === 'reverse') t.reverse = true;
            else if (e[i] === 'noreverse') t.reverse = false;
            else this.engine.error(`(${who()}) unknown option '${e[i]}' for track_interface ${name}`, undefined, at);
          }
          list?.push(t);
          this.interfaceMissing(name, `(${who()}) tracked interface ${name} doesn't exist`, at);
        }),
    };
  }

  private trackScriptBlock(into: () => TrackScript[] | undefined, who: () => string): Keyword {
    return {
      handler: (w) =>
        this.engine.valueBlock(w, (e, at) => {
          const t: TrackScript = { name: e[0]!, reverse: false, location: at };
          for (let i = 1; i < e.length; i++) {
            if (e[i] === 'weight') {
              const v = readInt(e[i + 1], -253, 253, this.fail);
              if (v !== undefined) t.weight = v;
              i++;
            } else if (e[i] === 'reverse') t.reverse = true;
            else if (e[i] === 'noreverse') t.reverse = false;
            else this.engine.error(`(${who()}) track script ${t.name} unknown option '${e[i]}'`, undefined, at);
          }
          into()?.push(t);
        }),
    };
  }

  private vipBlock(pick: (vi: VrrpInstance) => VirtualIpAddress[]): Keyword {
    return {
      handler: (w) =>
        this.engine.valueBlock(w, (e, at) => {
          const vip = this.parseVip(e, at);
          if (vip && this.inst) pick(this.inst.vi).push(vip);
        }),
    };
  }

  private reportVipOption(option: string, address: string, at: SourceLocation): void {
    const status = VIP_OPTION_STATUS[option];
    if (status !== undefined) this.engine.error(`${option} is not supported by lvskeeper: ${status.why} (${address})`, option, at, 'unsupported');
  }

  /**
   * One `virtual_ipaddress` / `static_ipaddress` line: `ADDR[/LEN] [brd X] [dev X] [scope X] [label X]
   * [peer X] [no_track] …`, checked as keepalived 2.2.7's alloc_ipaddress() checks it (same messages; a
   * line it drops is dropped here too).
   */
  private parseVip(e: string[], at: SourceLocation, isStatic = false): VirtualIpAddress | undefined {
    const addressWord = e[0]!;
    const p = parsePrefix(addressWord);
    if (p === undefined) {
      this.engine.error(`VRRP parsed invalid IP ${addressWord}. skipping IP...`, undefined, at);
      return undefined;
    }
    const err = (m: string): void => this.engine.error(m, undefined, at);
    const vip: VirtualIpAddress = { ...p, noTrack: false, location: at };
    let broadcast: string | undefined;
    for (let i = 1; i < e.length; i++) {
      const k = e[i]!;
      const takesValue = ['dev', 'scope', 'broadcast', 'brd', 'label', 'peer', 'preferred_lft'].includes(k) || (isStatic && k === 'track_group');
      const v = e[i + 1];
      if (takesValue && v === undefined) {
        err(`No ${k} parameter specified for ${addressWord}`);
        return undefined;
      }
      if (takesValue) i++;
      switch (k) {
        case 'dev':
          if (vip.dev !== undefined) {
            err(`Cannot specify ipaddress device more than once for ${addressWord}`);
            return undefined;
          }
          vip.dev = v;
          this.interfaceMissing(v!, `WARNING - interface ${v} for ip address ${p.address} doesn't exist`, at);
          break;
        case 'scope':
          if (scopeNumber(v!) === undefined) err(`Invalid scope '${v}' specified for ${addressWord} - ignoring`);
          else vip.scope = v;
          break;
        case 'brd':
        case 'broadcast':
          if (p.family === 'inet6') {
            // keepalived quotes the keyword where it means the value.
            err(`VRRP is trying to assign a broadcast ${k} to the IPv6 address ${addressWord} !!?? WTF... skipping VIP...`);
            return undefined;
          }
          if (v !== '+' && v !== '-' && !isIPv4(v!)) {
            err(`VRRP is trying to assign invalid broadcast ${v}. skipping VIP...`);
            return undefined;
          }
          broadcast = v;
          break;
        case 'label':
          if (Buffer.byteLength(v!) > 15) {
            err(`Address label ${v} is longer than maximum length 15 - removing address`);
            return undefined;
          }
          vip.label = v;
          break;
        case 'peer': {
          if (vip.peer !== undefined) {
            err(`Peer ${v} - another peer has already been specified`);
            break;
          }
          // keepalived parses the peer without a prefix (parse_ipaddress, allow_subnet_mask false).
          const peer = v!.includes('/') ? undefined : parsePrefix(v!);
          if (peer === undefined) {
            err(`VRRP parsed invalid IP ${v}. skipping IP...`);
            err(`Invalid peer address ${v}`);
          }
          else if (peer.family !== p.family) err(`Peer address ${v} does not match address family`);
          else {
            if (addressWord.includes('/')) err('Cannot specify address prefix when specifying peer address - ignoring');
            vip.peer = peer.address;
            vip.prefixLength = peer.prefixLength;
          }
          break;
        }
        case 'preferred_lft':
          if (v === 'forever') vip.preferredLft = INFINITY_LIFETIME;
          else {
            const n = isDecimalInt(v!) ? Number(v) : NaN;
            if (Number.isSafeInteger(n) && n >= 0 && n <= INFINITY_LIFETIME) vip.preferredLft = n;
            else err(`preferred_lft ${v} is invalid`);
          }
          break;
        case 'home':
          vip.home = true;
          break;
        case '-nodad':
          vip.dad = true;
          break;
        case 'noprefixroute':
          vip.noPrefixRoute = true;
          break;
        case 'autojoin':
          vip.autoJoin = true;
          break;
        case 'mngtmpaddr':
          vip.manageTempAddr = true;
          break;
        case 'no_track':
          vip.noTrack = true;
          break;
        case 'track_group':
          if (!isStatic) err(`Unknown configuration entry '${k}' for ip address - ignoring`);
          else this.reportVipOption(k, addressWord, at);
          break;
        case 'use_vmac':
          if (isStatic) err(`Unknown configuration entry '${k}' for ip address - ignoring`);
          else this.reportVipOption(k, addressWord, at);
          break;
        default:
          err(`Unknown configuration entry '${k}' for ip address - ignoring`);
      }
    }
    if (broadcast !== undefined && vip.peer !== undefined) err('Cannot specify broadcast and peer addresses - ignoring broadcast address');
    else if (broadcast === '+' || broadcast === '-') {
      if (vip.prefixLength <= 30) vip.brd = ipv4Broadcast(vip.peer ?? vip.address, vip.prefixLength, broadcast === '+');
      else err(`Address prefix length ${vip.prefixLength} too long for broadcast`);
    } else if (broadcast !== undefined) vip.brd = broadcast;
    if (p.family === 'inet6') {
      if (vip.scope !== undefined) {
        err(`Cannot specify scope for IPv6 addresses (${addressWord}) - ignoring scope`);
        vip.scope = undefined;
      }
      if (vip.label !== undefined) {
        err(`Cannot specify label for IPv6 addresses (${addressWord}) - ignoring label`);
        vip.label = undefined;
      }
      // keepalived: a /128 VIP is deprecated (preferred_lft 0) so that checks never use it as their source.
      vip.preferredLft ??= vip.prefixLength === 128 ? 0 : INFINITY_LIFETIME;
    } else vip.preferredLft = undefined;
    return vip;
  }

  private checkRouteInterfaces(entry: string[], at: SourceLocation): void {
    if (!this.options.checkInterfaces) return;
    for (let i = 0; i + 1 < entry.length; i++) {
      if (entry[i] === 'dev' || entry[i] === 'oif') {
        const name = entry[i + 1]!;
        this.interfaceMissing(name, `WARNING - interface ${name} for VROUTE nexthop doesn't exist`, at);
      }
    }
  }

  private instanceTable(): KeywordTable {
    const on = (fn: (d: InstanceDraft, w: string[], at: SourceLocation) => void): Keyword => ({
      handler: (w, at) => {
        if (this.inst) fn(this.inst, w, at);
      },
    });
    const flag = (fn: (d: InstanceDraft, v: boolean) => void): Keyword => on((d, w) => fn(d, readFlag(w, this.fail)));
    const routes = (kind: 'route' | 'rule'): Keyword =>
      on((d, w) =>
        this.engine.valueBlock(w, (e, at) => {
          this.checkRouteInterfaces(e, at);
          if (kind === 'route') {
            const r = parseRouteLine(e, at, this.routes());
            if (r) d.vi.virtualRoutes.push(r);
          } else {
            const r = parseRuleLine(e, at, this.routes());
            if (r) d.vi.virtualRules.push(r);
          }
        }),
      );
    const garpTimer = (fn: (d: InstanceDraft, ms: number) => void): Keyword =>
      on((d, w) => {
        const v = readTimerMs(w[1], 0, TIMER_MAX_S, this.fail);
        if (v !== undefined) fn(d, v);
      });
    const garpCount = (min: number, fn: (d: InstanceDraft, n: number) => void): Keyword =>
      on((d, w) => {
        const v = readUnsigned(w[1], min, 4294967295, this.fail);
        if (v !== undefined) fn(d, v);
      });
    const who = (): string => this.inst?.vi.name ?? '';
    const entries: Array<[string, Keyword]> = [
      [
        'state',
        on((d, w) => {
          d.vi.state = w[1] === 'MASTER' ? 'MASTER' : 'BACKUP';
          if (w[1] !== 'MASTER' && w[1] !== 'BACKUP') this.fail(`(${d.vi.name}) unknown state '${w[1] ?? ''}', defaulting to BACKUP`);
        }),
      ],
      [
        'interface',
        on((d, w, at) => {
          if (w[1] === undefined) return this.fail('interface requires a name');
          d.vi.interface = w[1];
          d.interfaceAt = at;
          this.interfaceMissing(w[1], `WARNING - interface ${w[1]} for vrrp_instance ${d.vi.name} doesn't exist`, at);
        }),
      ],
      [
        'virtual_router_id',
        on((d, w) => {
          const v = readUnsigned(w[1], 1, 255, this.fail);
          if (v === undefined) this.fail(`VRRP Error : VRID not valid - must be between 1 & 255. reconfigure !`);
          else d.vi.virtualRouterId = v;
        }),
      ],
      [
        'priority',
        on((d, w) => {
          const v = readUnsigned(w[1], 1, 255, this.fail);
          if (v === undefined) this.fail(`(${d.vi.name}) Priority not valid! must be between 1 & 255. Using default 100`);
          else d.priority = v;
        }),
      ],
      [
        'advert_int',
        on((d, w) => {
          const v = readDouble(w[1], 0.01, 255, this.fail);
          if (v === undefined) this.fail(`(${d.vi.name}) Advert interval (${w[1] ?? ''}) not valid! Must be between 0.01 and 255. Using default 1`);
          else d.advertIntS = v;
        }),
      ],
      [
        'version',
        on((d, w) => {
          const v = readUnsigned(w[1], 2, 3, this.fail);
          if (v === undefined) this.fail(`(${d.vi.name}): Version not valid! must be between 2 & 3`);
          else d.version = v as 2 | 3;
        }),
      ],
      ['nopreempt', on((d) => ((d.vi.nopreempt = true), (d.nopreemptSet = true)))],
      ['preempt', on((d) => (d.vi.nopreempt = false))],
      [
        'preempt_delay',
        on((d, w) => {
          const v = readTimerMs(w[1], 0, 1000, this.fail);
          if (v === undefined) this.fail(`(${d.vi.name}) Preempt_delay not valid! must be between 0-1000`);
          else {
            d.vi.preemptDelayMs = v;
            d.preemptDelaySet = true;
          }
        }),
      ],
      ['authentication', { sub: this.authTable() }],
      ['virtual_ipaddress', this.vipBlock((vi) => vi.virtualIpAddresses)],
      ['virtual_ipaddress_excluded', this.vipBlock((vi) => vi.virtualIpAddressesExcluded)],
      ['virtual_routes', routes('route')],
      ['virtual_rules', routes('rule')],
      [
        'mcast_src_ip',
        on((d, w) => {
          if (w[1] === undefined || familyOf(w[1]) === undefined) this.fail(`(${d.vi.name}) mcast_src_ip ${w[1] ?? ''} is invalid`);
          else d.vi.mcastSrcIp = w[1];
        }),
      ],
      [
        'unicast_src_ip',
        on((d, w) => {
          if (w[1] === undefined || familyOf(w[1]) === undefined) this.fail(`(${d.vi.name}) unicast_src_ip ${w[1] ?? ''} is invalid`);
          else d.vi.unicastSrcIp = w[1];
        }),
      ],
      [
        'unicast_peer',
        on((d, w) =>
          this.engine.valueBlock(w, (e, at) => {
            if (familyOf(e[0]!) === undefined) {
              this.engine.error(`(${d.vi.name}) unicast_peer ${e[0]} is invalid - ignoring`, undefined, at);
              return;
            }
            const peer: VrrpInstance['unicastPeers'][number] = { address: e[0]!, location: at };
            for (let i = 1; i < e.length; i += 2) {
              if (e[i] === 'min_ttl') peer.minTtl = readUnsigned(e[i + 1], 0, 255, this.fail);
              else if (e[i] === 'max_ttl') peer.maxTtl = readUnsigned(e[i + 1], 0, 255, this.fail);
              else {
                this.engine.error(`(${d.vi.name}) unknown unicast_peer option ${e[i]}`, undefined, at);
                i--;
              }
            }
            d.vi.unicastPeers.push(peer);
          }),
        ),
      ],
      ['unicast_ttl', on((d, w) => (d.vi.unicastTtl = readUnsigned(w[1], 1, 255, this.fail) ?? d.vi.unicastTtl))],
      ['track_interface', this.trackInterfaceBlock(() => this.inst?.vi.trackInterfaces, who)],
      ['track_script', this.trackScriptBlock(() => this.inst?.vi.trackScripts, who)],
      ['smtp_alert', flag((d, v) => (d.smtpAlert = v))],
      ['dont_track_primary', on((d) => (d.vi.dontTrackPrimary = true))],
      ['accept', on((d) => (d.accept = true))],
      ['no_accept', on((d) => (d.accept = false))],
      ['skip_check_adv_addr', flag((d, v) => (d.skipCheckAdvAddr = v))],
      ['notify_priority_changes', flag((d, v) => (d.notifyPriorityChanges = v))],
      ['check_unicast_src', on((d) => (d.checkUnicastSrc = true))],
      ['strict_mode', flag((d, v) => (d.strictMode = v))],
      ['lower_prio_no_advert', flag((d, v) => (d.lowerPrioNoAdvert = v))],
      ['higher_prio_send_advert', flag((d, v) => (d.higherPrioSendAdvert = v))],
      ['down_timer_adverts', on((d, w) => (d.downTimerAdverts = readUnsigned(w[1], 1, 100, this.fail) ?? d.downTimerAdverts))],
      ['garp_master_delay', garpTimer((d, v) => (d.garpMasterDelayMs = v))],
      ['garp_master_repeat', garpCount(0, (d, v) => (d.garpMasterRepeat = v))],
      ['garp_master_refresh', garpTimer((d, v) => (d.garpMasterRefreshMs = v))],
      ['garp_master_refresh_repeat', garpCount(1, (d, v) => (d.garpMasterRefreshRepeat = v))],
      ['garp_lower_prio_delay', garpTimer((d, v) => (d.garpLowerPrioDelayMs = v))],
      ['garp_lower_prio_repeat', garpCount(0, (d, v) => (d.garpLowerPrioRepeat = v))],
      [
        'use_vmac',
        this.reported('lvskeeper creates no VMAC interfaces: the instance uses its interface itself', on((d, w, at) => {
          d.vi.useVmac = w[1] === undefined ? { unsupported: true } : { name: w[1], unsupported: true };
          this.engine.error(`(${d.vi.name}) use_vmac is not supported by lvskeeper - the real interface is used`, 'use_vmac', at, 'unsupported');
        })),
      ],
      [
        'mcast_dst_ip',
        this.reported('adverts go to the vrrp_mcast_group4/6 address', on((d, w, at) => {
          const a = w[1];
          const fam = a === undefined ? undefined : familyOf(a);
          if (a === undefined || fam === undefined) return this.engine.error(`(${d.vi.name}) malformed mcast dest address ${a ?? ''}. Skipping...`, undefined, at);
          this.engine.error(`(${d.vi.name}) mcast_dst_ip is not supported: adverts go to the vrrp_mcast_group${fam === 'inet6' ? 6 : 4} address, not ${a}`, 'mcast_dst_ip', at, 'unsupported');
        })),
      ],
      [
        'vrf',
        this.reported('VRRP sockets are not bound to the VRF', on((d, w, at) => {
          if (w[1] === undefined) return this.engine.error(`(${d.vi.name}) vrf requires an interface name`, undefined, at);
          if (d.vi.interface !== undefined) return this.fail(`(${d.vi.name}) Cannot specify VRF interface and interface - ignoring`);
          this.engine.error(`(${d.vi.name}) vrf is not supported: VRRP sockets are not bound to VRF ${w[1]}`, 'vrf', at, 'unsupported');
        })),
      ],
      [
        'lvs_sync_daemon_interface',
        on((d, _w, at) => {
          this.engine.error(`(${d.vi.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.`, undefined, at);
          this.engine.error('        Please use global lvs_sync_daemon', undefined, at);
        }),
      ],
      ...this.notifyKeywords(() => this.inst?.vi.notify),
    ];
    // Keywords keepalived 2.2.7 accepts in vrrp_instance that lvskeeper does not act on.
    const noVmac = 'lvskeeper creates no VMAC interfaces: the instance uses its interface itself';
    entries.push(
      ['vmac_xmit_base', this.warns(noVmac)],
      ['vmac_garp_intvl', this.warns(noVmac)],
      ['use_vmac_addr', this.warns(noVmac)],
      ['native_ipv6', this.warns(noVmac)],
      ['use_ipvlan', this.warns('lvskeeper creates no ipvlan interfaces: the instance uses its interface itself')],
      ['unicast_fault_no_peer', this.warns('an instance with unicast and no peer is not held in FAULT')],
      ['track_file', this.warnsValueBlock('the priority does not follow the file (FILE_CHECK does)')],
      ['track_process', this.warnsValueBlock('the priority does not follow the processes')],
      ['track_bfd', this.warnsValueBlock('lvskeeper has no BFD: the instance never sees it fail')],
      ['track_src_ip', this.warns('the source address is not tracked: losing it does not put the instance in FAULT')],
      ['old_unicast_checksum', this.warns('unicast VRRPv3 adverts carry the RFC 5798 checksum; a peer that needs the old one drops them')],
      ['promote_secondaries', on((d) => (d.vi.promoteSecondaries = true))],
      ['linkbeat_use_polling', this.warns('interface state comes from netlink link notifications')],
      ['debug', this.warns('use -D for debug logging')],
      ['garp_extra_if', this.warns('gratuitous ARPs are sent on the VIPs\' interfaces only')],
      ['kernel_rx_buf_size', this.warns('the VRRP socket keeps the kernel\'s receive buffer size')],
    );
    entries.push(
      ['track_file', this.trackFileRefBlock(() => this.inst?.vi.trackFiles, who)],
      ['track_process', this.trackProcessRefBlock(() => this.inst?.vi.trackProcesses, who)],
    );
    return Parser.table(entries);
  }

  private authTable(): KeywordTable {
    return Parser.table([
      [
        'auth_type',
        {
          handler: (w, at) => {
            const d = this.inst;
            if (!d) return;
            const t = w[1];
            if (t !== 'PASS' && t !== 'AH') {
              this.fail(`(${d.vi.name}) unknown authentication type '${t ?? ''}'`);
              return;
            }
            d.vi.authentication = { type: t, password: d.vi.authentication?.password ?? '', location: d.vi.authentication?.location ?? at };
          },
        },
      ],
      [
        'auth_pass',
        {
          handler: (w, at) => {
            const d = this.inst;
            if (!d) return;
            let pass = w[1] ?? '';
            // The password is 8 bytes on the wire; keepalived truncates (never echo it).
            if (Buffer.byteLength(pass) > 8) {
              this.fail('Truncating auth_pass to 8 characters');
              pass = Buffer.from(pass).subarray(0, 8).toString('latin1');
            }
            d.vi.authentication = { type: d.vi.authentication?.type ?? 'PASS', password: pass, location: at };
          },
        },
      ],
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // vrrp_sync_group

  private openSync(w: string[], at: SourceLocation): void {
    const name = w[1] ?? '';
    this.sync = {
      name,
      location: at,
      members: [],
      trackInterfaces: [],
      trackScripts: [],
      trackFiles: [],
      trackProcesses: [],
      notify: {},
      smtpAlert: false,
      syncGroupTrackingWeight: false,
    };
    this.config.vrrpSyncGroups.push(this.sync);
  }

  private syncTable(): KeywordTable {
    const who = (): string => this.sync?.name ?? '';
    return Parser.table([
      ['group', { handler: (w) => this.engine.valueBlock(w, (e) => this.sync?.members.push(...e)) }],
      ['track_interface', this.trackInterfaceBlock(() => this.sync?.trackInterfaces, who)],
      ['track_script', this.trackScriptBlock(() => this.sync?.trackScripts, who)],
      ['track_file', this.trackFileRefBlock(() => this.sync?.trackFiles, who)],
      ['track_process', this.trackProcessRefBlock(() => this.sync?.trackProcesses, who)],
      ['track_bfd', this.warnsValueBlock('lvskeeper has no BFD: the sync group never sees it fail')],
      ['smtp_alert', { handler: (w) => this.sync && (this.syncSmtpAlertSet.add(this.sync), (this.sync.smtpAlert = readFlag(w, this.fail))) }],
      [
        'global_tracking',
        {
          // keepalived 2.2.7: deprecated, and the same as sync_group_tracking_weight.
          handler: (_w, at) => {
            this.engine.warn(`(${who()}) global_tracking is deprecated. Use track_interface/script/file on the sync group`, undefined, at);
            if (this.sync) this.sync.syncGroupTrackingWeight = true;
          },
        },
      ],
      ['sync_group_tracking_weight', { handler: () => this.sync && (this.sync.syncGroupTrackingWeight = true) }],
      ['notify_priority_changes', this.warns('the sync group writes no priority lines to the notify FIFO; its instances do when they set it')],
      ...this.notifyKeywords(() => this.sync?.notify),
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // completion: vrrp_complete_instance()

  private completeVrrp(): void {
    const g = this.config.global;
    const scripts = new Map(this.config.vrrpScripts.map((s) => [s.name, s]));
    const out: VrrpInstance[] = [];
    for (const d of this.instances) {
      const vi = d.vi;
      const at = vi.location;
      const err = (m: string): void => this.engine.error(m, undefined, at);
      const warn = (m: string): void => this.engine.warn(m, undefined, at);
      if (vi.virtualRouterId === 0) {
        err(`(${vi.name}) the virtual router id must be set`);
        continue;
      }
      const v6 = vi.virtualIpAddresses[0]?.family === 'inet6';
      vi.family = v6 ? 'inet6' : 'inet';
      for (const vip of vi.virtualIpAddresses) {
        if (vip.family !== vi.family) {
          this.engine.error(`(${vi.name}) address family must match VRRP instance - ignoring ${vip.address}`, undefined, vip.location);
        }
      }
      vi.virtualIpAddresses = vi.virtualIpAddresses.filter((v) => v.family === vi.family);
      vi.version = d.version ?? (v6 ? 3 : g.vrrpVersion);
      if (v6 && vi.version === 2) {
        warn(`(${vi.name}) cannot use IPv6 with VRRP version 2; setting version 3`);
        vi.version = 3;
      }
      vi.mcastGroup = v6 ? g.vrrpMcastGroup6 : g.vrrpMcastGroup4;
      vi.strictMode = d.strictMode ?? g.vrrpStrict;
      vi.skipCheckAdvAddr = d.skipCheckAdvAddr ?? g.vrrpSkipCheckAdvAddr;
      vi.notifyPriorityChanges = d.notifyPriorityChanges ?? g.vrrpNotifyPriorityChanges;
      // keepalived vrrp.c: unset → smtp_alert_vrrp, else smtp_alert, else off.
      vi.smtpAlert = d.smtpAlert ?? g.smtpAlertVrrp ?? g.smtpAlert ?? false;
      vi.checkUnicastSrc = d.checkUnicastSrc ?? g.vrrpCheckUnicastSrc;
      vi.lowerPrioNoAdvert = d.lowerPrioNoAdvert ?? g.vrrpLowerPrioNoAdvert;
      vi.higherPrioSendAdvert = d.higherPrioSendAdvert ?? g.vrrpHigherPrioSendAdvert;
      vi.downTimerAdverts = d.downTimerAdverts ?? g.vrrpDownTimerAdverts;
      vi.garpMasterDelayMs = d.garpMasterDelayMs ?? g.vrrpGarpMasterDelayMs;
      vi.garpMasterRepeat = d.garpMasterRepeat ?? g.vrrpGarpMasterRepeat;
      vi.garpMasterRefreshMs = d.garpMasterRefreshMs ?? g.vrrpGarpMasterRefreshMs;
      vi.garpMasterRefreshRepeat = d.garpMasterRefreshRepeat ?? g.vrrpGarpMasterRefreshRepeat;
      vi.garpLowerPrioDelayMs =
        d.garpLowerPrioDelayMs ?? (this.globalSet.has('vrrp_garp_lower_prio_delay') ? g.vrrpGarpLowerPrioDelayMs : vi.garpMasterDelayMs);
      vi.garpLowerPrioRepeat =
        d.garpLowerPrioRepeat ?? (this.globalSet.has('vrrp_garp_lower_prio_repeat') ? g.vrrpGarpLowerPrioRepeat : vi.garpMasterRepeat);

      // Priority: 255 for an address owner declared MASTER without a priority.
      vi.priority = d.priority ?? (vi.state === 'MASTER' ? 255 : 100);

      if (vi.interface === undefined && vi.unicastSrcIp === undefined) {
        // keepalived uses the default interface; report as it does when there is none.
        warn(`(${vi.name}) No interface specified - using default interface`);
      }

      if (vi.strictMode) {
        if (vi.state === 'MASTER' && vi.priority !== 255) {
          err(`(${vi.name}) State MASTER must match being address owner`);
          vi.state = 'BACKUP';
        }
        if (vi.authentication) {
          err(`(${vi.name}) Strict mode does not support authentication. Ignoring.`);
          vi.authentication = undefined;
        }
        if (vi.unicastPeers.length > 0) {
          err(`(${vi.name}) Strict mode does not support unicast peers - ignoring`);
          vi.unicastPeers = [];
        }
        if (vi.virtualIpAddresses.length === 0) err(`(${vi.name}) Strict mode requires at least one VIP`);
        if (d.preemptDelaySet && vi.preemptDelayMs > 0) {
          err(`(${vi.name}) Strict mode does not support preempt_delay - clearing`);
          vi.preemptDelayMs = 0;
        }
        vi.garpMasterRepeat = Math.min(vi.garpMasterRepeat, 1);
        vi.lowerPrioNoAdvert = true;
      }

      if (vi.authentication) {
        if (vi.version === 3) {
          err(`(${vi.name}) VRRP version 3 does not support authentication. Ignoring.`);
          vi.authentication = undefined;
        } else if (vi.authentication.password.length === 0) {
          err(`(${vi.name}) no authentication password specified - ignoring authentication`);
          vi.authentication = undefined;
        }
      }
      if (vi.authentication?.type === 'AH' && vi.state === 'MASTER' && vi.priority !== 255) {
        err(`(${vi.name}) Initial state master is incompatible with AH authentication - clearing`);
        vi.state = 'BACKUP';
      }
      // Not implemented yet (issue #11), and it changes safety: an error, never silence. An AH instance
      // is not run at all: its adverts would go out unauthenticated and an AH peer would drop them (two
      // masters).
      if (vi.authentication?.type === 'AH') {
        this.engine.error(`(${vi.name}) auth_type AH is not supported by lvskeeper yet - not running this instance rather than sending unauthenticated adverts`, 'auth_type', vi.authentication.location);
        continue;
      }

      if (vi.state === 'MASTER') {
        if (vi.nopreempt) {
          err(`(${vi.name}) Warning - nopreempt will not work with initial state MASTER - clearing`);
          vi.nopreempt = false;
        }
        if (vi.preemptDelayMs > 0) {
          err(`(${vi.name}) Warning - preempt delay will not work with initial state MASTER - clearing`);
          vi.preemptDelayMs = 0;
        }
      }
      if (vi.nopreempt && vi.priority === 255) {
        err(`(${vi.name}) nopreempt is incompatible with priority 255 - resetting`);
        vi.nopreempt = false;
      }

      // accept: default on unless strict; v2 + strict + accept is reset as 2.2.7 does.
      if (d.accept !== undefined) {
        vi.accept = d.accept;
        if (d.accept && vi.strictMode && vi.version === 2) {
          err(`(${vi.name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting`);
          vi.accept = false;
        }
      } else vi.accept = !vi.strictMode;
      if (vi.priority === 255) vi.accept = true;

      // advert_int: v2 whole seconds (rounded with a warning), v3 centiseconds.
      const adv = d.advertIntS ?? 1;
      if (vi.version === 2) {
        let secs = adv;
        if (!Number.isInteger(adv)) {
          err(`(${vi.name}) VRRPv2 advertisement interval ${adv.toFixed(6)}s must be an integer. rounding`);
          secs = Math.max(1, Math.round(adv));
        }
        vi.advertIntervalMs = secs * 1000;
      } else {
        let cs = Math.round(adv * 100);
        if (cs > 4095) {
          err(`(${vi.name}) VRRPv3 advertisement interval ${adv.toFixed(2)}s is too large - setting to 40.95s`);
          cs = 4095;
        }
        vi.advertIntervalMs = Math.max(1, cs) * 10;
      }

      // Track scripts must exist.
      vi.trackScripts = vi.trackScripts.filter((t) => {
        const script = scripts.get(t.name);
        if (script === undefined) {
          this.engine.error(`(${vi.name}) track script ${t.name} not found, ignoring...`, undefined, t.location);
          return false;
        }
        // Resolved: the vrrp_script's weight (and reverse) unless the instance overrides them.
        if (t.weight === undefined) {
          t.weight = script.weight;
          t.reverse = t.reverse !== script.weightReverse;
        }
        return true;
      });

      out.push(vi);
    }

    // Duplicate VRID: same family and interface.
    const seen = new Map<string, VrrpInstance>();
    for (const vi of out) {
      const key = `${vi.virtualRouterId}/${vi.family}/${vi.interface ?? ''}/${vi.unicastSrcIp ?? ''}`;
      const other = seen.get(key);
      if (other) {
        this.engine.error(
          `${other.name} and ${vi.name} both use VRID ${vi.virtualRouterId} with ${vi.family === 'inet' ? 'IPv4' : 'IPv6'} on interface ${vi.interface ?? '(none)'}`,
          undefined,
          vi.location,
        );
      } else seen.set(key, vi);
    }

    // Sync groups: members must exist; each instance in one group at most.
    const byName = new Map(out.map((vi) => [vi.name, vi]));
    for (const sg of this.config.vrrpSyncGroups) {
      sg.members = sg.members.filter((m) => {
        const vi = byName.get(m);
        if (vi === undefined) {
          this.engine.error(`Virtual router ${m} specified in sync group ${sg.name} doesn't exist - ignoring`, undefined, sg.location);
          return false;
        }
        if (vi.syncGroup !== undefined) {
          this.engine.error(`VRRP instance ${m} cannot be in more than one sync group - ignoring ${sg.name}`, undefined, sg.location);
          return false;
        }
        vi.syncGroup = sg.name;
        return true;
      });
      sg.trackScripts = sg.trackScripts.filter((t) => {
        const script = scripts.get(t.name);
        if (script === undefined) {
          this.engine.error(`(${sg.name}) track script ${t.name} not found, ignoring...`, undefined, t.location);
          return false;
        }
        if (t.weight === undefined) {
          t.weight = script.weight;
          t.reverse = t.reverse !== script.weightReverse;
        }
        return true;
      });
      if (sg.members.length === 0) this.engine.error(`Sync group ${sg.name} has no virtual router(s) - removing`, undefined, sg.location);
      // keepalived vrrp.c: unset → smtp_alert_vrrp, else smtp_alert, else off.
      if (!this.syncSmtpAlertSet.has(sg)) sg.smtpAlert = g.smtpAlertVrrp ?? g.smtpAlert ?? false;
    }
    this.config.vrrpSyncGroups = this.config.vrrpSyncGroups.filter((sg) => sg.members.length > 0);
    this.config.vrrpInstances = out;
  }

  // -------------------------------------------------------------------------------------------
  // virtual_server_group

  private readVsg(w: string[], at: SourceLocation): void {
    const name = w[1] ?? '';
    if (name === '') this.fail('virtual_server_group requires a name');
    const group: VirtualServerGroup = { name, location: at, entries: [] };
    this.engine.valueBlock(['virtual_server_group'], (e, eat) => {
      if (e[0] === 'fwmark') {
        const mark = readUnsigned(e[1], 1, 4294967295, this.fail);
        if (mark === undefined) return;
        const family = e[2] === 'inet6' ? 'inet6' : e[2] === 'inet' ? 'inet' : undefined;
        group.entries.push(family ? { kind: 'fwmark', fwmark: mark, family, location: eat } : { kind: 'fwmark', fwmark: mark, location: eat });
        return;
      }
      const range = this.parseRange(e[0]!);
      if (range === undefined) {
        this.engine.error(`VS group ${name}: invalid address ${e[0]} - ignoring`, undefined, eat);
        return;
      }
      let port = 0;
      if (e[1] !== undefined) {
        const p = readUnsigned(e[1], 0, 65535, this.fail);
        if (p === undefined) return;
        port = p;
      }
      group.entries.push({ kind: 'address', ...range, port, location: eat });
    });
    this.config.virtualServerGroups.push(group);
  }

  /** `A`, `A-B` (last part of the address), `A/nn` for IPv4, `x::2-9` for IPv6. */
  private parseRange(text: string): { family: AddressFamily; address: string; rangeEnd?: string } | undefined {
    const dash = text.indexOf('-');
    const slash = text.indexOf('/');
    if (dash < 0 && slash < 0) {
      const family = familyOf(text);
      return family ? { family, address: text } : undefined;
    }
    if (dash >= 0) {
      const start = text.slice(0, dash);
      const endPart = text.slice(dash + 1);
      const family = familyOf(start);
      if (family === 'inet') {
        const end = Number(endPart);
        const last = Number(start.split('.')[3]);
        if (!/^\d{1,3}$/.test(endPart) || end > 255 || end < last) return undefined;
        return { family, address: start, rangeEnd: `${start.split('.').slice(0, 3).join('.')}.${end}` };
      }
      if (family === 'inet6') {
        const groups = ipv6Groups(start);
        if (!groups || !/^[0-9a-fA-F]{1,4}$/.test(endPart)) return undefined;
        const end = parseInt(endPart, 16);
        if (end < (groups[7] ?? 0)) return undefined;
        const endGroups = [...groups];
        endGroups[7] = end;
        return { family, address: start, rangeEnd: formatIpv6(endGroups) };
      }
      return undefined;
    }
    const p = parsePrefix(text);
    if (!p || p.family !== 'inet') return undefined;
    const octets = p.address.split('.').map(Number);
    const n = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
    const size = 2 ** (32 - p.prefixLength);
    const first = n - (n % size);
    const last = first + size - 1;
    const ip = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
    return { family: 'inet', address: ip(first), rangeEnd: ip(last) };
  }

  // -------------------------------------------------------------------------------------------
  // virtual_server

  private openVs(w: string[], at: SourceLocation): void {
    let key: VirtualServer['key'] | undefined;
    if (w[1] === 'fwmark') {
      const mark = readUnsigned(w[2], 1, 4294967295, this.fail);
      if (mark !== undefined) key = { kind: 'fwmark', fwmark: mark };
    } else if (w[1] === 'group') {
      if (w[2] !== undefined) key = { kind: 'group', group: w[2] };
    } else if (w[1] !== undefined) {
      const family = familyOf(w[1]);
      let port = 0;
      let portOk = true;
      if (w[2] !== undefined) {
        const p = readUnsigned(w[2], 0, 65535, this.fail);
        if (p === undefined) portOk = false;
        else port = p;
      }
      if (family !== undefined && portOk) key = { kind: 'address', family, address: w[1], port };
      else if (family === undefined) this.fail(`Invalid virtual server IP address ${w[1]} - skipping`);
    }
    if (key === undefined) {
      if (w[1] === undefined) this.fail('virtual_server requires an address, fwmark or group');
      this.vs = undefined;
      this.engine.skipBlock();
      return;
    }
    const vs: VirtualServer = {
      location: at,
      key,
      protocol: 'tcp',
      delayLoopMs: 60000,
      scheduler: 'wlc',
      forwardMethod: 'masq',
      ops: false,
      schedFlag1: false,
      schedFlag2: false,
      schedFlag3: false,
      quorum: 1,
      hysteresis: 0,
      alpha: false,
      omega: false,
      haSuspend: false,
      inhibitOnFailure: false,
      connectTimeoutMs: 5000,
      warmupMs: 60000,
      realServers: [],
    };
    this.vs = { vs, protocolSet: false, schedulerSet: false, methodSet: false, delayLoopSet: false, warmupSet: false, weight: 1, rs: [] };
  }

  private closeVs(): void {
    const d = this.vs;
    if (d?.earlySorryInhibit !== undefined) {
      // keepalived 2.2.7 reports and drops an inhibit that comes before its sorry_server (ssvri_handler);
      // the operator plainly meant it, so it is applied, and the message says so (`-t` still exits 5, as keepalived's).
      if (d.vs.sorryServer) {
        d.vs.sorryServer.inhibit = true;
        this.engine.warn(
          'Ignoring sorry_server inhibit used before or without sorry_server (keepalived 2.2.7); lvskeeper applies it to the sorry_server below',
          'sorry_server_inhibit',
          d.earlySorryInhibit,
        );
      } else this.engine.error('Ignoring sorry_server inhibit used before or without sorry_server', 'sorry_server_inhibit', d.earlySorryInhibit);
    }
    // Resolve as soon as the block closes (all of its keywords are known by then) so the drafts
    // die young: on a 370k-line farm this halves the garbage collector's work.
    if (d) this.completeVs(d);
    this.vs = undefined;
  }

  /** `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]` → method + tunnel. */
  private lvsMethod(w: string[]): { method: ForwardMethod; tunnel?: TunnelSettings } | undefined {
    const kind = w[1];
    if (kind === 'NAT') return { method: 'masq' };
    if (kind === 'DR') return { method: 'route' };
    if (kind === 'TUN') {
      if (w[2] !== 'type') return { method: 'tunnel' };
      const type = w[3];
      if (type === 'ipip') return { method: 'tunnel', tunnel: { type: 'ipip' } };
      if (type === 'gre' || type === 'gue') {
        const tunnel: TunnelSettings = { type };
        for (let i = 4; i < w.length; i++) {
          if (w[i] === 'port') {
            tunnel.port = readUnsigned(w[i + 1], 1, 65535, this.fail);
            i++;
          } else if (w[i] === 'nocsum' || w[i] === 'csum' || w[i] === 'remcsum') tunnel.checksum = w[i] as TunnelSettings['checksum'];
          else this.fail(`Unknown tunnel option ${w[i]}`);
        }
        if (type === 'gue' && tunnel.port === undefined) this.fail('GUE tunnel requires a port');
        return { method: 'tunnel', tunnel };
      }
      this.fail(`Unknown tunnel type ${type ?? ''}`);
      return undefined;
    }
    this.fail(`PARSER : unknown [${kind ?? ''}] routing method for virtual server.`);
    return undefined;
  }

  private vsTable(): KeywordTable {
    const on = (fn: (d: VsDraft, w: string[], at: SourceLocation) => void): Keyword => ({
      handler: (w, at) => {
        if (this.vs) fn(this.vs, w, at);
      },
    });
    const set = (fn: (vs: VirtualServer) => void): Keyword => on((d) => fn(d.vs));
    const sched = on((d, w) => {
      if (w[1] !== undefined && SCHEDULERS.has(w[1])) {
        d.vs.scheduler = w[1];
        d.schedulerSet = true;
      } else this.fail(`Invalid lvs_scheduler '${w[1] ?? ''}' - ignoring`);
    });
    const method = on((d, w) => {
      const m = this.lvsMethod(w);
      if (m) {
        d.vs.forwardMethod = m.method;
        d.vs.tunnel = m.tunnel;
        d.methodSet = true;
      }
    });
    const entries: Array<[string, Keyword]> = [
      [
        'delay_loop',
        on((d, w) => {
          const v = readTimerMs(w[1], 0.000001, TIMER_MAX_S, this.fail);
          if (v === undefined) this.fail(`virtual server delay loop '${w[1] ?? ''}' invalid - ignoring`);
          else {
            d.vs.delayLoopMs = v;
            d.delayLoopSet = true;
          }
        }),
      ],
      ['lb_algo', sched],
      ['lvs_sched', sched],
      ['lb_kind', method],
      ['lvs_method', method],
      [
        'persistence_timeout',
        on((d, w) => {
          if (w[1] === undefined) d.vs.persistenceTimeout = 360;
          else {
            const v = readUnsigned(w[1], 1, 2678400, this.fail);
            if (v === undefined) this.fail(`persistence_timeout invalid`);
            else d.vs.persistenceTimeout = v;
          }
        }),
      ],
      ['persistence_granularity', on((d, w) => (d.vs.persistenceGranularity = w[1]))],
      ['persistence_engine', on((d, w) => (d.vs.persistenceEngine = w[1]))],
      [
        'protocol',
        on((d, w) => {
          const p = w[1];
          if (p === 'TCP' || p === 'UDP' || p === 'SCTP') {
            d.vs.protocol = p.toLowerCase() as VirtualServer['protocol'];
            d.protocolSet = true;
          } else this.fail(`Unknown protocol ${p ?? ''} - ignoring`);
        }),
      ],
      ['ops', set((vs) => (vs.ops = true))],
      ['flag-1', set((vs) => (vs.schedFlag1 = true))],
      ['flag-2', set((vs) => (vs.schedFlag2 = true))],
      ['flag-3', set((vs) => (vs.schedFlag3 = true))],
      ['sh-fallback', set((vs) => (vs.schedFlag1 = true))],
      ['sh-port', set((vs) => (vs.schedFlag2 = true))],
      ['mh-fallback', set((vs) => (vs.schedFlag1 = true))],
      ['mh-port', set((vs) => (vs.schedFlag2 = true))],
      // keepalived 2.2.7 (lbflags_handler) sets no flag for `hashed`, and refuses it unless lb_algo sh/mh came first.
      [
        'hashed',
        on((d, _w, at) => {
          if (d.vs.scheduler !== 'sh' && d.vs.scheduler !== 'mh') return this.fail('hashed only applies to sh scheduler - ignoring');
          this.engine.error('hashed has no effect: keepalived 2.2.7 sets no IPVS flag for it either', 'hashed', at, 'info');
        }),
      ],
      [
        'snmp_name',
        this.reported('lvskeeper has no SNMP agent', on((_d, w, at) => {
          if (w.length !== 2) return this.fail('virtual server snmp_name missing or extra parameters');
          this.engine.error(`snmp_name is not supported: lvskeeper has no SNMP agent, ${w[1]} is not used`, 'snmp_name', at, 'unsupported');
        })),
      ],
      [
        'sorry_server',
        on((d, w, at) => {
          const address = w[1];
          const family = address === undefined ? undefined : familyOf(address);
          if (address === undefined || family === undefined) return this.fail(`Invalid sorry_server address ${address ?? ''}`);
          let port = d.vs.key.kind === 'address' ? d.vs.key.port : 0;
          if (w[2] !== undefined) port = readUnsigned(w[2], 0, 65535, this.fail) ?? port;
          d.vs.sorryServer = { address, family, port, forwardMethod: d.vs.forwardMethod, inhibit: d.vs.sorryServer?.inhibit ?? false, location: at };
        }),
      ],
      [
        'sorry_server_inhibit',
        on((d, _w, at) => {
          if (d.vs.sorryServer) d.vs.sorryServer.inhibit = true;
          else d.earlySorryInhibit ??= at;
        }),
      ],
      [
        'sorry_server_lvs_method',
        on((d, w) => {
          const m = this.lvsMethod(w);
          if (m && d.vs.sorryServer) {
            d.vs.sorryServer.forwardMethod = m.method;
            d.vs.sorryServer.tunnel = m.tunnel;
          }
        }),
      ],
      ['quorum', on((d, w) => (d.vs.quorum = readUnsigned(w[1], 1, 2147483647, this.fail) ?? d.vs.quorum))],
      ['hysteresis', on((d, w) => (d.vs.hysteresis = readUnsigned(w[1], 0, 2147483647, this.fail) ?? d.vs.hysteresis))],
      ['quorum_up', on((d, w, at) => (d.vs.quorumUp = this.scriptCommand(w, at)))],
      ['quorum_down', on((d, w, at) => (d.vs.quorumDown = this.scriptCommand(w, at)))],
      ['alpha', set((vs) => (vs.alpha = true))],
      ['omega', set((vs) => (vs.omega = true))],
      ['ha_suspend', set((vs) => (vs.haSuspend = true))],
      ['inhibit_on_failure', on((d, w) => (d.vs.inhibitOnFailure = readFlag(w, this.fail)))],
      ['connect_timeout', on((d, w) => (d.vs.connectTimeoutMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, this.fail) ?? d.vs.connectTimeoutMs))],
      ['retry', on((d, w) => (d.vs.retry = readUnsigned(w[1], 0, 4294967295, this.fail) ?? d.vs.retry))],
      ['delay_before_retry', on((d, w) => (d.vs.delayBeforeRetryMs = readTimerMs(w[1], 0, TIMER_MAX_S, this.fail) ?? d.vs.delayBeforeRetryMs))],
      [
        'warmup',
        on((d, w) => {
          const v = readTimerMs(w[1], 0, TIMER_MAX_S, this.fail);
          if (v !== undefined) {
            d.vs.warmupMs = v;
            d.warmupSet = true;
          }
        }),
      ],
      ['weight', on((d, w) => (d.weight = readInt(w[1], 0, 2147483647, this.fail) ?? d.weight))],
      ['virtualhost', on((d, w) => (d.vs.virtualhost = w[1]))],
      ['smtp_alert', on((d, w) => (d.vs.smtpAlert = readFlag(w, this.fail)))],
      [
        'ip_family',
        on((d, w) => {
          if (w[1] === 'inet' || w[1] === 'inet6') d.vs.ipFamily = w[1];
          else this.fail(`Unknown address family ${w[1] ?? ''}`);
        }),
      ],
      ['real_server', { sub: this.rsTable(), handler: (w, at) => this.openRs(w, at), close: () => (this.rs = undefined) }],
    ];
    return Parser.table(entries);
  }

  private openRs(w: string[], at: SourceLocation): void {
    const vsd = this.vs;
    const address = w[1];
    const family = address === undefined ? undefined : familyOf(address);
    if (vsd === undefined || address === undefined || family === undefined) {
      if (vsd !== undefined) this.fail(`Invalid real server ip address/port ${address ?? ''} - skipping`);
      this.rs = undefined;
      this.engine.skipBlock();
      return;
    }
    let port = vsd.vs.key.kind === 'address' ? vsd.vs.key.port : 0;
    let portSet = false;
    if (w[2] !== undefined) {
      const p = readUnsigned(w[2], 0, 65535, this.fail);
      if (p === undefined) {
        this.rs = undefined;
        this.engine.skipBlock();
        return;
      }
      port = p;
      portSet = true;
    }
    const rs: RealServer = {
      location: at,
      address,
      family,
      port,
      weight: vsd.weight,
      forwardMethod: vsd.vs.forwardMethod,
      inhibitOnFailure: vsd.vs.inhibitOnFailure,
      upperThreshold: 0,
      lowerThreshold: 0,
      alpha: false,
      smtpAlert: true,
      delayLoopMs: 0,
      warmupMs: 0,
      checkers: [],
    };
    // Every field present from the start: one hidden class for all drafts keeps big configs fast.
    this.rs = {
      rs,
      portSet,
      delayLoopMs: undefined,
      connectTimeoutMs: undefined,
      retry: undefined,
      delayBeforeRetryMs: undefined,
      warmupMs: undefined,
      alpha: undefined,
      weightSet: false,
      methodSet: false,
      inhibitSet: false,
      checkers: [],
    };
    vsd.rs.push(this.rs);
  }

  private rsTable(): KeywordTable {
    const on = (fn: (d: RsDraft, w: string[], at: SourceLocation) => void): Keyword => ({
      handler: (w, at) => {
        if (this.rs) fn(this.rs, w, at);
      },
    });
    const entries: Array<[string, Keyword]> = [
      [
        'weight',
        on((d, w) => {
          const v = readInt(w[1], 0, 2147483647, this.fail);
          if (v !== undefined) {
            d.rs.weight = v;
            d.weightSet = true;
          }
        }),
      ],
      [
        'lvs_method',
        on((d, w) => {
          const m = this.lvsMethod(w);
          if (m) {
            d.rs.forwardMethod = m.method;
            d.rs.tunnel = m.tunnel;
            d.methodSet = true;
          }
        }),
      ],
      ['inhibit_on_failure', on((d, w) => ((d.rs.inhibitOnFailure = readFlag(w, this.fail)), (d.inhibitSet = true)))],
      ['notify_up', on((d, w, at) => (d.rs.notifyUp = this.scriptCommand(w, at)))],
      ['notify_down', on((d, w, at) => (d.rs.notifyDown = this.scriptCommand(w, at)))],
      ['uthreshold', on((d, w) => (d.rs.upperThreshold = readUnsigned(w[1], 0, 4294967295, this.fail) ?? 0))],
      ['lthreshold', on((d, w) => (d.rs.lowerThreshold = readUnsigned(w[1], 0, 4294967295, this.fail) ?? 0))],
      ['virtualhost', on((d, w) => (d.rs.virtualhost = w[1]))],
      ['alpha', on((d, w) => (d.alpha = readFlag(w, this.fail)))],
      ['smtp_alert', on((d, w) => (d.smtpAlert = readFlag(w, this.fail)))],
      ['delay_loop', on((d, w) => (d.delayLoopMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, this.fail) ?? d.delayLoopMs))],
      ['connect_timeout', on((d, w) => (d.connectTimeoutMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, this.fail) ?? d.connectTimeoutMs))],
      ['retry', on((d, w) => (d.retry = readUnsigned(w[1], 0, 4294967295, this.fail) ?? d.retry))],
      ['delay_before_retry', on((d, w) => (d.delayBeforeRetryMs = readTimerMs(w[1], 0, TIMER_MAX_S, this.fail) ?? d.delayBeforeRetryMs))],
      ['warmup', on((d, w) => (d.warmupMs = readTimerMs(w[1], 0, TIMER_MAX_S, this.fail) ?? d.warmupMs))],
    ];
    for (const kind of ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'SMTP_CHECK', 'DNS_CHECK', 'MISC_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'] as const) {
      const checker: Keyword = { sub: this.checkerTable(kind), handler: (w, at) => this.openChecker(kind, w, at), close: () => this.closeChecker() };
      if (kind === 'BFD_CHECK') checker.status = { kind: 'warns', why: 'lvskeeper has no BFD: the real server does not follow a BFD session' };
      entries.push([kind, checker]);
    }
    return Parser.table(entries);
  }

  // -------------------------------------------------------------------------------------------
  // checkers

  private openChecker(kind: CheckerKind, w: string[], at: SourceLocation): void {
    if (this.rs === undefined) {
      this.check = undefined;
      return;
    }
    const common = {
      location: at,
      connectIp: undefined,
      connectPort: undefined,
      bindTo: undefined,
      bindIf: undefined,
      bindPort: undefined,
      fwmark: undefined,
      connectTimeoutMs: 0,
      retry: 0,
      delayBeforeRetryMs: 0,
      warmupMs: 0,
      delayLoopMs: 0,
      alpha: false,
      logAllFailures: this.config.global.checkerLogAllFailures,
    };
    let checker: Checker;
    switch (kind) {
      case 'HTTP_GET':
      case 'SSL_GET':
        checker = { ...common, kind, urls: [], fastRecovery: false, enableSni: false };
        break;
      case 'SMTP_CHECK':
        checker = { ...common, kind, heloName: 'localhost', hosts: [] };
        break;
      case 'DNS_CHECK':
        checker = { ...common, kind, type: 'SOA', name: '.' };
        break;
      case 'MISC_CHECK':
        checker = { ...common, kind, path: '', timeoutMs: 0, dynamic: false };
        break;
      case 'UDP_CHECK':
        checker = { ...common, kind, requireReply: false, minReplyLength: 0, maxReplyLength: 255 };
        break;
      case 'FILE_CHECK':
        checker = { ...common, kind, trackFile: '', weightReverse: false };
        break;
      case 'BFD_CHECK':
        checker = { ...common, kind, name: w[1] ?? '' };
        break;
      default:
        // TCP_CHECK dominates big farms: a plain literal (not a spread) keeps one fast object shape.
        checker = {
          kind,
          location: at,
          connectIp: undefined,
          connectPort: undefined,
          bindTo: undefined,
          bindIf: undefined,
          bindPort: undefined,
          fwmark: undefined,
          connectTimeoutMs: 0,
          retry: 0,
          delayBeforeRetryMs: 0,
          warmupMs: 0,
          delayLoopMs: 0,
          alpha: false,
          logAllFailures: this.config.global.checkerLogAllFailures,
        };
    }
    this.check = {
      checker,
      connectTimeoutMs: undefined,
      retry: undefined,
      delayBeforeRetryMs: undefined,
      warmupMs: undefined,
      delayLoopMs: undefined,
      alpha: undefined,
      miscTimeoutMs: undefined,
    };
  }

  private closeChecker(): void {
    const c = this.check;
    this.check = undefined;
    if (c === undefined || this.rs === undefined) return;
    const ch = c.checker;
    if (ch.kind === 'MISC_CHECK' && ch.path === '') {
      this.engine.error('MISC_CHECK with no misc_path - ignoring', undefined, ch.location);
      return;
    }
    if (ch.kind === 'FILE_CHECK' && ch.trackFile === '') {
      this.engine.error('FILE_CHECK has no track_file specified - ignoring');
      return;
    }
    this.rs.checkers.push(c);
  }

  private checkerTable(kind: CheckerKind): KeywordTable {
    const on = (fn: (d: CheckerDraft, w: string[], at: SourceLocation) => void): Keyword => ({
      handler: (w, at) => {
        if (this.check) fn(this.check, w, at);
      },
    });
    const timer = (min: number, fn: (d: CheckerDraft, ms: number) => void): Keyword =>
      on((d, w) => {
        const v = readTimerMs(w[1], min, TIMER_MAX_S, this.fail);
        if (v !== undefined) fn(d, v);
      });
    const retry = on((d, w) => (d.retry = readUnsigned(w[1], 0, 4294967295, this.fail) ?? d.retry));
    const entries: Array<[string, Keyword]> = [];
    if (kind !== 'MISC_CHECK' && kind !== 'FILE_CHECK') {
      entries.push(
        ['connect_ip', on((d, w) => (familyOf(w[1] ?? '') ? (d.checker.connectIp = w[1]) : this.fail(`Invalid connect_ip ${w[1] ?? ''}`)))],
        ['connect_port', on((d, w) => (d.checker.connectPort = readUnsigned(w[1], 0, 65535, this.fail) ?? d.checker.connectPort))],
        ['bindto', on((d, w) => (familyOf(w[1] ?? '') ? (d.checker.bindTo = w[1]) : this.fail(`Invalid bindto ${w[1] ?? ''}`)))],
        ['bind_if', on((d, w) => (d.checker.bindIf = w[1]))],
        ['bind_port', on((d, w) => (d.checker.bindPort = readUnsigned(w[1], 0, 65535, this.fail) ?? d.checker.bindPort))],
        ['fwmark', on((d, w) => (d.checker.fwmark = readUnsigned(w[1], 0, 4294967295, this.fail) ?? d.checker.fwmark))],
        ['connect_timeout', timer(0.000001, (d, v) => (d.connectTimeoutMs = v))],
      );
    }
    entries.push(
      ['retry', retry],
      ['delay_before_retry', timer(0, (d, v) => (d.delayBeforeRetryMs = v))],
      ['warmup', timer(0, (d, v) => (d.warmupMs = v))],
      ['delay_loop', timer(0.000001, (d, v) => (d.delayLoopMs = v))],
      ['alpha', on((d, w) => (d.alpha = readFlag(w, this.fail)))],
      ['log_all_failures', on((d, w) => (d.checker.logAllFailures = readFlag(w, this.fail)))],
    );
    const http = (fn: (c: Extract<Checker, { kind: 'HTTP_GET' | 'SSL_GET' }>, w: string[], at: SourceLocation) => void): Keyword =>
      on((d, w, at) => {
        if (d.checker.kind === 'HTTP_GET' || d.checker.kind === 'SSL_GET') fn(d.checker, w, at);
      });
    switch (kind) {
      case 'HTTP_GET':
      case 'SSL_GET':
        entries.push(
          [
            'url',
            {
              sub: this.urlTable(),
              handler: (_w, at) => {
                this.url = { path: '', statusCodes: [], regexNoMatch: false, location: at };
              },
              close: () => {
                const c = this.check?.checker;
                const u = this.url;
                this.url = undefined;
                if (!u || !c || (c.kind !== 'HTTP_GET' && c.kind !== 'SSL_GET')) return;
                if (u.path === '') {
                  this.engine.error('Url has no path - ignoring', undefined, u.location);
                  return;
                }
                if (u.statusCodes.length === 0) u.statusCodes.push([200, 299]);
                // keepalived url_check(): regex settings without a regex, and crossed offsets, are dropped.
                if (u.regex === undefined && (u.regexFlags || u.regexNoMatch || u.regexMinOffset !== undefined || u.regexMaxOffset !== undefined)) {
                  this.engine.warn('regex parameters specified without regex', undefined, u.location);
                  u.regexFlags = u.regexMinOffset = u.regexMaxOffset = undefined;
                  u.regexNoMatch = false;
                }
                if (u.regexMaxOffset !== undefined && (u.regexMinOffset ?? 0) > u.regexMaxOffset) {
                  this.engine.warn(`regex min offset ${u.regexMinOffset ?? 0} > regex_max_offset ${u.regexMaxOffset} - ignoring`, undefined, u.location);
                  u.regexMinOffset = u.regexMaxOffset = undefined;
                }
                c.urls.push(u);
              },
            },
          ],
          ['http_protocol', http((c, w) => (c.httpProtocol = w[1]))],
          ['virtualhost', http((c, w) => (c.virtualhost = w[1]))],
          ['fast_recovery', http((c, w) => (c.fastRecovery = readFlag(w, this.fail)))],
          [
            'nb_get_retry',
            on((d, w) => {
              this.fail("nb_get_retry is deprecated - please use 'retry'");
              d.retry = readUnsigned(w[1], 0, 4294967295, this.fail) ?? d.retry;
            }),
          ],
        );
        if (kind === 'SSL_GET') {
          entries.push(
            ['enable_sni', http((c, w) => (c.enableSni = readFlag(w, this.fail)))],
            ['sni_name', this.extension('the name sent as SNI (else the virtualhost)', http((c, w) => ((c.sniName = w[1]), (c.enableSni = true))))],
          );
        }
        break;
      case 'SMTP_CHECK':
        entries.push(
          ['helo_name', on((d, w) => d.checker.kind === 'SMTP_CHECK' && w[1] !== undefined && (d.checker.heloName = w[1]))],
          [
            'host',
            {
              sub: this.smtpHostTable(),
              handler: (_w, at) => (this.smtpHost = { location: at }),
              close: () => {
                const c = this.check?.checker;
                if (this.smtpHost && c?.kind === 'SMTP_CHECK') c.hosts.push(this.smtpHost);
                this.smtpHost = undefined;
              },
            },
          ],
        );
        break;
      case 'DNS_CHECK':
        entries.push(
          ['type', on((d, w) => d.checker.kind === 'DNS_CHECK' && (d.checker.type = w[1] ?? 'SOA'))],
          ['name', on((d, w) => d.checker.kind === 'DNS_CHECK' && (d.checker.name = w[1] ?? '.'))],
        );
        break;
      case 'MISC_CHECK':
        entries.push(
          [
            'misc_path',
            on((d, w) => {
              if (d.checker.kind !== 'MISC_CHECK' || w[1] === undefined) return;
              d.checker.path = w.slice(1).join(' ');
              this.config.scriptCount++;
            }),
          ],
          ['misc_timeout', timer(0.000001, (d, v) => (d.miscTimeoutMs = v))],
          ['misc_dynamic', on((d) => d.checker.kind === 'MISC_CHECK' && (d.checker.dynamic = true))],
          [
            'user',
            on((d, w) => {
              if (d.checker.kind !== 'MISC_CHECK' || w[1] === undefined) return;
              const [u, gr] = w[1].includes(':') ? w[1].split(':', 2) : [w[1], w[2]];
              d.checker.user = u;
              if (gr !== undefined) d.checker.group = gr;
            }),
          ],
        );
        break;
      case 'UDP_CHECK':
        entries.push(
          ['payload', on((d, w) => d.checker.kind === 'UDP_CHECK' && (d.checker.payload = w.slice(1).join('')))],
          [
            'require_reply',
            on((d, w) => {
              if (d.checker.kind !== 'UDP_CHECK') return;
              d.checker.requireReply = true;
              if (w[1] !== undefined) d.checker.requireReplyPattern = w.slice(1).join('');
            }),
          ],
          ['min_reply_length', on((d, w) => d.checker.kind === 'UDP_CHECK' && (d.checker.minReplyLength = readUnsigned(w[1], 0, 65535, this.fail) ?? 0))],
          ['max_reply_length', on((d, w) => d.checker.kind === 'UDP_CHECK' && (d.checker.maxReplyLength = readUnsigned(w[1], 0, 65535, this.fail) ?? 255))],
        );
        break;
      case 'FILE_CHECK':
        entries.push(
          [
            'track_file',
            on((d, w) => {
              if (d.checker.kind !== 'FILE_CHECK') return;
              // keepalived resolves the name when it reads it: the track_file must be defined above.
              if (this.config.trackFiles.some((t) => t.name === w[1])) d.checker.trackFile = w[1]!;
              else this.fail(`track_file ${w[1] ?? ''} not found`);
            }),
          ],
          [
            'weight',
            on((d, w) => {
              if (d.checker.kind !== 'FILE_CHECK') return;
              d.checker.weight = readInt(w[1], -254, 254, this.fail);
              if (w[2] === 'reverse') d.checker.weightReverse = true;
            }),
          ],
        );
        break;
      case 'BFD_CHECK':
        // keepalived 2.2.7 check_bfd.c: `name` and `alpha` only.
        entries.push(['alpha', this.warns('lvskeeper has no BFD')], ['name', on((d, w) => d.checker.kind === 'BFD_CHECK' && (d.checker.name = w[1] ?? ''))]);
        break;
      default:
        break;
    }
    return Parser.table(entries);
  }

  /** keepalived check_http.c regex_offset_handler (its messages; a bad value leaves the offset unset). */
  private regexOffset(w: string[], type: 'min' | 'max'): number | undefined {
    if (w.length !== 2) {
      this.engine.warn(`Missing or too may options for regex_${type}_offset`);
      return undefined;
    }
    if (!/^\d+$/.test(w[1]!) || !Number.isSafeInteger(Number(w[1]))) {
      this.engine.warn(`Invalid regex_${type}_offset ${w[1]!} specified`);
      return undefined;
    }
    return Number(w[1]);
  }

  private urlTable(): KeywordTable {
    const on = (fn: (u: HttpUrl, w: string[]) => void): Keyword => ({
      handler: (w) => {
        if (this.url) fn(this.url, w);
      },
    });
    return Parser.table([
      ['path', on((u, w) => (u.path = w[1] ?? ''))],
      ['digest', on((u, w) => (u.digest = w[1]))],
      [
        'status_code',
        on((u, w) => {
          for (const spec of w.slice(1)) {
            const m = /^(\d{3})(?:-(\d{3}))?$/.exec(spec);
            if (!m) {
              this.fail(`Invalid HTTP_GET status code '${spec}'`);
              continue;
            }
            const lo = Number(m[1]);
            const hi = m[2] === undefined ? lo : Number(m[2]);
            if (lo < 100 || hi > 599 || hi < lo) this.fail(`HTTP status code ${spec} out of range`);
            else u.statusCodes.push([lo, hi]);
          }
        }),
      ],
      ['virtualhost', on((u, w) => (u.virtualhost = w[1]))],
      ['regex', on((u, w) => (u.regex = w.slice(1).join(' ')))],
      ['regex_no_match', on((u) => (u.regexNoMatch = true))],
      [
        'regex_options',
        on((u, w) => {
          // keepalived ORs every line's options into the url's; each has a JS flag, is moot, or is reported.
          const { flags, unsupported } = regexOptionFlags(w.slice(1));
          u.regexFlags = [...new Set((u.regexFlags ?? '') + flags)].sort().join('');
          for (const m of unsupported) this.engine.warn(m, 'regex_options');
        }),
      ],
      ['regex_stack', this.warns('JavaScript regexes have no stack size to set')],
      ['regex_min_offset', on((u, w) => (u.regexMinOffset = this.regexOffset(w, 'min')))],
      ['regex_max_offset', on((u, w) => (u.regexMaxOffset = this.regexOffset(w, 'max')))],
    ]);
  }

  private smtpHostTable(): KeywordTable {
    const on = (fn: (h: SmtpHost, w: string[]) => void): Keyword => ({
      handler: (w) => {
        if (this.smtpHost) fn(this.smtpHost, w);
      },
    });
    return Parser.table([
      ['connect_ip', on((h, w) => (h.connectIp = w[1]))],
      ['connect_port', on((h, w) => (h.connectPort = readUnsigned(w[1], 0, 65535, this.fail)))],
      ['bindto', on((h, w) => (h.bindTo = w[1]))],
      ['bind_if', on((h, w) => (h.bindIf = w[1]))],
      ['bind_port', on((h, w) => (h.bindPort = readUnsigned(w[1], 0, 65535, this.fail)))],
      [
        'connect_timeout',
        on((h, w) => {
          const v = readTimerMs(w[1], 0.000001, TIMER_MAX_S, this.fail);
          if (v !== undefined) h.connectTimeoutMs = v;
        }),
      ],
      ['fwmark', on((h, w) => (h.fwmark = readUnsigned(w[1], 0, 4294967295, this.fail) ?? h.fwmark))],
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // completion: check_data.c validation and VS → RS → checker inheritance

  /** Virtual servers naming a group that was never defined are dropped (checked once all groups are read). */
  private completeLvs(): void {
    const groups = new Set(this.config.virtualServerGroups.map((g) => g.name));
    this.config.virtualServers = this.config.virtualServers.filter((vs) => {
      if (vs.key.kind !== 'group' || groups.has(vs.key.group)) return true;
      this.engine.error(`Virtual server group ${vs.key.group} specified but not configured - ignoring virtual server`, undefined, vs.location);
      return false;
    });
  }

  /** check_data.c's validation of one virtual server, and VS → RS → checker inheritance. */
  private completeVs(d: VsDraft): void {
    {
      const vs = d.vs;
      const at = vs.location;
      const err = (m: string): void => this.engine.error(m, undefined, at);
      // keepalived check_data.c: unset → smtp_alert_checker, else smtp_alert, else off.
      vs.smtpAlert ??= this.config.global.smtpAlertChecker ?? this.config.global.smtpAlert ?? false;
      const key = vs.key;
      const isFwmark = key.kind === 'fwmark';
      let name = this.vsName(vs, d.protocolSet ? vs.protocol : 'none');
      if (isFwmark) {
        if (d.protocolSet) err(`Warning: Virtual server ${name}: protocol specified for fwmark - protocol will be ignored`);
        vs.protocol = 'tcp';
      } else if (!d.protocolSet) {
        err(`Virtual server ${name}: no protocol set - defaulting to UDP`);
        vs.protocol = 'udp';
      }
      name = this.vsName(vs, vs.protocol);
      if (!d.schedulerSet) err(`Virtual server ${name}: no scheduler set, setting default 'wlc'`);
      if (!d.methodSet) err(`Virtual server ${name}: no forwarding method set, setting default NAT`);
      if (key.kind === 'address' && key.port === 0 && vs.persistenceTimeout === undefined) {
        err(`Virtual server ${name}: zero port only valid for persistent services - setting`);
        vs.persistenceTimeout = 360;
      }
      if (vs.haSuspend && isFwmark) {
        err(`Virtual server ${name}: ha_suspend is not valid with fwmark - ignoring`);
        vs.haSuspend = false;
      }
      if (!d.warmupSet) vs.warmupMs = vs.delayLoopMs;

      const seen = new Set<string>();
      for (const rd of d.rs) {
        const rs = rd.rs;
        const rsKey = `${rs.address}/${rs.port}`;
        const rsName = (): string => `[${rs.address}]:${vs.protocol}:${rs.port}`;
        if (seen.has(rsKey)) {
          this.engine.error(`VS ${name}: real server ${rsName()} is duplicated - removing second rs`, undefined, rs.location);
          continue;
        }
        seen.add(rsKey);
        if (!rd.methodSet) {
          rs.forwardMethod = vs.forwardMethod;
          rs.tunnel = vs.tunnel;
        }
        // VS-level `weight` / `inhibit_on_failure` may follow the real_server blocks.
        if (!rd.weightSet) rs.weight = d.weight;
        if (!rd.inhibitSet) rs.inhibitOnFailure = vs.inhibitOnFailure;
        if ((rs.forwardMethod === 'route' || rs.forwardMethod === 'tunnel') && key.kind === 'address' && rd.portSet && rs.port !== key.port) {
          this.engine.error(`WARNING - virtual server ${name} and real server ${rsName()} ports don't match - resetting`, undefined, rs.location);
          rs.port = key.port;
        }
        rs.alpha = rd.alpha ?? vs.alpha;
        // keepalived check_data.c: unset → smtp_alert_checker, else smtp_alert, else on (unlike the others).
        rs.smtpAlert = rd.smtpAlert ?? this.config.global.smtpAlertChecker ?? this.config.global.smtpAlert ?? true;
        rs.delayLoopMs = rd.delayLoopMs ?? vs.delayLoopMs;
        rs.warmupMs = rd.warmupMs ?? (d.warmupSet ? vs.warmupMs : rs.delayLoopMs);
        for (const cd of rd.checkers) {
          const c = cd.checker;
          const def = CHECKER_DEFAULTS[c.kind];
          c.delayLoopMs = cd.delayLoopMs ?? rs.delayLoopMs;
          c.connectTimeoutMs = cd.connectTimeoutMs ?? rd.connectTimeoutMs ?? vs.connectTimeoutMs;
          // keepalived smtp_check_end_handler: a host{} without connect_timeout takes the RS's, else the VS's.
          if (c.kind === 'SMTP_CHECK') for (const h of c.hosts) h.connectTimeoutMs ??= rd.connectTimeoutMs ?? vs.connectTimeoutMs;
          c.retry = cd.retry ?? rd.retry ?? vs.retry ?? def.retry;
          c.delayBeforeRetryMs = cd.delayBeforeRetryMs ?? rd.delayBeforeRetryMs ?? vs.delayBeforeRetryMs ?? def.delayBeforeRetryMs;
          c.warmupMs = cd.warmupMs ?? rd.warmupMs ?? (d.warmupSet ? vs.warmupMs : c.delayLoopMs);
          c.alpha = cd.alpha ?? rs.alpha;
          if (c.kind !== 'MISC_CHECK' && c.kind !== 'FILE_CHECK' && c.kind !== 'BFD_CHECK' && c.kind !== 'PING_CHECK') {
            c.connectPort ??= rs.port;
          }
          if (c.kind === 'MISC_CHECK') c.timeoutMs = cd.miscTimeoutMs ?? c.delayLoopMs;
          if ((c.kind === 'HTTP_GET' || c.kind === 'SSL_GET') && c.urls.length === 0) {
            this.engine.error(`${c.kind} has no url - checker will always fail`, undefined, c.location, 'warning');
          }
          rs.checkers.push(c);
        }
        vs.realServers.push(rs);
      }
      if (vs.realServers.length === 0 && vs.sorryServer === undefined) {
        err(`Virtual server ${name} has no real servers - ignoring`);
        return;
      }
      const totalWeight = vs.realServers.reduce((s, r) => s + r.weight, 0);
      if (vs.quorum > totalWeight && vs.realServers.length > 0) {
        vs.quorum = Math.max(1, totalWeight);
      }
      if (vs.hysteresis >= vs.quorum) vs.hysteresis = vs.quorum - 1;
      this.config.virtualServers.push(vs);
    }
  }

  private vsName(vs: VirtualServer, protocol: string): string {
    const k = vs.key;
    if (k.kind === 'fwmark') return `FWM ${k.fwmark}`;
    if (k.kind === 'group') return `[${k.group}]:${protocol}`;
    return `[${k.address}]:${protocol}:${k.port}`;
  }

  // -------------------------------------------------------------------------------------------
  // script security (keepalived -t exit 6)

  private checkScriptSecurity(): boolean {
    const checks = this.options.scriptChecks;
    if (checks === undefined) return false;
    const g = this.config.global;
    const keepalivedScriptExists = checks.userExists('keepalived_script');
    // vrrp_script commands that cannot be found are disabled (a config error in 2.2.7).
    const usable: Array<{ command: string; user?: string | undefined; at: SourceLocation }> = [];
    this.config.vrrpScripts = this.config.vrrpScripts.filter((s) => {
      if (g.enableScriptSecurity && s.user === undefined && g.scriptUser === undefined && !keepalivedScriptExists) {
        this.engine.error('Unable to set default user keepalived_script for script', undefined, s.location);
        this.engine.error(`Unable to set default user for vrrp script ${s.name} - removing`, undefined, s.location);
        return false;
      }
      if (!checks.scriptExists(s.script)) {
        this.engine.error(`Disabling track script ${s.name} since not found/accessible`, undefined, s.location);
        return false;
      }
      usable.push({ command: s.script, user: s.user, at: s.location });
      return true;
    });
    const names = new Set(this.config.vrrpScripts.map((s) => s.name));
    for (const vi of this.config.vrrpInstances) {
      vi.trackScripts = vi.trackScripts.filter((t) => {
        if (names.has(t.name)) return true;
        this.engine.error(`(${vi.name}) track script ${t.name} not found, ignoring...`, undefined, t.location);
        return false;
      });
    }
    const others: ScriptCommand[] = [];
    const addNotify = (n: NotifyScripts): void => {
      for (const s of Object.values(n)) if (s) others.push(s);
    };
    for (const vi of this.config.vrrpInstances) addNotify(vi.notify);
    for (const sg of this.config.vrrpSyncGroups) addNotify(sg.notify);
    for (const vs of this.config.virtualServers) {
      if (vs.quorumUp) others.push(vs.quorumUp);
      if (vs.quorumDown) others.push(vs.quorumDown);
      for (const rs of vs.realServers) {
        if (rs.notifyUp) others.push(rs.notifyUp);
        if (rs.notifyDown) others.push(rs.notifyDown);
        for (const c of rs.checkers) if (c.kind === 'MISC_CHECK') others.push({ command: c.path, user: c.user, location: c.location });
      }
    }
    for (const f of [g.notifyFifo, g.vrrpNotifyFifo, g.lvsNotifyFifo]) if (f?.script) others.push(f.script);
    for (const s of others) if (checks.scriptExists(s.command)) usable.push({ command: s.command, user: s.user, at: s.location });
    if (g.enableScriptSecurity || usable.length === 0) return false;
    const defaultUser = g.scriptUser?.user ?? (keepalivedScriptExists ? 'keepalived_script' : 'root');
    const asRoot = usable.some((s) => (s.user ?? defaultUser) === 'root');
    if (!asRoot) return false;
    const first = usable[0]!;
    this.diagnostics.push({
      severity: 'error',
      file: first.at.file,
      line: first.at.line,
      message: 'SECURITY VIOLATION - scripts are being executed but script_security not enabled.',
      keyword: 'enable_script_security',
    });
    return true;
  }
}

export type { FileAccess };
