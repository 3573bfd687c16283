import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRequest, probeHttp, statusAccepted } from '../../../../src/check/probe/http.js';
import { HttpResponseReader, MAX_HEADER_BYTES, type ResponseChecks, type ResponseVerdict } from '../../../../src/check/probe/http-response.js';
import type { HttpCheckSpec, UrlSpec } from '../../../../src/check/types.js';
import { close, closedTcpPort, listen, rawServer, signal, target } from './servers.js';

const BODY = 'hello from the real server\n';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function spec(port: number, urls: UrlSpec[], over: Partial<HttpCheckSpec> = {}): HttpCheckSpec {
  return { type: 'HTTP_GET', target: target(port), urls, httpProtocol: '1.0', ...over };
}

const requests: http.IncomingMessage[] = [];
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  requests.push(req);
  if (req.url === '/ok') res.end(BODY);
  else if (req.url === '/vhost') {
    res.statusCode = req.headers.host?.startsWith('www.example.com') ? 200 : 404;
    res.end('vhost');
  } else if (req.url === '/chunked') {
    res.write('hello ');
    res.write('from the real server\n');
    res.end();
  } else if (req.url === '/trickle') {
    // Headers, then one body byte every 100 ms for as long as the client listens.
    res.writeHead(200);
    const t = setInterval(() => res.write('x'), 100);
    res.on('close', () => clearInterval(t));
  } else if (req.url === '/redirect') {
    res.statusCode = 301;
    res.end();
  } else {
    res.statusCode = 500;
    res.end('boom');
  }
}

describe('HTTP_GET probe', () => {
  const server = http.createServer(handler);
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => close(server));

  it('succeeds on 2xx with the right digest', async () => {
    const r = await probeHttp(spec(port, [{ path: '/ok', digest: md5(BODY) }]), signal());
    expect(r.ok).toBe(true);
  });

  it('fails on a digest mismatch', async () => {
    const r = await probeHttp(spec(port, [{ path: '/ok', digest: md5('other') }]), signal());
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/MD5 digest error/);
  });

  it('checks status_code ranges (default 200-299)', async () => {
    expect((await probeHttp(spec(port, [{ path: '/redirect' }]), signal())).reason).toMatch(/status code error 301/);
    expect((await probeHttp(spec(port, [{ path: '/redirect', statusCodes: [[300, 399]] }]), signal())).ok).toBe(true);
    expect((await probeHttp(spec(port, [{ path: '/nope', statusCodes: [[200, 200], [500, 500]] }]), signal())).ok).toBe(true);
    expect((await probeHttp(spec(port, [{ path: '/nope' }]), signal())).ok).toBe(false);
  });

  it('regex / regex_no_match on the body', async () => {
    expect((await probeHttp(spec(port, [{ path: '/ok', regex: 'real s[e]rver' }]), signal())).ok).toBe(true);
    expect((await probeHttp(spec(port, [{ path: '/ok', regex: 'nothing here' }]), signal())).reason).toMatch(/Regex match failed/);
    expect((await probeHttp(spec(port, [{ path: '/ok', regex: 'nothing here', regexNoMatch: true }]), signal())).ok).toBe(true);
    expect((await probeHttp(spec(port, [{ path: '/ok', regex: '(' }]), signal())).reason).toMatch(/invalid regex/);
  });

  it('every url must pass', async () => {
    const r = await probeHttp(spec(port, [{ path: '/ok' }, { path: '/nope' }]), signal());
    expect(r).toMatchObject({ ok: false });
    expect(r.reason).toContain('/nope');
  });

  it('sends the virtualhost as Host header (url-level overrides checker-level)', async () => {
    expect((await probeHttp(spec(port, [{ path: '/vhost' }]), signal())).ok).toBe(false);
    expect((await probeHttp(spec(port, [{ path: '/vhost' }], { virtualhost: 'www.example.com' }), signal())).ok).toBe(true);
    expect((await probeHttp(spec(port, [{ path: '/vhost', virtualhost: 'www.example.com' }], { virtualhost: 'x' }), signal())).ok).toBe(true);
    expect(requests.at(-1)?.headers['user-agent']).toBe('KeepAliveClient');
  });

  it('HTTP/1.1 works (Connection: close, chunked body de-chunked for the digest)', async () => {
    const r = await probeHttp(spec(port, [{ path: '/chunked', digest: md5('hello from the real server\n') }], { httpProtocol: '1.1' }), signal());
    expect(r).toMatchObject({ ok: true });
    expect(requests.at(-1)?.httpVersion).toBe('1.1');
    expect(requests.at(-1)?.headers.connection).toBe('close');
  });

  it('fails with connection refused on a closed port', async () => {
    const r = await probeHttp(spec(await closedTcpPort(), [{ path: '/' }]), signal());
    expect(r).toEqual({ ok: false, reason: 'connection refused' });
  });
});

