// The daemon entry point that src/cli/lvskeeper.ts calls: parse the configuration, start the VRRP engine
// with the kernel adapters, handle signals (TERM/INT stop, USR2 stats, JSON state), and stop cleanly:
// priority-0 adverts from masters, VIPs removed (unless -V), notify STOP, exit 0 within 5 s.
// Checkers/IPVS (src/daemon/checkers.ts) attach through `hooks.onEngine` (engine.onStateChange) and are
// stopped after the VRRP engine; by default runDaemon attaches them itself (none with -P).
import { createRequire } from 'node:module';
import { parseConfig } from '../config/index.js';
import type { Config } from '../config/model.js';
import { interfaceInfo, openAddressManager, openAnnouncer, openLinkWatcher, openVrrpTransport } from '../net/index.js';
import type { AddressManager, Announcer, LinkWatcher } from '../net/types.js';
import { Notifier, openNotifyFifos, type NotifyFifos } from '../scripts/notify.js';
import { ScriptPreparer } from '../scripts/script-security.js';
import { TrackScriptRunner } from '../scripts/track-script.js';
import { realTimers } from '../vrrp/timers.js';
import { createLogger, type Logger, type RootLogger } from './log.js';
import type { DaemonOptions } from './options.js';
import { acquirePidFile, writePidFile, removePidFile, type PidFile } from './process/pidfile.js';
import { installSignalHandlers } from './process/signals.js';
import { dumpFilePath, writeDumpFile } from './process/dump.js';
import { attachCheckers, type EngineView } from './checkers.js';
import { VrrpEngine } from './vrrp-engine.js';

export const STOP_DEADLINE_MS = 4000;

export interface DaemonHooks {
  /** Called once the VRRP engine runs (checkers/IPVS subscribe to engine.onStateChange here). */
  onEngine?: ((engine: EngineView, config: Config, log: Logger) => void | Promise<void>) | undefined;
  /** Called at shutdown after the VRRP engine stopped (VIPs released), before the logger closes. */
  onStop?: (() => Promise<void>) | undefined;
  /** Default true: attach the checkers/IPVS runtime when no onEngine hook is given. */
  checkers?: boolean | undefined;
  /** Tests: resolve instead of waiting for a signal. */
  stopSignal?: Promise<void> | undefined;
}

