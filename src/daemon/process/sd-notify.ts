// systemd's sd_notify protocol: READY=1, RELOADING=1 (+ MONOTONIC_USEC), STOPPING=1, STATUS=…, sent
// as one AF_UNIX datagram to $NOTIFY_SOCKET (a path, or "@name" for an abstract socket) from the
// MAIN process (the unit has NotifyAccess=main, so only the main pid's datagrams are accepted).
//
// Node has no AF_UNIX datagram socket, so the sending is done by native/sd_notify (Node-API, one
// function; see the header of native/sd_notify/sd_notify.c for why no npm package fits). When
// NOTIFY_SOCKET is unset (not started by systemd, or Type≠notify) everything here is a no-op.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Sends one datagram; throws an Error with `code` (e.g. ECONNREFUSED) on failure. */
export type DatagramSender = (address: string, payload: Buffer) => void;

interface NativeSdNotify {
  send(address: Buffer, payload: Buffer): number;
}

/** Where the addon may have been built: by its own binding.gyp, or by a root binding.gyp target. */
export const ADDON_CANDIDATES: readonly string[] = [
  '../../../native/sd_notify/build/Release/sd_notify.node',
  '../../../build/Release/sd_notify.node',
];

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 11: 'EAGAIN', 13: 'EACCES', 22: 'EINVAL', 90: 'EMSGSIZE', 91: 'EPROTOTYPE',
  105: 'ENOBUFS', 111: 'ECONNREFUSED',
};

let cachedSender: DatagramSender | null | undefined;

/** The native sender, or undefined when the addon is not built. Loaded once. */
export function loadDatagramSender(): DatagramSender | undefined {
  if (cachedSender !== undefined) return cachedSender ?? undefined;
  cachedSender = null;
  const require = createRequire(import.meta.url);
  for (const rel of ADDON_CANDIDATES) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(file)) continue;
    try {
      const mod = require(file) as NativeSdNotify;
      cachedSender = (address, payload) => {
        const r = mod.send(Buffer.from(address, 'utf8'), payload);
        if (r < 0) {
          const code = ERRNO_NAMES[-r] ?? `errno ${-r}`;
          const err = new Error(`sendto ${address}: ${code}`) as NodeJS.ErrnoException;
          err.code = code;
          err.errno = r;
          throw err;
        }
      };
      break;
    } catch {
      /* try the next one */
    }
  }
  return cachedSender ?? undefined;
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
        warn('sd_notify: native addon native/sd_notify is not built, cannot notify systemd (run scripts/install.sh or node-gyp rebuild in native/sd_notify)');
      }
      return false;
    }
    try {
      sender(socket, Buffer.from(message, 'utf8'));
      return true;
    } catch (e) {
      warn(`sd_notify: ${(e as Error).message}`);
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
