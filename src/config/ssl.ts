// The top-level SSL block's files, read and checked once per (re)load, as keepalived's build_ssl_ctx()
// (check_ssl.c) loads them when the checker process starts: certificate chain, then the key (decrypted with
// `password`, and matching the certificate), then the CA file. keepalived stops at the first failure with
// "SSL error : Cant load … file..." and terminates the checker process; lvskeeper reports the same error and
// fails every SSL_GET check instead of running it without the context it was given.

import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { SslSettings } from './model.js';

/** PEM files are small; a bigger one is refused rather than read whole. */
export const MAX_SSL_FILE_BYTES = 1 << 20;

export interface SslLoadResult {
  caPem?: string | undefined;
  certificatePem?: string | undefined;
  keyPem?: string | undefined;
  /** keepalived's message for the file that could not be loaded (the later files are not read). */
  error?: string | undefined;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Read and check the files named by `ssl`, in keepalived's order. `readFile` returns undefined when unreadable. */
export function loadSslFiles(ssl: SslSettings, readFile: (path: string, maxBytes: number) => string | undefined): SslLoadResult {
  const out: SslLoadResult = {};
  const read = (path: string): string | { error: string } => {
    const text = readFile(path, MAX_SSL_FILE_BYTES);
    if (text === undefined) return { error: `${path}: cannot read the file` };
    if (text.length > MAX_SSL_FILE_BYTES) return { error: `${path}: larger than ${MAX_SSL_FILE_BYTES} bytes` };
    return text;
  };
  if (ssl.certificate !== undefined) {
    const pem = read(ssl.certificate);
    if (typeof pem !== 'string') return { error: `SSL error : Cant load certificate file... (${pem.error})` };
    try {
      createSecureContext({ cert: pem });
    } catch (err) {
      return { error: `SSL error : Cant load certificate file... (${ssl.certificate}: ${why(err)})` };
    }
    out.certificatePem = pem;
  }
  if (ssl.key !== undefined) {
    const pem = read(ssl.key);
    if (typeof pem !== 'string') return { error: `SSL error : Cant load key file... (${pem.error})` };
    try {
      // With the certificate, as SSL_CTX_use_PrivateKey_file() also checks that the two match.
      createSecureContext({ key: pem, passphrase: ssl.password ?? '', ...(out.certificatePem !== undefined ? { cert: out.certificatePem } : {}) });
    } catch (err) {
      return { error: `SSL error : Cant load key file... (${ssl.key}: ${why(err)})` };
    }
    out.keyPem = pem;
  }
  if (ssl.ca !== undefined) {
    const pem = read(ssl.ca);
    if (typeof pem !== 'string') return { error: `SSL error : Cant load CA file... (${pem.error})` };
    // Node ignores a CA text without certificates; SSL_CTX_load_verify_locations() fails on it.
    const blocks = pem.match(CERT_BLOCK) ?? [];
    try {
      if (blocks.length === 0) throw new Error('no certificate in the file');
      for (const b of blocks) new X509Certificate(b);
    } catch (err) {
      return { error: `SSL error : Cant load CA file... (${ssl.ca}: ${why(err)})` };
    }
    out.caPem = pem;
  }
  return out;
}
