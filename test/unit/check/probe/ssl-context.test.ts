// The top-level SSL block, end to end: keepalived.conf -> parser (files read at load) -> from-config -> the SSL_GET
// probe against real TLS servers on 127.0.0.1, with certificates made by openssl at test time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSpecsFromConfig } from '../../../../src/check/from-config.js';
import { probeHttp } from '../../../../src/check/probe/http.js';
import type { HttpCheckSpec } from '../../../../src/check/types.js';
import { parseConfig } from '../../../../src/config/parse.js';
import { renderConfigJson } from '../../../../src/config/json.js';
import { close, listen, signal } from './servers.js';

const MAIN = '/etc/keepalived/keepalived.conf';
let dir = '';
const f = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

/** A CA, and a certificate signed by it (key unencrypted, or encrypted with `pass`). */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`));
}
function makeCert(name: string, ca: string, cn: string, pass?: string): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', f(`${name}.plain.key`), '-out', f(`${name}.csr`));
  openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${ca}.pem`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-days', '1', '-out', f(`${name}.pem`));
  if (pass) openssl('pkey', '-in', f(`${name}.plain.key`), '-aes256', '-passout', `pass:${pass}`, '-out', f(`${name}.key`));
  else writeFileSync(f(`${name}.key`), readFileSync(f(`${name}.plain.key`)));
}

function parse(sslBlock: string, port: number, check = 'SSL_GET') {
  const text = `${sslBlock}
virtual_server 127.0.0.1 ${port} {
  lb_kind NAT
  lb_algo rr
  protocol TCP
  real_server 127.0.0.1 ${port} {
    ${check} {
      connect_timeout 2
      url {
        path /ok
      }
    }
  }
}
`;
  return parseConfig(MAIN, {
    hostname: 'lb1',
    readFile: (p) => {
      if (p === MAIN) return text;
      try {
        return readFileSync(p, 'latin1');
      } catch {
        return undefined;
      }
    },
  });
}

function sslSpec(sslBlock: string, port: number): HttpCheckSpec {
  const { config, diagnostics } = parse(sslBlock, port);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const probe = checkSpecsFromConfig(config).virtualServers[0]!.realServers[0]!.checkers[0]!.probe;
  if (probe.type !== 'SSL_GET') throw new Error('not SSL_GET');
  return probe;
}

function handler(_req: unknown, res: { end: (s: string) => void }): void {
  res.end('ok\n');
}

