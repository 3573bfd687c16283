// Checking a script before it is ever run, as keepalived's check_script_secure() does at config load.
//
// For every configured script (vrrp_script, notify_*, notify_fifo_script, RS/VS notifies):
//  1. A bare program name is searched in PATH:
//       "WARNING - script `killall` resolved by path search to `/usr/bin/killall`. Please specify full path."
//       "Cannot find script X in path - disabling" / "Permissions failure for script X in path - disabling"
//  2. The file must exist ("Unable to access script `X` - disabling") and be executable by the uid:gid
//     it will run as ("WARNING - script 'X' is not executable for uid:gid U:G - disabling.").
//  3. If it runs with root privileges (uid or gid 0, or a setuid/setgid-root file), every component of
//     its path (and of its realpath) must be owned by root and not writable by group (unless the group
//     is root) or others; directories with the sticky bit (/tmp) are accepted:
//       "Unsafe permissions found for script '/etc/keepalived/x.sh' - disabling."
//     With `enable_script_security` such a script is refused; without it, it runs and the daemon logs
//     once "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are
//     insecure scripts." (issues #2184, #586: the message names the script so the fix is obvious).
// A refused script is never run; callers log which one ("Disabling track script chk due to insecure").
// Lines are split as keepalived splits them and never run through a shell (command-line.ts), so the
// program checked here is the program that runs. keepalived's `</path` open test needs no check (it
// runs nothing); one followed by other words is refused, as keepalived would run them unchecked.

import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { delimiter, join, posix } from 'node:path';
import type { Logger } from '../log/logger.js';
import type { GlobalDefs, ScriptCommand } from '../config/model.js';
import { openTestCommand, parseCommandLine, SHELL_PATH, type ExecCommand } from './command-line.js';
import { scriptSearchPath } from './spawn.js';
import { currentIdentity, resolveDefaultRunAs, resolveRunAs, sharedUserDatabase, type RunAs, type UserDatabase } from './script-user.js';

export type RunnableCommand = ExecCommand;

export interface PreparedScript {
  /** What to spawn; `file` is the resolved path. */
  command: RunnableCommand;
  runAs: RunAs;
  /** The line as configured, for log messages. */
  configured: string;
}

export type PrepareFailure = 'empty' | 'bad_syntax' | 'not_found' | 'not_executable' | 'insecure' | 'bad_user' | 'no_default_user';

export type PrepareResult =
  /** insecurity: the "Unsafe permissions found…" line when the script runs although it is insecure. */
  | { ok: true; script: PreparedScript; insecure: boolean; insecurity?: string | undefined }
  | { ok: false; reason: PrepareFailure; message: string };

