// Pid files, as keepalived's -p/-r/-c, under lvskeeper's own names so that a keepalived installed on
// the same machine (/run/keepalived.pid, /run/keepalived_vrrp.pid, /run/keepalived_checkers.pid)
// never collides with us.

import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

export const DEFAULT_PID_FILE = '/run/lvskeeper.pid';
export const DEFAULT_VRRP_PID_FILE = '/run/lvskeeper_vrrp.pid';
export const DEFAULT_CHECKERS_PID_FILE = '/run/lvskeeper_checkers.pid';

export class PidFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
    /** The live process that holds the file, when that is the reason. */
    readonly holder?: number | undefined,
  ) {
    super(message);
    this.name = 'PidFileError';
  }
}

export interface PidFileDeps {
  /** true when a process with this pid exists (kill(pid, 0) ok or EPERM). */
  isAlive?: (pid: number) => boolean;
  /** The process' command line, or undefined when it cannot be read. */
  cmdline?: (pid: number) => string | undefined;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function procCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

/** The pid a pid file names, or undefined (missing, empty, garbage). */
export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d+)\s*$/.exec(text);
  if (!m?.[1]) return undefined;
  const pid = Number(m[1]);
  return pid > 0 && Number.isSafeInteger(pid) ? pid : undefined;
}

/**
 * The live lvskeeper process a pid file names, or undefined when the file is missing or stale.
 * A live pid whose command line is readable and does not mention lvskeeper is stale too (pid reuse
 * after a crash or reboot), so a leftover file never blocks a start.
 */
export function runningInstance(path: string, deps: PidFileDeps = {}): number | undefined {
  const pid = readPidFile(path);
  if (pid === undefined || pid === process.pid) return undefined;
  if (!(deps.isAlive ?? isProcessAlive)(pid)) return undefined;
  const cmd = (deps.cmdline ?? procCmdline)(pid);
  if (cmd !== undefined && !/lvskeeper/.test(cmd)) return undefined;
  return pid;
}

export interface PidFile {
  readonly path: string;
  readonly pid: number;
  /** Removes the file if it still names our pid. Idempotent. */
  release(): void;
}

/**
 * Writes `pid\n` to path (atomically, mode 0644), refusing with PidFileError "daemon is already
 * running" when a live lvskeeper holds it. A stale file is replaced.
 */
export function acquirePidFile(path: string, pid: number = process.pid, deps: PidFileDeps = {}): PidFile {
  const holder = runningInstance(path, deps);
  if (holder !== undefined && holder !== pid) {
    throw new PidFileError(`daemon is already running (pid ${holder}, ${path})`, path, holder);
  }
  writePidFile(path, pid);
  let released = false;
  return {
    path,
    pid,
    release() {
      if (released) return;
      released = true;
      if (readPidFile(path) === pid) {
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
      }
    },
  };
}

/** Writes a pid file atomically (tmp + rename), without any liveness check (child pid files). */
export function writePidFile(path: string, pid: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing */
    }
    throw new PidFileError(`cannot write pid file ${path}: ${(e as Error).message}`, path);
  }
}

/** Removes a pid file if it names pid (or unconditionally when pid is undefined). */
export function removePidFile(path: string, pid?: number): void {
  if (pid !== undefined && readPidFile(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
