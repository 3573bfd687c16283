// Thin rtnetlink client over the `netlink` package's NetlinkSocket layer (not RtNetlinkSocket, which drops
// message types and errnos: peers.md §3.3). Requests are serialized per socket because the kernel runs one
// dump at a time per socket (EBUSY otherwise). Request sockets never join multicast groups: notifications
// triggered by our own request carry our sequence number and would be mistaken for its reply.

import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import type { NetlinkMessage } from 'netlink';
import { loadNative, type NativeNet, type RawReceiverHandle } from './native.js';
import {
  errnoName,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseErrorPayload,
  parseNetlinkDatagram,
} from './rtnetlink-codec.js';

const require = createRequire(import.meta.url);
// CommonJS package: load through require so both tsc (NodeNext) and Node agree on its shape. Only its
// socket layer: the package's index also loads its nl80211, WireGuard and rtnetlink struct tables, 1.2 s
// of module loading per process in the test VM (~0.1 s here) for nothing we use.
const netlink = require('netlink/dist/netlink.js') as Pick<typeof import('netlink'), 'createNetlink'>;

export interface RtnlReply {
  /** 0 for success/ACK, else the positive errno from NLMSG_ERROR. */
  errno: number;
  messages: { type: number; data: Buffer }[];
}

/** What RtnlClient uses of the netlink package's NetlinkSocket (tests pass fakes). */
export interface NetlinkSocketLike {
  on(event: 'message', listener: (msgs: NetlinkMessage[]) => void): unknown;
  on(event: 'error', listener: (err: Error | undefined) => void): unknown;
  request(type: number, data: Buffer, options: { flags: number; checkError: boolean; timeout: number }): Promise<[NetlinkMessage[], unknown]>;
  close(): void;
}

export interface OpenSocketOptions {
  ref: boolean;
  /** Multicast groups to join. */
  groups: number[];
  recvBufferSize?: number | undefined;
}

export interface RtnlClientOptions {
  /** Keep the event loop alive while open (the address manager's and link watcher's event sockets). */
  ref?: boolean | undefined;
  /** SO_RCVBUF (keepalived's vrrp_netlink_monitor_rcv_bufs); the kernel default when undefined. */
  receiveBufferBytes?: number | undefined;
  /** Tests: opens the socket, joined to its groups (default: openRtnlSocket). */
  openSocket?: ((opts: OpenSocketOptions) => NetlinkSocketLike) | undefined;
}

const REQUEST_TIMEOUT_MS = 5000;
const REOPEN_MIN_MS = 100;
const REOPEN_MAX_MS = 5000;
/** A socket that lived this long before failing starts the back-off again from REOPEN_MIN_MS. */
const REOPEN_RESET_AFTER_MS = 30_000;
const ENOBUFS = 105;

/** ENOBUFS: the kernel dropped notifications because the receive buffer was full; the socket is still good. */
export function isOverflow(err: unknown): boolean {
  const e = err as { errno?: unknown; code?: unknown } | undefined;
  return e?.code === 'ENOBUFS' || e?.errno === ENOBUFS || e?.errno === -ENOBUFS;
}

/** An Error shaped like Node's own (code, errno) from the addon's "CODE: message". */
function addonError(text: string): Error {
  const code = /^(E[A-Z0-9]+):/.exec(text)?.[1];
  const err = new Error(`netlink notification socket: ${text}`) as NodeJS.ErrnoException;
  if (code !== undefined) {
    err.code = code;
    err.errno = (osConstants.errno as Record<string, number>)[code];
  }
  return err;
}

/**
 * A notification-only socket read by the addon. The netlink package's own socket aborts the process on
 * an overflow (ENOBUFS makes epoll report EPOLLERR, libuv passes UV_EBADF, and the package's error path
 * throws a C++ exception from NULL syscall name: "terminate called after throwing an instance of
 * 'Napi::Error'"), so notification sockets use the addon whenever it has openNetlinkReceiver.
 */
