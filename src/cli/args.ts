// `lvskeeper` command line: keepalived(8) 2.2.7's options (same short and long names), the
// `-t` config test and `-d` dump. Kept free of the daemon's imports so `-t` starts fast: the
// daemon (pino, raw sockets, netlink) is loaded by dynamic import only in run mode.

import { readFileSync, writeFileSync } from 'node:fs';
import type { DaemonOptions } from '../daemon/options.js';
import { parseConfig } from '../config/parse.js';
import { renderConfigJson } from '../config/json.js';
import { nodeUserExists, shortHostname } from '../config/node-io.js';
import type { Config, Diagnostic } from '../config/model.js';
import { scriptLineExists, type ScriptPreparer } from '../scripts/script-security.js';
import { signumFor, unknownSigfuncMessage } from '../daemon/process/signals.js';
import { DEFAULT_CHECKERS_PID_FILE, DEFAULT_PID_FILE, DEFAULT_VRRP_PID_FILE } from '../daemon/process/pidfile.js';
import { parseListen } from '../daemon/listen-address.js';
import { enterNamespace, pidFilesFor } from '../daemon/namespace.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Injectable for tests; default: /sys/class/net lookup. */
  interfaceExists?: (name: string) => boolean;
  scriptExists?: (command: string) => boolean;
  userExists?: (name: string) => boolean;
  /** Injectable for tests; default: the daemon's ScriptPreparer for the file's global_defs. */
  scriptPreparer?: (config: Config) => Pick<ScriptPreparer, 'prepare'>;
  /** Injectable for tests; default: dynamic import of ../daemon/run.js. */
  runDaemon?: (options: DaemonOptions) => Promise<number>;
  /** Injectable for tests; default: setns into /run/netns/NAME. Returns a problem, or undefined once inside. */
  enterNamespace?: (name: string) => string | undefined;
}

/** keepalived -t exit codes (KEEPALIVED_EXIT_* as 2.2.7 behaves). */
export const EXIT_OK = 0;
export const EXIT_USAGE = 2;
export const EXIT_CANNOT_RUN = 4;
export const EXIT_CONFIG_ERRORS = 5;
export const EXIT_SCRIPT_SECURITY = 6;


const DEFAULT_CONFIG = '/etc/keepalived/keepalived.conf';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * getopt treats `-t`'s argument as optional (`--config-test=FILE` / `-t=FILE` only), so a plain
 * `-t` never swallows the next word. yargs cannot express that; split it out beforehand.
 */
function splitConfigTest(argv: string[]): { argv: string[]; testLog?: string | undefined; test: boolean } {
  const out: string[] = [];
  let test = false;
  let testLog: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '-t' || a === '--config-test') test = true;
    else if (a.startsWith('--config-test=')) {
      test = true;
      testLog = a.slice('--config-test='.length);
    } else if (a.startsWith('-t=')) {
      test = true;
      testLog = a.slice(3);
    } else out.push(a);
  }
  return { argv: out, testLog, test };
}

export function formatDiagnostic(d: Diagnostic): string {
  const prefix = d.severity === 'info' ? 'note: ' : d.severity === 'unsupported' ? 'WARNING: ' : '';
  return `${d.file}:${d.line}: ${prefix}${d.message}`;
}

/**
 * The hot `-t` / `-d` paths take only a handful of options; recognise exactly those without
 * loading yargs (whose start-up costs as much as parsing a mid-size config). Anything else, or
 * anything unusual, goes through yargs.
 */
function fastArgs(argv: string[]): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = {};
  const valued: Record<string, string> = { '-f': 'use-file', '--use-file': 'use-file', '-i': 'config-id', '--config-id': 'config-id' };
  const flags: Record<string, string> = { '-e': 'all-config', '--all-config': 'all-config', '-d': 'dump-conf', '--dump-conf': 'dump-conf', '-l': 'log-console', '--log-console': 'log-console', '-n': 'dont-fork', '--dont-fork': 'dont-fork', '-D': 'log-detail', '--log-detail': 'log-detail' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const flag = flags[a];
    if (flag !== undefined) {
      args[flag] = true;
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const key = valued[name];
    if (key === undefined) return undefined;
    const value = name !== a ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value.startsWith('-') || key in args) return undefined;
    args[key] = value;
  }
  args['use-file'] ??= DEFAULT_CONFIG;
  return args;
}