describe('HTTP_GET request and response parsing', () => {
  it('builds keepalived request lines for 1.0, 1.0C and 1.1', () => {
    const s = spec(8080, []);
    expect(buildRequest(s, { path: '/a' })).toBe('GET /a HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:8080\r\n\r\n');
    expect(buildRequest({ ...s, httpProtocol: '1.0C' }, { path: '/a' })).toContain('HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n');
    expect(buildRequest({ ...s, httpProtocol: '1.1', target: target(80) }, { path: '/' })).toBe(
      'GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.1\r\n\r\n',
    );
    expect(buildRequest({ ...s, target: target(80, { family: 'inet6', address: '::1' }) }, { path: '/' })).toContain('Host: [::1]\r\n');
  });

  it('status ranges', () => {
    expect(statusAccepted(204, undefined)).toBe(true);
    expect(statusAccepted(300, [])).toBe(false);
    expect(statusAccepted(404, [[400, 404]])).toBe(true);
  });

  /** Feed `chunks` (latin1) to a reader; the verdict as soon as it is known, else at `close`. */
  function read(chunks: string[], checks: ResponseChecks = {}, close = true): ResponseVerdict | undefined {
    const reader = new HttpResponseReader(checks);
    for (const c of chunks) {
      const v = reader.push(Buffer.from(c, 'latin1'));
      if (v) return v;
    }
    return close ? reader.end() : undefined;
  }
  const digest = md5('hello');

  it('parses, waits for more, or explains malformed input', () => {
    expect(read(['HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nab'], { digest }, false)).toBeUndefined();
    expect(read(['HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nab'], { digest })).toEqual({ ok: false, reason: 'connection closed mid-response' });
    expect(read(['HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello and more'], { digest }, false)).toEqual({ ok: true });
    expect(read(['HTTP/1.0 200 OK\r\nContent-Length: 5x\r\n\r\nhello'], { digest }, false)).toEqual({ ok: false, reason: 'bad Content-Length "5x"' });
    expect(read(['garbage garbage\r\n\r\n'])).toEqual({ ok: false, reason: 'malformed HTTP status line "garbage garbage"' });
    expect(read([''])).toEqual({ ok: false, reason: 'no data received' });
    expect(read(['HTTP/1.1 200 OK\r\nX: y'])).toEqual({ ok: false, reason: 'incomplete HTTP header' });
    expect(read(['HTTP/1.1 503 Busy\r\nX: y\r\n\r\nbody'])).toEqual({ ok: false, reason: 'HTTP status code error 503' });
    expect(read(['HTTP/1.1 503 Busy\r\nX: y\r\n\r\nbody'], { statusCodes: [[500, 599]] })).toEqual({ ok: true });
  });

  it('judges the status line before the headers, and the headers once they are complete', () => {
    // An SSH banner or a refused status needs nothing more from the server.
    expect(read(['SSH-2.0-OpenSSH_9.6\r\n'], {}, false)).toEqual({ ok: false, reason: 'malformed HTTP status line "SSH-2.0-OpenSSH_9.6"' });
    expect(read(['HTTP/1.0 50', '0 Oops\r', '\nServer: x'], {}, false)).toEqual({ ok: false, reason: 'HTTP status code error 500' });
    // Without digest or regex the body is not needed.
    expect(read(['HTTP/1.0 200 OK\r\nServer: x\r', '\n', '\r\nmore body to come'], {}, false)).toEqual({ ok: true });
    expect(read(['HTTP/1.0 200 OK\r\nServer: x\r\n'], {}, false)).toBeUndefined();
  });

  it('bounds the header', () => {
    const big = `HTTP/1.0 200 OK\r\nX: ${'a'.repeat(MAX_HEADER_BYTES)}`;
    expect(read([big.slice(0, 1000), big.slice(1000)], {}, false)).toEqual({ ok: false, reason: `HTTP header larger than ${MAX_HEADER_BYTES} bytes` });
    const fits = `HTTP/1.0 200 OK\r\nX: ${'a'.repeat(MAX_HEADER_BYTES - 24)}\r\n\r\n`;
    expect(fits.length).toBe(MAX_HEADER_BYTES);
    expect(read([fits], {}, false)).toEqual({ ok: true });
  });

  it('de-chunks a chunked body for the digest, split anywhere', () => {
    const raw = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nhel\r\n2 \r\nlo\r\n0\r\n\r\n';
    for (let i = 0; i <= raw.length; i++) {
      expect(read([raw.slice(0, i), raw.slice(i)], { digest }, false)).toEqual({ ok: true });
    }
    expect(read([raw], { digest: md5('other') }, false)).toEqual({ ok: false, reason: `MD5 digest error: got ${digest}` });
    expect(read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'], { digest })).toEqual({ ok: false, reason: 'malformed chunked encoding' });
    expect(read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhelXX'], { digest })).toEqual({ ok: false, reason: 'malformed chunked encoding' });
    expect(read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n'], { digest })).toEqual({ ok: false, reason: 'connection closed mid-response' });
  });
});

describe('HTTP_GET against misbehaving servers (never a crash, always a reason)', () => {
  const servers: net.Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map(close));
  });

  it('garbage response', async () => {
    const { port, server } = await rawServer((s) => s.end('garbage garbage\r\n\r\n'));
    servers.push(server);
    const r = await probeHttp(spec(port, [{ path: '/' }]), signal());
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/malformed HTTP status line "garbage garbage"/);
  });

  it('server closing mid-response (when the body matters)', async () => {
    const { port, server } = await rawServer((s) => {
      s.write('HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly a part');
      setTimeout(() => s.destroy(), 20);
    });
    servers.push(server);
    const r = await probeHttp(spec(port, [{ path: '/', digest: md5('x') }]), signal());
    expect(r).toEqual({ ok: false, reason: 'connection closed mid-response (url /)' });
  });

  it('server closing without a byte', async () => {
    const { port, server } = await rawServer((s) => s.destroy());
    servers.push(server);
    const r = await probeHttp(spec(port, [{ path: '/' }]), signal());
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/no data received|connection closed|read error/);
  });

  it('server never answering: read timeout', async () => {
    const { port, server } = await rawServer(() => {});
    servers.push(server);
    const r = await probeHttp({ ...spec(port, [{ path: '/' }]), target: target(port, { connectTimeoutMs: 300 }) }, signal());
    expect(r).toEqual({ ok: false, reason: 'read timeout (url /)' });
  });
});

