// The notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`): ordered event lines for a
// reader process, keepalived's answer to notify scripts running out of order (#584, #996, PR #589).
//
// As keepalived (lib/notify.c fifo_open): the FIFO is created if missing (and removed again at close only
// if we created it), the `*_fifo_script` is started with the FIFO path as its last argument, and the FIFO
// is opened O_RDWR|O_NONBLOCK|O_NOFOLLOW. O_RDWR means the open never waits for a reader and a write
// never gets EPIPE when the reader goes away; O_NONBLOCK means a full pipe never blocks us.
//
// Unlike keepalived 2.2.7, which creates it 0644 and opens whatever is at the path, the FIFO is created
// 0600 (given to the notify_fifo_script's user when that is not us, as keepalived chowns it to the FIFO's
// user), and an existing path is used only if it is a FIFO or a regular file (appended to, as keepalived
// writes to one too), not a symbolic link, owned by us or by that user, and not writable by group or others (later keepalived refuses "a fifo we do not own" too): in a
// shared directory such as /tmp another user could otherwise read the events or inject lines. A FIFO left
// by an earlier run (ours: 0600) is reused.
//
// Every line goes through one in-memory queue per FIFO, written in order by at most one async write at a
// time (≤ PIPE_BUF bytes of whole lines, so a reader never sees half a line from one write). When the pipe
// is full (slow or absent reader) we retry on a timer; past `maxQueuedBytes` new lines are dropped, with
// one warning and a count when writing resumes. The VRRP engine never waits for any of this.

import { constants as fsConstants, closeSync, fchownSync, fstatSync, lstatSync, openSync, unlinkSync, write as fsWrite, type Stats } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Logger } from '../log/logger.js';
import type { PreparedScript } from './script-security.js';
import { defaultSpawner, type RunningScript, type ScriptSpawner } from './spawn.js';
import { systemClock, type TimerClock } from './clock.js';

export interface NotifyFifoOptions {
  path: string;
  logger: Logger;
  /** '' for notify_fifo, 'vrrp ' or 'lvs ' as in keepalived's messages ("Unable to open vrrp notify fifo …"). */
  label?: string | undefined;
  /** notify_fifo_script, already prepared; started with the FIFO path appended. */
  script?: PreparedScript | undefined;
  spawner?: ScriptSpawner | undefined;
  clock?: TimerClock | undefined;
  /** Default 1 MiB. */
  maxQueuedBytes?: number | undefined;
  /** Retry delay when the pipe is full (default 100 ms). */
  retryMs?: number | undefined;
}

const PIPE_BUF = 4096;

export class NotifyFifo {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing = false;
  private retryTimer: unknown;
  private dropped = 0;
  private closed = false;
  private drainWaiters: Array<() => void> = [];
  private readonly clock: TimerClock;
  private readonly maxQueuedBytes: number;
  private readonly retryMs: number;
  private readonly log: Logger;
  private errorLogged = false;

  private constructor(
    readonly path: string,
    private fd: number,
    /** What we created at the path (removed at close if it is still there), undefined if it existed. */
    private readonly created: Stats | undefined,
    private readonly script: RunningScript | undefined,
    opts: NotifyFifoOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 1024 * 1024;
    this.retryMs = opts.retryMs ?? 100;
    this.log = opts.logger;
  }

  /** Create (if needed) and open the FIFO and start its script; undefined (logged) if that fails. */
  static open(opts: NotifyFifoOptions): NotifyFifo | undefined {
    const { path, logger } = opts;
    const label = opts.label ?? '';
    const option = `${label.trim() === '' ? '' : `${label.trim()}_`}notify_fifo`;
    const ourUid = process.geteuid?.() ?? 0;
    const readerUid = opts.script?.runAs.uid;
    const refuse = (why: string): undefined => {
      logger.warn(`${option} ${path} ${why} - not using it`);
      return undefined;
    };

    let created = false;
    let before = lstatQuiet(path);
    if (before === undefined) {
      // Node has no mkfifo(); coreutils' is on every system keepalived runs on. mknod never follows a
      // symbolic link (EEXIST), so this cannot create a FIFO somewhere else.
      const res = spawnSync('mkfifo', ['-m', '0600', '--', path], { stdio: 'ignore', timeout: 5000 });
      if (res.status === 0) created = true;
      before = lstatQuiet(path);
      if (before === undefined) {
        logger.warn(`Unable to create ${label}notify fifo ${path}`);
        return undefined;
      }
    }
    const unsafe = unsafeFifo(before, ourUid, readerUid);
    if (unsafe !== undefined) return refuse(unsafe);

    let fd: number;
    try {
      // A regular file gets the lines appended, never overwritten.
      fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW | (before.isFile() ? fsConstants.O_APPEND : 0));
    } catch (err) {
      const errno = Math.abs((err as NodeJS.ErrnoException).errno ?? 0);
      logger.warn(`Unable to open ${label}notify fifo ${path} - errno ${errno}`);
      if (created) unlinkIfSame(path, before);
      return undefined;
    }
    // What was opened is what was checked (the path may have been swapped in between).
    const opened = fstatSync(fd);
    const swapped = opened.ino !== before.ino || opened.dev !== before.dev;
    const unsafeOpened = swapped ? 'was replaced while being opened' : unsafeFifo(opened, ourUid, readerUid);
    if (unsafeOpened !== undefined) {
      closeSync(fd);
      if (created && !swapped) unlinkIfSame(path, before);
      return refuse(unsafeOpened);
    }
    if ((opened.mode & 0o004) !== 0) {
      logger.warn(`${option} ${path} is readable by every local user (mode ${octal(opened.mode)}): they can read the events`);
    }
    if (created && opts.script && readerUid !== ourUid) {
      // keepalived chowns a FIFO it creates to the FIFO's user (by default the script user), so a reader
      // that is not root can open it.
      try {
        fchownSync(fd, opts.script.runAs.uid, opts.script.runAs.gid);
      } catch (e) {
        logger.info(`Failed to set uid:gid for fifo ${path}: ${(e as Error).message}`);
      }
    }

