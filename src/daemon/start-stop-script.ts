// global_defs startup_script / shutdown_script, run by the parent as keepalived's parent runs them
// (core/main.c): the startup script before the VRRP and checker processes start (they start when it
// ends, or when it times out), the shutdown script after both have stopped. Same script rules as every
// other script (user, script security, no shell, PATH-only environment); a timeout sends SIGTERM to the
// script's process group, then SIGKILL 2 s later (handle_child_timeout). A failure is logged, never fatal.
import type { GlobalDefs, ScriptCommand } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import { displayCommand } from '../scripts/command-line.js';
import { ScriptPreparer } from '../scripts/script-security.js';
import { defaultSpawner, type ScriptSpawner } from '../scripts/spawn.js';

export type StartStopKind = 'startup' | 'shutdown';

/** SIGTERM, then SIGKILL this long after (keepalived handle_child_timeout). */
const KILL_AFTER_MS = 2000;

export async function runStartStopScript(
  kind: StartStopKind,
  global: Pick<GlobalDefs, 'scriptUser' | 'enableScriptSecurity' | 'startupScript' | 'startupScriptTimeoutS' | 'shutdownScript' | 'shutdownScriptTimeoutS'>,
  log: Logger,
  spawner: ScriptSpawner = defaultSpawner,
): Promise<void> {
  const cmd: ScriptCommand | undefined = kind === 'startup' ? global.startupScript : global.shutdownScript;
  if (cmd === undefined) return;
  const timeoutMs = ((kind === 'startup' ? global.startupScriptTimeoutS : global.shutdownScriptTimeoutS) ?? 10) * 1000;
  const prepared = ScriptPreparer.fromGlobalDefs(global, log).prepareCommand(cmd);
  if (!prepared.ok) {
    log.error(`Call of ${kind} script ${cmd.command} failed: ${prepared.message}`);
    return;
  }
  log.info(`Running ${kind} script ${displayCommand(prepared.script.command)}`);
  const running = spawner(prepared.script);
  let killTimer: NodeJS.Timeout | undefined;
  const timeout = setTimeout(() => {
    log.warn(`${kind} script timed out after ${timeoutMs / 1000} s - killing it`);
    running.kill('SIGTERM');
    killTimer = setTimeout(() => running.kill('SIGKILL'), KILL_AFTER_MS);
  }, timeoutMs);
  const exit = await running.exited;
  clearTimeout(timeout);
  clearTimeout(killTimer);
  if (exit.spawnError) log.error(`Call of ${kind} script ${cmd.command} failed: ${exit.spawnError.message}`);
  else if (exit.code !== null && exit.code !== 0) log.warn(`${kind} script failed, status ${exit.code}${exit.stderrTail ? `: ${exit.stderrTail.trim()}` : ''}`);
  else if (exit.signal !== null) log.warn(`${kind} script killed by ${exit.signal}`);
  else log.info(`${kind} script succeeded`);
}