export async function runCli(rawArgv: string[], io: CliIo): Promise<number> {
  const split = splitConfigTest(rawArgv);
  const fast = split.test || split.argv.includes('-d') || split.argv.includes('--dump-conf') ? fastArgs(split.argv) : undefined;
  if (fast !== undefined) return configTest(split, fast, io);
  let failure: string | undefined;
  const { default: yargs } = await import('yargs');
  const parser = yargs(split.argv)
    .version(false)
    .help(false)
    .scriptName('lvskeeper')
    .wrap(100)
    .usage('Usage: lvskeeper [OPTION...]\n\nkeepalived-compatible VRRP + LVS daemon (reads keepalived.conf).')
    .parserConfiguration({ 'boolean-negation': false, 'camel-case-expansion': false, 'duplicate-arguments-array': false })
    .option('use-file', { alias: 'f', type: 'string', default: DEFAULT_CONFIG, describe: 'Use the specified configuration file' })
    .option('vrrp', { alias: 'P', type: 'boolean', describe: 'Only run with VRRP subsystem' })
    .option('check', { alias: 'C', type: 'boolean', describe: 'Only run with Health-checker subsystem' })
    .option('no_bfd', { alias: 'B', type: 'boolean', describe: "Don't run BFD subsystem (accepted; lvskeeper has none)" })
    .option('all', { type: 'boolean', describe: 'Force all child processes to run (accepted)' })
    .option('log-console', { alias: 'l', type: 'boolean', describe: 'Log messages to local console' })
    .option('log-detail', { alias: 'D', type: 'boolean', describe: 'Detailed log messages' })
    .option('log-facility', { alias: 'S', type: 'string', describe: 'Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)' })
    .option('no-syslog', { alias: 'G', type: 'boolean', describe: "Don't log via syslog" })
    .option('log-file', { alias: 'g', type: 'string', describe: 'Log to file' })
    .option('log-json', { type: 'boolean', describe: 'Log one JSON object per line' })
    .option('umask', { alias: 'u', type: 'string', describe: 'umask for file creation (in numeric form)' })
    .option('release-vips', { alias: 'X', type: 'boolean', describe: 'Drop VIP on transition from signal.' })
    .option('dont-release-vrrp', { alias: 'V', type: 'boolean', describe: "Don't remove VRRP VIPs and VROUTEs on daemon stop" })
    .option('dont-release-ipvs', { alias: 'I', type: 'boolean', describe: "Don't remove IPVS topology on daemon stop" })
    .option('dont-respawn', { alias: 'R', type: 'boolean', describe: "Don't respawn child processes" })
    .option('dont-fork', { alias: 'n', type: 'boolean', describe: "Don't fork the daemon process (lvskeeper always runs in the foreground)" })
    .option('dump-conf', { alias: 'd', type: 'boolean', describe: 'Dump the configuration data (JSON, passwords redacted)' })
    .option('pid', { alias: 'p', type: 'string', default: DEFAULT_PID_FILE, describe: 'Use specified pidfile for parent process' })
    .option('vrrp_pid', { alias: 'r', type: 'string', default: DEFAULT_VRRP_PID_FILE, describe: 'Use specified pidfile for VRRP child process' })
    .option('checkers_pid', { alias: 'c', type: 'string', default: DEFAULT_CHECKERS_PID_FILE, describe: 'Use specified pidfile for checkers child process' })
    .option('bfd_pid', { alias: 'b', type: 'string', describe: 'Use specified pidfile for BFD child process (accepted)' })
    .option('address-monitoring', { alias: 'a', type: 'boolean', describe: 'Report all address additions/deletions (accepted)' })
    .option('snmp', { alias: 'x', type: 'boolean', describe: 'Enable SNMP subsystem (not supported)' })
    .option('snmp-agent-socket', { alias: 'A', type: 'string', describe: 'SNMP master agent socket (not supported)' })
    .option('namespace', { alias: 's', type: 'string', describe: 'Run in network namespace NAME (overrides config)' })
    .option('core-dump', { alias: 'm', type: 'boolean', describe: 'Produce core dump if terminate abnormally (accepted)' })
    .option('core-dump-pattern', { alias: 'M', type: 'string', describe: 'core_pattern (accepted)' })
    .option('all-config', { alias: 'e', type: 'boolean', describe: 'Error if any configuration file missing' })
    .option('config-id', { alias: 'i', type: 'string', describe: "Skip configuration lines beginning '@' that don't match id" })
    .option('metrics-listen', { type: 'string', describe: 'Serve Prometheus metrics on ADDR:PORT (lvskeeper; off by default)' })
    .option('signum', { type: 'string', describe: 'Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON' })
    .option('genhash', { alias: 'T', type: 'boolean', describe: 'genhash utility mode (not supported)' })
    .option('config-test', {
      alias: 't',
      type: 'boolean',
      describe: 'Check the configuration for obvious errors, output to stderr by default ([=LOG_FILE])',
    })
    .option('version', { alias: 'v', type: 'boolean', describe: 'Display the version number' })
    .option('help', { alias: 'h', type: 'boolean', describe: 'Display this help message' })
    .strictOptions()
    .exitProcess(false)
    .fail((msg) => {
      failure = msg;
    });
  let args: Record<string, unknown>;
  try {
    args = (await parser.parseAsync()) as Record<string, unknown>;
  } catch (err) {
    failure ??= String(err);
    args = {};
  }
  if (failure !== undefined) {
    io.stderr(`lvskeeper: ${failure.replace(/^Unknown arguments?: /, (m) => m.toLowerCase())}\nTry 'lvskeeper --help' for more information.\n`);
    return EXIT_USAGE;
  }
  // keepalived prints "Unexpected argument(s): …" and starts anyway; a daemon started by a mistyped
  // `lvskeeper stauts` is worse than a refusal (`lvskeeper status` itself is src/cli/status.ts).
  const extra = ((args['_'] as unknown[] | undefined) ?? []).map(String);
  if (extra.length > 0) {
    io.stderr(`lvskeeper: Unexpected argument(s): ${extra.join(' ')}\nTry 'lvskeeper --help' for more information.\n`);
    return EXIT_USAGE;
  }
  if (args.help) {
    io.stdout(`${await parser.getHelp()}\n`);
    return EXIT_OK;
  }
  if (args.version) {
    io.stdout(`lvskeeper v${version()} (keepalived 2.2.7 compatible)\n`);
    return EXIT_OK;
  }
  if (typeof args.signum === 'string') {
    // STATS_CLEAR and JSON are realtime signals in keepalived; Node cannot catch those and their default
    // action would kill the daemon, so ours are SIGURG / SIGWINCH (src/daemon/process/signals.ts).
    const n = signumFor(args.signum);
    if (n === undefined) {
      io.stderr(`${unknownSigfuncMessage(args.signum)}\n`);
      return 1;
    }
    io.stdout(`${n}\n`);
    return EXIT_OK;
  }
  if (args.genhash) {
    io.stderr('lvskeeper: genhash mode (-T) is not supported\n');
    return 1;
  }

  if (split.test || args['dump-conf']) return configTest(split, args, io);
  return runDaemonMode(args, io);
}

