// Reading the configuration in the daemon's processes: diagnostics logged with file:line at their
// severity, the rule that decides whether a reload may go ahead, and `-t`'s report of the scripts the
// daemon would refuse.
import { existsSync, lstatSync, type Stats } from 'node:fs';
import { miscRefusal } from '../check/from-config.js';
import type { Config, Diagnostic, ScriptCommand, Severity, SourceLocation, TrackFile } from '../config/index.js';
import { configuredNotifyScripts } from '../scripts/notify.js';
import { refusalPhrase, type PrepareFailure, type ScriptPreparer } from '../scripts/script-security.js';
import { parseConfig, type FullParseOptions, type FullParseResult } from '../config/index.js';
import type { Logger } from './log.js';
import { replaceFileNoFollow } from './process/pidfile.js';

export function logDiagnostics(diagnostics: readonly Diagnostic[], log: Logger): void {
  for (const d of diagnostics) {
    const text = `${d.file}:${d.line}: ${d.message}`;
    if (d.severity === 'error') log.error(text);
    else if (d.severity === 'warning') log.warn(text);
    else if (d.severity === 'unsupported') log.warn(`${d.file}:${d.line}: WARNING: ${d.message}`);
    else log.info(text);
  }
}

/**
 * Whether a reload may go ahead: undefined when it may, else a one-line summary naming the first
 * blocking error's file:line. Blocking errors are those the running configuration did not already
 * have (compared without line numbers, which move with every edit): keepalived starts with errors
 * such as an unknown keyword (the seed's `nb_get_retry`), and refusing every later reload for them
 * would leave the operator unable to change anything; a newly introduced mistake is refused.
 */
export function configErrorSummary(diagnostics: readonly Diagnostic[], running: readonly Diagnostic[] = []): string | undefined {
  const known = new Map<string, number>();
  const key = (d: Diagnostic): string => `${d.file}\0${d.message}`;
  for (const d of running) if (d.severity === 'error') known.set(key(d), (known.get(key(d)) ?? 0) + 1);
  const blocking = diagnostics.filter((d) => {
    if (d.severity !== 'error') return false;
    const left = known.get(key(d)) ?? 0;
    if (left > 0) {
      known.set(key(d), left - 1);
      return false;
    }
    return true;
  });
  if (blocking.length === 0) return undefined;
  const first = blocking[0]!;
  const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more error${blocking.length > 2 ? 's' : ''})` : '';
  return `${first.file}:${first.line}: ${first.message}${more}`;
}

export type ReloadCheck = { ok: true; next: FullParseResult } | { ok: false; problem: string };

/**
 * SIGHUP in the parent: parses the file again, logs its diagnostics and decides (configErrorSummary)
 * whether the reload may go ahead. Never throws: a throw would reject the parent's reload, and the
 * unhandled rejection would end the daemon instead of refusing the file; the running configuration
 * stays either way. (The reader's bounds keep the parse itself from exhausting the heap.)
 */
export function checkReload(
  file: string,
  configId: string | undefined,
  running: readonly Diagnostic[],
  log: Logger,
  parse: (path: string, options: FullParseOptions) => FullParseResult = parseConfig,
): ReloadCheck {
  try {
    const next = parse(file, configId === undefined ? {} : { configId });
    logDiagnostics(next.diagnostics, log);
    const problem = configErrorSummary(next.diagnostics, running);
    return problem === undefined ? { ok: true, next } : { ok: false, problem };
  } catch (e) {
    return { ok: false, problem: `${file}:1: internal parser error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * track_file's `init_file [VALUE] [overwrite]`: keepalived writes VALUE (default 0) to a missing file at
 * load, or to the file in any case with `overwrite`, so FILE_CHECK and tracking start from a known value.
 * Never through a symbolic link (a track file often lives in a directory others write to): the value goes
 * to a new file renamed over the path, as keepalived's fopen_safe(); a link at the path is refused, and so
 * is overwriting what is not a regular file (keepalived: "it is not a regular file").
 */
