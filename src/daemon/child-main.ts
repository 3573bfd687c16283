// Entry point of the daemon's child processes, forked by the parent (run.ts) as
//   node child-main.js vrrp|checker
// with the parent's DaemonOptions in LVSKEEPER_CHILD_OPTIONS (removed from the environment at once, so
// scripts the child runs do not inherit it). The child re-reads the configuration itself: the parent
// has already logged its diagnostics, so the child does not log them again.
import { access } from 'node:fs/promises';
import { parseConfig } from '../config/index.js';
import { CheckerSide, RelayedInstances } from './checker-child.js';
import { configErrorSummary } from './config-load.js';
import { createLogger, loggerOptionsFromDaemon, type RootLogger } from './log.js';
import type { DaemonOptions } from './options.js';
import { applyScheduling, schedulingPlan, type ChildRole } from './process/priority.js';
import { CHILD_EXIT_PERMANENT } from './process/supervisor.js';
import { startChildRuntime } from './process/child.js';
import { IpvsTakeover } from './ipvs-takeover.js';
import { VrrpSide } from './vrrp-child.js';

import { CHILD_OPTIONS_ENV } from './child-options.js';

function readOptions(): DaemonOptions {
  const raw = process.env[CHILD_OPTIONS_ENV];
  delete process.env[CHILD_OPTIONS_ENV];
  if (!raw) throw new Error(`${CHILD_OPTIONS_ENV} is not set: this module is started by the lvskeeper parent process`);
  return JSON.parse(raw) as DaemonOptions;
}

function loggerFor(options: DaemonOptions, role: ChildRole): RootLogger {
  // The process name is the syslog tag, as keepalived's Keepalived_vrrp / Keepalived_healthcheckers.
  return createLogger(loggerOptionsFromDaemon(options, role === 'vrrp' ? 'lvskeeper_vrrp' : 'lvskeeper_checkers'));
}

async function main(role: ChildRole): Promise<void> {
  const options = readOptions();
  const log = loggerFor(options, role);
  let side: VrrpSide | CheckerSide | undefined;
  let startFailed = false;
  const view = new RelayedInstances();
  // Staged virtual servers may arrive before the VRRP side has started: kept here from the first message.
  const takeover = role === 'vrrp' ? new IpvsTakeover(log) : undefined;
  const runtime = startChildRuntime({
    warn: (m) => log.warn(m),
    onMessage: (msg) => {
      if (msg.type === 'ipvs-staged') takeover?.stage(msg);
      else view.apply(msg);
    },
    reload: async () => {
      if (side instanceof VrrpSide) return side.reload();
      if (side instanceof CheckerSide) {
        const { config, diagnostics } = parseConfig(options.configFile, { configId: options.configId });
        const problem = configErrorSummary(diagnostics, runningDiagnostics);
        if (problem) throw new Error(problem);
        runningDiagnostics = diagnostics;
        return side.reload(config);
      }
    },
    dump: (what) => side?.dump(what) ?? {},
    status: () => side?.status() ?? {},
    stop: async () => {
      await side?.stop();
      await log.drain(); // the last lines ('(VI_1) removing VIPs.') in order, before close() flushes
      log.close();
    },
  });
  const { config, diagnostics } = parseConfig(options.configFile, { configId: options.configId });
  let runningDiagnostics = diagnostics;
  // The first asynchronous fs call starts libuv's thread pool, so that its threads exist when the
  // scheduling below is applied to every thread (priority.ts).
  await access(options.configFile).catch(() => undefined);
  applyScheduling(role, schedulingPlan(role, config.global), (m) => log.warn(m));
  // RLIMIT_RTTIME's soft limit: a realtime child ran a long stretch without sleeping. Logged, at most once
  // a minute; the default action would kill the child.
  let lastXcpu = -Infinity;
  process.on('SIGXCPU', () => {
    if (performance.now() - lastXcpu < 60_000) return;
    lastXcpu = performance.now();
    log.warn(`${role === 'vrrp' ? 'VRRP' : 'Checker'} process used its realtime CPU allowance without sleeping (RLIMIT_RTTIME soft limit)`);
  });
  try {
    if (role === 'vrrp') {
      side = await VrrpSide.start({ config, diagnostics }, options, log, (msg) => runtime.sendState(msg), takeover);
    } else {
      side = await CheckerSide.start(config, options, log, options.checkOnly ? undefined : view, (msg) => void runtime.link.send(msg));
    }
  } catch (e) {
    log.error(`${role === 'vrrp' ? 'VRRP' : 'Checker'} child failed to start: ${(e as Error).stack ?? String(e)}`);
    startFailed = true;
  }
  if (startFailed) {
    // Nothing to release; a respawn would fail the same way.
    await log.drain();
    log.close();
    process.exit(CHILD_EXIT_PERMANENT);
  }
  runtime.ready();
}

const role = process.argv[2];
if (role !== 'vrrp' && role !== 'checker') {
  process.stderr.write(`lvskeeper child: unknown role '${String(role)}' (expected vrrp or checker)\n`);
  process.exit(2);
}
void main(role);
