// The daemon's logger: one small interface, a few line formats, writes that never wait on a reader.
//
// Where lines go (planLogOutputs, decided once in createLogger), keepalived's rules (lib/logger.c
// vlog_message, core/main.c) adapted to systemd's journal stream:
//  1. --log-json: one pino JSON object per line on stderr (`level` numeric, pino's scale plus notice=35,
//     with child bindings and per-call fields), for log shippers. Nothing else.
//  2. Under systemd (JOURNAL_STREAM names our stderr): every line on stderr with a syslog priority prefix,
//     sd-daemon(3) style: `<6>(VI_1) Entering MASTER STATE`. journald strips it and files the line at that
//     priority, so `journalctl -u lvskeeper -p warning` works; it adds the time and `lvskeeper[pid]:`.
//     keepalived logs through syslog(3) there, which journald also receives (it owns /dev/log): sending
//     to /dev/log as well would store every line twice, so we don't, and -l / -G / -S change nothing.
//  3. Otherwise, as keepalived: syslog to /dev/log with facility -S (default daemon) unless -G; and with
//     -l, console lines on stderr too, `Wed Nov 25 02:41:07 2026: (VI_1) Entering MASTER STATE`
//     (strftime "%c", C locale, local time). keepalived prints those only with -n; lvskeeper never forks.
//     -G without -l therefore logs nothing (keepalived does the same). When /dev/log cannot be reached
//     (no syslog daemon, e.g. in a container) a line that would go nowhere else is written to stderr in
//     console format, after a one-time warning naming the socket and the error.
// `-g FILE` adds the same lines (console or json format) to FILE in every case. Message texts are
// keepalived's phrases (operators grep and alert on them), so human formats print the message only;
// bindings and fields show up in JSON.
//
// Syslog datagrams are RFC 3164 as glibc's syslog(3) writes them to the local socket:
// `<PRI>Nov 25 02:41:07 lvskeeper[1234]: msg`, PRI = facility * 8 + severity, no hostname (the syslog
// daemon adds it). They are sent through the native addon (node:dgram has no AF_UNIX datagrams), one
// sendto() per line; like syslog(3) in keepalived that call waits only if the syslog daemon's receive
// queue is full.
//
// stderr and file writes go through pino's SonicBoom destination with sync:false: a write() copies into a
// buffer and returns; the fd is written from the event loop, retrying EAGAIN. A blocked journal or
// terminal therefore costs memory, not timer latency. On process exit (including process.exit() from a
// crash handler) the buffer is flushed synchronously, and flushSync() is there for fatal paths that exit
// some other way.
//
// Import cost: this module only imports node builtins and the addon loader (itself builtins only, the
// addon loaded on first syslog line); pino is loaded (synchronously, once) when the first logger with a
// stderr or file output is created, so modules that merely import the Logger type pay nothing.

import { createRequire } from 'node:module';
import { fstatSync, openSync } from 'node:fs';
import type { Logger as PinoLogger, DestinationStream } from 'pino';
import { loadNative } from '../net/native.js';
import type { DaemonOptions } from './options.js';
import type { LogFields, Logger } from '../log/logger.js';

export type LogLevel = 'debug' | 'info' | 'notice' | 'warn' | 'error';

/** syslog(3) priorities, the numbers journald reads from a `<N>` prefix. */
export const SYSLOG_PRIORITY: Readonly<Record<LogLevel, number>> = {
  error: 3, // LOG_ERR
  warn: 4, // LOG_WARNING
  notice: 5, // LOG_NOTICE
  info: 6, // LOG_INFO (keepalived logs nearly everything here)
  debug: 7, // LOG_DEBUG
};

/** pino's numeric levels, with notice between info (30) and warn (40). */
export const PINO_LEVEL: Readonly<Record<LogLevel, number>> = {
  debug: 20,
  info: 30,
  notice: 35,
  warn: 40,
  error: 50,
};

export type { LogFields, Logger };

export interface RootLogger extends Logger {
  readonly format: LogFormat;
  /** Write everything buffered now, synchronously (for fatal paths). Never throws. */
  flushSync(): void;
  /** Flush and stop writing; idempotent. */
  close(): void;
  /** Resolves once no earlier line is still being written (at most timeoutMs): call before close(). */
  drain(timeoutMs?: number): Promise<void>;
}

