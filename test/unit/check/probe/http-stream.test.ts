// HTTP_GET against servers that try to burn the checker's CPU or hold a check: the response is read as it
// streams (linear work, counted through the probe's work meter), reading stops once the verdict is
// known, and one deadline (connect_timeout) ends a check whatever trickles in.

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CheckerScheduler, type CheckEvent } from '../../../../src/check/runtime.js';
import { MAX_RESPONSE_BYTES, probeHttp } from '../../../../src/check/probe/http.js';
import { newWorkMeter, REGEX_OVERLAP, StreamingRegex } from '../../../../src/check/probe/http-response.js';
import type { CheckerSpec, HttpCheckSpec, UrlSpec } from '../../../../src/check/types.js';
import { realServer, timing, virtualServer } from '../helpers.js';
import { close, listen, rawServer, signal, target } from './servers.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

function spec(port: number, urls: UrlSpec[], connectTimeoutMs = 1000): HttpCheckSpec {
  return { type: 'HTTP_GET', target: target(port, { connectTimeoutMs }), urls, httpProtocol: '1.0' };
}

const servers: net.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map(close));
});

/** A server answering `head`, then `body` in `segment`-byte writes, one per event-loop turn, then EOF. */
async function segmentedServer(head: string, body: Buffer, segment: number): Promise<number> {
  const { port, server } = await rawServer((s) => {
    s.setNoDelay(true);
    s.write(head);
    let at = 0;
    const next = () => {
      if (s.destroyed) return;
      if (at >= body.length) {
        s.end();
        return;
      }
      const piece = body.subarray(at, at + segment);
      at += piece.length;
      s.write(piece, () => setImmediate(next));
    };
    next();
  });
  servers.push(server);
  return port;
}