class AddonNotificationSocket extends EventEmitter implements NetlinkSocketLike {
  private handle: RawReceiverHandle | undefined;

  constructor(
    private readonly addon: Required<Pick<NativeNet, 'openNetlinkReceiver' | 'closeReceiver'>>,
    opts: OpenSocketOptions,
  ) {
    super();
    this.handle = addon.openNetlinkReceiver(NETLINK_ROUTE, opts.groups, opts.recvBufferSize ?? 0, opts.ref, (error, datagram) => {
      if (error !== null) this.emit('error', addonError(error));
      else if (datagram !== undefined) this.emit('message', parseNetlinkDatagram(datagram));
    });
  }

  request(): Promise<[NetlinkMessage[], unknown]> {
    return Promise.reject(new Error('rtnetlink notification socket: no requests'));
  }

  close(): void {
    const h = this.handle;
    this.handle = undefined;
    if (h !== undefined) this.addon.closeReceiver(h);
  }
}

/** Notification sockets on the addon when it can (see AddonNotificationSocket), else the netlink package. */
export function openRtnlSocket(opts: OpenSocketOptions): NetlinkSocketLike {
  const addon = opts.groups.length > 0 ? loadNative().addon : undefined;
  if (addon?.openNetlinkReceiver !== undefined) {
    const calls = { openNetlinkReceiver: addon.openNetlinkReceiver.bind(addon), closeReceiver: addon.closeReceiver.bind(addon) };
    return new AddonNotificationSocket(calls, opts);
  }
  const socket = netlink.createNetlink(NETLINK_ROUTE, { ref: opts.ref, recvBufferSize: opts.recvBufferSize } as never);
  try {
    for (const g of opts.groups) socket.addMembership(g);
  } catch (e) {
    socket.close();
    throw e;
  }
  return socket as unknown as NetlinkSocketLike;
}

/**
 * One rtnetlink socket: serialized requests, and the notifications of `groups`. ENOBUFS is reported to
 * onError and the socket kept. Any other error may have closed it (the netlink package closes its socket
 * on a poll error and says nothing more), so it is replaced: onError at once, a new socket after a
 * back-off (0.1 s doubling to 5 s), then onReopened, after which callers re-read what they follow.
 */
export class RtnlClient {
  private socket: NetlinkSocketLike | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly ref: boolean;
  private readonly openSocket: NonNullable<RtnlClientOptions['openSocket']>;
  private readonly receiveBufferBytes: number | undefined;
  private readonly messageHandlers: ((msg: { type: number; data: Buffer }) => void)[] = [];
  private readonly errorHandlers: ((err: Error) => void)[] = [];
  private readonly reopenedHandlers: (() => void)[] = [];
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;
  private reopenDelayMs = REOPEN_MIN_MS;
  private openedAt = 0;
  /** Pending while the socket is being replaced: requests wait for it. */
  private reopened: Promise<void> | undefined;
  private resolveReopened: (() => void) | undefined;

  constructor(
    private readonly groups: number[] = [],
    opts: RtnlClientOptions = {},
  ) {
    this.ref = opts.ref ?? false;
    this.openSocket = opts.openSocket ?? openRtnlSocket;
    this.receiveBufferBytes = opts.receiveBufferBytes;
    this.socket = this.open();
  }

  private open(): NetlinkSocketLike {
    const socket = this.openSocket({ ref: this.ref, groups: this.groups, recvBufferSize: this.receiveBufferBytes });
    // Listening also keeps an 'error' event from being thrown as an uncaught exception.
    socket.on('error', (e) => this.failed(socket, e));
    socket.on('message', (msgs) => this.deliver(msgs));
    this.openedAt = Date.now();
    return socket;
  }

