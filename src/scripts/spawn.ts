// Starting one script process. The only module here that calls child_process.spawn, and never with a
// shell: the program is the one script-security.ts checked (keepalived execve()s it too).
//
// As keepalived does (system_call_script + setpgid), every script leads its own process group, so a
// timeout or stop can signal the script AND whatever it started (`kill(-pid, sig)`); stdin/stdout go to
// /dev/null. Unlike keepalived we keep the last KiB of stderr: a failing check's own error text is the
// most useful thing to put next to "VRRP_Script(chk) failed" at 3 a.m. (logged at debug level).
// uid/gid are passed only when they differ from ours (a non-root daemon cannot switch, and root→root
// needs no setgroups). A spawn that fails (ENOENT, EACCES after startup) is reported as an exit, never
// thrown: a missing script must not crash the daemon.
// The environment is PATH alone (scriptEnvironment). keepalived 2.2.7 sets no variables of its own for
// scripts (they get arguments, not variables) and execve()s them with its own environ; lvskeeper's holds
// Node's and systemd's (NODE_OPTIONS, NOTIFY_SOCKET, JOURNAL_STREAM, LD_*, whatever
// /etc/default/lvskeeper sets), none of them meant for an operator's script. keepalived 2.4 likewise
// drops IFS, LD_PRELOAD and LD_LIBRARY_PATH before exec.

import { spawn } from 'node:child_process';
import { commandArgv } from './command-line.js';
import type { PreparedScript } from './script-security.js';
import type { RunAs } from './script-user.js';
import { currentIdentity } from './script-user.js';

export interface ScriptExit {
  /** Exit code when the process exited; null when a signal killed it or it never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  spawnError?: NodeJS.ErrnoException | undefined;
  /** The end of what the script wrote to stderr (at most STDERR_TAIL_BYTES). */
  stderrTail: string;
}

export interface RunningScript {
  readonly pid: number | undefined;
  /** Signal the whole process group; errors (already gone) are ignored. */
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<ScriptExit>;
}

export interface SpawnOptions {
  /** Keep the stderr tail (default true). Notify and FIFO scripts don't: they may outlive the daemon,
   * and a pipe to a dead daemon would SIGPIPE them. */
  captureStderr?: boolean | undefined;
  /** Don't let this child keep the daemon's event loop alive (notify scripts at shutdown). */
  unref?: boolean | undefined;
}

/** What the runner and the notifier call; tests substitute a fake. */
export type ScriptSpawner = (script: PreparedScript, extraArgs?: readonly string[], options?: SpawnOptions) => RunningScript;

export const STDERR_TAIL_BYTES = 1024;
const STDERR_CLOSE_WAIT_MS = 100;
/** PATH when the daemon has none: confstr(_CS_PATH), as keepalived's script path search falls back to. */
export const DEFAULT_SCRIPT_PATH = '/usr/bin:/bin';

/** The PATH a script's bare program names are looked up in (script-security.ts) and that the script gets. */
export function scriptSearchPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['PATH'] || DEFAULT_SCRIPT_PATH;
}

/** A script's whole environment: the daemon's PATH, nothing else. */
export function scriptEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { PATH: scriptSearchPath(env) };
}

export function spawnScript(
  script: PreparedScript,
  extraArgs: readonly string[] = [],
  spawnOptions: SpawnOptions = {},
  self: RunAs = currentIdentity(),
): RunningScript {
  const [file, args] = commandArgv(script.command, extraArgs);
  const options: Parameters<typeof spawn>[2] = {
    detached: true, // setsid(): own process group, killable as a whole
    stdio: ['ignore', 'ignore', spawnOptions.captureStderr === false ? 'ignore' : 'pipe'],
    env: scriptEnvironment(),
  };
  if (script.runAs.uid !== self.uid) options.uid = script.runAs.uid;
  if (script.runAs.gid !== self.gid) options.gid = script.runAs.gid;

  let stderrTail = '';
  let resolveExit!: (exit: ScriptExit) => void;
  const exited = new Promise<ScriptExit>((resolve) => {
    resolveExit = resolve;
  });

  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(file, args, options);
  } catch (err) {
    // Synchronous failures (EPERM on setuid, bad arguments)
    resolveExit({ code: null, signal: null, spawnError: err as NodeJS.ErrnoException, stderrTail });
    return { pid: undefined, kill() {}, exited };
  }

  let settled = false;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
  });
  child.stderr?.on('error', () => {});
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (settled || child.pid !== undefined) return; // errors after start (kill failures) are not exits
    settled = true;
    resolveExit({ code: null, signal: null, spawnError: err, stderrTail });
  });
  // The exit is what counts. stderr may still hold a last chunk, so wait for 'close' briefly, but not
  // for long: a script that backgrounds a daemon leaves our stderr pipe open in that daemon.
  child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(closeWait);
      child.stderr?.destroy();
      resolveExit({ code, signal, stderrTail });
    };
    const closeWait = setTimeout(finish, STDERR_CLOSE_WAIT_MS);
    child.once('close', finish);
  });

  if (spawnOptions.unref) child.unref();

  const pid = child.pid;
  return {
    pid,
    kill(signal) {
      if (pid === undefined) return;
      try {
        process.kill(-pid, signal);
      } catch {
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
      }
    },
    exited,
  };
}

/** The default spawner. */
export const defaultSpawner: ScriptSpawner = (script, extraArgs, options) => spawnScript(script, extraArgs, options);
