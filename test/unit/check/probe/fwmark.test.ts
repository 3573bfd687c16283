// fwmark on the socket probes: each asks the addon for a marked socket before connecting, never probes
// unmarked when it cannot get one, and (as root, with the real addon) works end to end over loopback with
// bindto/bind_port. That the mark reaches routing is test/netns/check/fwmark.test.ts.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { probeDns } from '../../../../src/check/probe/dns.js';
import { probeHttp } from '../../../../src/check/probe/http.js';
import { probeSmtp } from '../../../../src/check/probe/smtp.js';
import { probeTcp } from '../../../../src/check/probe/tcp.js';
import { probeUdp } from '../../../../src/check/probe/udp.js';
import type { ConnectTarget, ProbeResult } from '../../../../src/check/types.js';
import type { NativeNet } from '../../../../src/net/native.js';
import { close, closedTcpPort, closedUdpPort, listen, signal, target } from './servers.js';

type OpenArgs = Parameters<NativeNet['openMarkedSocket']>;

/** What loadNative() returns in this file: a recording stand-in for the addon. */
const fake = vi.hoisted(() => ({
  calls: [] as unknown[][],
  missing: undefined as Error | undefined,
  open: (() => {
    throw new Error('no behaviour set');
  }) as (...args: unknown[]) => number,
}));

vi.mock('../../../../src/net/native.js', () => ({
  loadNative: () =>
    fake.missing
      ? { error: fake.missing }
      : {
          addon: {
            openMarkedSocket: (...args: unknown[]) => {
              fake.calls.push(args);
              return fake.open(...args);
            },
          },
        },
}));

const root = resolve(import.meta.dirname, '../../../..');
const addonPath = join(root, 'build/Release/lvskeeper_net.node');
const realAddon = existsSync(addonPath) ? (createRequire(import.meta.url)(addonPath) as Partial<NativeNet>) : undefined;
/** The real thing needs the built addon with openMarkedSocket and CAP_NET_ADMIN (SO_MARK). */
const canMark = process.getuid?.() === 0 && typeof realAddon?.openMarkedSocket === 'function';

const permissionDenied = (): never => {
  throw Object.assign(new Error('setsockopt(SO_MARK): Operation not permitted'), { code: 'EPERM', syscall: 'setsockopt(SO_MARK)' });
};
const useRealAddon = (): void => {
  fake.open = (...args) => realAddon!.openMarkedSocket!(...(args as OpenArgs));
};

/** Loopback servers for every socket checker, each counting the connections or datagrams it saw. */
const seen = { tcp: 0, udp: 0, tcpPeers: [] as Array<{ address: string; port: number }>, udpPeers: [] as number[] };
const servers: net.Server[] = [];
const udpSockets: dgram.Socket[] = [];
let tcpPort = 0;
let tcp6Port = 0;
let smtpPort = 0;
let httpPort = 0;
let sslPort = 0;
let udpPort = 0;
let dnsPort = 0;
let certDir = '';

async function tcpServer(onConnection: (s: net.Socket) => void, host = '127.0.0.1'): Promise<number> {
  const server = net.createServer((s) => {
    seen.tcp++;
    seen.tcpPeers.push({ address: s.remoteAddress ?? '', port: s.remotePort ?? 0 });
    s.on('error', () => {});
    onConnection(s);
  });
  servers.push(server);
  return listen(server, host);
}

async function udpServer(answer: (msg: Buffer) => Buffer): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, from) => {
    seen.udp++;
    seen.udpPeers.push(from.port);
    socket.send(answer(msg), from.port, from.address);
  });
  udpSockets.push(socket);
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return socket.address().port;
}