function version(): string {
  try {
    const req = createRequire(import.meta.url);
    return (req('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The stats or JSON dump path: the env override (tests), else global_defs, else /tmp/lvskeeper.*. */
function statsPath(config: Config, kind: 'stats' | 'json'): string {
  const override = kind === 'stats' ? process.env.LVSKEEPER_STATS_FILE : process.env.LVSKEEPER_JSON_FILE;
  return override ?? dumpFilePath(kind, config.global);
}

/** keepalived's stats file shape (vrrp_print_stats), one block per instance. */
export function formatStats(stats: ReturnType<VrrpEngine['stats']>): string {
  const lines: string[] = [];
  for (const [name, s] of Object.entries(stats)) {
    lines.push(`VRRP Instance: ${name}`);
    lines.push(`  State: ${s.state}, priority ${s.effectivePriority} (base ${s.basePriority})`);
    lines.push('  Advertisements:');
    lines.push(`    Received: ${s.advertsReceived}`);
    lines.push(`    Sent: ${s.advertsSent}`);
    lines.push(`  Became master: ${s.becameMaster}`);
    lines.push(`  Released master: ${s.releasedMaster}`);
    lines.push('  Packet Errors:');
    const d = s.drops;
    lines.push(`    Length: ${(d['too-short'] ?? 0) + (d['truncated'] ?? 0)}`);
    lines.push(`    TTL: ${d['ttl'] ?? 0}`);
    lines.push(`    Invalid Type: ${d['type'] ?? 0}`);
    lines.push(`    Advertisement Interval: ${d['interval'] ?? 0}`);
    lines.push(`    Address List: ${(d['address-list'] ?? 0) + (d['address-count'] ?? 0)}`);
    lines.push('  Authentication Errors:');
    lines.push(`    Invalid Type: ${d['auth-type'] ?? 0}`);
    lines.push(`    Type Mismatch: 0`);
    lines.push(`    Failure: ${d['auth-pass'] ?? 0}`);
    lines.push('  Priority Zero:');
    lines.push(`    Received: ${s.priorityZeroReceived}`);
    lines.push(`    Sent: ${s.priorityZeroSent}`);
    lines.push(`  Drops: ${Object.entries(d).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`);
  }
  return `${lines.join('\n')}\n`;
}

function noScripts(): { ok: false; reason: 'empty'; message: string } {
  return { ok: false, reason: 'empty', message: 'no scripts configured' };
}

export async function runDaemon(options: DaemonOptions, hooks: DaemonHooks = {}): Promise<number> {
  const v = version();
  const log: RootLogger = createLogger({
    console: options.logConsole,
    json: options.logJson,
    detail: options.logDetail,
    facility: options.logFacility,
    file: options.logFile,
    processName: 'lvskeeper',
  });
  log.info(`Starting lvskeeper v${v}`);
  if (options.umask !== undefined) process.umask(options.umask);

  const { config, diagnostics } = parseConfig(options.configFile, { configId: options.configId });
  for (const d of diagnostics) {
    const text = `${d.file}:${d.line}: ${d.message}`;
    if (d.severity === 'error') log.error(text);
    else if (d.severity === 'warning') log.warn(text);
    else log.info(text);
  }

  let pid: PidFile | undefined;
  try {
    pid = acquirePidFile(options.pidFile);
    writePidFile(options.vrrpPidFile, process.pid);
  } catch (e) {
    log.error((e as Error).message);
    log.close();
    return 1;
  }

  if (options.checkOnly) {
    log.info('VRRP engine not started (-C / --check)');
  }

  let addresses: AddressManager | undefined;
  let links: LinkWatcher | undefined;
  let announcer: Announcer | undefined;
  let runner: TrackScriptRunner | undefined;
  let notifier: Notifier | undefined;
  let fifos: NotifyFifos | undefined;
  let engine: VrrpEngine | undefined;
  let stopping = false;
  let resolveStop!: () => void;
  const stopped = new Promise<void>((r) => (resolveStop = r));
  const writeStats = (clear: boolean): void => {
    if (!engine) return;
    const path = statsPath(config, 'stats');
    try {
      writeDumpFile(path, formatStats(engine.stats()));
    } catch (e) {
      log.warn(`cannot write ${path}: ${(e as Error).message}`);
    }
    if (clear) engine.clearStats();
  };
  const uninstall = installSignalHandlers({
    STOP: () => {
      if (!stopping) resolveStop();
    },
    STATS: () => writeStats(false),
    STATS_CLEAR: () => writeStats(true),
    JSON: () => {
      if (!engine) return;
      const path = statsPath(config, 'json');
      try {
        writeDumpFile(path, `${JSON.stringify({ vrrp: engine.stats() }, null, 2)}\n`);
      } catch (e) {
        log.warn(`cannot write ${path}: ${(e as Error).message}`);
      }
    },
    DATA: () => undefined,
    RELOAD: () => log.info('Reloading is not implemented yet - ignoring SIGHUP'),
  });
  void hooks.stopSignal?.then(() => resolveStop());
  // The preparer resolves script_user (and logs keepalived's warnings), so only when scripts exist;
  // one per process, shared with the checkers so each script is checked (and reported) once.
  const preparer: Pick<ScriptPreparer, 'prepare' | 'prepareCommand'> =
    config.scriptCount > 0 ? ScriptPreparer.fromGlobalDefs(config.global, log) : { prepare: noScripts, prepareCommand: noScripts };
  let onEngine = hooks.onEngine;
  let onStop = hooks.onStop;
  if (!onEngine && hooks.checkers !== false && !options.vrrpOnly) {
    const checkers = attachCheckers(options, { preparer });
    onEngine = checkers;
    onStop = async () => {
      await checkers.stop();
      await hooks.onStop?.();
    };
  }

  let code = 0;
  try {
    if (!options.checkOnly) {
      [addresses, links, announcer] = await Promise.all([openAddressManager(), openLinkWatcher(), openAnnouncer({ warn: (m) => log.warn(m) })]);
      if (config.vrrpScripts.length > 0) {
        runner = new TrackScriptRunner({ scripts: config.vrrpScripts, preparer, logger: log });
      }
      fifos = openNotifyFifos(config.global, 'vrrp', { logger: log, preparer });
      notifier = new Notifier({ logger: log, preparer, fifos });
      const n = notifier;
      const scriptsOf = new Map(config.vrrpInstances.map((i) => [i.name, i.notify]));
      const target = (name: string) => ({ kind: 'INSTANCE' as const, name, scripts: scriptsOf.get(name) ?? {} });
      engine = await VrrpEngine.start(
        config,
        {
          openTransport: (o) => openVrrpTransport(o),
          addresses,
          links,
          announcer,
          interfaceInfo: (n) => interfaceInfo(n),
          timers: realTimers,
        },
        {
          log,
          keepVipsOnStop: options.dontReleaseVrrp && !options.releaseVips,
          scripts: runner,
          hooks: {
            onNotify: (ev) => n.vrrpState(target(ev.instance), ev.state, ev.priority),
            onMasterRxLowerPri: (ev) => n.masterRxLowerPriority(target(ev.instance), ev.priority),
          },
          onGroupState: (ev) => n.vrrpState({ kind: 'GROUP', name: ev.group, scripts: ev.scripts }, ev.state, 0),
        },
      );
      runner?.start();
      await onEngine?.(engine, config, log);
    } else {
      // -C: checkers only; no VRRP instance means every virtual server is installed.
      await onEngine?.({ instances: new Map(), onStateChange: () => () => undefined }, config, log);
    }
    await stopped;
  } catch (e) {
    log.error(`VRRP engine failed: ${(e as Error).stack ?? String(e)}`);
    code = 1;
  }

  stopping = true;
  log.info('Stopping');
  const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_DEADLINE_MS).unref());
  const work = (async () => {
    await engine?.stop();
    await runner?.stop();
    await onStop?.();
    // STOP notifications were queued by engine.stop(): let them start, then drain the FIFOs.
    await notifier?.close(2000);
  })();
  if ((await Promise.race([work.then(() => 'done' as const), deadline])) === 'timeout') {
    log.warn(`Stop did not complete within ${STOP_DEADLINE_MS} ms`);
  }
  addresses?.close();
  links?.close();
  announcer?.close();
  uninstall();
  pid?.release();
  removePidFile(options.vrrpPidFile, process.pid);
  log.info(`Stopped lvskeeper v${v}`);
  log.close();
  return code;
}
