// SMTP_CHECK host{} blocks with their own connect_timeout and fwmark (keepalived check_smtp.c: each host has its
// own conn_opts), from keepalived.conf to the probe against servers on 127.0.0.1.
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkSpecsFromConfig } from '../../../../src/check/from-config.js';
import { probeSmtp } from '../../../../src/check/probe/smtp.js';
import type { SmtpCheckSpec } from '../../../../src/check/types.js';
import { parseConfig } from '../../../../src/config/parse.js';
import { close, listen, signal } from './servers.js';

/** The addon as probe/common.ts sees it: records each request for a marked socket, then refuses it. */
const fake = vi.hoisted(() => ({ marks: [] as number[] }));
vi.mock('../../../../src/net/native.js', () => ({
  loadNative: () => ({
    addon: {
      openMarkedSocket: (_v6: boolean, _dgram: boolean, mark: number) => {
        fake.marks.push(mark);
        throw Object.assign(new Error('Operation not permitted'), { code: 'EPERM', syscall: 'setsockopt(SO_MARK)' });
      },
    },
  }),
}));

function smtpSpec(port: number, silentPort: number, hostLines: [string, string], checkerLines = ''): SmtpCheckSpec {
  const text = `virtual_server 127.0.0.1 25 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  connect_timeout 5
  real_server 127.0.0.1 25 {
    SMTP_CHECK {
${checkerLines}
      host {
        connect_ip 127.0.0.1
        connect_port ${silentPort}
${hostLines[0]}
      }
      host {
        connect_ip 127.0.0.1
        connect_port ${port}
${hostLines[1]}
      }
    }
  }
}
`;
  const { config } = parseConfig('/k.conf', { hostname: 'lb1', readFile: (p) => (p === '/k.conf' ? text : undefined) });
  return checkSpecsFromConfig(config).virtualServers[0]!.realServers[0]!.checkers[0]!.probe as SmtpCheckSpec;
}

describe('SMTP_CHECK host{} connect_timeout and fwmark', () => {
  // A well-behaved SMTP server, and one that accepts and never sends its banner.
  const good = net.createServer((s) => {
    s.write('220 ready\r\n');
    s.on('data', (d) => s.write(d.toString().startsWith('HELO') ? '250 hi\r\n' : '221 bye\r\n'));
  });
  const silent = net.createServer(() => undefined);
  let goodPort = 0;
  let silentPort = 0;
  beforeAll(async () => {
    goodPort = await listen(good);
    silentPort = await listen(silent);
  });
  afterAll(async () => {
    await Promise.all([close(good), close(silent)]);
  });
  beforeEach(() => {
    fake.marks.length = 0;
  });

  it("a host's connect_timeout bounds its dialogue (not the VS's 5 s)", async () => {
    const spec = smtpSpec(goodPort, silentPort, ['        connect_timeout 0.3', '']);
    expect(spec.hosts.map((h) => h.connectTimeoutMs)).toEqual([300, 5000]);
    const t0 = Date.now();
    const r = await probeSmtp(spec, signal());
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^banner: read timeout from server \[127\.0\.0\.1\]:tcp:\d+$/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("a host's fwmark marks its socket; the checker's fwmark is not the hosts'", async () => {
    const marked = await probeSmtp(smtpSpec(goodPort, silentPort, ['        connect_timeout 0.3', '        fwmark 7']), signal());
    expect(fake.marks).toEqual([]); // the first host (silent) fails before the marked one is tried
    expect(marked.ok).toBe(false);
    const first = await probeSmtp(smtpSpec(goodPort, goodPort, ['        fwmark 7', '']), signal());
    expect(fake.marks).toEqual([7]);
    expect(first.reason).toMatch(/Error setting fwmark 7 to socket/);
    fake.marks.length = 0;
    const inherited = await probeSmtp(smtpSpec(goodPort, goodPort, ['', ''], '      fwmark 9'), signal());
    expect(fake.marks).toEqual([]);
    expect(inherited).toMatchObject({ ok: true });
  });
});
