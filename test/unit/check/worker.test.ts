import { MessageChannel } from 'node:worker_threads';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckerClient, serveCheckers } from '../../../src/check/worker.js';
import type { CheckEvent } from '../../../src/check/runtime.js';
import { realServer, tcpChecker, virtualServer } from './helpers.js';

describe('checker worker protocol (over a real MessageChannel: structured-clone plain data only)', () => {
  const servers: net.Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('runs real TCP probes and reports events and desired rows to the host', async () => {
    const server = net.createServer((s) => s.destroy());
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const upPort = (server.address() as net.AddressInfo).port;
    const closing = net.createServer();
    await new Promise<void>((r) => closing.listen(0, '127.0.0.1', r));
    const downPort = (closing.address() as net.AddressInfo).port;
    await new Promise((r) => closing.close(r));

    const channel = new MessageChannel();
    const detach = serveCheckers(channel.port2);
    const events: CheckEvent[] = [];
    const client = new CheckerClient(channel.port1, (e) => events.push(e));
    const vs = virtualServer('10.0.0.1', 80, [
      realServer('127.0.0.1', upPort, { checkers: [tcpChecker('up', '127.0.0.1', upPort, { delayLoopMs: 100000 })] }),
      realServer('127.0.0.1', downPort, { checkers: [tcpChecker('down', '127.0.0.1', downPort, { delayLoopMs: 100000 })] }),
    ]);
    client.start([vs]);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !events.some((e) => e.kind === 'rs' && e.state === 'DOWN')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(client.desiredFor(vs.id)[0]?.destinations.map((d) => d.port)).toEqual([upPort]);
    const messages = events.flatMap((e) => (e.kind === 'log' ? [e.message] : []));
    expect(messages).toContain(`TCP_CHECK on service [127.0.0.1]:tcp:${downPort} failed.`);
    const status = await client.status();
    expect(status[0]?.realServers.map((r) => r.alive)).toEqual([true, false]);
    await client.stop();
    detach();
    channel.port1.close();
  });

  it('reload resolves after the worker applied the new specs and its events arrived (in order)', async () => {
    const channel = new MessageChannel();
    const detach = serveCheckers(channel.port2, { probe: async () => ({ ok: true, reason: 'ok' }), random: () => 0 });
    const events: CheckEvent[] = [];
    const client = new CheckerClient(channel.port1, (e) => events.push(e));
    const rs = (n: number) => realServer(`10.0.1.${n}`, 80, { checkers: [tcpChecker(`c${n}`, `10.0.1.${n}`, 80, { delayLoopMs: 100000 })] });
    const vs = (n: number[]) => virtualServer('10.0.0.1', 80, n.map(rs));
    client.start([vs([1])]);
    await client.reload([vs([1])]); // unchanged: nothing to say
    await client.reload([vs([1, 2])]);
    expect(client.desiredFor('[10.0.0.1]:tcp:80')[0]?.destinations.map((d) => d.address)).toEqual(['10.0.1.1', '10.0.1.2']);
    expect(events.filter((e) => e.kind === 'log').map((e) => (e.kind === 'log' ? e.message : ''))).toContain(
      'Reload: real server [10.0.1.2]:tcp:80 added to VS [10.0.0.1]:tcp:80 (in the pool until a checker fails)',
    );
    await client.stop();
    detach();
    channel.port1.close();
  });
});