/**
 * What stderr carries: 'journal', 'console' or 'json' lines; 'syslog' when lines go to the syslog socket
 * only (stderr just for the fallback), 'none' with -G and without -l.
 */
export type LogFormat = 'journal' | 'console' | 'json' | 'syslog' | 'none';

/** Something lines can be written to; tests pass an array-backed one. */
export interface LineSink {
  write(chunk: string): unknown;
  flushSync?(): void;
  end?(): void;
}

export interface LoggerOptions {
  /** -l: console lines with a timestamp on stderr (outside systemd). */
  console: boolean;
  /** --log-json */
  json: boolean;
  /** -D: also write debug messages. */
  detail: boolean;
  /** -S: syslog facility, `0`..`7` for local0..local7 (keepalived), or a name; default daemon. */
  facility?: string | undefined;
  /** -G: no syslog. */
  noSyslog?: boolean | undefined;
  /** -g: also append lines to this file. */
  file?: string | undefined;
  /** The syslog tag and the pino `name` in JSON lines (e.g. "lvskeeper" or "lvskeeper_vrrp"). */
  processName?: string | undefined;
  // --- for tests and embedding ---
  /** Where the stderr lines go instead of stderr. */
  sink?: LineSink | undefined;
  /** The syslog socket (default /dev/log). */
  syslogPath?: string | undefined;
  /** Sends one datagram to a unix socket path (default: the native addon); throws on failure. */
  sendDatagram?: DatagramSender | undefined;
  /** Environment to read JOURNAL_STREAM from (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Force the journal decision instead of checking JOURNAL_STREAM against our fds. */
  underJournal?: boolean | undefined;
  /** Clock for console and syslog timestamps (default new Date()). */
  now?: (() => Date) | undefined;
  /** Flush on process 'exit' (default true). */
  flushOnExit?: boolean | undefined;
  /**
   * Write stderr and -g lines synchronously (default false). The parent process logs rarely, and its lines
   * must reach the journal before the children's lines about the same event ('Stopping' before the VRRP
   * child's '(VI_1) sent 0 priority'): an asynchronous write from libuv's thread pool can lose that race.
   */
  syncWrites?: boolean | undefined;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** strftime("%b %e %T") in the C locale, local time: `Nov  5 02:41:07` (day padded with a space). */
function monthDayTime(date: Date): string {
  const day = date.getDate();
  return (
    `${MONTHS[date.getMonth()]} ${day < 10 ? ` ${day}` : day} ` +
    `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`
  );
}

/** strftime("%c") in the C locale, local time: `Wed Nov 25 02:41:07 2026`, day padded with a space. */
export function formatConsoleTimestamp(date: Date): string {
  return `${WEEKDAYS[date.getDay()]} ${monthDayTime(date)} ${date.getFullYear()}`;
}

/** One keepalived -l line, newline included. Embedded newlines are kept on one line. */
export function formatConsoleLine(date: Date, msg: string): string {
  return `${formatConsoleTimestamp(date)}: ${singleLine(msg)}\n`;
}

/** One sd-daemon(3) line: `<N>msg`, newline included. */
export function formatJournalLine(level: LogLevel, msg: string): string {
  return `<${SYSLOG_PRIORITY[level]}>${singleLine(msg)}\n`;
}

/** syslog(3) facility codes (RFC 3164 §4.1.1, <syslog.h> LOG_* >> 3) that -S can name. */
export const SYSLOG_FACILITY = {
  daemon: 3, // LOG_DAEMON: keepalived's default
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;

export const DEFAULT_SYSLOG_PATH = '/dev/log';

/**
 * The facility code for a -S value, or undefined if it names none. keepalived's -S takes 0..7 for
 * LOG_LOCAL0..LOG_LOCAL7 (LOG_FACILITY[] in core/main.c); the names daemon and local0..local7 are
 * accepted too, so the default ("daemon") reads the same way.
 */
export function parseSyslogFacility(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return SYSLOG_FACILITY.daemon;
  if (/^[0-7]$/.test(value)) return SYSLOG_FACILITY.local0 + Number(value);
  return Object.hasOwn(SYSLOG_FACILITY, value) ? SYSLOG_FACILITY[value as keyof typeof SYSLOG_FACILITY] : undefined;
}

/**
 * One datagram for the local syslog socket, as glibc's syslog(3) formats it (RFC 3164 §4.1 without the
 * HOSTNAME, which the local daemon fills in): `<PRI>Nov 25 02:41:07 TAG[PID]: msg`, PRI = facility * 8 +
 * severity. No trailing newline: a datagram is one message.
 */
export function formatSyslogDatagram(facility: number, level: LogLevel, tag: string, pid: number, date: Date, msg: string): string {
  return `<${facility * 8 + SYSLOG_PRIORITY[level]}>${monthDayTime(date)} ${tag}[${pid}]: ${singleLine(msg)}`;
}

function singleLine(msg: string): string {
  return msg.includes('\n') ? msg.replace(/\r?\n/g, ' ') : msg;
}

/**
 * True when systemd connected our stderr (where log lines go) to the journal: JOURNAL_STREAM is
 * "DEV:INODE" of that stream (systemd.exec(5)). Checking the inode, not just the variable, keeps
 * children whose stderr was redirected (or StandardError=file:…) from writing `<N>` prefixes into a file.
 */
export function isUnderJournal(env: NodeJS.ProcessEnv = process.env, fds: readonly number[] = [2]): boolean {
  const value = env.JOURNAL_STREAM;
  if (!value) return false;
  const [dev, ino] = value.split(':');
  if (dev === undefined || ino === undefined) return false;
  for (const fd of fds) {
    try {
      const st = fstatSync(fd, { bigint: true });
      if (String(st.dev) === dev && String(st.ino) === ino) return true;
    } catch {
      // fd closed: not the journal
    }
  }
  return false;
}

const nodeRequire = createRequire(import.meta.url);
type PinoModule = typeof import('pino');
let pinoModule: PinoModule | undefined;
function loadPino(): PinoModule {
  pinoModule ??= nodeRequire('pino') as PinoModule;
  return pinoModule;
}

interface Output {
  /** Called with the already-decided level; returns nothing, never throws. */
  emit(level: LogLevel, msg: string, bindings: LogFields | undefined, fields: LogFields | undefined): void;
  flushSync(): void;
  close(): void;
  /** An asynchronous write of an earlier line is still in flight. */
  busy?(): boolean;
}

function safeFlush(sink: LineSink): void {
  try {
    sink.flushSync?.();
  } catch {
    // SonicBoom throws if not ready or already destroyed: nothing more we can do at exit
  }
}

/** Flush and close for an output writing to `sink`; neither may throw at exit. */
function sinkLifecycle(sink: LineSink): Pick<Output, 'flushSync' | 'close' | 'busy'> {
  return {
    flushSync: () => safeFlush(sink),
    // SonicBoom's flushSync() writes what is buffered at once, ahead of a write still in libuv's thread
    // pool: closing then would put the last lines out of order (drain() waits for this first).
    busy: () => (sink as { _writing?: unknown })._writing === true,
    close() {
      safeFlush(sink);
      try {
        sink.end?.();
      } catch {
        // ignore
      }
    },
  };
}

/** Sends one datagram to a unix socket path; throws (with the errno name as `code`) when it cannot. */
export type DatagramSender = (path: string, datagram: Buffer) => void;

function nativeDatagramSender(): DatagramSender {
  const { addon, error } = loadNative();
  if (addon === undefined) {
    const unavailable = error ?? new Error('native addon unavailable');
    return () => {
      throw unavailable;
    };
  }
  return (path, datagram) => addon.sendUnixDatagram(path, datagram);
}

interface SyslogSettings {
  path: string;
  facility: number;
  tag: string;
  send: DatagramSender;
  now: () => Date;
  /** Where a line goes when the socket cannot take it; undefined when stderr already has every line. */
  fallback: (() => LineSink) | undefined;
}

/**
 * keepalived's syslog output. A line the socket refuses (no syslog daemon, socket gone while it restarts)
 * goes to the fallback, after one warning per outage so stderr says why lines appear there.
 */
function syslogOutput(o: SyslogSettings): Output {
  let failing = false;
  let fallbackSink: LineSink | undefined;
  return {
    emit(level, msg) {
      const date = o.now();
      try {
        o.send(o.path, Buffer.from(formatSyslogDatagram(o.facility, level, o.tag, process.pid, date, msg)));
        failing = false;
        return;
      } catch (err) {
        if (o.fallback === undefined) return;
        try {
          fallbackSink ??= o.fallback();
          if (!failing) {
            const e = err as NodeJS.ErrnoException;
            const why = e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
            fallbackSink.write(formatConsoleLine(date, `syslog socket ${o.path} unavailable (${why}) - logging to stderr`));
          }
          failing = true;
          fallbackSink.write(formatConsoleLine(date, msg));
        } catch {
          // a broken stderr must not take the daemon down
        }
      }
    },
    flushSync: () => {
      if (fallbackSink) safeFlush(fallbackSink);
    },
    close() {
      if (fallbackSink) sinkLifecycle(fallbackSink).close();
    },
  };
}

function humanOutput(sink: LineSink, format: 'journal' | 'console', now: () => Date): Output {
  return {
    emit(level, msg) {
      const line = format === 'journal' ? formatJournalLine(level, msg) : formatConsoleLine(now(), msg);
      try {
        sink.write(line);
      } catch {
        // a broken stderr must not take the daemon down
      }
    },
    ...sinkLifecycle(sink),
  };
}

function jsonOutput(sink: LineSink, opts: LoggerOptions): Output {
  const pino = loadPino();
  const base: LogFields = { pid: process.pid };
  if (opts.processName) base.name = opts.processName;
  const root: PinoLogger<'notice'> = pino<'notice'>(
    {
      level: opts.detail ? 'debug' : 'info',
      customLevels: { notice: PINO_LEVEL.notice },
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    sink as DestinationStream,
  );
  const cache = new WeakMap<LogFields, PinoLogger<'notice'>>();
  return {
    emit(level, msg, bindings, fields) {
      let target = root;
      if (bindings) {
        let child = cache.get(bindings);
        if (!child) {
          child = root.child(bindings);
          cache.set(bindings, child);
        }
        target = child;
      }
      try {
        if (fields) target[level](fields, msg);
        else target[level](msg);
      } catch {
        // ignore: see humanOutput
      }
    },
    ...sinkLifecycle(sink),
  };
}

function destinationFor(fd: number, sync = false): LineSink {
  const dest = loadPino().destination({ dest: fd, sync });
  // pino drops output on EPIPE and re-emits other write errors (ENOSPC, EBADF...): an unhandled 'error'
  // event would kill the daemon, and losing log lines is the lesser evil. pino also flushes this
  // destination synchronously on process exit.
  dest.on('error', () => {});
  return dest;
}

class LoggerImpl implements Logger {
  constructor(
    protected readonly outputs: readonly Output[],
    protected readonly minLevel: number,
    protected readonly bindings: LogFields | undefined,
  ) {}

  private log(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (PINO_LEVEL[level] < this.minLevel) return;
    for (const out of this.outputs) out.emit(level, msg, this.bindings, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  notice(msg: string, fields?: LogFields): void {
    this.log('notice', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
  child(bindings: LogFields): Logger {
    return new LoggerImpl(this.outputs, this.minLevel, { ...this.bindings, ...bindings });
  }
}

class RootLoggerImpl extends LoggerImpl implements RootLogger {
  private closed = false;
  private readonly onExit = (): void => this.flushSync();

  constructor(
    outputs: readonly Output[],
    minLevel: number,
    readonly format: LogFormat,
    flushOnExit: boolean,
  ) {
    super(outputs, minLevel, undefined);
    if (flushOnExit) process.once('exit', this.onExit);
  }

  flushSync(): void {
    for (const out of this.outputs) out.flushSync();
  }

  async drain(timeoutMs = 500): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (this.outputs.some((o) => o.busy?.()) && performance.now() < end) await new Promise((r) => setTimeout(r, 1));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.removeListener('exit', this.onExit);
    for (const out of this.outputs) out.close();
  }
}

export interface LogPlan {
  /** The format of the lines on stderr; undefined: none (except the syslog fallback). */
  stderr: 'journal' | 'console' | 'json' | undefined;
  /** Also send every line to the syslog socket. */
  syslog: boolean;
}

/** Where lines go, by the rules at the top of this file (pure apart from the JOURNAL_STREAM fd check). */
export function planLogOutputs(opts: Pick<LoggerOptions, 'json' | 'console' | 'noSyslog' | 'env' | 'underJournal'>): LogPlan {
  if (opts.json) return { stderr: 'json', syslog: false };
  if (opts.underJournal ?? isUnderJournal(opts.env ?? process.env)) return { stderr: 'journal', syslog: false };
  return { stderr: opts.console ? 'console' : undefined, syslog: !opts.noSyslog };
}

/** The logger options the command line asks for (-l, -D, --log-json, -S, -G, -g); processName is the syslog tag. */
export function loggerOptionsFromDaemon(
  options: Pick<DaemonOptions, 'logConsole' | 'logDetail' | 'logJson' | 'logFacility' | 'noSyslog' | 'logFile'>,
  processName = 'lvskeeper',
): LoggerOptions {
  return {
    console: options.logConsole,
    json: options.logJson,
    detail: options.logDetail,
    facility: options.logFacility,
    noSyslog: options.noSyslog,
    file: options.logFile,
    processName,
  };
}

export function createLogger(opts: LoggerOptions): RootLogger {
  const plan = planLogOutputs(opts);
  const now = opts.now ?? (() => new Date());
  const outputs: Output[] = [];
  let stderr: LineSink | undefined;
  const stderrSink = (): LineSink => (stderr ??= opts.sink ?? destinationFor(2, opts.syncWrites));
  // Set-up problems are logged to the outputs that exist so far.
  const setupError = (msg: string): void => {
    for (const out of outputs) out.emit('error', msg, undefined, undefined);
  };

  if (plan.stderr === 'json') outputs.push(jsonOutput(stderrSink(), opts));
  else if (plan.stderr !== undefined) outputs.push(humanOutput(stderrSink(), plan.stderr, now));

  if (plan.syslog) {
    let facility = parseSyslogFacility(opts.facility);
    const badFacility = facility === undefined;
    facility ??= SYSLOG_FACILITY.daemon;
    outputs.push(
      syslogOutput({
        path: opts.syslogPath ?? DEFAULT_SYSLOG_PATH,
        facility,
        tag: opts.processName ?? 'lvskeeper',
        send: opts.sendDatagram ?? nativeDatagramSender(),
        now,
        fallback: plan.stderr === undefined ? stderrSink : undefined,
      }),
    );
    if (badFacility) setupError(`-S ${opts.facility}: unknown syslog facility (0-7 for local0-local7, or daemon) - using daemon`);
  }

  if (opts.file) {
    // Opened synchronously so the destination is ready at once and an exit flush cannot miss it.
    let fd: number | undefined;
    try {
      fd = openSync(opts.file, 'a', 0o640);
    } catch (err) {
      setupError(`Unable to open log file ${opts.file}: ${(err as Error).message}`);
    }
    if (fd !== undefined) {
      // SonicBoom owns the fd from here on and closes it on end().
      const fileSink = destinationFor(fd, opts.syncWrites);
      outputs.push(plan.stderr === 'json' ? jsonOutput(fileSink, opts) : humanOutput(fileSink, 'console', now));
    }
  }

  const format: LogFormat = plan.stderr ?? (plan.syslog ? 'syslog' : 'none');
  return new RootLoggerImpl(outputs, opts.detail ? PINO_LEVEL.debug : PINO_LEVEL.info, format, opts.flushOnExit ?? true);
}

/** A logger that drops everything (default for library code and tests that don't look at logs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  notice() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** A logger that records lines in memory, for tests of modules that log. */
export interface RecordedLine {
  level: LogLevel;
  msg: string;
  bindings: LogFields;
  fields?: LogFields | undefined;
}

export function createMemoryLogger(lines: RecordedLine[] = []): Logger & { lines: RecordedLine[] } {
  const make = (bindings: LogFields): Logger & { lines: RecordedLine[] } => {
    const rec = (level: LogLevel) => (msg: string, fields?: LogFields) => {
      lines.push({ level, msg, bindings, fields });
    };
    return {
      lines,
      debug: rec('debug'),
      info: rec('info'),
      notice: rec('notice'),
      warn: rec('warn'),
      error: rec('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}
