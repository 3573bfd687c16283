// The alert queue: never waits for the server, bounded, a failing server logged once and its
// recovery once; SmtpAlerts applies keepalived's rules before anything is queued.
import { describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../../src/alerts/smtp-alert.js';
import { SmtpAlerts, SmtpSender, type MailTransport, type TransportFactory } from '../../../src/alerts/smtp-sender.js';
import type { GlobalDefs } from '../../../src/config/model.js';
import type { Logger } from '../../../src/log/logger.js';

interface Line {
  level: string;
  msg: string;
}

function logger(lines: Line[]): Logger {
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  const l: Logger = { debug: at('debug'), info: at('info'), notice: at('notice'), warn: at('warn'), error: at('error'), child: () => l };
  return l;
}

/** A transport whose sends the test settles by hand (or at once with `auto`). */
class FakeTransport implements MailTransport {
  readonly sent: { envelope: { from: string; to: string[] }; raw: string }[] = [];
  readonly waiting: { resolve: () => void; reject: (e: unknown) => void; raw: string }[] = [];
  auto: 'ok' | Error | undefined;
  closed = false;
  send(envelope: { from: string; to: string[] }, raw: string): Promise<void> {
    if (this.auto === 'ok') {
      this.sent.push({ envelope, raw });
      return Promise.resolve();
    }
    if (this.auto) return Promise.reject(this.auto);
    return new Promise((resolve, reject) =>
      this.waiting.push({ resolve: () => (this.sent.push({ envelope, raw }), resolve()), reject, raw }),
    );
  }
  close(): void {
    this.closed = true;
  }
}

const settings: SmtpSettings = {
  server: { address: '192.0.2.25', port: 25 },
  from: 'lb@example.com',
  to: ['a@example.com', 'b@example.com'],
  heloName: 'lb1',
  connectTimeoutMs: 1000,
  routerId: 'lb1',
};
const refused = Object.assign(new Error('connect ECONNREFUSED 192.0.2.25:25'), { code: 'ESOCKET', command: 'CONN' });
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('SmtpSender', () => {
  it('sends the envelope and keepalived message; send() returns before the server answers', async () => {
    const t = new FakeTransport();
    const factoryCalls: SmtpSettings[] = [];
    const factory: TransportFactory = async (s) => (factoryCalls.push(s), t);
    const s = new SmtpSender(settings, logger([]), { transport: factory, now: () => new Date(2021, 2, 1, 9, 44, 8) });
    s.send({ subject: 'S1', body: 'B1' });
    s.send({ subject: 'S2', body: 'B2' });
    await tick();
    expect(t.waiting).toHaveLength(1); // one dialogue at a time
    t.waiting.shift()!.resolve();
    await tick();
    t.waiting.shift()!.resolve();
    await s.idle();
    expect(factoryCalls).toHaveLength(1);
    expect(t.sent.map((m) => m.envelope)).toEqual([
      { from: 'lb@example.com', to: ['a@example.com', 'b@example.com'] },
      { from: 'lb@example.com', to: ['a@example.com', 'b@example.com'] },
    ]);
    expect(t.sent[0]!.raw).toMatch(/^Date: Mon, 01 Mar 2021 09:44:08 [+-]\d{4}\r\nFrom: lb@example.com\r\nSubject: S1\r\nX-Mailer: Keepalived\r\nTo: a@example.com, b@example.com\r\n\r\nB1\r\n\r\n$/);
    expect(s.counters).toEqual({ sent: 2, failed: 0, dropped: 0 });
  });

  it('is bounded: beyond 100 waiting the oldest are dropped and counted, once logged', async () => {
    const t = new FakeTransport();
    const lines: Line[] = [];
    const s = new SmtpSender(settings, logger(lines), { transport: async () => t });
    for (let i = 0; i < 150; i++) s.send({ subject: `S${i}`, body: '' });
    await tick();
    // S0 is in flight; S1..S149 wanted to wait, 100 may.
    expect(s.counters.dropped).toBe(49);
    expect(lines.filter((l) => /queue full/.test(l.msg))).toEqual([{ level: 'warn', msg: 'SMTP alert queue full (100 waiting): dropping the oldest alerts' }]);
    t.auto = 'ok';
    t.waiting.shift()!.resolve();
    await s.idle();
    expect(t.sent.map((m) => /Subject: (\S+)/.exec(m.raw)![1])).toEqual(['S0', ...Array.from({ length: 100 }, (_, i) => `S${i + 50}`)]);
    expect(lines.filter((l) => /dropped/.test(l.msg)).map((l) => l.msg)).toEqual(['49 SMTP alerts dropped: the queue was full']);
  });

  it('a failing server is logged once, retried per alert, and its recovery logged once', async () => {
    const t = new FakeTransport();
    const lines: Line[] = [];
    const s = new SmtpSender(settings, logger(lines), { transport: async () => t });
    t.auto = refused;
    s.send({ subject: 'S1', body: '' });
    s.send({ subject: 'S2', body: '' });
    await s.idle();
    s.send({ subject: 'S3', body: '' });
    await s.idle();
    const visible = () => lines.filter((l) => l.level !== 'debug');
    expect(visible()).toEqual([{ level: 'warn', msg: 'SMTP connection ERROR to [192.0.2.25]:25.' }]);
    expect(lines.filter((l) => l.msg === 'SMTP alert not sent (server still failing): SMTP connection ERROR to [192.0.2.25]:25.')).toHaveLength(2);
    t.auto = 'ok';
    s.send({ subject: 'S4', body: '' });
    s.send({ subject: 'S5', body: '' });
    await s.idle();
    expect(visible()).toEqual([
      { level: 'warn', msg: 'SMTP connection ERROR to [192.0.2.25]:25.' },
      { level: 'info', msg: 'Remote SMTP server [192.0.2.25]:25 connected: SMTP alerts are sent again' },
    ]);
    t.auto = refused;
    s.send({ subject: 'S6', body: '' });
    await s.idle();
    expect(visible()).toHaveLength(3);
    expect(s.counters).toEqual({ sent: 2, failed: 4, dropped: 0 });
  });

  it('a server that never answers is given up after the overall bound, and the queue moves on', async () => {
    const t = new FakeTransport();
    const lines: Line[] = [];
    const s = new SmtpSender({ ...settings, connectTimeoutMs: 5 }, logger(lines), { transport: async () => t });
    s.send({ subject: 'S1', body: '' });
    s.send({ subject: 'S2', body: '' });
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['Timeout reading data to remote SMTP server [192.0.2.25]:25.']);
    expect(t.waiting.map((w) => /Subject: (\S+)/.exec(w.raw)![1])).toEqual(['S1', 'S2']);
    await s.close(0);
  });

  it('close() waits (bounded) for the queued alerts, then closes the transport', async () => {
    const t = new FakeTransport();
    const s = new SmtpSender(settings, logger([]), { transport: async () => t });
    s.send({ subject: 'STOP', body: '' });
    await tick();
    const closing = s.close(1000);
    t.waiting.shift()!.resolve();
    await closing;
    await tick();
    expect(t.sent).toHaveLength(1);
    expect(t.closed).toBe(true);
    s.send({ subject: 'late', body: '' });
    expect(t.waiting).toHaveLength(0);
  });

  it('a transport that cannot be created is reported once and tried again at the next alert', async () => {
    const lines: Line[] = [];
    let calls = 0;
    const s = new SmtpSender(settings, logger(lines), {
      transport: async () => {
        calls++;
        throw new Error("Cannot find package 'nodemailer'");
      },
    });
    s.send({ subject: 'S1', body: '' });
    s.send({ subject: 'S2', body: '' });
    await s.idle();
    expect(calls).toBe(2);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(["SMTP alerts cannot be sent: Cannot find package 'nodemailer'"]);
  });
});