describe('SSL_GET probe (self-signed certificate, SNI)', () => {
  let dir = '';
  let server: https.Server;
  let port = 0;
  const snis: Array<string | undefined> = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lvskeeper-ssl-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=rs.example.com',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, handler);
    server.on('secureConnection', (s) => snis.push((s as unknown as { servername?: string | false }).servername || undefined));
    port = await listen(server);
  });
  afterAll(async () => {
    await close(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not verify the certificate, checks status and digest', async () => {
    const r = await probeHttp({ ...spec(port, [{ path: '/ok', digest: md5(BODY) }]), type: 'SSL_GET' }, signal());
    expect(r).toMatchObject({ ok: true });
    expect((await probeHttp({ ...spec(port, [{ path: '/x' }]), type: 'SSL_GET' }, signal())).reason).toMatch(/status code error 500/);
  });

  it('a trickling body fails at the deadline (connect_timeout), not at the next byte', async () => {
    const s = { ...spec(port, [{ path: '/trickle', digest: md5(BODY) }]), type: 'SSL_GET' as const, target: target(port, { connectTimeoutMs: 1000 }) };
    const r = await probeHttp(s, signal());
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^read timeout, response incomplete after \d+ bytes \(url \/trickle\)$/);
  }, 10_000);

  it('sends SNI only with enable_sni (sni_name, else the virtualhost)', async () => {
    snis.length = 0;
    await probeHttp({ ...spec(port, [{ path: '/ok' }]), type: 'SSL_GET', virtualhost: 'v.example.com' }, signal());
    await probeHttp({ ...spec(port, [{ path: '/ok' }]), type: 'SSL_GET', virtualhost: 'v.example.com', enableSni: true }, signal());
    await probeHttp({ ...spec(port, [{ path: '/ok' }]), type: 'SSL_GET', enableSni: true, sniName: 'sni.example.com' }, signal());
    expect(snis).toEqual([undefined, 'v.example.com', 'sni.example.com']);
  });

  it('fails clearly when the server does not speak TLS', async () => {
    const plain = http.createServer(handler);
    const p = await listen(plain);
    const r = await probeHttp({ ...spec(p, [{ path: '/ok' }]), type: 'SSL_GET' }, signal());
    await close(plain);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/SSL handshake failed/);
  });
});