    let fifo: NotifyFifo | undefined;
    let script: RunningScript | undefined;
    if (opts.script) {
      const spawner = opts.spawner ?? defaultSpawner;
      script = spawner(opts.script, [path], { captureStderr: false, unref: true });
      void script.exited.then((exit) => {
        if (fifo?.closed !== false) return; // we stopped it
        const how = exit.spawnError ? `could not start: ${exit.spawnError.message}` : exit.signal ? `signal ${exit.signal}` : `status ${exit.code}`;
        logger.warn(`${label}notify fifo script terminated (${how})`);
      });
    }
    fifo = new NotifyFifo(path, fd, created ? opened : undefined, script, opts);
    return fifo;
  }

  /** Queue one line (newline included). Never blocks, never throws. */
  write(line: string): void {
    if (this.closed) return;
    const buf = Buffer.from(line);
    if (this.queuedBytes + buf.length > this.maxQueuedBytes) {
      if (this.dropped === 0) this.log.warn(`notify fifo ${this.path} is full (no reader?) - dropping events`);
      this.dropped++;
      return;
    }
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    this.pump();
  }

  /** Bytes accepted but not yet in the pipe. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Resolves true when everything queued is in the pipe, false after timeoutMs. */
  whenDrained(timeoutMs: number): Promise<boolean> {
    if (this.queuedBytes === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let done = false;
      const timer = this.clock.setTimeout(() => {
        done = true;
        resolve(false);
      }, timeoutMs);
      this.drainWaiters.push(() => {
        if (done) return;
        this.clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Give queued lines up to `drainMs` to reach the pipe, then close, remove a FIFO we created, stop its script. */
  async close(drainMs = 1000): Promise<void> {
    if (this.closed) return;
    await this.whenDrained(drainMs);
    this.closed = true;
    this.clock.clearTimeout(this.retryTimer);
    // keepalived unlinks first so a reader loop that reopens the FIFO cannot find it again.
    if (this.created) unlinkIfSame(this.path, this.created);
    const fd = this.fd;
    this.fd = -1;
    if (!this.writing) this.closeFd(fd);
    else this.pendingClose = fd;
    this.script?.kill('SIGTERM');
  }

  private pendingClose: number | undefined;

  private closeFd(fd: number): void {
    try {
      closeSync(fd);
    } catch {
      // ignore
    }
  }

  private pump(): void {
    if (this.writing || this.queue.length === 0 || this.fd < 0) return;
    // Whole lines up to PIPE_BUF: atomic for the pipe, and one syscall for a burst of events.
    let take = 1;
    let size = (this.queue[0] as Buffer).length;
    while (take < this.queue.length && size + (this.queue[take] as Buffer).length <= PIPE_BUF) {
      size += (this.queue[take] as Buffer).length;
      take++;
    }
    const chunk = take === 1 ? (this.queue[0] as Buffer) : Buffer.concat(this.queue.slice(0, take), size);
    this.writing = true;
    fsWrite(this.fd, chunk, 0, chunk.length, null, (err, written) => {
      this.writing = false;
      if (this.pendingClose !== undefined) {
        this.closeFd(this.pendingClose);
        this.pendingClose = undefined;
        return;
      }
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK') {
          this.retryTimer = this.clock.setTimeout(() => this.pump(), this.retryMs);
          return;
        }
        if (!this.errorLogged) {
          this.errorLogged = true;
          this.log.warn(`Write to notify fifo ${this.path} failed: ${err.message}`);
        }
        written = chunk.length; // drop what cannot be written rather than spin on it
      }
      this.consume(written);
      if (this.dropped > 0 && this.queuedBytes === 0) {
        this.log.warn(`notify fifo ${this.path}: ${this.dropped} events were dropped while it was full`);
        this.dropped = 0;
      }
      if (this.queuedBytes === 0) {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of waiters) w();
      }
      this.pump();
    });
  }

  private consume(bytes: number): void {
    let left = bytes;
    while (left > 0 && this.queue.length > 0) {
      const head = this.queue[0] as Buffer;
      if (head.length <= left) {
        this.queue.shift();
        this.queuedBytes -= head.length;
        left -= head.length;
      } else {
        this.queue[0] = head.subarray(left);
        this.queuedBytes -= left;
        left = 0;
      }
    }
  }
}

function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/** Why an existing path must not be used as a notify FIFO, or undefined when it may. */
function unsafeFifo(st: Stats, ourUid: number, readerUid: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  // keepalived 2.2.7 writes the lines to a regular file at the path too (it opens whatever exists).
  if (!st.isFIFO() && !st.isFile()) return 'exists and is neither a FIFO nor a regular file';
  if (st.uid !== ourUid && st.uid !== readerUid) {
    const reader = readerUid !== undefined && readerUid !== ourUid ? ` or the fifo script's user (uid ${readerUid})` : '';
    return `is owned by uid ${st.uid}, not by us (uid ${ourUid})${reader}`;
  }
  if ((st.mode & 0o022) !== 0) return `is writable by group or others (mode ${octal(st.mode)}): they could inject events`;
  return undefined;
}

/** Removes the path only if it is still the file we created (never someone else's put in its place). */
function unlinkIfSame(path: string, ours: Stats): void {
  const now = lstatQuiet(path);
  if (now === undefined || now.ino !== ours.ino || now.dev !== ours.dev) return;
  try {
    unlinkSync(path);
  } catch {
    // ignore
  }
}
