// The HTTP_GET / SSL_GET response, read as it streams (keepalived http_process_response): the status
// line and headers are parsed once, then the body is hashed (MD5) and scanned (regex) piece by piece and
// dropped. The reader says when the verdict is known, so the caller stops reading: a status that is not
// accepted needs no headers, an accepted one with no digest and no regex needs no body, a regex_no_match
// hit needs nothing more. Work and memory per response are linear in the bytes received and bounded per
// check (MAX_HEADER_BYTES, the regex window), whatever the server sends.

import { createHash, type Hash } from 'node:crypto';

/** Status line plus headers. keepalived keeps them in its 4 KiB read buffer; Node's HTTP parser allows 16 KiB. */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Regex window. keepalived matches with PCRE2 partial matching over a 4 KiB buffer (MAX_BUFFER_LENGTH),
 * keeping a partial match's start for the next read, so a match up to about 4 KiB long is found wherever
 * it lies. JavaScript has no partial matching; we keep the last REGEX_OVERLAP characters for the next run
 * instead: any match up to REGEX_OVERLAP characters long is found, also across reads.
 */
export const REGEX_OVERLAP = 4096;
/** Characters kept before the first retried start, for `\b`, `\B` and lookbehind at the window's edge. */
export const REGEX_LOOKBEHIND = 256;

/** Counts of the work done for responses (tests: linear work). */
export interface HttpWorkMeter {
  /** Chunks read from the socket. */
  reads: number;
  /** Bytes examined looking for the end of the header. */
  headerBytesScanned: number;
  /** Status line and header parses (once each per response). */
  headerParses: number;
  /** Body bytes (de-chunked) handed on to the digest and regex. */
  bodyBytes: number;
  /** Bytes passed to MD5. */
  digestBytes: number;
  /** RegExp executions and the characters of their subjects. */
  regexRuns: number;
  regexChars: number;
}

export function newWorkMeter(): HttpWorkMeter {
  return { reads: 0, headerBytesScanned: 0, headerParses: 0, bodyBytes: 0, digestBytes: 0, regexRuns: 0, regexChars: 0 };
}

/** Sink for responses read without a meter. */
const unmetered = newWorkMeter();

export type ResponseVerdict = { ok: true } | { ok: false; reason: string };

export interface ResponseChecks {
  /** Accepted status codes; empty = keepalived's default 200-299. */
  statusCodes?: Array<[number, number]> | undefined;
  /** Lower-case hex MD5 of the body. */
  digest?: string | undefined;
  regex?: RegExp | undefined;
  regexNoMatch?: boolean | undefined;
  /**
   * regex_min_offset / regex_max_offset: a match counts only if it starts in [min, max]. keepalived counts from the
   * first byte of the response (its first regex run covers the buffer holding the status line and headers), so
   * these are turned into body positions by the header's length. The regex itself only sees the body, de-chunked.
   */
  regexMinOffset?: number | undefined;
  regexMaxOffset?: number | undefined;
  meter?: HttpWorkMeter | undefined;
}

