import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDnsQuery, judgeDnsReply, probeDns } from '../../../../src/check/probe/dns.js';
import { checkUdpReply, parseHexPattern, probeUdp } from '../../../../src/check/probe/udp.js';
import { probeSmtp, SMTP_DEFAULT_HELO } from '../../../../src/check/probe/smtp.js';
import { buildEcho, icmpChecksum, isEchoReply, probePing } from '../../../../src/check/probe/ping.js';
import type { UdpCheckSpec } from '../../../../src/check/types.js';
import { close, closedTcpPort, closedUdpPort, listen, signal, target } from './servers.js';

async function udpServer(onMessage: (msg: Buffer, reply: (b: Buffer) => void) => void) {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => onMessage(msg, (b) => s.send(b, rinfo.port, rinfo.address)));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { socket: s, port: s.address().port };
}

describe('DNS_CHECK probe', () => {
  let server: dgram.Socket;
  let port = 0;
  let mode: 'noerror' | 'nxdomain' | 'wrong-id' | 'query' | 'short' = 'noerror';
  const queries: Buffer[] = [];
  beforeAll(async () => {
    const s = await udpServer((msg, reply) => {
      queries.push(msg);
      const id = msg.readUInt16BE(0);
      const out = Buffer.alloc(12);
      if (mode === 'short') return reply(Buffer.from([1, 2, 3]));
      out.writeUInt16BE(mode === 'wrong-id' ? (id + 1) & 0xffff : id, 0);
      out.writeUInt16BE(mode === 'query' ? 0x0100 : mode === 'nxdomain' ? 0x8183 : 0x8180, 2);
      reply(out); // ANCOUNT 0: keepalived does not look at it
    });
    server = s.socket;
    port = s.port;
  });
  afterAll(() => server.close());

  const dns = (p: number, over = {}) => ({ type: 'DNS_CHECK' as const, target: target(p, { connectTimeoutMs: 300 }), queryType: 'SOA' as const, name: '.', ...over });

  it('NOERROR with a matching id is a success (ANCOUNT is not checked)', async () => {
    mode = 'noerror';
    expect(await probeDns(dns(port), signal())).toEqual({ ok: true, reason: 'NOERROR' });
    const q = queries.at(-1) as Buffer;
    expect(q.readUInt16BE(2)).toBe(0x0100); // RD
    expect([...q.subarray(12)]).toEqual([0, 0, 6, 0, 1]); // root, SOA, IN
  });

  it('another RCODE is a failure', async () => {
    mode = 'nxdomain';
    expect(await probeDns(dns(port), signal())).toEqual({ ok: false, reason: 'read error occurred. (rcode = 3)' });
  });

  it('other ids, queries and short datagrams are ignored until the timeout', async () => {
    for (const m of ['wrong-id', 'query', 'short'] as const) {
      mode = m;
      expect(await probeDns(dns(port), signal())).toEqual({ ok: false, reason: 'read timeout from socket' });
    }
  });

  it('a closed port (ICMP port unreachable) fails fast', async () => {
    const r = await probeDns(dns(await closedUdpPort()), signal());
    expect(r).toEqual({ ok: false, reason: 'connection refused' });
  });

  it('encodes names and types', () => {
    const q = buildDnsQuery(0x1234, 'www.example.com', 'A');
    expect(q.readUInt16BE(0)).toBe(0x1234);
    expect(q.subarray(12).toString('latin1')).toBe('\x03www\x07example\x03com\x00\x00\x01\x00\x01');
    expect(judgeDnsReply(1, Buffer.alloc(4))).toBe('ignore');
  });
});

