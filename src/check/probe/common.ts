// Shared helpers for probes: failure results, socket error wording, TCP connect and UDP exchange with
// bind/timeout/fwmark.

import dgram from 'node:dgram';
import { closeSync } from 'node:fs';
import net from 'node:net';
import { loadNative } from '../../net/native.js';
import type { ConnectTarget, ProbeResult } from '../types.js';

export function ok(reason = 'ok', extra: Partial<ProbeResult> = {}): ProbeResult {
  return { ok: true, reason, ...extra };
}

export function fail(reason: string): ProbeResult {
  return { ok: false, reason };
}

/** A probe-level failure carrying a readable reason; caught and turned into ProbeResult. */
export class ProbeFailure extends Error {}

/** Readable wording for socket errors. */
export function describeError(err: unknown): string {
  if (err instanceof ProbeFailure) return err.message;
  const e = err as NodeJS.ErrnoException | undefined;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by peer';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'EPIPE':
      return 'broken pipe';
    case 'EADDRNOTAVAIL':
      return 'bind address not available';
    case 'EADDRINUSE':
      return 'bind port in use';
    case 'ABORT_ERR':
      return 'aborted';
    default:
      return e?.message ? String(e.message) : String(err);
  }
}

/** Run `body`, turning any exception into a failed ProbeResult (a probe never throws). */
export async function guard(body: () => Promise<ProbeResult>): Promise<ProbeResult> {
  try {
    return await body();
  } catch (err) {
    return fail(describeError(err));
  }
}

/**
 * fwmark (keepalived layer4.c socket_bind_connect): the checker's socket carries SO_MARK so that policy
 * routing (`ip rule fwmark N`) steers its packets. The route of a connected socket is chosen at connect()
 * with the socket's mark, so the mark must be set before connect(); node:net and node:dgram have no
 * setsockopt and a net.Socket only gets a descriptor inside the call that connects it. So the native addon
 * creates, marks and (bindto/bind_port) binds the socket, and Node adopts the unconnected fd
 * (net.Socket({ fd }), dgram bind({ fd })) and connects it as usual, event loop and all.
 *
 * Returns undefined when the checker has no fwmark (0 = none, as keepalived's `if (co->fwmark)`). Like
 * keepalived, a socket that cannot be marked fails the check rather than probing unmarked.
 */
export function openMarkedFd(target: ConnectTarget, datagram: boolean): number | undefined {
  const mark = target.fwmark;
  if (!mark) return undefined;
  const { addon, error } = loadNative();
  if (typeof addon?.openMarkedSocket !== 'function') {
    const why = error?.message ?? 'the native addon has no openMarkedSocket (rebuild it: npx node-gyp rebuild)';
    throw new ProbeFailure(`Error setting fwmark ${mark} to socket: ${why}`);
  }
  try {
    return addon.openMarkedSocket(target.family === 'inet6', datagram, mark, target.bindAddress ?? null, target.bindPort ?? 0);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Anything else (bind, a bad bindto) keeps the wording of the unmarked probe's failure (describeError).
    if (e.syscall !== 'setsockopt(SO_MARK)') throw err;
    const hint = e.code === 'EPERM' ? ' (SO_MARK needs CAP_NET_ADMIN)' : '';
    throw new ProbeFailure(`Error setting fwmark ${mark} to socket: ${e.message}${hint}`);
  }
}

