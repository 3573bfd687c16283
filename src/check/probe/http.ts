// HTTP_GET and SSL_GET (check_http.c, check_ssl.c): GET each url, check the status code against
// status_code (default 200-299) and, when set, the MD5 digest of the body (as keepalived's genhash
// prints it). SSL_GET does not verify certificates, like keepalived; SNI with enable_sni/sni_name.
//
// Request (keepalived's request_template):
//   GET <path> HTTP/1.<0|1>\r\nUser-Agent: KeepAliveClient\r\n[Connection: close\r\n]Host: <vhost|ip>[:port]\r\n\r\n
// http_protocol 1.0 -> no Connection header; 1.0C and 1.1 -> "Connection: close".
// Differences from keepalived: every url is checked in one probe (keepalived checks one url per
// delay_loop round); a chunked body is de-chunked before hashing.

import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { connectTcp, fail, guard, ok, ProbeFailure } from './common.js';
import type { HttpCheckSpec, ProbeResult, UrlSpec } from '../types.js';

/** Responses larger than this fail (keepalived streams into MD5; we buffer). */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export function buildRequest(spec: HttpCheckSpec, url: UrlSpec): string {
  const minor = spec.httpProtocol === '1.1' ? 1 : 0;
  const connection = spec.httpProtocol === '1.0' ? '' : 'Connection: close\r\n';
  const vhost = url.virtualhost ?? spec.virtualhost;
  const defaultPort = spec.type === 'SSL_GET' ? 443 : 80;
  const portSuffix = spec.target.port === defaultPort ? '' : `:${spec.target.port}`;
  const host = vhost ?? (spec.target.family === 'inet6' ? `[${spec.target.address}]` : spec.target.address);
  return `GET ${url.path} HTTP/1.${minor}\r\nUser-Agent: KeepAliveClient\r\n${connection}Host: ${host}${portSuffix}\r\n\r\n`;
}

export interface ParsedResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Parse a complete (or connection-closed) response. Returns a reason string on malformed input. */
export function parseResponse(raw: Buffer, closed: boolean): ParsedResponse | string | undefined {
  const headerEnd = raw.indexOf('\r\n\r\n');
  if (headerEnd < 0) {
    if (raw.length > 65536) return 'HTTP header too large';
    return closed ? (raw.length === 0 ? 'no data received' : 'incomplete HTTP header') : undefined;
  }
  const head = raw.subarray(0, headerEnd).toString('latin1');
  const lines = head.split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/\d\.\d\s+(\d{3})(?:\s|$)/.exec(statusLine);
  if (!m) return `malformed HTTP status line "${statusLine.slice(0, 60)}"`;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  const bodyRaw = raw.subarray(headerEnd + 4);
  const status = Number(m[1]);
  const te = headers.get('transfer-encoding')?.toLowerCase();
  if (te && te.includes('chunked')) {
    const dechunked = dechunk(bodyRaw);
    if (dechunked === undefined) return closed ? 'connection closed mid-response' : undefined;
    if (typeof dechunked === 'string') return dechunked;
    return { status, headers, body: dechunked };
  }
  const cl = headers.get('content-length');
  if (cl !== undefined) {
    const len = Number(cl);
    if (!Number.isInteger(len) || len < 0) return `bad Content-Length "${cl.slice(0, 20)}"`;
    if (bodyRaw.length < len) return closed ? 'connection closed mid-response' : undefined;
    return { status, headers, body: bodyRaw.subarray(0, len) };
  }
  if (!closed) return undefined;
  return { status, headers, body: bodyRaw };
}

/** Decode a chunked body: Buffer when complete, undefined when more data is needed, string on error. */
function dechunk(data: Buffer): Buffer | string | undefined {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const sizeText = data.subarray(pos, eol).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return 'malformed chunked encoding';
    const size = parseInt(sizeText, 16);
    pos = eol + 2;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < pos + size + 2) return undefined;
    parts.push(data.subarray(pos, pos + size));
    pos += size + 2;
  }
}

