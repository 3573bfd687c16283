// The state every domain parser shares: the config being built, diagnostics, the keyword engine, the
// block being read (drafts), and the helpers keepalived's parsers share (report_config_error, …).

import type {
  Checker,
  Config,
  Diagnostic,
  GlobalDefs,
  HttpUrl,
  ParseOptions,
  ParseResult,
  RealServer,
  ScriptCommand,
  SmtpHost,
  SourceLocation,
  TrackFile,
  VirtualServer,
  VrrpInstance,
  VrrpScript,
  VrrpSyncGroup,
  VrrpTrackProcess,
} from '../model.js';
import { Engine, type Keyword, type KeywordTable } from '../engine.js';
import { LineReader, type FileAccess } from '../reader.js';
import { nodeFileAccess, nodeInterfaceExists, shortHostname } from '../node-io.js';
import type { RouteParseContext } from '../routes.js';

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

/** Longest diagnostic message: about a line's worth (keepalived's MAXBUF is 1024). */
export const MAX_DIAGNOSTIC_CHARS = 1024;

// ---------------------------------------------------------------------------------------------
// Drafts: the model object plus what was explicitly configured, for default resolution.

export interface InstanceDraft {
  vi: VrrpInstance;
  /** `vmac_xmit_base`, which may come before `use_vmac`. */
  vmacXmitBase?: boolean;
  /** `native_ipv6`: an IPv6 (VRRPv3) instance whatever its addresses. */
  nativeIpv6?: boolean;
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

export interface VsDraft {
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

export interface RsDraft {
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

export interface CheckerDraft {
  checker: Checker;
  connectTimeoutMs?: number;
  retry?: number;
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  delayLoopMs?: number;
  alpha?: boolean;
  miscTimeoutMs?: number;
}

export function table(entries: Array<[string, Keyword]>): KeywordTable {
  return new Map(entries);
}

/** keepalived's defaults for global_defs (global_data.c). */
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

export function emptyConfig(file: string, hostname: string): Config {
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

export class ParseContext {
  readonly diagnostics: Diagnostic[] = [];
  readonly config: Config;
  readonly engine: Engine;
  readonly reader: LineReader;
  readonly hostname: string;
  // global_defs / vrrp
  readonly instances: InstanceDraft[] = [];
  /** global_defs keywords given explicitly (their instance-level defaults differ otherwise). */
  readonly globalSet = new Set<string>();
  readonly scriptLocations = new Map<VrrpScript, boolean>();
  inst: InstanceDraft | undefined;
  script: VrrpScript | undefined;
  scriptHasCommand = false;
  trackFile: TrackFile | undefined;
  trackProcess: VrrpTrackProcess | undefined;
  sync: VrrpSyncGroup | undefined;
  /** Sync groups with their own smtp_alert (the others take the global default at the end). */
  readonly syncSmtpAlertSet = new WeakSet<VrrpSyncGroup>();
  // lvs
  vs: VsDraft | undefined;
  rs: RsDraft | undefined;
  check: CheckerDraft | undefined;
  url: HttpUrl | undefined;
  smtpHost: SmtpHost | undefined;
  missingInterfaceAt: SourceLocation | undefined;
  /** Routes and rules (config/routes.ts): rule preferences are numbered across the whole configuration. */
  routeCtx: RouteParseContext | undefined;

  constructor(
    readonly path: string,
    readonly options: FullParseOptions,
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

  readonly fail = (message: string): void => {
    if (message === 'missing number') {
      // keepalived's null_strvec() wording (it then aborts; we report and carry on).
      const w = this.engine.currentWords;
      const first = w[0] ?? '';
      const last = w[w.length - 1] ?? first;
      message = `*** Configuration line starting \`${first}\` is missing a parameter after keyword \`${last}\` at word position ${w.length + 1}`;
    }
    this.engine.error(message);
  };

  interfaceMissing(name: string, message: string, at: SourceLocation): void {
    if (!this.options.checkInterfaces) return;
    const exists = this.options.interfaceExists ?? nodeInterfaceExists;
    if (exists(name)) return;
    this.engine.error(message, undefined, at);
    this.missingInterfaceAt ??= at;
  }

  scriptCommand(words: string[], at: SourceLocation): ScriptCommand | undefined {
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

  // Keyword statuses (docs/KEYWORDS.md is generated from them).

  /** A keyword keepalived knows that lvskeeper accepts and does not act on: each use is reported. */
  warns(why: string): Keyword {
    return { status: { kind: 'warns', why } };
  }

  /** The same for a value block (`track_bfd { … }`): its lines are consumed, the keyword reported once. */
  warnsValueBlock(why: string): Keyword {
    return { status: { kind: 'warns', why }, handler: (w) => this.engine.valueBlock(w, () => undefined) };
  }

  /**
   * The same for a keyword block (`bfd_instance NAME { … }`): the block is skipped, reported once. Its
   * keywords (keepalived's) are listed for the keyword catalogue only: a skipped block never reads them.
   */
  warnsBlock(why: string, keywords: readonly string[] = []): Keyword {
    const kw: Keyword = { status: { kind: 'warns', why }, handler: () => this.engine.skipBlock() };
    if (keywords.length > 0) kw.sub = table(keywords.map((k) => [k, { status: { kind: 'warns', why: 'its block is skipped' } }]));
    return kw;
  }

  /** A keyword whose handler reports its own (value-quoting) message about what lvskeeper does instead. */
  reported(why: string, kw: Keyword): Keyword {
    return { ...kw, status: { kind: 'warns', why, reportedByHandler: true } };
  }

  /** lvskeeper's own keyword (keepalived 2.2.7 reports it as unknown and goes on). */
  extension(what: string, kw: Keyword): Keyword {
    return { ...kw, status: { kind: 'extension', why: what } };
  }

  /** A keyword whose absence would change safety: an error until lvskeeper implements it. */
  refuses(why: string, block = false): Keyword {
    return { status: { kind: 'refuses', why }, ...(block ? { handler: () => this.engine.skipBlock() } : {}) };
  }
}

export type CheckerFn = (d: CheckerDraft, w: string[], at: SourceLocation) => void;

/** A keyword of a checker block, applied to the checker being read (none after a skipped real_server). */
export function checkerKeyword(ctx: ParseContext, fn: CheckerFn): Keyword {
  return {
    handler: (w, at) => {
      if (ctx.check) fn(ctx.check, w, at);
    },
  };
}