beforeAll(async () => {
  tcpPort = await tcpServer((s) => s.destroy());
  tcp6Port = await tcpServer((s) => s.destroy(), '::1');
  smtpPort = await tcpServer((s) => {
    s.write('220 ready\r\n');
    s.on('data', (d) => {
      const line = d.toString();
      if (line.startsWith('HELO')) s.write('250 hello\r\n');
      else if (line.startsWith('QUIT')) s.end('221 bye\r\n');
    });
  });
  httpPort = await tcpServer((s) => s.once('data', () => s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')));
  certDir = mkdtempSync(join(tmpdir(), 'lvsk-fwmark-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
  const ssl = https.createServer({ key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) }, (_req, res) => res.end('ok'));
  ssl.on('connection', (s: net.Socket) => {
    seen.tcp++;
    seen.tcpPeers.push({ address: s.remoteAddress ?? '', port: s.remotePort ?? 0 });
  });
  servers.push(ssl);
  sslPort = await listen(ssl);
  udpPort = await udpServer((msg) => msg);
  dnsPort = await udpServer((msg) => {
    const out = Buffer.from(msg.subarray(0, 12));
    out.writeUInt16BE(0x8180, 2); // QR, RD, RA, NOERROR
    return out;
  });
});

afterAll(async () => {
  await Promise.all(servers.map(close));
  for (const s of udpSockets) s.close();
  rmSync(certDir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.calls = [];
  fake.missing = undefined;
  seen.tcp = 0;
  seen.udp = 0;
  seen.tcpPeers = [];
  seen.udpPeers = [];
});

/** One probe per socket checker type; `over` sets fwmark, bindto, family... on every target. */
function probes(over: Partial<ConnectTarget>): Array<[string, () => Promise<ProbeResult>]> {
  const t = (port: number, o: Partial<ConnectTarget> = {}) => target(port, { connectTimeoutMs: 1500, ...over, ...o });
  return [
    ['TCP_CHECK', () => probeTcp({ type: 'TCP_CHECK', target: t(tcpPort) }, signal())],
    ['TCP_CHECK over IPv6', () => probeTcp({ type: 'TCP_CHECK', target: t(tcp6Port, { family: 'inet6', address: '::1', bindAddress: over.bindAddress && '::1' }) }, signal())],
    ['HTTP_GET', () => probeHttp({ type: 'HTTP_GET', target: t(httpPort), urls: [{ path: '/' }], httpProtocol: '1.0' }, signal())],
    ['SSL_GET', () => probeHttp({ type: 'SSL_GET', target: t(sslPort), urls: [{ path: '/' }], httpProtocol: '1.0' }, signal())],
    ['SMTP_CHECK', () => probeSmtp({ type: 'SMTP_CHECK', hosts: [t(smtpPort)], heloName: 'x' }, signal())],
    ['UDP_CHECK', () =>
      probeUdp({ type: 'UDP_CHECK', target: t(udpPort), payloadHex: '6869', requireReply: true, replyHex: '6869', minReplyLength: 0, maxReplyLength: 100 }, signal())],
    ['DNS_CHECK', () => probeDns({ type: 'DNS_CHECK', target: t(dnsPort), queryType: 'SOA', name: '.' }, signal())],
  ];
}

describe('fwmark on socket probes', () => {
  it('every socket checker asks for a socket marked with its fwmark (family, TCP or UDP, bindto/bind_port)', async () => {
    fake.open = permissionDenied;
    const calls: Record<string, unknown[][]> = {};
    for (const [name, run] of probes({ fwmark: 7, bindAddress: '127.0.0.1', bindPort: 4321 })) {
      fake.calls = [];
      await run();
      calls[name] = fake.calls;
    }
    expect(calls).toEqual({
      TCP_CHECK: [[false, false, 7, '127.0.0.1', 4321]],
      'TCP_CHECK over IPv6': [[true, false, 7, '::1', 4321]],
      HTTP_GET: [[false, false, 7, '127.0.0.1', 4321]],
      SSL_GET: [[false, false, 7, '127.0.0.1', 4321]],
      SMTP_CHECK: [[false, false, 7, '127.0.0.1', 4321]],
      UDP_CHECK: [[false, true, 7, '127.0.0.1', 4321]],
      DNS_CHECK: [[false, true, 7, '127.0.0.1', 4321]],
    });
  });

  it('a socket that cannot be marked fails the check with keepalived\'s wording and sends nothing unmarked', async () => {
    fake.open = permissionDenied;
    for (const [name, run] of probes({ fwmark: 7 })) {
      const r = await run();
      expect({ name, ...r }).toEqual({
        name,
        ok: false,
        reason: expect.stringContaining('Error setting fwmark 7 to socket: setsockopt(SO_MARK): Operation not permitted (SO_MARK needs CAP_NET_ADMIN)'),
      });
    }
    expect(seen).toMatchObject({ tcp: 0, udp: 0 });
  });

  it('a missing addon is a per-checker failure naming the addon, not a crash', async () => {
    fake.missing = new Error('native addon build/Release/lvskeeper_net.node not found (npm install builds it with node-gyp)');
    for (const [name, run] of probes({ fwmark: 9 })) {
      const r = await run();
      expect({ name, ...r }).toEqual({ name, ok: false, reason: expect.stringMatching(/Error setting fwmark 9 to socket: native addon .* not found/) });
    }
    expect(seen).toMatchObject({ tcp: 0, udp: 0 });
  });

  it('a bind failure in the addon keeps the usual bindto wording', async () => {
    fake.open = () => {
      throw Object.assign(new Error('bind: Cannot assign requested address'), { code: 'EADDRNOTAVAIL', syscall: 'bind' });
    };
    expect(await probeTcp({ type: 'TCP_CHECK', target: target(tcpPort, { fwmark: 3, bindAddress: '10.9.9.9' }) }, signal())).toEqual({
      ok: false,
      reason: 'bind address not available',
    });
    expect(fake.calls).toEqual([[false, false, 3, '10.9.9.9', 0]]);
  });

  it('no fwmark, or fwmark 0 (keepalived: unset), leaves the addon alone', async () => {
    fake.open = permissionDenied;
    for (const over of [{}, { fwmark: 0 }]) {
      for (const [name, run] of probes(over)) expect({ name, ...(await run()) }).toMatchObject({ name, ok: true });
    }
    expect(fake.calls).toEqual([]);
  });
});

describe.skipIf(!canMark)('fwmark with the real addon (root)', () => {
  it('every socket checker succeeds on its marked socket', async () => {
    useRealAddon();
    for (const [name, run] of probes({ fwmark: 7 })) expect({ name, ...(await run()) }).toMatchObject({ name, ok: true });
    expect(fake.calls).toHaveLength(7);
  });

  it('bindto/bind_port are honoured on the marked socket (TCP and UDP, IPv4 and IPv6)', async () => {
    useRealAddon();
    const bindPort = await closedTcpPort();
    expect(await probeTcp({ type: 'TCP_CHECK', target: target(tcpPort, { fwmark: 7, bindAddress: '127.0.0.2', bindPort }) }, signal())).toMatchObject({ ok: true });
    const bind6Port = await closedTcpPort();
    const v6 = target(tcp6Port, { family: 'inet6', address: '::1', fwmark: 7, bindAddress: '::1', bindPort: bind6Port });
    expect(await probeTcp({ type: 'TCP_CHECK', target: v6 }, signal())).toMatchObject({ ok: true });
    const udpBindPort = await closedUdpPort();
    const udp = target(udpPort, { fwmark: 7, bindAddress: '127.0.0.3', bindPort: udpBindPort });
    const spec = { type: 'UDP_CHECK' as const, target: udp, payloadHex: '01', requireReply: true, replyHex: '01', minReplyLength: 0, maxReplyLength: 9 };
    expect(await probeUdp(spec, signal())).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.tcpPeers).toEqual([
      { address: '127.0.0.2', port: bindPort },
      { address: '::1', port: bind6Port },
    ]);
    expect(seen.udpPeers).toEqual([udpBindPort]);
  });

  it('refused connections and bad bind addresses fail cleanly and leak no descriptor', async () => {
    useRealAddon();
    const fds = () => execFileSync('ls', [`/proc/${process.pid}/fd`]).toString().split('\n').length;
    const before = fds();
    const closed = await closedTcpPort();
    for (let i = 0; i < 20; i++) {
      expect(await probeTcp({ type: 'TCP_CHECK', target: target(closed, { fwmark: 7 }) }, signal())).toEqual({ ok: false, reason: 'connection refused' });
      expect(await probeTcp({ type: 'TCP_CHECK', target: target(tcpPort, { fwmark: 7, bindAddress: '10.9.9.9' }) }, signal())).toEqual({
        ok: false,
        reason: 'bind address not available',
      });
      expect(await probeDns({ type: 'DNS_CHECK', target: target(await closedUdpPort(), { fwmark: 7 }), queryType: 'SOA', name: '.' }, signal())).toMatchObject({ ok: false });
    }
    await new Promise((r) => setTimeout(r, 50));
    // 60 probes: a leak adds dozens. The margin is for other test files running in this process's
    // worker threads at the same time (the count is the whole process's; +4 was seen under load).
    expect(fds()).toBeLessThanOrEqual(before + 10);
  });

  it('a bindto of the other family is a plain bind failure, not an fwmark one', async () => {
    useRealAddon();
    const v6 = target(tcp6Port, { family: 'inet6', address: '::1', fwmark: 7, bindAddress: '127.0.0.1' });
    expect(await probeTcp({ type: 'TCP_CHECK', target: v6 }, signal())).toEqual({ ok: false, reason: 'bind address is not an IPv6 address' });
  });
});