/** `-t`: every script checked as the daemon will check it (script security, user, file), at its file:line. */
async function scriptDiagnostics(config: Config, io: CliIo): Promise<Diagnostic[]> {
  // Loaded only for configurations with scripts, so `-t` of the others starts as fast as before.
  const { scriptCheckDiagnostics } = await import('../daemon/config-load.js');
  let preparer = io.scriptPreparer?.(config);
  if (!preparer) {
    const { ScriptPreparer } = await import('../scripts/script-security.js');
    const { silentLogger } = await import('../daemon/log.js');
    preparer = ScriptPreparer.fromGlobalDefs(config.global, silentLogger);
  }
  return scriptCheckDiagnostics(config, preparer);
}

/** `-t` and/or `-d`: parse, report like keepalived, exit 0/4/5/6. */
async function configTest(split: { test: boolean; testLog?: string | undefined }, args: Record<string, unknown>, io: CliIo): Promise<number> {
  const configFile = String(args['use-file'] ?? DEFAULT_CONFIG);
  const configId = typeof args['config-id'] === 'string' ? args['config-id'] : shortHostname();
  {
    const result = parseConfig(configFile, {
      configId,
      checkInterfaces: split.test,
      allConfig: Boolean(args['all-config']),
      interfaceExists: io.interfaceExists,
      ...(split.test
        ? { scriptChecks: { scriptExists: io.scriptExists ?? ((command: string) => scriptLineExists(command)), userExists: io.userExists ?? nodeUserExists } }
        : {}),
    });
    if (split.test && !result.missingFile && result.config.scriptCount > 0) result.diagnostics.push(...(await scriptDiagnostics(result.config, io)));
    if (split.test) {
      const text = result.diagnostics.map((d) => `${formatDiagnostic(d)}\n`).join('');
      if (split.testLog !== undefined && split.testLog !== '') {
        try {
          writeFileSync(split.testLog, text);
        } catch (err) {
          io.stderr(`lvskeeper: cannot write ${split.testLog}: ${(err as Error).message}\n`);
          io.stderr(text);
        }
      } else io.stderr(text);
    }
    if (args['dump-conf'] && !result.missingFile) io.stdout(`${renderConfigJson(result.config)}\n`);
    // keepalived 2.2.7 exits 0 for a missing file under -t; 4 ("cannot run") is what an operator needs.
    if (result.missingFile) {
      if (!split.test) io.stderr(`lvskeeper: Config files missing '${configFile}'.\n`);
      return EXIT_CANNOT_RUN;
    }
    if (!split.test) return EXIT_OK;
    if (result.securityViolation) return EXIT_SCRIPT_SECURITY;
    if (result.diagnostics.some((d) => d.severity === 'error' || d.severity === 'warning')) return EXIT_CONFIG_ERRORS;
    return EXIT_OK;
  }
}


