// The logging interface every layer writes to. It lives below scripts/, vrrp/ and daemon/ so that the
// lower layers depend on it without importing the daemon; the implementation (journal, syslog, console,
// JSON) is daemon/log.ts.

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