export function initTrackFiles(trackFiles: readonly TrackFile[], log: Logger): void {
  for (const t of trackFiles) {
    if (!t.initFile) continue;
    let st: Stats | undefined;
    try {
      st = lstatSync(t.path);
    } catch {
      // missing: create it
    }
    if (st?.isSymbolicLink()) {
      // A link to an existing file is an existing file, left alone without overwrite (nothing is followed).
      if (!t.initFile.overwrite && existsSync(t.path)) continue;
      log.error(`track_file ${t.name}: init_file: ${t.path} is a symbolic link - not initialising it`);
      continue;
    }
    if (st !== undefined && !t.initFile.overwrite) continue;
    if (st !== undefined && !st.isFile()) {
      log.error(`track_file ${t.name}: cannot initialise ${t.path} - it is not a regular file`);
      continue;
    }
    try {
      replaceFileNoFollow(t.path, `${t.initFile.value}\n`, 0o666, st);
    } catch (e) {
      log.error(`track_file ${t.name}: cannot initialise ${t.path}: ${(e as Error).message}`);
    }
  }
}

/**
 * How `-t` rates a refused script, following keepalived -t where it has a config error
 * (report_config_error: exit 5) and where it only logs (exit unchanged): a vrrp_script not found,
 * a line it cannot split, a missing default user, an unknown `user` of a vrrp_script or MISC_CHECK
 * are errors; a missing MISC_CHECK or notify program, or one not executable by its user, a note.
 * An insecure script is an error for every kind: keepalived -t is silent for MISC_CHECK and notify
 * scripts, but the daemon will not run them.
 */
function refusalSeverity(kind: 'track' | 'misc' | 'notify', reason: PrepareFailure): Severity {
  switch (reason) {
    case 'insecure':
    case 'bad_syntax':
    case 'no_default_user':
      return 'error';
    case 'bad_user':
      return kind === 'notify' ? 'info' : 'error';
    case 'not_found':
    case 'empty':
      return kind === 'track' ? 'error' : 'info';
    case 'not_executable':
      return 'info';
  }
}

/**
 * `-t`: what the daemon's own checks (script-security.ts: the line split as it will run, the file,
 * its user, its path's permissions) say about every configured script, at the script's file:line,
 * rated by refusalSeverity(). A script that runs although its path is unsafe (no
 * enable_script_security) is a warning. vrrp_scripts the parser already removed (not found, no
 * default user) are not in `config` any more.
 */
export function scriptCheckDiagnostics(config: Config, preparer: Pick<ScriptPreparer, 'prepare'>): Diagnostic[] {
  const out: Diagnostic[] = [];
  type Refusal = (reason: PrepareFailure, message: string) => string;
  const check = (kind: 'track' | 'misc' | 'notify', at: SourceLocation, cmd: Pick<ScriptCommand, 'command' | 'user' | 'group'>, refusal: Refusal): void => {
    const result = preparer.prepare(cmd.command, cmd.user, cmd.group);
    if (!result.ok) {
      out.push({ severity: refusalSeverity(kind, result.reason), file: at.file, line: at.line, message: refusal(result.reason, result.message) });
    } else if (result.insecurity !== undefined) {
      out.push({ severity: 'warning', file: at.file, line: at.line, message: result.insecurity });
    }
  };

  for (const s of config.vrrpScripts) {
    check('track', s.location, { command: s.script, user: s.user, group: s.group }, (reason, message) =>
      reason === 'no_default_user' ? `Unable to set default user for vrrp script ${s.name} - removing` : `Disabling track script ${s.name} ${refusalPhrase(reason)}: ${message}`,
    );
  }
  for (const vs of config.virtualServers) {
    for (const rs of vs.realServers) {
      for (const c of rs.checkers) {
        if (c.kind === 'MISC_CHECK') check('misc', c.location, { command: c.path, user: c.user, group: c.group }, (reason, message) => miscRefusal(c.path, reason, message));
      }
    }
  }
  const notify: Array<{ label: string; cmd: ScriptCommand }> = configuredNotifyScripts(config).map((cmd) => ({ label: 'notify script', cmd }));
  for (const fifo of [config.global.notifyFifo, config.global.vrrpNotifyFifo, config.global.lvsNotifyFifo]) {
    if (fifo?.script) notify.push({ label: 'notify fifo script', cmd: fifo.script });
  }
  if (config.global.startupScript) notify.push({ label: 'startup script', cmd: config.global.startupScript });
  if (config.global.shutdownScript) notify.push({ label: 'shutdown script', cmd: config.global.shutdownScript });
  for (const { label, cmd } of notify) {
    check('notify', cmd.location, cmd, (reason, message) =>
      reason === 'no_default_user' ? `Failed to set default user for ${label} ${cmd.command} - ignoring` : `Disabling ${label} ${cmd.command} ${refusalPhrase(reason)}: ${message}`,
    );
  }
  return out;
}