/** The subset of fs.Stats the pure checks read. */
export interface ModeInfo {
  uid: number;
  gid: number;
  mode: number;
  isDirectory: boolean;
  isFile: boolean;
  isSymbolicLink: boolean;
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IXUSR = 0o100;
const S_IXGRP = 0o010;
const S_IXOTH = 0o001;
const S_IWGRP = 0o020;
const S_IWOTH = 0o002;

export function modeInfo(st: Stats): ModeInfo {
  return { uid: st.uid, gid: st.gid, mode: st.mode, isDirectory: st.isDirectory(), isFile: st.isFile(), isSymbolicLink: st.isSymbolicLink() };
}

/** keepalived's is_executable(): root needs any x bit; others the bit of their class. */
export function isExecutableBy(st: ModeInfo, uid: number, gid: number): boolean {
  if (uid === 0) return (st.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) !== 0;
  if (uid === st.uid) return (st.mode & S_IXUSR) !== 0;
  if (gid === st.gid) return (st.mode & S_IXGRP) !== 0;
  return (st.mode & S_IXOTH) !== 0;
}

/** keepalived's check_security() test for one path component. */
export function isUnsafeComponent(st: ModeInfo): boolean {
  if (st.uid !== 0) return true; // owner is not root
  const checksWriteBits = (st.isDirectory && (st.mode & S_ISVTX) === 0) || st.isFile;
  if (!checksWriteBits) return false;
  return (st.gid !== 0 && (st.mode & S_IWGRP) !== 0) || (st.mode & S_IWOTH) !== 0;
}

/** Does running this file as uid:gid need the path to be root-safe? */
export function needsScriptProtection(st: ModeInfo, runAs: RunAs): boolean {
  return (
    runAs.uid === 0 ||
    runAs.gid === 0 ||
    (st.uid === 0 && (st.mode & S_IXUSR) !== 0 && (st.mode & S_ISUID) !== 0) ||
    (st.gid === 0 && (st.mode & S_IXGRP) !== 0 && (st.mode & S_ISGID) !== 0)
  );
}

/** "/a/b/c" → ["/", "/a", "/a/b", "/a/b/c"] (repeated slashes collapsed). */
export function pathPrefixes(absolute: string): string[] {
  const parts = absolute.split('/').filter((p) => p !== '');
  const out = ['/'];
  let cur = '';
  for (const part of parts) {
    cur += `/${part}`;
    out.push(cur);
  }
  return out;
}

type PathVerdict = { ok: true } | { ok: false; kind: 'missing' | 'wrong_type' | 'unsafe' };

/** Walk every component of `path` with lstat, as keepalived does. */
function checkPathSecurity(path: string): PathVerdict {
  const prefixes = pathPrefixes(path);
  for (let i = 0; i < prefixes.length; i++) {
    const component = prefixes[i] as string;
    const last = i === prefixes.length - 1;
    let st: ModeInfo;
    try {
      st = modeInfo(lstatSync(component));
    } catch {
      return { ok: false, kind: 'missing' };
    }
    if ((!last && !st.isDirectory) || (last && !st.isFile && !st.isSymbolicLink)) return { ok: false, kind: 'wrong_type' };
    if (isUnsafeComponent(st)) return { ok: false, kind: 'unsafe' };
  }
  return { ok: true };
}

/** PATH search for a bare name, as execvp would, checking the x bit for the identity that will run it. */
function searchPath(name: string, runAs: RunAs, pathEnv: string): { found: string } | { error: 'ENOENT' | 'EACCES' } {
  let sawDenied = false;
  for (const dir of pathEnv.split(delimiter)) {
    const candidate = join(dir === '' ? '.' : dir, name);
    let st: Stats;
    try {
      st = statSync(candidate);
    } catch {
      continue;
    }
    if (!st.isFile() || !isExecutableBy(modeInfo(st), runAs.uid, runAs.gid)) {
      sawDenied = true;
      continue;
    }
    return { found: candidate };
  }
  return { error: sawDenied ? 'EACCES' : 'ENOENT' };
}

/** keepalived's words for why a script is disabled ("Disabling track script chk due to insecure"). */
export function refusalPhrase(reason: PrepareFailure): string {
  if (reason === 'insecure') return 'due to insecure';
  if (reason === 'bad_syntax') return 'since it cannot be parsed';
  return 'since not found/accessible';
}

/**
 * Whether the program of a script line exists and has an execute bit (`-t`'s quick check, before
 * the full check of ScriptPreparer). Split as the line will be run; an open test always "exists".
 */
export function scriptLineExists(line: string, pathEnv: string = scriptSearchPath(), self: RunAs = currentIdentity()): boolean {
  const parsed = parseCommandLine(line);
  if (parsed.kind === 'open-test') return true;
  if (parsed.kind !== 'exec') return false;
  if (!parsed.file.includes('/')) return 'found' in searchPath(parsed.file, self, pathEnv);
  try {
    const st = statSync(parsed.file);
    return st.isFile() && isExecutableBy(modeInfo(st), self.uid, self.gid);
  } catch {
    return false;
  }
}

function defaultUserName(opts: ScriptPreparerOptions): string {
  return opts.defaultUserName ?? 'keepalived_script';
}

export interface ScriptPreparerOptions {
  enableScriptSecurity: boolean;
  /** The identity for scripts without their own user; undefined = none (enable_script_security without
   * keepalived_script or a valid script_user): such scripts are refused. */
  defaultRunAs: RunAs | undefined;
  users: UserDatabase;
  logger: Logger;
  /** PATH for bare names (default process.env.PATH or the confstr default). */
  pathEnv?: string | undefined;
  /** For the message when there is no default user (default keepalived_script). */
  defaultUserName?: string | undefined;
  /** Our own identity: running as it needs no setuid (default: process uid/gid). */
  self?: RunAs | undefined;
}

/**
 * Checks and caches scripts. One per process; share it between the track script runner, the notifier
 * and the checkers so each script is checked (and its problems logged) once.
 */
export class ScriptPreparer {
  private readonly cache = new Map<string, PrepareResult>();
  private sawScript = false;
  private sawInsecure = false;
  readonly enableScriptSecurity: boolean;
  readonly defaultRunAs: RunAs | undefined;
  private defaultUserFailureLogged = false;
  readonly self: RunAs;