/** Close an fd that Node did not take over (net.Socket / dgram threw before adopting it). */
function closeUnadopted(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

export interface UdpExchange {
  /** The result when connect_timeout passes with no verdict. */
  onTimeout: () => ProbeResult;
  /** A reply's verdict, or 'ignore' to keep waiting. */
  onMessage: (msg: Buffer) => ProbeResult | 'ignore';
  /** A socket error (an ICMP error arrives as ECONNREFUSED on a connected socket). */
  onError: (err: NodeJS.ErrnoException) => ProbeResult;
  /** A failed send. */
  onSendError: (err: Error) => ProbeResult;
}

/**
 * Send one datagram over a connected UDP socket (bindto/bind_port honoured) and settle once: on the first
 * verdict from a reply, an error, an abort or connect_timeout. The socket is always closed.
 */
export function udpExchange(target: ConnectTarget, payload: Buffer, signal: AbortSignal, on: UdpExchange): Promise<ProbeResult> {
  const markedFd = openMarkedFd(target, true);
  return new Promise<ProbeResult>((resolve) => {
    const socket = dgram.createSocket(target.family === 'inet6' ? 'udp6' : 'udp4');
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        /* closed */
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish(on.onTimeout()), target.connectTimeoutMs);
    const onAbort = () => finish(fail('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(on.onError(err)));
    socket.on('message', (msg) => {
      const verdict = on.onMessage(msg);
      if (verdict !== 'ignore') finish(verdict);
    });
    // A failed connect() (e.g. ENETUNREACH: no route) reaches this callback, not 'error'; sending on the
    // still unconnected socket would throw out of the callback and take the process down.
    const send = () =>
      socket.connect(target.port, hostForConnect(target), (err?: Error) => {
        if (err) finish(on.onError(err as NodeJS.ErrnoException));
        else
          socket.send(payload, (sendErr) => {
            if (sendErr) finish(on.onSendError(sendErr));
          });
      });
    if (markedFd !== undefined) {
      // Already marked and bound (bindto/bind_port) by the addon; connect() then routes with the mark.
      try {
        socket.bind({ fd: markedFd }, send);
      } catch (err) {
        closeUnadopted(markedFd);
        finish(on.onError(err as NodeJS.ErrnoException));
      }
    } else if (target.bindAddress !== undefined || target.bindPort !== undefined) {
      socket.bind({ address: target.bindAddress, port: target.bindPort ?? 0 }, send);
    } else send();
  });
}

export function hostForConnect(target: ConnectTarget): string {
  if (target.family === 'inet6' && target.bindInterface && target.address.toLowerCase().startsWith('fe80') && !target.address.includes('%')) {
    return `${target.address}%${target.bindInterface}`;
  }
  return target.address;
}

/**
 * Connect a TCP socket (bindto/bind_port honoured), failing after connect_timeout.
 * Resolves with the connected socket; rejects with ProbeFailure("connection timeout") etc.
 */
export function connectTcp(target: ConnectTarget, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new ProbeFailure('aborted'));
      return;
    }
    const opts: net.NetConnectOpts = {
      host: hostForConnect(target),
      port: target.port,
      family: target.family === 'inet6' ? 6 : 4,
    };
    let socket: net.Socket;
    const markedFd = openMarkedFd(target, false);
    if (markedFd !== undefined) {
      // Already marked and bound (bindto/bind_port) by the addon. manualStart: no read before connect()
      // (an unconnected fd would read ENOTCONN); connect() right away reuses the adopted handle.
      try {
        socket = new net.Socket({ fd: markedFd, manualStart: true } as net.SocketConstructorOpts);
      } catch (err) {
        closeUnadopted(markedFd);
        throw err;
      }
      socket.connect(opts);
    } else {
      if (target.bindAddress !== undefined) opts.localAddress = target.bindAddress;
      if (target.bindPort !== undefined) opts.localPort = target.bindPort;
      socket = net.connect(opts);
    }
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      socket.removeListener('connect', onConnect);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const onError = (err: Error) => finish(err);
    const onConnect = () => finish();
    const onAbort = () => finish(new ProbeFailure('aborted'));
    const timer = setTimeout(() => finish(new ProbeFailure('connection timeout')), target.connectTimeoutMs);
    socket.once('error', onError);
    socket.once('connect', onConnect);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** "[ip]:proto:port" as keepalived's inet_sockaddrtotrio prints it. */
export function formatTrio(address: string, protocol: string, port: number): string {
  return `[${address}]:${protocol}:${port}`;
}
