// End to end inside one process: real TCP and HTTP servers on 127.0.0.1, the real clock, the
// scheduler and the pool. A service stopping removes its rule; starting again adds it back.

import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckerScheduler, type CheckEvent } from '../../../src/check/runtime.js';
import type { CheckerSpec } from '../../../src/check/types.js';
import { realServer, timing, virtualServer } from './helpers.js';

const stops: Array<() => void> = [];
afterEach(() => {
  stops.splice(0).forEach((s) => s());
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('scenario: a real server stops and starts again', () => {
  it('HTTP_GET: removed after retries when the web server stops, re-added when it comes back', async () => {
    const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('ok');
    let server = http.createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const checker: CheckerSpec = {
      id: 'http',
      label: `[127.0.0.1]:tcp:${port}`,
      timing: timing({ delayLoopMs: 100, retry: 2, delayBeforeRetryMs: 50 }),
      probe: { type: 'HTTP_GET', target: { family: 'inet', address: '127.0.0.1', port, connectTimeoutMs: 500 }, urls: [{ path: '/' }], httpProtocol: '1.0' },
    };
    const vs = virtualServer('10.0.0.1', 80, [realServer('127.0.0.1', port, { checkers: [checker] })]);
    const events: CheckEvent[] = [];
    const sched = new CheckerScheduler([vs], { onEvent: (e) => events.push(e) });
    stops.push(() => sched.stop());
    sched.start();
    const present = () => (sched.desiredFor(vs.id)[0]?.destinations.length ?? 0) === 1;
    await waitFor(() => events.some((e) => e.kind === 'log' && e.message.startsWith('Remote Web server')));
    expect(present()).toBe(true);

    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    const t0 = Date.now();
    await waitFor(() => !present());
    // 1 failure + 2 retries 50 ms apart, after at most one delay_loop.
    expect(Date.now() - t0).toBeLessThan(1000);
    const logs = events.flatMap((e) => (e.kind === 'log' ? [e.message] : []));
    expect(logs).toContain(`HTTP_CHECK on service [127.0.0.1]:tcp:${port} failed after 2 retries.`);
    expect(logs).toContain(`Removing service [127.0.0.1]:tcp:${port} from VS [10.0.0.1]:tcp:80`);

    server = http.createServer(handler);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    stops.push(() => server.close());
    await waitFor(present);
    expect(events.some((e) => e.kind === 'rs' && e.state === 'UP')).toBe(true);
  });
});
