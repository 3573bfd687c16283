import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { probeTcp } from '../../../../src/check/probe/tcp.js';
import { hasTcpHandle } from '../../../../src/check/probe/tcp-handle.js';
import { close, closedTcpPort, listen, signal, target } from './servers.js';

const hasPython = spawnSync('python3', ['-c', 'print(1)']).status === 0;

describe('TCP_CHECK probe', () => {
  const toClose: net.Server[] = [];
  afterAll(async () => {
    await Promise.all(toClose.map(close));
  });

  it('succeeds when the port accepts', async () => {
    const server = net.createServer((s) => s.destroy());
    toClose.push(server);
    const port = await listen(server);
    expect(await probeTcp({ type: 'TCP_CHECK', target: target(port) }, signal())).toEqual({ ok: true, reason: 'connected' });
  });

  it('fails with "connection refused" on a closed port', async () => {
    const port = await closedTcpPort();
    expect(await probeTcp({ type: 'TCP_CHECK', target: target(port) }, signal())).toEqual({ ok: false, reason: 'connection refused' });
  });

  it('honours bindto/bind_port', async () => {
    let peerPort = 0;
    const server = net.createServer((s) => {
      peerPort = s.remotePort ?? 0;
      s.destroy();
    });
    toClose.push(server);
    const port = await listen(server);
    const bindPort = await closedTcpPort();
    const r = await probeTcp({ type: 'TCP_CHECK', target: target(port, { bindAddress: '127.0.0.1', bindPort }) }, signal());
    expect(r.ok).toBe(true);
    await new Promise((res) => setTimeout(res, 50));
    expect(peerPort).toBe(bindPort);
  });

  it('fails with "bind address not available" for a foreign bindto', async () => {
    const server = net.createServer((s) => s.destroy());
    toClose.push(server);
    const port = await listen(server);
    const r = await probeTcp({ type: 'TCP_CHECK', target: target(port, { bindAddress: '192.0.2.77' }) }, signal());
    expect(r).toEqual({ ok: false, reason: 'bind address not available' });
  });

  // A listener whose accept queue is full drops SYNs: the only way to get a connect timeout on loopback.
  it.skipIf(!hasPython)('fails with "connection timeout" when the SYN is never answered', async () => {
    const py = spawn('python3', [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)',
    ]);
    try {
      const port = await new Promise<number>((resolve) => py.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      // Fill the accept queue (backlog 0 still holds one or two connections).
      const fillers: net.Socket[] = [];
      for (let i = 0; i < 3; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => {}));
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      const r = await probeTcp({ type: 'TCP_CHECK', target: target(port, { connectTimeoutMs: 400 }) }, signal());
      expect(r).toEqual({ ok: false, reason: 'connection timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      fillers.forEach((f) => f.destroy());
    } finally {
      (py as ChildProcess).kill('SIGKILL');
    }
  });

  it('runs on the bare TCP handle on this Node.js, over IPv6 too, and leaves no handle open', async () => {
    expect(hasTcpHandle()).toBe(true);
    const server = net.createServer((s) => s.destroy());
    toClose.push(server);
    const port = await new Promise<number>((res) => server.listen(0, '::1', () => res((server.address() as net.AddressInfo).port)));
    const handles = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
    const before = handles();
    const v6 = { ...target(port), family: 'inet6' as const, address: '::1' };
    const closed = await closedTcpPort();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => probeTcp({ type: 'TCP_CHECK', target: i % 2 ? v6 : { ...v6, port: closed } }, signal())));
    expect(results.filter((r) => r.ok)).toHaveLength(25);
    expect(new Set(results.filter((r) => !r.ok).map((r) => r.reason))).toEqual(new Set(['connection refused']));
    await new Promise((r) => setTimeout(r, 20));
    expect(handles()).toBeLessThanOrEqual(before);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const port = await closedTcpPort();
    expect(await probeTcp({ type: 'TCP_CHECK', target: target(port) }, ac.signal)).toEqual({ ok: false, reason: 'aborted' });
  });
});
