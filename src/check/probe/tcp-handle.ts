// TCP_CHECK's connect on libuv's TCP handle directly (node's `tcp_wrap` binding), without a net.Socket.
//
// Why: a TCP_CHECK only needs connect() and close(). net.Socket builds a duplex stream (readable and
// writable state, event emitter, an Error with a stack for every refused port) around the same handle;
// at 5,000 checks a second that was half of the checker's CPU (bench:checks). keepalived does the same
// job with a bare non-blocking connect() (check_tcp.c, layer4.c). The binding is one of the few
// `process.binding()` still serves (DEP0111 is documentation-only); if it is missing or changes shape,
// `hasTcpHandle()` is false and the probe falls back to net.Socket (connectTcp in common.ts).
import { getSystemErrorName } from 'node:util';
import type { ConnectTarget } from '../types.js';
import { hostForConnect, ProbeFailure } from './common.js';

interface ConnectReq {
  oncomplete: (status: number) => void;
  address?: string;
  port?: number;
}
interface TcpHandle {
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  connect(req: ConnectReq, address: string, port: number): number;
  connect6(req: ConnectReq, address: string, port: number): number;
  close(cb?: () => void): void;
}
interface TcpWrapBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectReq;
  constants: { SOCKET: number };
}

let binding: TcpWrapBinding | null | undefined;

function tcpWrap(): TcpWrapBinding | null {
  if (binding !== undefined) return binding;
  try {
    const b = (process as unknown as { binding(name: string): TcpWrapBinding }).binding('tcp_wrap');
    const proto = b.TCP.prototype as Partial<TcpHandle>;
    const usable = typeof b.TCPConnectWrap === 'function' && typeof proto.connect === 'function' && typeof proto.connect6 === 'function' && typeof proto.close === 'function' && typeof b.constants?.SOCKET === 'number';
    binding = usable ? b : null;
  } catch {
    binding = null;
  }
  return binding;
}

/** Whether this Node.js offers the bare TCP handle (else callers use net.Socket). */
export function hasTcpHandle(): boolean {
  return tcpWrap() !== null;
}

/** libuv's negative status → the errno name describeError() knows (ECONNREFUSED, ETIMEDOUT …). */
function failure(status: number, syscall: string): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = `E${-status}`;
  }
  // No stack: these are expected outcomes, thousands a second.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const e = new Error(`${syscall} ${code}`) as NodeJS.ErrnoException;
  Error.stackTraceLimit = limit;
  e.code = code;
  e.errno = status;
  e.syscall = syscall;
  return e;
}

/**
 * Connect within connect_timeout (bindto/bind_port honoured) and close at once. Resolves on an
 * established connection; rejects with the errno (ECONNREFUSED …) or ProbeFailure('connection timeout' /
 * 'aborted'). The handle is always closed.
 */
export function connectAndClose(target: ConnectTarget, signal: AbortSignal): Promise<void> {
  const b = tcpWrap();
  if (b === null) return Promise.reject(new Error('tcp_wrap binding unavailable'));
  if (signal.aborted) return Promise.reject(new ProbeFailure('aborted'));
  return new Promise<void>((resolve, reject) => {
    const handle = new b.TCP(b.constants.SOCKET);
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      handle.close();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => finish(new ProbeFailure('aborted'));
    const timer = setTimeout(() => finish(new ProbeFailure('connection timeout')), target.connectTimeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    const v6 = target.family === 'inet6';
    if (target.bindAddress !== undefined || target.bindPort !== undefined) {
      const address = target.bindAddress ?? (v6 ? '::' : '0.0.0.0');
      const status = v6 ? handle.bind6(address, target.bindPort ?? 0, 0) : handle.bind(address, target.bindPort ?? 0);
      if (status !== 0) return finish(failure(status, 'bind'));
    }
    const req = new b.TCPConnectWrap();
    req.oncomplete = (status: number) => finish(status === 0 ? undefined : failure(status, 'connect'));
    const host = hostForConnect(target);
    const status = v6 ? handle.connect6(req, host, target.port) : handle.connect(req, host, target.port);
    if (status !== 0) finish(failure(status, 'connect'));
  });
}
