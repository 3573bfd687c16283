// HTTP_GET and SSL_GET (check_http.c, check_ssl.c): GET each url, check the status code against
// status_code (default 200-299) and, when set, the MD5 digest of the body (as keepalived's genhash
// prints it). SNI with enable_sni/sni_name.
//
// SSL_GET uses the top-level SSL block as keepalived's one SSL context (check_ssl.c build_ssl_ctx): the client
// certificate chain and key (decrypted with `password`) are offered when the server asks; `ca` is the trust
// store. keepalived never sets SSL_VERIFY_PEER nor reads SSL_get_verify_result(), so the server certificate does
// not decide the check, whatever `ca` says; lvskeeper's `verify_server_certificate` makes a certificate that does
// not chain to `ca` fail the check (chain only: no host name is checked, the checker connects by address).
//
// Request (keepalived's request_template):
//   GET <path> HTTP/1.<0|1>\r\nUser-Agent: KeepAliveClient\r\n[Connection: close\r\n]Host: <vhost|ip>[:port]\r\n\r\n
// http_protocol 1.0 -> no Connection header; 1.0C and 1.1 -> "Connection: close".
// Differences from keepalived: every url is checked in one probe (keepalived checks one url per
// delay_loop round); a chunked body is de-chunked before hashing; with no digest and no regex the body is
// not read (keepalived reads it to EOF and ignores it).
//
// Time: connect_timeout bounds the connection (TCP and TLS handshake together, as keepalived's ssl_connect
// runs on what is left of the connect timer), then the request and the whole response. keepalived's
// ssl_read_thread also carries the remaining time from read to read; its http_read_thread re-arms
// connect_timeout on every read, so a server trickling bytes could hold an HTTP_GET forever.

import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { connectTcp, fail, guard, ok, ProbeFailure } from './common.js';
import { HttpResponseReader, type HttpWorkMeter, type ResponseVerdict } from './http-response.js';
import type { HttpCheckSpec, ProbeResult, SslClientSpec, UrlSpec } from '../types.js';

export { statusAccepted } from './http-response.js';

/** Bytes read for one url past which it fails, whatever was configured (CPU per check). */
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

/** One secure context per SSL block (spec object), built at the first probe: the PEM is parsed once. */
const contexts = new WeakMap<SslClientSpec, tls.SecureContext>();

function secureContextOf(ssl: SslClientSpec): tls.SecureContext {
  let ctx = contexts.get(ssl);
  if (!ctx) {
    const opts: tls.SecureContextOptions = {};
    if (ssl.ca !== undefined) opts.ca = ssl.ca;
    if (ssl.cert !== undefined) opts.cert = ssl.cert;
    if (ssl.key !== undefined) {
      opts.key = ssl.key;
      opts.passphrase = ssl.passphrase ?? '';
    }
    ctx = tls.createSecureContext(opts);
    contexts.set(ssl, ctx);
  }
  return ctx;
}

async function openStream(spec: HttpCheckSpec, url: UrlSpec, signal: AbortSignal): Promise<net.Socket> {
  const connectDeadline = performance.now() + spec.target.connectTimeoutMs;
  const socket = await connectTcp(spec.target, signal);
  if (spec.type !== 'SSL_GET') return socket;
  const vhost = url.virtualhost ?? spec.virtualhost;
  const sni = spec.enableSni ? (spec.sniName ?? vhost) : undefined;
  return new Promise<net.Socket>((resolve, reject) => {
    let opts: tls.ConnectionOptions;
    try {
      opts = { socket, rejectUnauthorized: false };
      if (spec.ssl) {
        opts.secureContext = secureContextOf(spec.ssl);
        // authorized then says whether the chain verifies against `ca`, without a host name check.
        opts.checkServerIdentity = () => undefined;
      }
    } catch (err) {
      socket.destroy();
      reject(new ProbeFailure(`SSL context error: ${(err as Error).message}`));
      return;
    }
    // Node refuses an IP address as SNI (RFC 6066); keepalived would send it, we skip it.
    if (sni && net.isIP(sni) === 0) opts.servername = sni;
    const secure = tls.connect(opts);
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new ProbeFailure('SSL handshake timeout'));
    }, Math.max(0, connectDeadline - performance.now()));
    const onAbort = () => {
      clearTimeout(timer);
      secure.destroy();
      reject(new ProbeFailure('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (spec.ssl?.verifyServer && !secure.authorized) {
        secure.destroy();
        reject(new ProbeFailure(`SSL server certificate verification failed: ${String(secure.authorizationError)}`));
      } else resolve(secure);
    });
    secure.once('error', (err) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      secure.destroy();
      reject(new ProbeFailure(`SSL handshake failed: ${err.message}`));
    });
  });
}

/** Fetch one url and judge the response as it streams: resolves with the failure reason, or undefined. */
function checkUrl(spec: HttpCheckSpec, url: UrlSpec, regex: RegExp | undefined, signal: AbortSignal, meter?: HttpWorkMeter): Promise<string | undefined> {
  return openStream(spec, url, signal).then(
    (socket) =>
      new Promise<string | undefined>((resolve) => {
        const reader = new HttpResponseReader({
          statusCodes: url.statusCodes,
          digest: url.digest,
          regex,
          regexNoMatch: url.regexNoMatch,
          regexMinOffset: url.regexMinOffset,
          regexMaxOffset: url.regexMaxOffset,
          meter,
        });
        let received = 0;
        let done = false;
        const finish = (reason: string | undefined) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          socket.destroy();
          resolve(reason);
        };
        const judged = (v: ResponseVerdict | undefined): boolean => {
          if (v) finish(v.ok ? undefined : v.reason);
          return v !== undefined;
        };
        // One deadline for the request and the whole response; data arriving does not push it back.
        const timer = setTimeout(
          () => finish(received === 0 ? 'read timeout' : `read timeout, response incomplete after ${received} bytes`),
          spec.target.connectTimeoutMs,
        );
        const onAbort = () => finish('aborted');
        signal.addEventListener('abort', onAbort, { once: true });
        socket.on('data', (d: Buffer) => {
          if (done) return;
          received += d.length;
          if (received > MAX_RESPONSE_BYTES) finish(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
          else judged(reader.push(d));
        });
        socket.on('end', () => judged(reader.end()));
        socket.on('close', () => judged(reader.end()));
        socket.on('error', (err: NodeJS.ErrnoException) => {
          if (received === 0) finish(`read error: ${err.code ?? err.message}`);
          else judged(reader.end());
        });
        socket.write(buildRequest(spec, url), (err) => {
          if (err) finish(`cannot send GET request: ${err.message}`);
        });
      }),
  );
}

/** `meter` counts the work done on responses (tests). */
export function probeHttp(spec: HttpCheckSpec, signal: AbortSignal, meter?: HttpWorkMeter): Promise<ProbeResult> {
  return guard(async () => {
    if (spec.type === 'SSL_GET' && spec.ssl?.error !== undefined) return fail(spec.ssl.error);
    const urls = spec.urls.length > 0 ? spec.urls : [{ path: '/' }];
    for (const url of urls) {
      let regex: RegExp | undefined;
      if (url.regex !== undefined) {
        try {
          regex = new RegExp(url.regex, `g${url.regexFlags ?? ''}`);
        } catch {
          return fail(`invalid regex "${url.regex}" (url ${url.path})`);
        }
      }
      const failure = await checkUrl(spec, url, regex, signal, meter);
      if (failure !== undefined) return fail(`${failure} (url ${url.path})`);
    }
    return ok('HTTP status and digest ok');
  });
}