describe('SSL block (keepalived check_ssl.c) with real TLS servers', () => {
  let plain: https.Server;
  let mutual: https.Server;
  let plainPort = 0;
  let mutualPort = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lvskeeper-sslctx-'));
    makeCa('ca1');
    makeCa('ca2');
    makeCert('server', 'ca1', 'rs.example.com');
    makeCert('client', 'ca1', 'checker.example.com', 'secret');
    makeCert('client2', 'ca2', 'other.example.com');
    const serverOpts = { key: readFileSync(f('server.key')), cert: readFileSync(f('server.pem')) };
    plain = https.createServer(serverOpts, handler);
    // Requires a client certificate signed by ca1.
    mutual = https.createServer({ ...serverOpts, ca: readFileSync(f('ca1.pem')), requestCert: true, rejectUnauthorized: true }, handler);
    plainPort = await listen(plain);
    mutualPort = await listen(mutual);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([close(plain), close(mutual)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the files once at load into the spec; the key and password are redacted from -d', () => {
    const block = `SSL {\n  password secret\n  ca ${f('ca1.pem')}\n  certificate ${f('client.pem')}\n  key ${f('client.key')}\n}`;
    const { config } = parse(block, 443);
    expect(config.ssl).toMatchObject({ password: 'secret', ca: f('ca1.pem'), certificate: f('client.pem'), key: f('client.key') });
    expect(config.ssl?.certificatePem).toContain('BEGIN CERTIFICATE');
    expect(config.ssl?.keyPem).toContain('ENCRYPTED PRIVATE KEY');
    const json = renderConfigJson(config);
    expect(json).not.toContain('ENCRYPTED PRIVATE KEY');
    expect(json).not.toContain('"secret"');
    const s = sslSpec(block, 443);
    expect(s.ssl).toMatchObject({ passphrase: 'secret' });
    expect(s.ssl?.ca).toContain('BEGIN CERTIFICATE');
  });

  it('with ca alone (keepalived): the check passes whether or not the certificate chains to it', async () => {
    expect(await probeHttp(sslSpec(`SSL {\n  ca ${f('ca1.pem')}\n}`, plainPort), signal())).toMatchObject({ ok: true });
    expect(await probeHttp(sslSpec(`SSL {\n  ca ${f('ca2.pem')}\n}`, plainPort), signal())).toMatchObject({ ok: true });
  });

  it('verify_server_certificate: passes with the right ca, fails with another', async () => {
    const right = await probeHttp(sslSpec(`SSL {\n  ca ${f('ca1.pem')}\n  verify_server_certificate\n}`, plainPort), signal());
    expect(right).toMatchObject({ ok: true });
    const wrong = await probeHttp(sslSpec(`SSL {\n  ca ${f('ca2.pem')}\n  verify_server_certificate\n}`, plainPort), signal());
    expect(wrong.ok).toBe(false);
    expect(wrong.reason).toMatch(/SSL server certificate verification failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to/i);
  });

  it('no host name check: the certificate is for rs.example.com, the checker connects to 127.0.0.1', async () => {
    const r = await probeHttp(sslSpec(`SSL {\n  ca ${f('ca1.pem')}\n  verify_server_certificate\n}`, plainPort), signal());
    expect(r.ok).toBe(true);
  });

  it('a server requiring a client certificate: passes only with certificate + key (encrypted, password)', async () => {
    const none = await probeHttp(sslSpec('', mutualPort), signal());
    expect(none.ok).toBe(false);
    const caOnly = await probeHttp(sslSpec(`SSL {\n  ca ${f('ca1.pem')}\n}`, mutualPort), signal());
    expect(caOnly.ok).toBe(false);
    const withCert = await probeHttp(
      sslSpec(`SSL {\n  password secret\n  certificate ${f('client.pem')}\n  key ${f('client.key')}\n}`, mutualPort),
      signal(),
    );
    expect(withCert).toMatchObject({ ok: true });
    // A certificate the server's CA did not sign is refused by the server.
    const otherCert = await probeHttp(sslSpec(`SSL {\n  certificate ${f('client2.pem')}\n  key ${f('client2.key')}\n}`, mutualPort), signal());
    expect(otherCert.ok).toBe(false);
  });

  it('missing, unreadable or wrong files: keepalived\'s message at load, every SSL_GET fails', async () => {
    const cases: Array<[string, RegExp]> = [
      [`SSL {\n  certificate ${f('nope.pem')}\n}`, /^SSL error : Cant load certificate file\.\.\. \(.*nope\.pem: cannot read the file\) - SSL_GET checks will fail$/],
      [`SSL {\n  certificate ${f('client.pem')}\n  key ${f('client.key')}\n}`, /^SSL error : Cant load key file\.\.\./], // no password
      [`SSL {\n  password wrong\n  certificate ${f('client.pem')}\n  key ${f('client.key')}\n}`, /^SSL error : Cant load key file\.\.\./],
      [`SSL {\n  certificate ${f('server.pem')}\n  key ${f('client2.key')}\n}`, /^SSL error : Cant load key file\.\.\./], // mismatch
      [`SSL {\n  ca ${f('server.csr')}\n}`, /^SSL error : Cant load CA file\.\.\./],
    ];
    for (const [block, message] of cases) {
      const { config, diagnostics } = parse(block, plainPort);
      const errors = diagnostics.filter((d) => d.severity === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toMatch(message);
      expect(errors[0]!.line).toBe(1);
      const probe = checkSpecsFromConfig(config).virtualServers[0]!.realServers[0]!.checkers[0]!.probe as HttpCheckSpec;
      const r = await probeHttp(probe, signal());
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/^SSL error : Cant load/);
    }
  });

  it('the files are only loaded when an SSL_GET exists (keepalived ssl_required)', () => {
    const { diagnostics, config } = parse(`SSL {\n  certificate ${f('nope.pem')}\n}`, plainPort, 'HTTP_GET');
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(config.ssl?.certificatePem).toBeUndefined();
  });
});