async function runDaemonMode(args: Record<string, unknown>, io: CliIo): Promise<number> {
  const configFile = String(args['use-file'] ?? DEFAULT_CONFIG);
  const configId = typeof args['config-id'] === 'string' ? args['config-id'] : shortHostname();

  let umask: number | undefined;
  if (typeof args.umask === 'string') {
    umask = Number.parseInt(args.umask, args.umask.startsWith('0') ? 8 : 10);
    if (!Number.isFinite(umask)) {
      io.stderr(`lvskeeper: invalid umask '${args.umask}'\n`);
      return EXIT_USAGE;
    }
  }
  const metricsListen = typeof args['metrics-listen'] === 'string' ? args['metrics-listen'] : undefined;
  if (metricsListen !== undefined) {
    try {
      parseListen(metricsListen);
    } catch (e) {
      io.stderr(`lvskeeper: --metrics-listen: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
  }
  const namespace = typeof args.namespace === 'string' ? args.namespace : undefined;
  if (namespace !== undefined) {
    const problem = (io.enterNamespace ?? enterNamespace)(namespace);
    if (problem) {
      // keepalived logs "Unable to set network namespace NAME - exiting" and exits 0; a failure is 1 here.
      io.stderr(`lvskeeper: Unable to set network namespace ${namespace} - exiting: ${problem}\n`);
      return 1;
    }
  }
  const options: DaemonOptions = {
    configFile,
    configId,
    vrrpOnly: Boolean(args.vrrp),
    checkOnly: Boolean(args.check),
    logConsole: Boolean(args['log-console']),
    logDetail: Boolean(args['log-detail']),
    logJson: Boolean(args['log-json']),
    logFacility: typeof args['log-facility'] === 'string' ? args['log-facility'] : 'daemon',
    logFile: typeof args['log-file'] === 'string' ? args['log-file'] : undefined,
    noSyslog: Boolean(args['no-syslog']),
    dontReleaseVrrp: Boolean(args['dont-release-vrrp']),
    dontReleaseIpvs: Boolean(args['dont-release-ipvs']),
    dontRespawn: Boolean(args['dont-respawn']),
    releaseVips: Boolean(args['release-vips']),
    // -s: /run/lvskeeper/NAME/ (keepalived's /run/keepalived/NAME/); the daemon refines them once it
    // has read net_namespace, instance and use_pid_dir from the configuration.
    ...pidFilesFor({ pidFile: String(args.pid), vrrpPidFile: String(args.vrrp_pid), checkersPidFile: String(args.checkers_pid) }, { namespace }),
    namespace,
    umask,
    metricsListen,
  };
  const run = io.runDaemon ?? (await import('../daemon/run.js')).runDaemon;
  return run(options);
}