export function statusAccepted(status: number, ranges: Array<[number, number]> | undefined): boolean {
  if (!ranges || ranges.length === 0) return status >= 200 && status <= 299;
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

async function openStream(spec: HttpCheckSpec, url: UrlSpec, signal: AbortSignal): Promise<net.Socket> {
  const socket = await connectTcp(spec.target, signal);
  if (spec.type !== 'SSL_GET') return socket;
  const vhost = url.virtualhost ?? spec.virtualhost;
  const sni = spec.enableSni ? (spec.sniName ?? vhost) : undefined;
  return new Promise<net.Socket>((resolve, reject) => {
    const opts: tls.ConnectionOptions = { socket, rejectUnauthorized: false };
    // Node refuses an IP address as SNI (RFC 6066); keepalived would send it, we skip it.
    if (sni && net.isIP(sni) === 0) opts.servername = sni;
    const secure = tls.connect(opts);
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new ProbeFailure('SSL handshake timeout'));
    }, spec.target.connectTimeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      secure.destroy();
      reject(new ProbeFailure('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(secure);
    });
    secure.once('error', (err) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      secure.destroy();
      reject(new ProbeFailure(`SSL handshake failed: ${err.message}`));
    });
  });
}

/** Fetch one url: resolves with the parsed response or a failure reason. */
function fetchUrl(spec: HttpCheckSpec, url: UrlSpec, signal: AbortSignal): Promise<ParsedResponse | string> {
  return openStream(spec, url, signal).then(
    (socket) =>
      new Promise<ParsedResponse | string>((resolve) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let done = false;
        const finish = (r: ParsedResponse | string) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          socket.destroy();
          resolve(r);
        };
        let timer = setTimeout(() => finish('read timeout'), spec.target.connectTimeoutMs);
        const onAbort = () => finish('aborted');
        signal.addEventListener('abort', onAbort, { once: true });
        const tryParse = (closed: boolean) => {
          const parsed = parseResponse(Buffer.concat(chunks, size), closed);
          if (parsed !== undefined) finish(parsed);
          else if (closed) finish('connection closed mid-response');
        };
        socket.on('data', (d: Buffer) => {
          chunks.push(d);
          size += d.length;
          if (size > MAX_RESPONSE_BYTES) {
            finish('response too large');
            return;
          }
          clearTimeout(timer);
          timer = setTimeout(() => finish('read timeout'), spec.target.connectTimeoutMs);
          tryParse(false);
        });
        socket.on('end', () => tryParse(true));
        socket.on('close', () => tryParse(true));
        socket.on('error', (err: NodeJS.ErrnoException) => {
          if (size === 0) finish(`read error: ${err.code ?? err.message}`);
          else tryParse(true);
        });
        socket.write(buildRequest(spec, url), (err) => {
          if (err) finish(`cannot send GET request: ${err.message}`);
        });
      }),
  );
}

export function probeHttp(spec: HttpCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(async () => {
    const urls = spec.urls.length > 0 ? spec.urls : [{ path: '/' }];
    for (const url of urls) {
      const res = await fetchUrl(spec, url, signal);
      if (typeof res === 'string') return fail(`${res} (url ${url.path})`);
      if (!statusAccepted(res.status, url.statusCodes)) return fail(`HTTP status code error ${res.status} (url ${url.path})`);
      if (url.digest) {
        const got = createHash('md5').update(res.body).digest('hex');
        if (got !== url.digest.toLowerCase()) return fail(`MD5 digest error: got ${got} (url ${url.path})`);
      }
      if (url.regex !== undefined) {
        let re: RegExp;
        try {
          re = new RegExp(url.regex);
        } catch {
          return fail(`invalid regex "${url.regex}" (url ${url.path})`);
        }
        if (re.test(res.body.toString('latin1')) === Boolean(url.regexNoMatch)) {
          return fail(`Regex match failed (url ${url.path})`);
        }
      }
    }
    return ok('HTTP status and digest ok');
  });
}
