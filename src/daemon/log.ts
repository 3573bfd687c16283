// The daemon's logger: one small interface, three line formats, writes that never block the VRRP loop.
//
// Formats (chosen once, in createLogger):
//  - journal:  under systemd (JOURNAL_STREAM names our stderr or stdout) every line carries a syslog
//              priority prefix, sd-daemon(3) style: `<6>(VI_1) Entering MASTER STATE`. journald strips it
//              and files the line at that priority, so `journalctl -u lvskeeper -p warning` works; journald
//              adds the time and the `lvskeeper[pid]:` prefix itself.
//  - console:  keepalived `-l` style, `Wed Nov 25 02:41:07 2026: (VI_1) Entering MASTER STATE`
//              (strftime "%c" in the C locale, local time), used whenever we are not under systemd.
//              keepalived would log to syslog there; Node has no AF_UNIX datagram socket for /dev/log, so
//              we write these lines to stderr instead.
//  - json:     `--log-json`, one pino JSON object per line (`level` numeric, pino's scale plus notice=35),
//              with child bindings and per-call fields, for log shippers.
// `-g FILE` adds the same lines (console or json format) to FILE. Message texts are keepalived's phrases
// (operators grep and alert on them), so human formats print the message only; bindings and fields show
// up in JSON.
//
// Writes go through pino's SonicBoom destination with sync:false: a write() copies into a buffer and
// returns; the fd is written from the event loop, retrying EAGAIN. A blocked journal or terminal therefore
// costs memory, not timer latency. On process exit (including process.exit() from a crash handler) the
// buffer is flushed synchronously, and flushSync() is there for fatal paths that exit some other way.
//
// Import cost: this module only imports node builtins; pino is loaded (synchronously, once) when the first
// logger is created, so modules that merely import the Logger type pay nothing.

import { createRequire } from 'node:module';
import { fstatSync, openSync } from 'node:fs';
import type { Logger as PinoLogger, DestinationStream } from 'pino';
import type { DaemonOptions } from './options.js';

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

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  notice(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose JSON lines carry these bindings too (human formats print the message only). */
  child(bindings: LogFields): Logger;
}

export interface RootLogger extends Logger {
  readonly format: LogFormat;
  /** Write everything buffered now, synchronously (for fatal paths). Never throws. */
  flushSync(): void;
  /** Flush and stop writing; idempotent. */
  close(): void;
}

export type LogFormat = 'journal' | 'console' | 'json';

/** Something lines can be written to; tests pass an array-backed one. */
export interface LineSink {
  write(chunk: string): unknown;
  flushSync?(): void;
  end?(): void;
}

export interface LoggerOptions {
  /** -l: console lines with a timestamp (also the default outside systemd). */
  console: boolean;
  /** --log-json */
  json: boolean;
  /** -D: also write debug messages. */
  detail: boolean;
  /** -S: syslog facility; kept for compatibility (journald takes the facility from the unit). */
  facility?: string | undefined;
  /** -g: also append lines to this file. */
  file?: string | undefined;
  /** pino `name` in JSON lines (e.g. "lvskeeper" or "lvskeeper_vrrp"). */
  processName?: string | undefined;
  // --- for tests and embedding ---
  /** Where the primary lines go instead of stderr. */
  sink?: LineSink | undefined;
  /** Environment to read JOURNAL_STREAM from (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Force the journal decision instead of checking JOURNAL_STREAM against our fds. */
  underJournal?: boolean | undefined;
  /** Clock for console timestamps (default new Date()). */
  now?: (() => Date) | undefined;
  /** Flush on process 'exit' (default true). */
  flushOnExit?: boolean | undefined;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** strftime("%c") in the C locale, local time: `Wed Nov 25 02:41:07 2026`, day padded with a space. */
export function formatConsoleTimestamp(date: Date): string {
  const day = date.getDate();
  return (
    `${WEEKDAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${day < 10 ? ` ${day}` : day} ` +
    `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())} ${date.getFullYear()}`
  );
}

/** One keepalived -l line, newline included. Embedded newlines are kept on one line. */
export function formatConsoleLine(date: Date, msg: string): string {
  return `${formatConsoleTimestamp(date)}: ${singleLine(msg)}\n`;
}

/** One sd-daemon(3) line: `<N>msg`, newline included. */
export function formatJournalLine(level: LogLevel, msg: string): string {
  return `<${SYSLOG_PRIORITY[level]}>${singleLine(msg)}\n`;
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
}

function safeFlush(sink: LineSink): void {
  try {
    sink.flushSync?.();
  } catch {
    // SonicBoom throws if not ready or already destroyed: nothing more we can do at exit
  }
}

/** Flush and close for an output writing to `sink`; neither may throw at exit. */
function sinkLifecycle(sink: LineSink): Pick<Output, 'flushSync' | 'close'> {
  return {
    flushSync: () => safeFlush(sink),
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

function destinationFor(fd: number): LineSink {
  const dest = loadPino().destination({ dest: fd, sync: false });
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.removeListener('exit', this.onExit);
    for (const out of this.outputs) out.close();
  }
}

/** Pick the primary format from the options and the environment (pure apart from the fd check). */
export function chooseLogFormat(opts: Pick<LoggerOptions, 'json' | 'env' | 'underJournal'>): LogFormat {
  if (opts.json) return 'json';
  const journal = opts.underJournal ?? isUnderJournal(opts.env ?? process.env);
  return journal ? 'journal' : 'console';
}

/** The logger options the command line asks for (-l, -D, --log-json, -S, -g). */
export function loggerOptionsFromDaemon(
  options: Pick<DaemonOptions, 'logConsole' | 'logDetail' | 'logJson' | 'logFacility' | 'logFile'>,
  processName = 'lvskeeper',
): LoggerOptions {
  return {
    console: options.logConsole,
    json: options.logJson,
    detail: options.logDetail,
    facility: options.logFacility,
    file: options.logFile,
    processName,
  };
}

export function createLogger(opts: LoggerOptions): RootLogger {
  const format = chooseLogFormat(opts);
  const now = opts.now ?? (() => new Date());
  const outputs: Output[] = [];

  const primary = opts.sink ?? destinationFor(2);
  outputs.push(format === 'json' ? jsonOutput(primary, opts) : humanOutput(primary, format, now));

  if (opts.file) {
    // Opened synchronously so the destination is ready at once and an exit flush cannot miss it.
    let fd: number | undefined;
    try {
      fd = openSync(opts.file, 'a', 0o640);
    } catch (err) {
      outputs[0]?.emit('error', `Unable to open log file ${opts.file}: ${(err as Error).message}`, undefined, undefined);
    }
    if (fd !== undefined) {
      // SonicBoom owns the fd from here on and closes it on end().
      const fileSink = destinationFor(fd);
      outputs.push(format === 'json' ? jsonOutput(fileSink, opts) : humanOutput(fileSink, 'console', now));
    }
  }

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
