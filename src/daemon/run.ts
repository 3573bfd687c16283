// The daemon entry point that src/cli/lvskeeper.ts calls: the parent process of keepalived's layout.
// It parses the configuration (logging every diagnostic with file:line), then forks a VRRP child
// (vrrp-child.ts) and a checker child (checker-child.ts) through process/parent.ts, which owns the pid
// file, systemd notifications, signals, respawning and the relay of instance states:
//   - checker load can never delay a VRRP advert (separate processes, as keepalived does);
//   - SIGHUP: the new file is parsed here first; a file with new errors is refused with file:line and
//     nothing changes; otherwise each child applies the difference (VRRP first, so the checker child
//     knows the new instances' states before it applies its own part);
//   - SIGTERM/SIGINT: the VRRP child sends priority 0 and removes its VIPs, then the checker child
//     removes our IPVS entries; exit 0;
//   - global_defs startup_script runs before the children start, shutdown_script after they stopped.
// -P runs only the VRRP child, -C only the checker child.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../config/index.js';
import type { Config, Diagnostic } from '../config/model.js';
import { CHILD_OPTIONS_ENV } from './child-options.js';
import { checkReload, initTrackFiles, logDiagnostics } from './config-load.js';
import { createLogger, loggerOptionsFromDaemon, type Logger, type RootLogger } from './log.js';
import type { DaemonOptions } from './options.js';
import { CHECKER_CHILD, startParent, VRRP_CHILD, type ParentHandle } from './process/parent.js';
import type { ChildSpec } from './process/supervisor.js';
import { controlSocketPath, startControlServer } from './process/control.js';
import type { EngineView } from './checkers.js';
import { runStartStopScript } from './start-stop-script.js';
import { enterNamespace, PID_DIR, pidFilesFor } from './namespace.js';

/** Children must be gone this long after SIGTERM (the 5 s, with room for the parent's exit). */
export const STOP_DEADLINE_MS = 4000;

/** The seam checkers.ts plugs into (an engine view, the configuration, a logger). */
export interface DaemonHooks {
  onEngine?: ((engine: EngineView, config: Config, log: Logger) => void | Promise<void>) | undefined;
}

function version(): string {
  try {
    const req = createRequire(import.meta.url);
    return (req('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export function childSpecs(options: DaemonOptions): ChildSpec[] {
  const modulePath = fileURLToPath(new URL('./child-main.js', import.meta.url));
  const env = { ...process.env, [CHILD_OPTIONS_ENV]: JSON.stringify(options) };
  const children: ChildSpec[] = [];
  if (!options.checkOnly) children.push({ name: VRRP_CHILD, modulePath, args: ['vrrp'], env, pidFile: options.vrrpPidFile });
  if (!options.vrrpOnly) children.push({ name: CHECKER_CHILD, modulePath, args: ['checker'], env, pidFile: options.checkersPidFile });
  return children;
}

/**
 * The configuration's net_namespace (unless -s named one: keepalived then says it overrides it),
 * instance and use_pid_dir, applied as keepalived's main.c does before anything else starts. Returns
 * the options with the pid files to use, or undefined when the namespace cannot be entered.
 */
export function placeDaemon(
  options: DaemonOptions,
  g: Config['global'],
  log: Logger,
  enter: (name: string) => string | undefined = enterNamespace,
  makeDir: (dir: string) => void = (dir) => mkdirSync(dir, { recursive: true, mode: 0o755 }),
): DaemonOptions | undefined {
  let namespace = options.namespace;
  if (namespace !== undefined && g.netNamespace !== undefined && g.netNamespace !== namespace) {
    log.info(`Overriding config net_namespace '${g.netNamespace}' with command line namespace '${namespace}'`);
  } else if (namespace === undefined && g.netNamespace !== undefined) {
    namespace = g.netNamespace;
    const problem = enter(namespace);
    if (problem !== undefined) {
      log.error(`Unable to set network namespace ${namespace} - exiting: ${problem}`);
      return undefined;
    }
  }
  const pidFiles = pidFilesFor(options, { namespace, instance: g.instanceName, usePidDir: g.usePidDir });
  for (const file of [pidFiles.pidFile, pidFiles.vrrpPidFile, pidFiles.checkersPidFile]) {
    try {
      if (file.startsWith(`${PID_DIR}/`)) makeDir(dirname(file));
    } catch (e) {
      log.error(`Unable to create directory ${dirname(file)}: ${(e as Error).message}`);
    }
  }
  return { ...options, ...pidFiles, namespace };
}

export async function runDaemon(options: DaemonOptions): Promise<number> {
  const v = version();
  // Synchronous writes: the parent's lines ('Stopping', 'Reloading ...') reach the journal before its children's.
  const log: RootLogger = createLogger({ ...loggerOptionsFromDaemon(options, 'lvskeeper'), syncWrites: true });
  log.info(`Starting lvskeeper v${v}`);
  if (options.umask !== undefined) process.umask(options.umask);

  let running: { config: Config; diagnostics: readonly Diagnostic[] } = parseConfig(options.configFile, { configId: options.configId });
  logDiagnostics(running.diagnostics, log);
  const placed = placeDaemon(options, running.config.global, log);
  if (placed === undefined) {
    log.close();
    return 1;
  }
  options = placed;
  initTrackFiles(running.config.trackFiles, log);
  // keepalived starts its children once the startup script has ended (or timed out).
  if (running.config.global.startupScript) await runStartStopScript('startup', running.config.global, log);

  let handle: ParentHandle;
  try {
    handle = startParent({
      children: childSpecs(options),
      pidFile: options.pidFile,
      dontRespawn: options.dontRespawn,
      stopTimeoutMs: STOP_DEADLINE_MS,
      log,
      globalDefs: () => running.config.global,
      beforeReload: () => {
        const checked = checkReload(options.configFile, options.configId, running.diagnostics, log);
        if (!checked.ok) return checked.problem;
        running = checked.next;
        initTrackFiles(checked.next.config.trackFiles, log);
        return undefined;
      },
      describe: () => ({ version: v, configFile: options.configFile, routerId: running.config.global.routerId }),
    });
  } catch (e) {
    log.error((e as Error).message);
    log.close();
    return 1;
  }
  const control = await startControlServer(controlSocketPath(options.pidFile), { status: handle.status, subscribe: handle.subscribe }, log).catch((e: unknown) => {
    // Status is for people; the VIPs are not held back because it cannot be served.
    log.error(`cannot open the control socket (lvskeeper status will not work): ${(e as Error).message}`);
    return undefined;
  });
  // Metrics are optional too: a port that cannot be bound is logged, the daemon runs on.
  const metrics = options.metricsListen
    ? await import('./metrics.js')
        .then((m) => m.startMetricsServer(m.parseListen(options.metricsListen!), handle.status, log))
        .then((server) => {
          log.info(`Serving Prometheus metrics on ${options.metricsListen}/metrics`);
          return server;
        })
        .catch((e: unknown) => {
          log.error(`cannot serve metrics on ${options.metricsListen}: ${(e as Error).message}`);
          return undefined;
        })
    : undefined;
  const code = await handle.done;
  await metrics?.close();
  await control?.close();
  // After both children have stopped, with the configuration running at that time (keepalived's order).
  if (running.config.global.shutdownScript) await runStartStopScript('shutdown', running.config.global, log);
  log.info(`Stopped lvskeeper v${v}`);
  log.close();
  return code;
}