/** A server answering `head`, then `filler` over and over as fast as the client reads, never ending. */
async function endlessServer(head: string, filler: Buffer) {
  const conns: Array<{ sent: number; closed: Promise<void> }> = [];
  const { port, server } = await rawServer((s) => {
    const conn = { sent: 0, closed: new Promise<void>((r) => s.on('close', () => r())) };
    conns.push(conn);
    s.write(head);
    const pump = () => {
      while (!s.destroyed) {
        conn.sent += filler.length;
        if (!s.write(filler)) {
          s.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  servers.push(server);
  return { port, conns };
}

/** A server answering `head`, then `drip` every 100 ms for as long as the client listens. */
async function tricklingServer(head: string, drip: string): Promise<number> {
  const { port, server } = await rawServer((s) => {
    s.write(head);
    const t = setInterval(() => s.write(drip), 100);
    s.on('close', () => clearInterval(t));
  });
  servers.push(server);
  return port;
}

/** Bytes copied by Buffer.concat while `body` runs (the old reader re-joined every chunk). */
async function concatBytesDuring<T>(body: () => Promise<T>): Promise<{ result: T; concatBytes: number }> {
  const spy = vi.spyOn(Buffer, 'concat');
  try {
    const result = await body();
    const concatBytes = spy.mock.results.reduce((n, r) => n + (r.type === 'return' ? (r.value as Buffer).length : 0), 0);
    return { result, concatBytes };
  } finally {
    spy.mockRestore();
  }
}

describe('HTTP_GET work is linear in the response', () => {
  it('a 4 MiB body trickled in 1,448-byte writes: header parsed once, every body byte hashed once, regex scan <= 2x', async () => {
    const lines: string[] = [];
    for (let i = 0; lines.length * 20 <= 4 * 1024 * 1024; i++) lines.push(`line ${String(i).padStart(10, '0')} ok.\n`);
    const body = Buffer.from(lines.join(''), 'latin1').subarray(0, 4 * 1024 * 1024);
    const head = 'HTTP/1.0 200 OK\r\nServer: test\r\n\r\n';
    const port = await segmentedServer(head, body, 1448);
    const meter = newWorkMeter();
    // Digest and regex_no_match both need the whole body.
    const url = { path: '/', digest: md5(body), regex: 'NEVER-THERE', regexNoMatch: true };
    const { result, concatBytes } = await concatBytesDuring(() => probeHttp(spec(port, [url], 20_000), signal(), meter));
    expect(result).toEqual({ ok: true, reason: 'HTTP status and digest ok' });
    expect(meter.reads).toBeGreaterThan(100); // it did arrive in pieces
    expect(meter.headerParses).toBe(2); // status line, then the header block
    expect(meter.headerBytesScanned).toBe(head.length);
    expect(meter.bodyBytes).toBe(body.length);
    expect(meter.digestBytes).toBe(body.length);
    expect(meter.regexChars).toBeLessThanOrEqual(2 * body.length);
    expect(concatBytes).toBeLessThanOrEqual(2 * head.length);
  }, 30_000);

  it('a chunked 1 MiB body split at odd places: each byte de-chunked and hashed once', async () => {
    const data = Buffer.alloc(1024 * 1024, 'abcdefghij');
    const parts: Buffer[] = [];
    for (let at = 0; at < data.length; at += 1000) {
      const piece = data.subarray(at, at + 1000);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    const port = await segmentedServer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', Buffer.concat(parts), 777);
    const meter = newWorkMeter();
    const { result, concatBytes } = await concatBytesDuring(() =>
      probeHttp({ ...spec(port, [{ path: '/', digest: md5(data) }], 20_000), httpProtocol: '1.1' }, signal(), meter),
    );
    expect(result.ok).toBe(true);
    expect(concatBytes).toBeLessThan(1024);
    expect(meter.digestBytes).toBe(data.length);
  }, 30_000);
});

describe('HTTP_GET stops reading once the verdict is known', () => {
  const filler = Buffer.alloc(8192, 'z');

  it('status code not accepted: no body read', async () => {
    const { port, conns } = await endlessServer('HTTP/1.0 500 Oops\r\n\r\n', filler);
    const meter = newWorkMeter();
    const r = await probeHttp(spec(port, [{ path: '/', digest: md5('x') }]), signal(), meter);
    expect(r).toEqual({ ok: false, reason: 'HTTP status code error 500 (url /)' });
    expect(meter.bodyBytes).toBe(0);
    await conns[0]?.closed; // the checker hung up
  }, 10_000);

  it('no digest and no regex: the body is not read', async () => {
    const { port, conns } = await endlessServer('HTTP/1.0 200 OK\r\n\r\n', filler);
    const meter = newWorkMeter();
    const r = await probeHttp(spec(port, [{ path: '/' }]), signal(), meter);
    expect(r.ok).toBe(true);
    expect(meter.bodyBytes).toBe(0);
    await conns[0]?.closed;
  }, 10_000);

  it('regex found (no digest): done at the match; regex_no_match found: failed at the match', async () => {
    const { port, conns } = await endlessServer('HTTP/1.0 200 OK\r\n\r\n<html>status: READY</html>\n', filler);
    const meter = newWorkMeter();
    expect(await probeHttp(spec(port, [{ path: '/', regex: 'status: (READY|OK)' }]), signal(), meter)).toMatchObject({ ok: true });
    expect(meter.bodyBytes).toBeLessThan(1024 * 1024);
    const r = await probeHttp(spec(port, [{ path: '/', regex: 'READY', regexNoMatch: true }]), signal(), meter);
    expect(r).toEqual({ ok: false, reason: 'Regex match failed (url /)' });
    expect(meter.bodyBytes).toBeLessThan(2 * 1024 * 1024);
    await Promise.all(conns.map((c) => c.closed));
  }, 10_000);

  it('digest of an endless body: fails at the size bound, with linear work', async () => {
    const { port, conns } = await endlessServer('HTTP/1.0 200 OK\r\n\r\n', filler);
    const meter = newWorkMeter();
    const { result, concatBytes } = await concatBytesDuring(() => probeHttp(spec(port, [{ path: '/', digest: md5('x') }], 20_000), signal(), meter));
    expect(result).toEqual({ ok: false, reason: `response larger than ${MAX_RESPONSE_BYTES} bytes (url /)` });
    expect(meter.digestBytes).toBeGreaterThan(MAX_RESPONSE_BYTES - 1024 * 1024);
    expect(meter.digestBytes).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    expect(concatBytes).toBeLessThan(1024);
    await conns[0]?.closed;
  }, 30_000);
});

describe('HTTP_GET has one deadline (connect_timeout) for the response', () => {
  it('headers, then one body byte every 100 ms: fails at the deadline', async () => {
    const port = await tricklingServer('HTTP/1.0 200 OK\r\n\r\n', 'x');
    const r = await probeHttp(spec(port, [{ path: '/', digest: md5('x') }], 300), signal());
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^read timeout, response incomplete after \d+ bytes \(url \/\)$/);
  }, 10_000);

  it('a header that never ends: fails at the deadline', async () => {
    const port = await tricklingServer('HTTP/1.0 200 OK\r\nX-Slow: ', 'a');
    const r = await probeHttp(spec(port, [{ path: '/' }], 300), signal());
    expect(r.reason).toMatch(/^read timeout, response incomplete after \d+ bytes \(url \/\)$/);
  }, 10_000);

  it('headers then a trickle, no digest or regex: succeeds at the headers', async () => {
    const port = await tricklingServer('HTTP/1.0 200 OK\r\n\r\n', 'x');
    const meter = newWorkMeter();
    expect(await probeHttp(spec(port, [{ path: '/' }], 300), signal(), meter)).toMatchObject({ ok: true });
    expect(meter.bodyBytes).toBe(0);
  }, 10_000);

  describe('in the scheduler', () => {
    const stops: Array<() => void> = [];
    afterEach(() => {
      stops.splice(0).forEach((s) => s());
    });

    it('a trickling real server fails its own check; the other checker keeps its delay_loop', async () => {
      let healthyRequests = 0;
      const healthy = http.createServer((_req, res) => {
        healthyRequests++;
        res.end('ok');
      });
      const healthyPort = await listen(healthy);
      servers.push(healthy);
      const slowPort = await tricklingServer('HTTP/1.0 200 OK\r\n\r\n', 'x');
      const checker = (id: string, port: number, url: UrlSpec): CheckerSpec => ({
        id,
        label: `[127.0.0.1]:tcp:${port}`,
        timing: timing({ delayLoopMs: 50, retry: 0, delayBeforeRetryMs: 50 }),
        probe: spec(port, [url], 300),
      });
      const vs = virtualServer('10.0.0.1', 80, [
        realServer('127.0.0.1', slowPort, { checkers: [checker('slow', slowPort, { path: '/', digest: md5('x') })] }),
        realServer('127.0.0.1', healthyPort, { checkers: [checker('healthy', healthyPort, { path: '/' })] }),
      ]);
      const events: CheckEvent[] = [];
      const sched = new CheckerScheduler([vs], { onEvent: (e) => events.push(e) });
      stops.push(() => sched.stop());
      sched.start();
      const slowDown = () => events.find((e) => e.kind === 'checker' && e.checker === 'slow' && !e.up);
      while (!slowDown()) await new Promise((r) => setTimeout(r, 10));
      expect(slowDown()).toMatchObject({ reason: expect.stringMatching(/^read timeout, response incomplete after \d+ bytes \(url \/\)$/) });
      // While the slow check held its connection for connect_timeout (300 ms), the healthy one kept
      // being probed every delay_loop (50 ms) and never went down.
      expect(healthyRequests).toBeGreaterThanOrEqual(3);
      expect(events.some((e) => e.kind === 'checker' && e.checker === 'healthy')).toBe(false);
    }, 10_000);
  });
});

describe('digest and regex results on normal responses', () => {
  it('a regex match spanning two reads is found, the digest covers both', async () => {
    const body = 'hello from the real server\n';
    const { port, server } = await rawServer((s) => {
      s.setNoDelay(true);
      s.write(`HTTP/1.0 200 OK\r\n\r\n${body.slice(0, 19)}`);
      setTimeout(() => s.end(body.slice(19)), 50);
    });
    servers.push(server);
    const meter = newWorkMeter();
    const r = await probeHttp(spec(port, [{ path: '/', regex: 'real server', digest: md5(body) }]), signal(), meter);
    expect(r).toEqual({ ok: true, reason: 'HTTP status and digest ok' });
    expect(meter.reads).toBe(2);
    expect(meter.regexRuns).toBe(2);
    expect(meter.digestBytes).toBe(body.length);
    expect(await probeHttp(spec(port, [{ path: '/', regex: 'real server', regexNoMatch: true }]), signal())).toMatchObject({ ok: false, reason: 'Regex match failed (url /)' });
  });

  /** The streamed answer for `body` split into pieces of the given sizes (cycled). */
  function streamed(pattern: string, body: string, sizes: number[]): boolean {
    const scan = new StreamingRegex(new RegExp(pattern));
    let at = 0;
    for (let i = 0; at < body.length; i++) {
      const n = sizes[i % sizes.length] as number;
      if (scan.push(Buffer.from(body.slice(at, at + n), 'latin1'))) return true;
      at += n;
    }
    return scan.finish();
  }

  it('streamed regex = one test() over the whole body, wherever the reads split it (property)', () => {
    const patterns = ['ab c', '^ab', 'ab$', '\\bab\\b', 'ab(?= c)', 'ab(?!c)', '(?<=q)ab', 'a[^\\n]{40}b', 'b\\nc', '^$', 'x*', 'ab|^x'];
    const filler = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 'xyz \n'[(i * 7 + seed * 13 + ((i * seed) >> 3)) % 5]).join('');
    const arbLength = fc.constantFrom(0, 1, 2, 100, 3000, REGEX_OVERLAP - 1, REGEX_OVERLAP + 500, 20_000);
    fc.assert(
      fc.property(
        fc.constantFrom('', 'ab', 'ab c', 'qab', 'abc', 'ab\nc', `a${'-'.repeat(40)}b`),
        arbLength,
        arbLength,
        fc.nat(1000),
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 5 }),
        (needle, before, after, seed, sizes) => {
          const body = filler(before, seed) + needle + filler(after, seed + 1);
          for (const p of patterns) expect({ p, got: streamed(p, body, sizes) }).toEqual({ p, got: new RegExp(p).test(body) });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a pattern that keeps matching up to the end of what has arrived still costs linear work', () => {
    const meter = newWorkMeter();
    const scan = new StreamingRegex(/a+$/, meter);
    const piece = Buffer.alloc(1448, 'a');
    let n = 0;
    for (; n < 1024 * 1024; n += piece.length) expect(scan.push(piece)).toBe(false);
    expect(scan.finish()).toBe(true);
    expect(meter.regexChars).toBeLessThanOrEqual(4 * n + REGEX_OVERLAP);
  });

  it('edges: `^` only at the body start, `$` only at its end, `\\b` sees the next read', () => {
    const far = 'y'.repeat(REGEX_OVERLAP * 3);
    expect(streamed('^ab', `ab${far}`, [1])).toBe(true);
    expect(streamed('^ab', `${far}ab${far}`, [far.length, 2, 100])).toBe(false);
    expect(streamed('ab$', `${far}ab`, [1448])).toBe(true);
    expect(streamed('ab$', `${far}abc`, [far.length + 2, 1])).toBe(false);
    expect(streamed('ab\\b', `${far} abc`, [far.length + 3, 1])).toBe(false);
    expect(streamed('ab\\b', `${far} ab c`, [far.length + 3, 1])).toBe(true);
    expect(streamed('ab(?!c)', `${far}abc`, [far.length + 2, 1])).toBe(false);
    expect(streamed('^$', '', [1])).toBe(true);
    expect(streamed('x*', '', [1])).toBe(true);
    // The longest match kept across reads, with a lookbehind reaching before it.
    const longest = `<${'m'.repeat(REGEX_OVERLAP - 2)}>`;
    expect(streamed('(?<=qqq)<m+>', `${far}qqq${longest}${far}`, [far.length + 3 + REGEX_OVERLAP - 1, 10])).toBe(true);
    // A short match behind a longer one that the next read may undo.
    const run = 'a'.repeat(REGEX_OVERLAP * 4);
    expect(streamed('x[^\\n]*$|q', `x${run.slice(0, 100)}q${run}\n${far}`, [REGEX_OVERLAP * 3, 10])).toBe(true);
    expect(streamed('x[^\\n]*$|q', `x${run}\n${far}`, [REGEX_OVERLAP * 3, 10])).toBe(false);
    // A match spanning reads, up to REGEX_OVERLAP long.
    expect(streamed('<m+>', `${far}${longest}${far}`, [1448])).toBe(true);
  });
});
