// url regex_options (RegExp flags) and regex_min_offset / regex_max_offset (keepalived check_http.c check_regex:
// a match counts only if it starts in [min, max], positions counted from the response's first byte).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHttp } from '../../../../src/check/probe/http.js';
import { HttpResponseReader, REGEX_OVERLAP, StreamingRegex, type ResponseChecks } from '../../../../src/check/probe/http-response.js';
import type { HttpCheckSpec, UrlSpec } from '../../../../src/check/types.js';
import { regexOptionFlags } from '../../../../src/config/regex-options.js';
import { close, listen, signal, target } from './servers.js';

/** Feed a whole response in pieces of `size` bytes, then end. */
function verdict(response: string, checks: ResponseChecks, size = 7): { ok: boolean; reason?: string } {
  const r = new HttpResponseReader(checks);
  const buf = Buffer.from(response, 'latin1');
  for (let i = 0; i < buf.length; i += size) {
    const v = r.push(buf.subarray(i, i + size));
    if (v) return v;
  }
  return r.end();
}

const HEAD = 'HTTP/1.0 200 OK\r\nX: y\r\n\r\n'; // 25 bytes
const H = HEAD.length;

describe('regex offsets over a streamed response', () => {
  const body = 'aaaa MARK bbbb MARK cccc'; // MARKs at body 5 and 15
  const at = (min?: number, max?: number, over: Partial<ResponseChecks> = {}) =>
    verdict(HEAD + body, { regex: /MARK/g, regexMinOffset: min, regexMaxOffset: max, ...over }).ok;

  it('without offsets the regex matches anywhere', () => {
    expect(at()).toBe(true);
  });
  it('offsets count from the first byte of the response (headers included), inclusive', () => {
    expect(at(H + 5, H + 5)).toBe(true); // exactly the first MARK
    expect(at(H + 6, H + 14)).toBe(false); // between the two
    expect(at(H + 6, H + 15)).toBe(true); // the second MARK's start
    expect(at(H + 16)).toBe(false); // after both
    expect(at(undefined, H + 4)).toBe(false); // before both
    expect(at(undefined, 3)).toBe(false); // inside the header: the body can never match
  });
  it('a match may end past regex_max_offset: only its start is bounded', () => {
    expect(at(undefined, H + 5, { regex: /MARK bbbb MARK/g })).toBe(true);
  });
  it('regex_no_match with offsets: a match outside the window does not count', () => {
    expect(at(H + 6, H + 14, { regexNoMatch: true })).toBe(true);
    expect(at(H + 5, H + 14, { regexNoMatch: true })).toBe(false);
  });
  it('text before regex_min_offset is context for lookbehind and \\b (keepalived keeps max_lookbehind)', () => {
    expect(at(H + 5, undefined, { regex: /(?<=aaaa )MARK/g })).toBe(true);
    expect(at(H + 5, undefined, { regex: /\bMARK/g })).toBe(true);
    expect(at(H + 6, undefined, { regex: /^/g })).toBe(false); // ^ only at the body's start
  });
  it('stops reading once past regex_max_offset with no match (the rest cannot change the verdict)', () => {
    // Starts are retried while a match up to REGEX_OVERLAP long could still reach them.
    const r = new HttpResponseReader({ regex: /MARK/g, regexMaxOffset: H + 3 });
    expect(r.push(Buffer.from(HEAD + 'x'.repeat(100)))).toBeUndefined();
    expect(r.push(Buffer.from('x'.repeat(REGEX_OVERLAP)))).toEqual({ ok: false, reason: 'Regex match failed' });
    const no = new HttpResponseReader({ regex: /MARK/g, regexNoMatch: true, regexMaxOffset: H + 3 });
    expect(no.push(Buffer.from(HEAD + 'x'.repeat(REGEX_OVERLAP + 100)))).toEqual({ ok: true });
  });
  it('min offset far into a large body: bounded memory, found across reads', () => {
    const filler = 'z'.repeat(3 * REGEX_OVERLAP);
    const big = `${filler}MARK${filler}MARK${filler}`;
    const second = H + 2 * filler.length + 4;
    expect(verdict(HEAD + big, { regex: /MARK/g, regexMinOffset: second }, 1000).ok).toBe(true);
    expect(verdict(HEAD + big, { regex: /MARK/g, regexMinOffset: second + 1 }, 1000).ok).toBe(false);
    expect(verdict(HEAD + big, { regex: /MARK/g, regexMinOffset: H + filler.length + 1, regexMaxOffset: second - 1 }, 333).ok).toBe(false);
  });
  it('StreamingRegex.window: a window entirely before the body is exhausted at once', () => {
    const s = new StreamingRegex(/a/g);
    s.window(undefined, 10, 20);
    expect(s.exhausted).toBe(true);
    expect(s.push(Buffer.from('aaaa'))).toBe(false);
    expect(s.finish()).toBe(false);
  });
});

describe('regex_options flags', () => {
  it('maps keepalived\'s names to flags', () => {
    expect(regexOptionFlags(['caseless', 'multiline', 'dotall'])).toEqual({ flags: 'ims', unsupported: [] });
    expect(regexOptionFlags(['allow_empty_class', 'alt_bsux', 'never_utf']).flags).toBe('');
    expect(regexOptionFlags(['utf', 'ucp', 'firstline']).unsupported).toHaveLength(3);
  });
});

describe('HTTP_GET probe with regex_options and offsets (real server)', () => {
  const server = http.createServer((_req, res) => res.end('<html>\nService is UP\n</html>\n'));
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => close(server));
  const probe = (url: Omit<UrlSpec, 'path'>) => {
    const spec: HttpCheckSpec = { type: 'HTTP_GET', target: target(port), urls: [{ path: '/', ...url }], httpProtocol: '1.0' };
    return probeHttp(spec, signal());
  };

  it('caseless: fails without the flag, passes with it', async () => {
    expect((await probe({ regex: 'service is up' })).ok).toBe(false);
    expect((await probe({ regex: 'service is up', regexFlags: 'i' })).ok).toBe(true);
  });
  it('multiline and dotall', async () => {
    expect((await probe({ regex: '^Service' })).ok).toBe(false);
    expect((await probe({ regex: '^Service', regexFlags: 'm' })).ok).toBe(true);
    expect((await probe({ regex: 'html>.Service' })).ok).toBe(false);
    expect((await probe({ regex: 'html>.Service', regexFlags: 's' })).ok).toBe(true);
  });
  it('regex_max_offset below the body start fails a regex that matches the body', async () => {
    expect((await probe({ regex: 'UP' })).ok).toBe(true);
    expect((await probe({ regex: 'UP', regexMaxOffset: 10 })).ok).toBe(false);
    expect((await probe({ regex: 'UP', regexMinOffset: 10 })).ok).toBe(true);
  });
});