  constructor(private readonly opts: ScriptPreparerOptions) {
    this.enableScriptSecurity = opts.enableScriptSecurity;
    this.defaultRunAs = opts.defaultRunAs;
    this.self = opts.self ?? currentIdentity();
  }

  /**
   * From the config model. Resolves the default user (logging keepalived's warning when
   * keepalived_script is missing), so build it only when the configuration has scripts.
   */
  static fromGlobalDefs(
    global: Pick<GlobalDefs, 'scriptUser' | 'enableScriptSecurity'>,
    logger: Logger,
    users: UserDatabase = sharedUserDatabase(),
  ): ScriptPreparer {
    const defaultRunAs = resolveDefaultRunAs(global.scriptUser, users, logger, currentIdentity(), global.enableScriptSecurity);
    return new ScriptPreparer({
      enableScriptSecurity: global.enableScriptSecurity,
      defaultRunAs,
      defaultUserName: global.scriptUser?.user,
      users,
      logger,
    });
  }

  /** A configured `ScriptCommand` (notify_*, quorum_*, fifo scripts). */
  prepareCommand(cmd: Pick<ScriptCommand, 'command' | 'user' | 'group'>): PrepareResult {
    return this.prepare(cmd.command, cmd.user, cmd.group);
  }

  prepare(line: string, user?: string, group?: string): PrepareResult {
    const key = JSON.stringify([line, user ?? null, group ?? null]);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const result = this.check(line, user, group);
    this.cache.set(key, result);
    return result;
  }

  /**
   * After all scripts are prepared: keepalived's one-line summary when scripts run without
   * enable_script_security. `kind` 'check' gives the checker process's wording.
   */
  reportSecurity(kind: 'vrrp' | 'check' = 'vrrp'): void {
    if (this.enableScriptSecurity || !this.sawScript) return;
    const what = kind === 'check' ? 'check scripts' : 'scripts';
    this.opts.logger.warn(
      `SECURITY VIOLATION - ${what} are being executed but script_security not enabled.${this.sawInsecure ? ' There are insecure scripts.' : ''}`,
    );
  }

