// Health-checker keywords that used to be accepted and ignored: the SSL block, url regex_options /
// regex_min_offset / regex_max_offset, fast_recovery, SMTP_CHECK host{} connect_timeout / fwmark.
import { describe, expect, it } from 'vitest';
import { checkSpecsFromConfig } from '../../../src/check/from-config.js';
import type { HttpCheckSpec, SmtpCheckSpec } from '../../../src/check/types.js';
import type { KeywordTable } from '../../../src/config/engine.js';
import { parserKeywordTables } from '../../../src/config/parse.js';
import { parseText } from './helpers.js';

function vs(checker: string, rsExtra = '', vsExtra = ''): string {
  return `virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
${vsExtra}
  real_server 192.168.1.2 80 {
${rsExtra}
${checker}
  }
}
`;
}

function http(urlLines: string, extra = ''): string {
  return `    HTTP_GET {\n${extra}\n      url {\n        path /\n${urlLines}\n      }\n    }`;
}

function sub(table: KeywordTable, ...path: string[]): KeywordTable {
  let t = table;
  for (const k of path) t = t.get(k)!.sub!;
  return t;
}

const warnings = (r: ReturnType<typeof parseText>) => r.diagnostics.filter((d) => d.severity !== 'error').map((d) => `${d.line}: ${d.message}`);
const errors = (r: ReturnType<typeof parseText>) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`);

function firstUrl(r: ReturnType<typeof parseText>) {
  const c = r.config.virtualServers[0]!.realServers[0]!.checkers[0]!;
  if (c.kind !== 'HTTP_GET' && c.kind !== 'SSL_GET') throw new Error(c.kind);
  return c.urls[0]!;
}

describe('keyword statuses', () => {
  const root = parserKeywordTables();
  it('SSL and its keywords are acted on (no status); verify_server_certificate is an extension', () => {
    expect(root.get('SSL')!.status).toBeUndefined();
    const ssl = sub(root, 'SSL');
    for (const k of ['password', 'ca', 'certificate', 'key']) expect(ssl.get(k)!.status, k).toBeUndefined();
    expect(ssl.get('verify_server_certificate')!.status?.kind).toBe('extension');
  });
  it('url regex_options / offsets are acted on; regex_stack stays reported; SMTP host connect_timeout / fwmark act', () => {
    const url = sub(root, 'virtual_server', 'real_server', 'HTTP_GET', 'url');
    for (const k of ['regex_options', 'regex_min_offset', 'regex_max_offset']) expect(url.get(k)!.status, k).toBeUndefined();
    expect(url.get('regex_stack')!.status?.kind).toBe('warns');
    const host = sub(root, 'virtual_server', 'real_server', 'SMTP_CHECK', 'host');
    expect(host.get('connect_timeout')!.status).toBeUndefined();
    expect(host.get('fwmark')!.status).toBeUndefined();
  });
});

describe('SSL block (keepalived check_parser.c)', () => {
  it('fills config.ssl, with keepalived\'s messages for a missing value, a repeat and a second block', () => {
    const r = parseText('SSL {\n  password\n  ca /a.pem\n  ca /b.pem\n  certificate /c.pem\n  key /k.pem\n}\nSSL {\n  key /k2.pem\n}\n');
    expect(errors(r)).toEqual(['2: SSL password missing', '4: SSL cafile already specified - replacing', '8: SSL context already specified - replacing']);
    expect(r.config.ssl).toMatchObject({ key: '/k2.pem', verifyServerCertificate: false, location: { line: 8 } });
    expect(r.config.ssl?.ca).toBeUndefined();
  });
  it('verify_server_certificate without ca is reported and off', () => {
    const r = parseText(`SSL {\n  verify_server_certificate\n}\n${vs('    SSL_GET {\n      url {\n        path /\n      }\n    }')}`);
    expect(warnings(r)).toContain('1: verify_server_certificate needs a ca file - the server certificate is not verified');
    expect(r.config.ssl?.verifyServerCertificate).toBe(false);
  });
  it('the SSL_GET spec carries the block (not HTTP_GET); without a block none', () => {
    const checkers = `    SSL_GET {\n      url {\n        path /\n      }\n    }\n    HTTP_GET {\n      url {\n        path /\n      }\n    }`;
    const r = parseText(`SSL {\n  password pw\n}\n${vs(checkers)}`);
    expect(errors(r)).toEqual([]);
    const [ssl, plain] = checkSpecsFromConfig(r.config).virtualServers[0]!.realServers[0]!.checkers.map((c) => c.probe as HttpCheckSpec);
    expect(ssl!.ssl).toEqual({ passphrase: 'pw' });
    expect(plain!.ssl).toBeUndefined();
    const none = parseText(vs(checkers));
    expect((checkSpecsFromConfig(none.config).virtualServers[0]!.realServers[0]!.checkers[0]!.probe as HttpCheckSpec).ssl).toBeUndefined();
  });
});

describe('url regex_options / regex_min_offset / regex_max_offset (keepalived check_http.c)', () => {
  it('caseless, multiline and dotall become RegExp flags; JavaScript-like or moot options are silent', () => {
    const r = parseText(vs(http('        regex "a.b"\n        regex_options caseless dollar_endonly\n        regex_options dotall multiline no_auto_capture')));
    expect(warnings(r)).toEqual([]);
    expect(firstUrl(r).regexFlags).toBe('ims');
    const spec = checkSpecsFromConfig(r.config).virtualServers[0]!.realServers[0]!.checkers[0]!.probe as HttpCheckSpec;
    expect(spec.urls[0]).toMatchObject({ regex: 'a.b', regexFlags: 'ims' });
  });
  it('an option without a JavaScript equivalent, and an unknown one, are reported with file:line', () => {
    const r = parseText(vs(http('        regex "x"\n        regex_options extended ungreedy bogus caseless')));
    const d = r.diagnostics.filter((x) => x.keyword === 'regex_options');
    expect(d.map((x) => [x.file, x.line, x.severity])).toEqual([
      ['/etc/keepalived/keepalived.conf', 13, 'warning'],
      ['/etc/keepalived/keepalived.conf', 13, 'warning'],
      ['/etc/keepalived/keepalived.conf', 13, 'warning'],
    ]);
    expect(d.map((x) => x.message)).toEqual([
      'regex_options extended has no JavaScript RegExp equivalent - ignoring (white space and # comments in the pattern are matched literally)',
      'regex_options ungreedy has no JavaScript RegExp equivalent - ignoring (quantifiers stay greedy)',
      'Unknown regex_options bogus - ignoring',
    ]);
    expect(firstUrl(r).regexFlags).toBe('i');
  });
  it('regex_stack stays reported', () => {
    const r = parseText(vs(http('        regex "x"\n        regex_stack 32 64')));
    expect(r.diagnostics.map((d) => d.message)).toContain('regex_stack is not supported by lvskeeper: JavaScript regexes have no stack size to set');
  });
  it('offsets are kept (inclusive) and reach the spec', () => {
    const r = parseText(vs(http('        regex "x"\n        regex_min_offset 10\n        regex_max_offset 20')));
    expect(warnings(r)).toEqual([]);
    expect(firstUrl(r)).toMatchObject({ regexMinOffset: 10, regexMaxOffset: 20 });
    const spec = checkSpecsFromConfig(r.config).virtualServers[0]!.realServers[0]!.checkers[0]!.probe as HttpCheckSpec;
    expect(spec.urls[0]).toMatchObject({ regexMinOffset: 10, regexMaxOffset: 20 });
  });
  it('keepalived\'s messages: bad values, crossed offsets, regex settings without a regex', () => {
    const bad = parseText(vs(http('        regex "x"\n        regex_min_offset -3\n        regex_max_offset 1 2')));
    expect(warnings(bad)).toEqual(['13: Invalid regex_min_offset -3 specified', '14: Missing or too may options for regex_max_offset']);
    expect(firstUrl(bad).regexMinOffset).toBeUndefined();
    const crossed = parseText(vs(http('        regex "x"\n        regex_min_offset 30\n        regex_max_offset 20')));
    expect(warnings(crossed)).toEqual(['10: regex min offset 30 > regex_max_offset 20 - ignoring']);
    expect(firstUrl(crossed)).toMatchObject({ regexMinOffset: undefined, regexMaxOffset: undefined });
    const orphan = parseText(vs(http('        regex_options caseless\n        regex_min_offset 3\n        regex_no_match')));
    expect(warnings(orphan)).toEqual(['10: regex parameters specified without regex']);
    expect(firstUrl(orphan)).toMatchObject({ regexFlags: undefined, regexMinOffset: undefined, regexNoMatch: false });
  });
});

describe('fast_recovery (keepalived check_http.c epilog)', () => {
  const specOf = (extra: string, urls = 2) => {
    const urlBlocks = Array.from({ length: urls }, (_, i) => `      url {\n        path /${i}\n      }`).join('\n');
    const r = parseText(vs(`    HTTP_GET {\n${extra}\n${urlBlocks}\n    }`));
    return checkSpecsFromConfig(r.config).virtualServers[0]!.realServers[0]!.checkers[0]!;
  };
  it('without it a recovery walks the url list (recoveryChecks = urls); with it, none', () => {
    expect(specOf('').timing.recoveryChecks).toBe(2);
    expect(specOf('', 1).timing.recoveryChecks).toBe(1);
    expect(specOf('      fast_recovery').timing.recoveryChecks).toBeUndefined();
    expect(specOf('      fast_recovery no').timing.recoveryChecks).toBe(2);
  });
});

describe('SMTP_CHECK host{} connect_timeout / fwmark (keepalived check_smtp.c)', () => {
  const smtp = (hosts: string, checkerExtra = '') => `    SMTP_CHECK {\n${checkerExtra}\n${hosts}\n    }`;
  it('each host has its own connect_timeout (else the RS\'s, else the VS\'s) and fwmark (never the checker\'s)', () => {
    const hosts = '      host {\n        connect_ip 192.168.1.3\n        connect_timeout 7\n        fwmark 5\n      }\n      host {\n        connect_ip 192.168.1.4\n      }';
    const r = parseText(vs(smtp(hosts, '      connect_timeout 2\n      fwmark 9'), '    connect_timeout 4', '  connect_timeout 6'));
    expect(r.diagnostics.filter((d) => d.severity !== 'warning' || !/deprecated/.test(d.message))).toEqual([]);
    const c = r.config.virtualServers[0]!.realServers[0]!.checkers[0]!;
    expect(c.kind === 'SMTP_CHECK' && c.hosts.map((h) => [h.connectTimeoutMs, h.fwmark])).toEqual([
      [7000, 5],
      [4000, undefined],
    ]);
    const spec = checkSpecsFromConfig(r.config).virtualServers[0]!.realServers[0]!.checkers[0]!.probe as SmtpCheckSpec;
    expect(spec.hosts.map((h) => [h.address, h.connectTimeoutMs, h.fwmark])).toEqual([
      ['192.168.1.3', 7000, 5],
      ['192.168.1.4', 4000, undefined],
    ]);
  });
  it('a host without connect_timeout anywhere takes the VS\'s', () => {
    const r = parseText(vs(smtp('      host {\n        connect_ip 192.168.1.3\n      }'), '', '  connect_timeout 6'));
    const spec = checkSpecsFromConfig(r.config).virtualServers[0]!.realServers[0]!.checkers[0]!.probe as SmtpCheckSpec;
    expect(spec.hosts[0]!.connectTimeoutMs).toBe(6000);
  });
  it('keepalived\'s complaint for a bad value', () => {
    const r = parseText(vs(smtp('      host {\n        connect_timeout x\n        fwmark y\n      }')));
    expect(errors(r).length).toBe(2);
  });
});