describe('SmtpAlerts', () => {
  const g = (o: Partial<GlobalDefs> = {}): GlobalDefs =>
    ({
      routerId: 'lb1',
      notificationEmail: ['a@example.com'],
      notificationEmailFrom: 'lb@example.com',
      smtpServer: { address: '192.0.2.25', port: 25 },
      smtpConnectTimeoutMs: 1000,
      ...o,
    }) as GlobalDefs;
  const subjects = (t: FakeTransport) => t.sent.map((m) => /Subject: (.*)\r\n/.exec(m.raw)![1]);

  it('VRRP: one mail per new state; FAULT skipped with no_email_faults; off mails nothing', async () => {
    const t = new FakeTransport();
    t.auto = 'ok';
    const a = new SmtpAlerts(logger([]), { transport: async () => t, local: { hostname: 'h', username: 'u' } });
    a.vrrp(g(), 'INSTANCE', 'VI_1', 'BACKUP', true);
    a.vrrp(g(), 'INSTANCE', 'VI_1', 'BACKUP', true);
    a.vrrp(g(), 'INSTANCE', 'VI_1', 'MASTER', true);
    a.vrrp(g({ noEmailFaults: true }), 'INSTANCE', 'VI_1', 'FAULT', true);
    a.vrrp(g(), 'INSTANCE', 'VI_2', 'MASTER', false);
    a.vrrp(g(), 'GROUP', 'G1', 'MASTER', true);
    await a.idle();
    expect(subjects(t)).toEqual([
      '[lb1] VRRP Instance VI_1 - Entering BACKUP state',
      '[lb1] VRRP Instance VI_1 - Entering MASTER state',
      '[lb1] VRRP Group G1 - Entering MASTER state',
    ]);
  });

  it('no transport is created (nodemailer not loaded) without notification_email or smtp_server', async () => {
    let created = 0;
    const a = new SmtpAlerts(logger([]), { transport: async () => (created++, new FakeTransport()), local: { hostname: 'h', username: 'u' } });
    a.vrrp(g({ notificationEmail: [] }), 'INSTANCE', 'VI_1', 'MASTER', true);
    a.vrrp(g({ smtpServer: undefined }), 'INSTANCE', 'VI_1', 'MASTER', true);
    a.checker(g({ smtpServer: undefined }), { type: 'TCP_CHECK', up: false, rsWasAlive: true, rsAlive: false, rsLabel: 'r', vsLabel: 'v' }, true);
    await a.idle();
    expect(created).toBe(0);
    expect(a.counters).toBeUndefined();
  });

  it('checkers: the real server alert, no_checker_emails honoured', async () => {
    const t = new FakeTransport();
    t.auto = 'ok';
    const a = new SmtpAlerts(logger([]), { transport: async () => t, local: { hostname: 'h', username: 'u' } });
    const tr = { type: 'TCP_CHECK' as const, up: false, rsWasAlive: true, rsAlive: false, rsLabel: '[10.0.0.2]:tcp:80', vsLabel: '[10.0.0.1]:tcp:80' };
    a.checker(g(), tr, true);
    a.checker(g({ noCheckerEmails: true }), { ...tr, rsWasAlive: false }, true);
    a.checker(g(), tr, false);
    await a.idle();
    expect(subjects(t)).toEqual(['[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN']);
  });

  it('a reload that changes the mail settings gets a new transport', async () => {
    const made: SmtpSettings[] = [];
    const a = new SmtpAlerts(logger([]), {
      transport: async (s) => {
        made.push(s);
        const t = new FakeTransport();
        t.auto = 'ok';
        return t;
      },
      local: { hostname: 'h', username: 'u' },
    });
    a.vrrp(g(), 'INSTANCE', 'VI_1', 'MASTER', true);
    await a.idle();
    a.vrrp(g(), 'INSTANCE', 'VI_1', 'BACKUP', true);
    await a.idle();
    a.vrrp(g({ smtpServer: { address: '192.0.2.26', port: 25 } }), 'INSTANCE', 'VI_1', 'MASTER', true);
    await a.idle();
    expect(made.map((s) => s.server.address)).toEqual(['192.0.2.25', '192.0.2.26']);
  });
});