  private deliver(msgs: NetlinkMessage[]): void {
    for (const m of msgs) {
      if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) continue;
      for (const h of this.messageHandlers) {
        try {
          h({ type: m.type, data: m.data });
        } catch {
          // a handler bug must not kill the socket's receive path
        }
      }
    }
  }

  private failed(socket: NetlinkSocketLike, e: Error | undefined): void {
    if (socket !== this.socket || this.closed) return;
    const err = e instanceof Error ? e : new Error('rtnetlink socket error');
    if (!isOverflow(err)) {
      this.socket = undefined;
      closeQuietly(socket);
      if (Date.now() - this.openedAt >= REOPEN_RESET_AFTER_MS) this.reopenDelayMs = REOPEN_MIN_MS;
      this.reopened ??= new Promise<void>((resolve) => (this.resolveReopened = resolve));
      this.scheduleReopen();
    }
    for (const h of this.errorHandlers) {
      try {
        h(err);
      } catch {
        // handler errors are the caller's
      }
    }
  }

  private scheduleReopen(): void {
    if (this.reopenTimer !== undefined || this.closed) return;
    const delay = this.reopenDelayMs;
    this.reopenDelayMs = Math.min(this.reopenDelayMs * 2, REOPEN_MAX_MS);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.closed) return;
      try {
        this.socket = this.open();
      } catch {
        this.scheduleReopen(); // e.g. EMFILE: try again later
        return;
      }
      const resolve = this.resolveReopened;
      this.reopened = undefined;
      this.resolveReopened = undefined;
      resolve?.();
      for (const h of this.reopenedHandlers) {
        try {
          h();
        } catch {
          // handler errors are the caller's
        }
      }
    }, delay);
    if (!this.ref) this.reopenTimer.unref?.();
  }

  /** Unsolicited messages (multicast notifications, stray ACKs); type kept, unlike RtNetlinkSocket. */
  onMessage(handler: (msg: { type: number; data: Buffer }) => void): void {
    this.messageHandlers.push(handler);
  }

  /** Every socket error: ENOBUFS (notifications were dropped; see isOverflow) or a failure (being reopened). */
  onError(handler: (err: Error) => void): void {
    this.errorHandlers.push(handler);
  }

  /** After a failed socket was replaced: notifications in between were lost. */
  onReopened(handler: () => void): void {
    this.reopenedHandlers.push(handler);
  }

  request(type: number, payload: Buffer, flags: number): Promise<RtnlReply> {
    const run = async (): Promise<RtnlReply> => {
      if (this.reopened !== undefined) await withTimeout(this.reopened, REQUEST_TIMEOUT_MS);
      const socket = this.socket;
      if (this.closed) throw new Error('rtnetlink socket is closed');
      if (socket === undefined) throw new Error('rtnetlink socket is being reopened after an error');
      const [msgs] = await socket.request(type, payload, {
        flags: flags | NLM_F_ACK,
        checkError: false,
        timeout: REQUEST_TIMEOUT_MS,
      });
      const first = msgs[0];
      if (first !== undefined && first.type === NLMSG_ERROR) {
        return { errno: parseErrorPayload(first.data), messages: [] };
      }
      return { errno: 0, messages: msgs.map((m) => ({ type: m.type, data: m.data })) };
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Test hook: the socket fails as on a poll error (the error is reported, the socket closed). */
  simulateSocketError(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    (socket as unknown as { emit(event: string, arg: unknown): void }).emit('error', new Error('error when polling socket: simulated'));
    closeQuietly(socket);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reopenTimer !== undefined) clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const resolve = this.resolveReopened;
    this.reopened = undefined;
    this.resolveReopened = undefined;
    resolve?.(); // waiting requests then fail: closed
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) closeQuietly(socket);
  }
}

/** Resolves when p does or after ms, whichever is first (the caller then checks what it waited for). */
function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

function closeQuietly(socket: NetlinkSocketLike): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

export function describeErrno(errno: number): string {
  return errnoName(errno);
}
