// Pid files, as keepalived's -p/-r/-c, under lvskeeper's own names so that a keepalived installed on
// the same machine (/run/keepalived.pid, /run/keepalived_vrrp.pid, /run/keepalived_checkers.pid)
// never collides with us.

import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
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

/** The pid a pid file names, or undefined (missing, empty, garbage, not a regular file, a symbolic link). */
export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    // Never through a symbolic link, and never blocked on a FIFO planted at the path.
    const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    try {
      if (!fstatSync(fd).isFile()) return undefined;
      const buf = Buffer.alloc(64);
      text = buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0));
    } finally {
      closeSync(fd);
    }
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
 * Writes `pid\n` to path (atomically, mode 0644, never through a symbolic link), refusing with
 * PidFileError "daemon is already running" when a live lvskeeper holds it. A stale file is replaced.
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

/**
 * Writes a pid file atomically (tmp + rename), without any liveness check (child pid files). A symbolic
 * link at the path is refused, as keepalived's open(O_NOFOLLOW) of its pid file fails on one.
 */
export function writePidFile(path: string, pid: number): void {
  let isLink = false;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch {
    // missing: fine
  }
  if (isLink) throw new PidFileError(`cannot write pid file ${path}: it is a symbolic link - remove it`, path);
  try {
    replaceFileNoFollow(path, `${pid}\n`, 0o644);
  } catch (e) {
    throw new PidFileError(`cannot write pid file ${path}: ${(e as Error).message}`, path);
  }
}

/**
 * Replaces path with a regular file holding data, never writing through a symbolic link: the data goes to
 * a new temporary file in the same directory (unpredictable name, O_CREAT|O_EXCL|O_NOFOLLOW, so nothing
 * planted there is followed or reused), which is then renamed over the path (rename replaces a link
 * itself, not its target). As keepalived's fopen_safe() for files it writes (mkostemp + rename). `keep`: the
 * owner and mode to give it (those of the file it replaces).
 */
export function replaceFileNoFollow(path: string, data: string, mode: number, keep?: { uid: number; gid: number; mode: number }): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, mode);
  try {
    try {
      writeSync(fd, data);
      if (keep !== undefined) {
        // the replaced file's owner and mode (a track file written by an unprivileged script stays writable by it)
        fchownSync(fd, keep.uid, keep.gid);
        fchmodSync(fd, keep.mode & 0o7777);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing */
    }
    throw e;
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