describe('UDP_CHECK probe', () => {
  let echo: dgram.Socket;
  let echoPort = 0;
  let silent: dgram.Socket;
  let silentPort = 0;
  beforeAll(async () => {
    const e = await udpServer((msg, reply) => reply(msg));
    echo = e.socket;
    echoPort = e.port;
    const s = await udpServer(() => {});
    silent = s.socket;
    silentPort = s.port;
  });
  afterAll(() => {
    echo.close();
    silent.close();
  });

  const udp = (port: number, over: Partial<UdpCheckSpec> = {}): UdpCheckSpec => ({
    type: 'UDP_CHECK',
    target: target(port, { connectTimeoutMs: 300 }),
    payloadHex: '48656c6c6f',
    requireReply: false,
    minReplyLength: 0,
    maxReplyLength: 255,
    ...over,
  });

  it('an echo reply matching require_reply (X wildcards) succeeds', async () => {
    expect(await probeUdp(udp(echoPort, { requireReply: true, replyHex: '48X56c' }), signal())).toEqual({ ok: true, reason: 'reply matches' });
    expect(await probeUdp(udp(echoPort, { requireReply: true, replyHex: '4865' }), signal())).toMatchObject({ ok: true });
  });

  it('a mismatching reply or a reply length outside the bounds fails', async () => {
    expect(await probeUdp(udp(echoPort, { requireReply: true, replyHex: '4966' }), signal())).toEqual({ ok: false, reason: 'reply data mismatch' });
    expect((await probeUdp(udp(echoPort, { requireReply: true, replyHex: '48', maxReplyLength: 4 }), signal())).reason).toMatch(/reply length 5 outside/);
  });

  it('a closed port (ICMP port unreachable) fails', async () => {
    expect(await probeUdp(udp(await closedUdpPort()), signal())).toEqual({ ok: false, reason: 'ICMP port unreachable' });
  });

  it('no reply is a success unless require_reply', async () => {
    expect((await probeUdp(udp(silentPort), signal())).ok).toBe(true);
    expect(await probeUdp(udp(silentPort, { requireReply: true }), signal())).toEqual({ ok: false, reason: 'no reply' });
  });

  it('hex patterns', () => {
    expect(parseHexPattern('48 65')).toEqual({ data: Buffer.from([0x48, 0x65]), mask: Buffer.from([0, 0]) });
    expect(parseHexPattern('4X')).toEqual({ data: Buffer.from([0x40]), mask: Buffer.from([0x0f]) });
    expect(parseHexPattern('zz')).toBeUndefined();
    expect(checkUdpReply(Buffer.from([0x41]), udp(1, { replyHex: '4142' }))).toBeUndefined(); // shorter reply: compare min length
    expect(checkUdpReply(Buffer.from([0x41]), udp(1, { replyHex: '42' }))).toBe('reply data mismatch');
  });

  it('an invalid payload is a failure, not a crash', async () => {
    expect(await probeUdp(udp(echoPort, { payloadHex: 'nothex' }), signal())).toEqual({ ok: false, reason: 'invalid payload hex string' });
  });

  it('a failed UDP connect() (EACCES: broadcast without SO_BROADCAST) fails the check, not the process', async () => {
    // connect() errors reach dgram's connect callback; sending on the unconnected socket used to throw there.
    const broadcast = { ...udp(9), target: target(9, { address: '255.255.255.255', connectTimeoutMs: 300 }) };
    expect(await probeUdp(broadcast, signal())).toEqual({ ok: false, reason: expect.stringContaining('EACCES') });
    expect(await probeDns({ type: 'DNS_CHECK', target: broadcast.target, queryType: 'SOA', name: '.' }, signal())).toEqual({
      ok: false,
      reason: expect.stringContaining('EACCES'),
    });
  });
});