export function statusAccepted(status: number, ranges: Array<[number, number]> | undefined): boolean {
  if (!ranges || ranges.length === 0) return status >= 200 && status <= 299;
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

const OK: ResponseVerdict = { ok: true };
const failed = (reason: string): ResponseVerdict => ({ ok: false, reason });

const CR = 0x0d;
const LF = 0x0a;

type Framing = 'close' | 'length' | 'chunked';
type ChunkState = 'size' | 'ext' | 'sizeLf' | 'data' | 'dataCr' | 'dataLf';

/**
 * One response: `push` each chunk as it arrives, `end` when the connection closes. Both return the verdict
 * once it is known (then stop reading), else undefined (`end` always decides).
 */
export class HttpResponseReader {
  private readonly meter: HttpWorkMeter;
  private readonly md5: Hash | undefined;
  private readonly regex: StreamingRegex | undefined;
  private verdict: ResponseVerdict | undefined;
  private received = 0;

  // Header: chunks held (not copied) until CRLFCRLF; `crlf` is how much of it the last bytes matched.
  private inBody = false;
  private headChunks: Buffer[] = [];
  private headBytes = 0;
  private crlf = 0;
  private statusSeen = false;

  // Body framing.
  private framing: Framing = 'close';
  private remaining = 0;
  private chunkState: ChunkState = 'size';
  private chunkSize = 0;
  private chunkDigits = 0;

  constructor(private readonly checks: ResponseChecks) {
    this.meter = checks.meter ?? unmetered;
    this.md5 = checks.digest ? createHash('md5') : undefined;
    this.regex = checks.regex ? new StreamingRegex(checks.regex, this.meter) : undefined;
  }

  push(chunk: Buffer): ResponseVerdict | undefined {
    if (this.verdict) return this.verdict;
    this.meter.reads++;
    this.received += chunk.length;
    let body = chunk;
    if (!this.inBody) {
      const start = this.scanHead(chunk);
      if (this.verdict || start < 0) return this.verdict;
      body = chunk.subarray(start);
    }
    if (body.length > 0) this.framed(body);
    return this.verdict;
  }

  end(): ResponseVerdict {
    if (this.verdict) return this.verdict;
    if (!this.inBody) return this.decide(failed(this.received === 0 ? 'no data received' : 'incomplete HTTP header'));
    if (this.framing !== 'close') return this.decide(failed('connection closed mid-response'));
    return this.decide(this.bodyDone());
  }

  private decide(v: ResponseVerdict): ResponseVerdict {
    this.verdict = v;
    this.headChunks = [];
    return v;
  }

  /** Offset of the body in `chunk` once the header is complete, else -1 (or a verdict is set). */
  private scanHead(chunk: Buffer): number {
    const room = MAX_HEADER_BYTES - this.headBytes;
    const limit = Math.min(chunk.length, room);
    let s = this.crlf;
    for (let i = 0; i < limit; i++) {
      const b = chunk[i];
      if (b === CR) s = s === 2 ? 3 : 1;
      else if (b === LF && (s === 1 || s === 3)) s++;
      else s = 0;
      if (s === 2 && !this.statusSeen) {
        this.statusSeen = true;
        if (!this.checkStatusLine(chunk.subarray(0, i + 1))) {
          this.meter.headerBytesScanned += i + 1;
          return -1;
        }
      } else if (s === 4) {
        this.meter.headerBytesScanned += i + 1;
        this.parseHeaders(chunk.subarray(0, i + 1));
        return i + 1;
      }
    }
    this.meter.headerBytesScanned += limit;
    this.crlf = s;
    if (chunk.length >= room) {
      this.decide(failed(`HTTP header larger than ${MAX_HEADER_BYTES} bytes`));
      return -1;
    }
    this.headChunks.push(chunk);
    this.headBytes += chunk.length;
    return -1;
  }

  private headText(last: Buffer): string {
    this.meter.headerParses++;
    const all = this.headChunks.length === 0 ? last : Buffer.concat([...this.headChunks, last]);
    return all.toString('latin1');
  }

  /** keepalived extract_status_code; a code outside status_code fails before the headers arrive. */
  private checkStatusLine(upToCrlf: Buffer): boolean {
    const line = this.headText(upToCrlf).split('\r\n', 1)[0] ?? '';
    const m = /^HTTP\/\d\.\d\s+(\d{3})(?:\s|$)/.exec(line);
    if (!m) {
      this.decide(failed(`malformed HTTP status line "${line.slice(0, 60)}"`));
      return false;
    }
    const status = Number(m[1]);
    if (!statusAccepted(status, this.checks.statusCodes)) {
      this.decide(failed(`HTTP status code error ${status}`));
      return false;
    }
    return true;
  }

  private parseHeaders(upToEnd: Buffer): void {
    const headerLength = this.headBytes + upToEnd.length;
    this.regex?.window(this.checks.regexMinOffset, this.checks.regexMaxOffset, headerLength);
    const lines = this.headText(upToEnd).split('\r\n');
    this.headChunks = [];
    this.inBody = true;
    let contentLength: string | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name === 'content-length') contentLength = line.slice(colon + 1).trim();
      else if (name === 'transfer-encoding') chunked = line.slice(colon + 1).toLowerCase().includes('chunked');
    }
    if (!this.md5 && !this.regex) {
      // Nothing looks at the body. keepalived reads it to EOF anyway, with no effect on the verdict.
      this.decide(OK);
      return;
    }
    if (chunked) this.framing = 'chunked';
    else if (contentLength !== undefined) {
      const len = Number(contentLength);
      if (!/^\d+$/.test(contentLength) || !Number.isSafeInteger(len)) {
        this.decide(failed(`bad Content-Length "${contentLength.slice(0, 20)}"`));
        return;
      }
      this.framing = 'length';
      this.remaining = len;
      if (len === 0) this.decide(this.bodyDone());
    }
  }

  private framed(data: Buffer): void {
    if (this.framing === 'close') this.deliver(data);
    else if (this.framing === 'length') {
      const take = Math.min(this.remaining, data.length);
      this.remaining -= take;
      this.deliver(take === data.length ? data : data.subarray(0, take));
      if (!this.verdict && this.remaining === 0) this.decide(this.bodyDone());
    } else this.dechunk(data);
  }

  /** Transfer-Encoding: chunked, one byte state machine over the framing; chunk data passes as views. */
  private dechunk(data: Buffer): void {
    let i = 0;
    while (i < data.length && !this.verdict) {
      if (this.chunkState === 'data') {
        const take = Math.min(this.remaining, data.length - i);
        this.deliver(data.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.chunkState = 'dataCr';
        continue;
      }
      const b = data[i++] as number;
      switch (this.chunkState) {
        case 'size': {
          const digit = hexValue(b);
          if (digit >= 0 && this.chunkDigits < 8) {
            this.chunkSize = this.chunkSize * 16 + digit;
            this.chunkDigits++;
          } else if (this.chunkDigits > 0 && (b === 0x3b || b === 0x20 || b === 0x09)) this.chunkState = 'ext';
          else if (this.chunkDigits > 0 && b === CR) this.chunkState = 'sizeLf';
          else this.decide(failed('malformed chunked encoding'));
          break;
        }
        case 'ext':
          if (b === CR) this.chunkState = 'sizeLf';
          break;
        case 'sizeLf':
          if (b !== LF) this.decide(failed('malformed chunked encoding'));
          else if (this.chunkSize === 0) this.decide(this.bodyDone()); // trailers are not read
          else {
            this.remaining = this.chunkSize;
            this.chunkState = 'data';
          }
          break;
        case 'dataCr':
          if (b === CR) this.chunkState = 'dataLf';
          else this.decide(failed('malformed chunked encoding'));
          break;
        case 'dataLf':
          if (b === LF) {
            this.chunkState = 'size';
            this.chunkSize = 0;
            this.chunkDigits = 0;
          } else this.decide(failed('malformed chunked encoding'));
          break;
      }
    }
  }

  private deliver(piece: Buffer): void {
    if (piece.length === 0) return;
    this.meter.bodyBytes += piece.length;
    if (this.md5) {
      this.md5.update(piece);
      this.meter.digestBytes += piece.length;
    }
    if (this.regex?.push(piece)) {
      // keepalived checks the digest first; a regex_no_match hit fails whatever the digest says.
      if (this.checks.regexNoMatch) this.decide(failed('Regex match failed'));
      else if (!this.md5) this.decide(OK);
    } else if (this.regex?.exhausted && !this.md5) {
      // Past regex_max_offset with no match: the rest of the body cannot change the verdict.
      this.decide(this.checks.regexNoMatch ? OK : failed('Regex match failed'));
    }
  }

  /** keepalived http_handle_response, once the whole body is in. */
  private bodyDone(): ResponseVerdict {
    if (this.md5 && this.checks.digest) {
      const got = this.md5.digest('hex');
      if (got !== this.checks.digest.toLowerCase()) return failed(`MD5 digest error: got ${got}`);
    }
    if (this.regex && this.regex.finish() === Boolean(this.checks.regexNoMatch)) return failed('Regex match failed');
    return OK;
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

/**
 * `regex.test(body)` over a body that streams, in bounded memory and linear work. Each run searches
 * `kept + pending`: `kept` is the tail of the text already searched (REGEX_LOOKBEHIND characters of context,
 * then the last REGEX_OVERLAP start positions, retried with the new text), `pending` the new text. A run
 * waits until `pending` is at least as long as `kept`, so a run scans at most twice the new text.
 *
 * The answer is that of one test() over the whole (latin1) body, as before streaming, for any match up to
 * REGEX_OVERLAP long. `^` only matches at the body's start: a later window is searched from an index > 0.
 * When the pattern can look past its match (`$`, `\b`, `\B`, lookahead up to REGEX_OVERLAP), a match that
 * reaches the end of the text so far is not trusted until more text, or the end of the body, confirms it.
 */
export class StreamingRegex {
  private readonly re: RegExp;
  private readonly endMargin: number;
  private kept = '';
  private keptStart = 0;
  private searchFrom = 0;
  private pending: string[] = [];
  private pendingLength = 0;
  private runs = 0;
  /** The last run found a match that more text could still undo; at the end of the body it holds. */
  private unconfirmed = false;
  /** Body positions where a match may start (regex_min_offset / regex_max_offset); maxStart undefined = no limit. */
  private minStart = 0;
  private maxStart: number | undefined;
  /** No start position up to maxStart is left to try: the answer is no match, whatever follows. */
  exhausted = false;
  matched = false;

  constructor(regex: RegExp, private readonly meter: HttpWorkMeter = unmetered) {
    this.re = regex.global ? regex : new RegExp(regex.source, `${regex.flags}g`);
    this.endMargin = /\(\?[=!]/.test(regex.source) ? REGEX_OVERLAP : /\$|\\[bB]/.test(regex.source) ? 1 : 0;
  }

  /**
   * Limit where a match may start: [min, max] in response positions, the body starting at `base` (set before the
   * first push). Text before min is kept only as context (lookbehind, \b), like keepalived's start_offset.
   */
  window(min: number | undefined, max: number | undefined, base: number): void {
    this.minStart = Math.max(0, (min ?? 0) - base);
    this.searchFrom = Math.max(this.searchFrom, this.minStart);
    this.maxStart = max === undefined ? undefined : max - base;
    if (this.maxStart !== undefined && this.maxStart < this.minStart) this.exhausted = true;
  }

  /** Feed body bytes; true once the pattern has matched. */
  push(piece: Buffer): boolean {
    if (this.matched) return true;
    if (this.exhausted) return false;
    this.pending.push(piece.toString('latin1'));
    this.pendingLength += piece.length;
    if (this.pendingLength >= this.kept.length) this.run(false);
    return this.matched;
  }

  /** The body is complete: did the pattern match? */
  finish(): boolean {
    if (this.matched) return true;
    if (this.exhausted) return false;
    if (this.pendingLength > 0 || this.runs === 0) this.run(true);
    else this.matched = this.unconfirmed;
    return this.matched;
  }

  private run(final: boolean): void {
    const subject = this.kept + this.pending.join('');
    const start = this.keptStart;
    this.pending = [];
    this.pendingLength = 0;
    this.runs++;
    this.unconfirmed = false;
    // Starts from here on are retried by the next run; earlier ones hidden behind an unconfirmed match
    // (one longer than REGEX_OVERLAP) are searched now, for at most one more pass over the subject.
    const retriedNext = subject.length - REGEX_OVERLAP;
    let budget = subject.length;
    let from = this.searchFrom - start;
    for (;;) {
      this.re.lastIndex = from;
      this.meter.regexRuns++;
      this.meter.regexChars += subject.length - from;
      const m = this.re.exec(subject);
      if (!m) break;
      // The leftmost match starts past regex_max_offset: no start up to it matches in this text.
      if (this.maxStart !== undefined && start + m.index > this.maxStart) break;
      if (final || m.index + m[0].length + this.endMargin <= subject.length) {
        this.matched = true;
        this.kept = '';
        return;
      }
      this.unconfirmed = true;
      budget -= subject.length - from;
      from = m.index + 1;
      if (from >= retriedNext || budget < 0) break;
    }
    this.searchFrom = Math.max(this.searchFrom, start + retriedNext);
    // Never past the text itself (searchFrom may lie ahead of it: regex_min_offset).
    const keepFrom = Math.min(start + subject.length, Math.max(start, this.searchFrom - REGEX_LOOKBEHIND));
    this.kept = subject.slice(keepFrom - start);
    this.keptStart = keepFrom;
    if (this.maxStart !== undefined && this.searchFrom > this.maxStart && !this.unconfirmed) {
      this.exhausted = true;
      this.kept = '';
    }
  }
}