  private check(line: string, user: string | undefined, group: string | undefined): PrepareResult {
    const log = this.opts.logger;
    const parsed = parseCommandLine(line);
    if (parsed.kind === 'empty') return { ok: false, reason: 'empty', message: 'empty script line' };
    if (parsed.kind === 'invalid') {
      const message = `Unable to parse script '${line}': ${parsed.message} - disabling`;
      log.warn(message);
      return { ok: false, reason: 'bad_syntax', message };
    }

    let runAs: RunAs;
    if (user === undefined) {
      if (!this.defaultRunAs) {
        const message = `Unable to set default user ${defaultUserName(this.opts)} for script`;
        if (!this.defaultUserFailureLogged) {
          this.defaultUserFailureLogged = true;
          log.warn(message);
        }
        return { ok: false, reason: 'no_default_user', message };
      }
      runAs = this.defaultRunAs;
    } else {
      const res = resolveRunAs(user, group, this.opts.users);
      if (!res.ok) {
        log.warn(`${res.message} - disabling script '${line}'`);
        return { ok: false, reason: 'bad_user', message: res.message };
      }
      runAs = res.runAs;
    }

    if (parsed.kind === 'open-test') {
      if (parsed.rest.length > 0) {
        // keepalived passes the whole line to system() unchecked: `</dev/null /tmp/x.sh` would run x.sh.
        const message = `Script '${line}' is a file open test followed by other words, which would run unchecked through ${SHELL_PATH} - disabling`;
        log.warn(message);
        return { ok: false, reason: 'insecure', message };
      }
      // keepalived (SC_SYSTEM): nothing is executed, so no file check, and not counted as a script.
      return { ok: true, script: { command: openTestCommand(parsed.path), runAs, configured: line }, insecure: false };
    }

    const program = parsed.file;
    let path = program;
    if (!program.includes('/')) {
      const pathEnv = this.opts.pathEnv ?? scriptSearchPath();
      const found = searchPath(program, runAs, pathEnv);
      if ('error' in found) {
        const message =
          found.error === 'EACCES' ? `Permissions failure for script ${program} in path - disabling` : `Cannot find script ${program} in path - disabling`;
        log.warn(message);
        return { ok: false, reason: 'not_found', message };
      }
      log.warn(`WARNING - script \`${program}\` resolved by path search to \`${found.found}\`. Please specify full path.`);
      path = found.found;
    }

    let fileStat: ModeInfo;
    try {
      fileStat = modeInfo(statSync(path));
    } catch {
      const message = `Unable to access script \`${path}\` - disabling`;
      log.warn(message);
      return { ok: false, reason: 'not_found', message };
    }
    if (!fileStat.isFile || !isExecutableBy(fileStat, runAs.uid, runAs.gid)) {
      const message = `WARNING - script '${path}' is not executable for uid:gid ${runAs.uid}:${runAs.gid} - disabling.`;
      log.warn(message);
      return { ok: false, reason: 'not_executable', message };
    }
    this.sawScript = true;

    const command: RunnableCommand = { kind: 'exec', file: path, args: parsed.args };
    let insecurity: string | undefined;
    if (needsScriptProtection(fileStat, runAs)) {
      // As keepalived, check the path with its directories resolved (realpath), so /bin → usr/bin on
      // merged-/usr systems is judged by /usr/bin; if the file itself is a symlink, its target too.
      const absolute = posix.isAbsolute(path) ? path : posix.resolve(path);
      const paths: string[] = [];
      try {
        const inRealDir = posix.join(realpathSync(posix.dirname(absolute)), posix.basename(absolute));
        paths.push(inRealDir);
        const real = realpathSync(inRealDir);
        if (real !== inRealDir) paths.push(real);
      } catch {
        paths.push(absolute); // vanished since the stat above: the walk below reports it
      }
      for (const p of paths) {
        const verdict = checkPathSecurity(p);
        if (verdict.ok) continue;
        if (verdict.kind === 'missing') {
          const message = `check_script_secure could not find script '${p}' - disabling`;
          log.warn(message);
          return { ok: false, reason: 'not_found', message };
        }
        if (verdict.kind === 'wrong_type') {
          const message = `Wrong file type found in script path '${p}'.`;
          log.warn(message);
          return { ok: false, reason: 'insecure', message };
        }
        this.sawInsecure = true;
        const message = `Unsafe permissions found for script '${p}'${this.enableScriptSecurity ? ' - disabling' : ''}.`;
        log.warn(message);
        if (this.enableScriptSecurity) return { ok: false, reason: 'insecure', message };
        insecurity = message;
        break;
      }
    }
    return { ok: true, script: { command, runAs, configured: line }, insecure: insecurity !== undefined, insecurity };
  }
}