describe('SMTP_CHECK probe', () => {
  const servers: net.Server[] = [];
  const helos: string[] = [];
  async function smtpServer(banner: string, helo = '250 hello', quit = '221 bye'): Promise<number> {
    const server = net.createServer((s) => {
      s.on('error', () => {});
      s.write(`${banner}\r\n`);
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 2);
          if (line.startsWith('HELO')) {
            helos.push(line);
            s.write(`${helo}\r\n`);
          } else if (line === 'QUIT') s.end(`${quit}\r\n`);
        }
      });
    });
    servers.push(server);
    return listen(server);
  }
  afterAll(async () => {
    await Promise.all(servers.map(close));
  });

  it('220 banner, HELO -> 250, QUIT -> 221 succeeds (multi-line replies accepted)', async () => {
    const port = await smtpServer('220-mail.example.com ESMTP\r\n220 ready', '250-hello\r\n250 PIPELINING');
    const r = await probeSmtp({ type: 'SMTP_CHECK', hosts: [target(port)], heloName: SMTP_DEFAULT_HELO }, signal());
    expect(r).toEqual({ ok: true, reason: 'SMTP dialogue ok' });
    expect(helos.at(-1)).toBe('HELO smtpchecker.keepalived.org');
  });

  it('a wrong banner or HELO reply fails with the step named', async () => {
    const p1 = await smtpServer('554 go away');
    expect((await probeSmtp({ type: 'SMTP_CHECK', hosts: [target(p1)], heloName: 'x' }, signal())).reason).toMatch(/^banner: expected 220, got 554 from server \[127.0.0.1\]:tcp:/);
    const p2 = await smtpServer('220 ok', '500 what');
    expect((await probeSmtp({ type: 'SMTP_CHECK', hosts: [target(p2)], heloName: 'x' }, signal())).reason).toMatch(/^HELO: expected 250, got 500/);
  });

  it('every host{} must pass', async () => {
    const good = await smtpServer('220 ok');
    const closed = await closedTcpPort();
    const r = await probeSmtp({ type: 'SMTP_CHECK', hosts: [target(good), target(closed)], heloName: 'x' }, signal());
    expect(r).toEqual({ ok: false, reason: `connection refused from server [127.0.0.1]:tcp:${closed}` });
  });

  it('garbage instead of a reply fails', async () => {
    const p = await smtpServer('hello there');
    expect((await probeSmtp({ type: 'SMTP_CHECK', hosts: [target(p)], heloName: 'x' }, signal())).reason).toMatch(/malformed reply "hello there"/);
  });
});

describe('PING_CHECK probe', () => {
  it('pings 127.0.0.1', async () => {
    expect(await probePing({ type: 'PING_CHECK', target: target(0) }, signal())).toEqual({ ok: true, reason: 'echo reply' });
  });

  it('pings ::1', async () => {
    expect(await probePing({ type: 'PING_CHECK', target: target(0, { family: 'inet6', address: '::1' }) }, signal())).toEqual({
      ok: true,
      reason: 'echo reply',
    });
  });

  it('many concurrent pings share one raw socket and each gets its own reply', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        probePing({ type: 'PING_CHECK', target: target(0, i % 2 ? { family: 'inet6', address: '::1' } : {}) }, signal()),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('pings with a fwmark (SO_MARK on the raw socket)', async () => {
    const r = await probePing({ type: 'PING_CHECK', target: target(0, { fwmark: 7 }) }, signal());
    expect(r).toEqual(process.getuid?.() === 0 ? { ok: true, reason: 'echo reply' } : expect.objectContaining({ ok: false }));
  });

  it('builds valid echo requests and recognises replies', () => {
    const req = buildEcho(false, 0x1234, 7);
    expect(icmpChecksum(req)).toBe(0);
    const ipHeader = Buffer.alloc(20);
    ipHeader[0] = 0x45;
    const reply = Buffer.from(req);
    reply[0] = 0;
    expect(isEchoReply(false, Buffer.concat([ipHeader, reply]), 0x1234, 7)).toBe(true);
    expect(isEchoReply(false, Buffer.concat([ipHeader, reply]), 0x1234, 8)).toBe(false);
    expect(isEchoReply(false, Buffer.concat([ipHeader, req]), 0x1234, 7)).toBe(false); // a request is not a reply
  });
});
