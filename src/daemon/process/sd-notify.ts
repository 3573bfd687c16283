// systemd's sd_notify protocol: READY=1, RELOADING=1 (+ MONOTONIC_USEC), STOPPING=1, STATUS=…, sent
// as one AF_UNIX datagram to $NOTIFY_SOCKET (a path, or "@name" for an abstract socket) from the
// MAIN process (the unit has NotifyAccess=main, so only the main pid's datagrams are accepted).
//
// Node has no AF_UNIX datagram socket, so the sending is done by the project's native addon
// (native/lvskeeper_net.c, `sendUnixDatagram`, owned by src/net; it handles "@abstract" names). No
// npm package fits: `sd-notify` links libsystemd and needs libsystemd-dev to build, `unix-dgram`
// copies the path with strncpy and cannot address abstract sockets. When NOTIFY_SOCKET is unset
// (not started by systemd, or Type≠notify) everything here is a no-op.

import { loadNative } from '../../net/native.js';

/** Sends one datagram; throws an Error with `code` (e.g. ECONNREFUSED) on failure. */
export type DatagramSender = (address: string, payload: Buffer) => void;

/** The native sender, or undefined when the addon is not built or cannot load. */
export function loadDatagramSender(): DatagramSender | undefined {
  const { addon } = loadNative();
  if (!addon) return undefined;
  return (address, payload) => addon.sendUnixDatagram(address, payload);
}

export interface NotifierOptions {
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default: the native addon. */
  send?: DatagramSender | undefined;
  /** CLOCK_MONOTONIC in µs (default process.hrtime.bigint(), which is CLOCK_MONOTONIC on Linux). */
  monotonicUsec?: () => bigint;
  /**
   * Remove NOTIFY_SOCKET from env after reading it (default true), so that children, notify and
   * check scripts do not inherit it: systemd would reject their datagrams (NotifyAccess=main).
   */
  unsetEnvironment?: boolean;
  /** Where problems are reported (default: nowhere). */
  warn?: (message: string) => void;
}

export interface Notifier {
  /** True when NOTIFY_SOCKET was set. */
  readonly enabled: boolean;
  readonly socket: string | undefined;
  /** Startup finished (also: a reload finished). */
  ready(status?: string): boolean;
  /** A reload starts; READY=1 must follow when it is done. */
  reloading(status?: string): boolean;
  stopping(status?: string): boolean;
  status(text: string): boolean;
  /** Raw message: "KEY=value" lines. Returns true when a datagram was sent. */
  notify(message: string): boolean;
}

/** One STATUS= value on one line (systemd shows the first line only). */
function statusLine(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, ' ').trim()}`;
}

export function createNotifier(options: NotifierOptions = {}): Notifier {
  const env = options.env ?? process.env;
  const raw = env.NOTIFY_SOCKET;
  const socket = raw !== undefined && raw !== '' && (raw.startsWith('/') || raw.startsWith('@')) ? raw : undefined;
  if (options.unsetEnvironment ?? true) delete env.NOTIFY_SOCKET;
  const mono = options.monotonicUsec ?? (() => process.hrtime.bigint() / 1000n);
  const warn = options.warn ?? (() => {});
  if (raw !== undefined && raw !== '' && socket === undefined) warn(`sd_notify: unsupported NOTIFY_SOCKET "${raw}" ignored`);
  let sender: DatagramSender | undefined;
  let warnedMissing = false;

  const notify = (message: string): boolean => {
    if (socket === undefined) return false;
    sender ??= options.send ?? loadDatagramSender();
    if (!sender) {
      if (!warnedMissing) {
        warnedMissing = true;
        warn(`sd_notify: cannot notify systemd at ${socket}: ${loadNative().error?.message ?? 'no sender'}`);
      }
      return false;
    }
    try {
      sender(socket, Buffer.from(message, 'utf8'));
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      warn(`sd_notify: ${socket}: ${(e as Error).message}${code ? ` (${code})` : ''}`);
      return false;
    }
  };
  const withStatus = (head: string, status: string | undefined): string =>
    status === undefined ? head : `${head}\n${statusLine(status)}`;

  return {
    enabled: socket !== undefined,
    socket,
    notify,
    ready: (status) => notify(withStatus('READY=1', status)),
    reloading: (status) => notify(withStatus(`RELOADING=1\nMONOTONIC_USEC=${mono().toString()}`, status)),
    stopping: (status) => notify(withStatus('STOPPING=1', status)),
    status: (text) => notify(statusLine(text)),
  };
}
