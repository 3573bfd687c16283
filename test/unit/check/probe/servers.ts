// Real servers on 127.0.0.1 for the probe tests.

import net from 'node:net';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { ConnectTarget } from '../../../../src/check/types.js';

export function target(port: number, over: Partial<ConnectTarget> = {}): ConnectTarget {
  return { family: 'inet', address: '127.0.0.1', port, connectTimeoutMs: 1000, ...over };
}

export async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

export function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

/** A TCP port with nothing listening (bound then released). */
export async function closedTcpPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await close(s);
  return port;
}

/** A UDP port with nothing bound (bound then released). */
export async function closedUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A raw TCP server answering every connection with `handler`. */
export async function rawServer(handler: (socket: net.Socket, data: string) => void): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((socket) => {
    let buf = '';
    socket.on('error', () => {});
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) handler(socket, buf);
    });
  });
  const port = await listen(server);
  return { port, server };
}

export function signal(): AbortSignal {
  return new AbortController().signal;
}
