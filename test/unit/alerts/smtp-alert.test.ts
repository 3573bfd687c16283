// SMTP alert texts and rules against keepalived 2.2.7 (core/smtp.c, vrrp/vrrp_notify.c, check/check_*.c).
import { describe, expect, it } from 'vitest';
import {
  checkerAlertBody,
  composeMessage,
  realServerAlert,
  rfc822Date,
  smtpFailureMessage,
  smtpSettings,
  vrrpGroupAlert,
  vrrpInstanceAlert,
  VrrpAlertFilter,
  type CheckerTransition,
} from '../../../src/alerts/smtp-alert.js';
import { parseText } from '../config/helpers.js';

describe('VRRP alert texts (vrrp_notify.c)', () => {
  it('instance subjects and bodies', () => {
    expect(vrrpInstanceAlert('lb1', 'VI_1', 'MASTER')).toEqual({
      subject: '[lb1] VRRP Instance VI_1 - Entering MASTER state',
      body: '=> VRRP Instance is now owning VRRP VIPs <=',
    });
    expect(vrrpInstanceAlert('lb1', 'VI_1', 'BACKUP')).toEqual({
      subject: '[lb1] VRRP Instance VI_1 - Entering BACKUP state',
      body: '=> VRRP Instance is no longer owning VRRP VIPs <=',
    });
    expect(vrrpInstanceAlert('lb1', 'VI_1', 'FAULT')).toEqual({
      subject: '[lb1] VRRP Instance VI_1 - Entering FAULT state',
      body: '=> VRRP Instance is no longer owning VRRP VIPs <=',
    });
    expect(vrrpInstanceAlert('lb1', 'VI_1', 'STOP')).toEqual({ subject: '[lb1] VRRP Instance VI_1 - Stopping', body: '=> VRRP Instance stopping <=' });
    expect(vrrpInstanceAlert('lb1', 'VI_1', 'DELETED')).toEqual({ subject: '[lb1] VRRP Instance VI_1 - Deleted', body: '=> VRRP Deleted at reload <=' });
  });

  it('group subjects and bodies; a group has no DELETED mail', () => {
    expect(vrrpGroupAlert('lb1', 'G1', 'MASTER')).toEqual({
      subject: '[lb1] VRRP Group G1 - Entering MASTER state',
      body: '=> All VRRP group instances are now in MASTER state <=',
    });
    expect(vrrpGroupAlert('lb1', 'G1', 'BACKUP')?.body).toBe('=> All VRRP group instances are now in BACKUP state <=');
    expect(vrrpGroupAlert('lb1', 'G1', 'FAULT')?.body).toBe('=> All VRRP group instances are now in FAULT state <=');
    expect(vrrpGroupAlert('lb1', 'G1', 'STOP')).toEqual({ subject: '[lb1] VRRP Group G1 - Stopping', body: '=> All VRRP group instances are now stopping <=' });
    expect(vrrpGroupAlert('lb1', 'G1', 'DELETED')).toBeUndefined();
  });

  it('subjects are cut as keepalived cuts them (255 characters)', () => {
    expect(vrrpInstanceAlert('r'.repeat(300), 'VI_1', 'MASTER').subject).toHaveLength(255);
  });
});

describe('VrrpAlertFilter (last_email_state, no_email_faults)', () => {
  const on = { enabled: true, noEmailFaults: false };
  it('mails each new state once', () => {
    const f = new VrrpAlertFilter();
    expect(f.take('INSTANCE:VI_1', 'BACKUP', on)).toBe(true);
    expect(f.take('INSTANCE:VI_1', 'BACKUP', on)).toBe(false);
    expect(f.take('INSTANCE:VI_1', 'MASTER', on)).toBe(true);
    expect(f.take('INSTANCE:VI_2', 'MASTER', on)).toBe(true);
  });
  it('smtp_alert off mails nothing', () => {
    expect(new VrrpAlertFilter().take('INSTANCE:VI_1', 'MASTER', { enabled: false, noEmailFaults: false })).toBe(false);
  });
  it('no_email_faults: FAULT neither mails nor counts, so BACKUP → FAULT → BACKUP mails once', () => {
    const f = new VrrpAlertFilter();
    const o = { enabled: true, noEmailFaults: true };
    expect(f.take('INSTANCE:VI_1', 'BACKUP', o)).toBe(true);
    expect(f.take('INSTANCE:VI_1', 'FAULT', o)).toBe(false);
    expect(f.take('INSTANCE:VI_1', 'BACKUP', o)).toBe(false);
    expect(f.take('INSTANCE:VI_1', 'MASTER', o)).toBe(true);
    expect(new VrrpAlertFilter().take('INSTANCE:VI_1', 'FAULT', on)).toBe(true);
  });
  it('groups ignore DELETED', () => {
    expect(new VrrpAlertFilter().take('GROUP:G1', 'DELETED', { ...on, group: true })).toBe(false);
  });
});

describe('real server alerts (check_*.c)', () => {
  const t = (o: Partial<CheckerTransition>): CheckerTransition => ({
    type: 'TCP_CHECK',
    up: false,
    rsWasAlive: true,
    rsAlive: false,
    rsLabel: '[10.0.0.2]:tcp:80',
    vsLabel: '[10.0.0.1]:tcp:80',
    ...o,
  });
  const on = { enabled: true, noCheckerEmails: false };

  it('subject names the real server, its virtual server and the real server state', () => {
    expect(realServerAlert('lb1', t({}), on)).toEqual({
      subject: '[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN',
      body: '=> TCP CHECK failed on service <=',
    });
    expect(realServerAlert('lb1', t({ up: true, rsWasAlive: false, rsAlive: true }), on)).toEqual({
      subject: '[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - UP',
      body: '=> TCP CHECK succeed on service <=',
    });
    // A second checker recovering while another one still fails: the real server stays DOWN.
    expect(realServerAlert('lb1', t({ up: true, rsWasAlive: false, rsAlive: false }), on)?.subject).toMatch(/ - DOWN$/);
  });

  it('smtp_alert off, and no_checker_emails without a real server change, mail nothing', () => {
    expect(realServerAlert('lb1', t({}), { enabled: false, noCheckerEmails: false })).toBeUndefined();
    expect(realServerAlert('lb1', t({ up: true, rsWasAlive: false, rsAlive: false }), { enabled: true, noCheckerEmails: true })).toBeUndefined();
    expect(realServerAlert('lb1', t({}), { enabled: true, noCheckerEmails: true })).toBeDefined();
  });

  it('each checker kind has keepalived body', () => {
    expect(checkerAlertBody('HTTP_GET', true)).toBe('=> CHECK succeed on service <=');
    expect(checkerAlertBody('SSL_GET', false)).toBe('=> CHECK failed on service : HTTP request failed <=');
    expect(checkerAlertBody('SMTP_CHECK', true)).toBe('=> CHECK succeed on service <=');
    expect(checkerAlertBody('SMTP_CHECK', false, { reason: 'connection refused' })).toBe('=> CHECK failed on service : connection refused <=');
    expect(checkerAlertBody('DNS_CHECK', true)).toBe('=> DNS_CHECK: succeed on service <=');
    expect(checkerAlertBody('DNS_CHECK', false)).toBe('=> DNS_CHECK: failed on service <=');
    expect(checkerAlertBody('MISC_CHECK', true)).toBe('=> MISC CHECK succeeded on service <=');
    expect(checkerAlertBody('MISC_CHECK', false)).toBe('=> MISC CHECK failed on service <=');
    expect(checkerAlertBody('MISC_CHECK', false, { reason: 'timed out after 5000 ms' })).toBe('=> MISC CHECK timed out on service <=');
    expect(checkerAlertBody('UDP_CHECK', false)).toBe('=> UDP CHECK failed on service <=');
    expect(checkerAlertBody('PING_CHECK', true)).toBe('=> ICMP CHECK succeed on service <=');
    expect(checkerAlertBody('BFD_CHECK', false, { bfdName: 'bfd1' })).toBe('=> BFD CHECK bfd1 failed on service <=');
    expect(checkerAlertBody('FILE_CHECK', false)).toBeUndefined();
  });
});

describe('the message (smtp.c SMTP_HEADERS_CMD / SMTP_BODY_CMD)', () => {
  it('Date in strftime %a, %d %b %Y %H:%M:%S %z (local time)', () => {
    const d = new Date(2021, 2, 1, 9, 44, 8);
    const off = -d.getTimezoneOffset();
    const zone = `${off < 0 ? '-' : '+'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}${String(Math.abs(off) % 60).padStart(2, '0')}`;
    expect(rfc822Date(d)).toBe(`Mon, 01 Mar 2021 09:44:08 ${zone}`);
  });

  it('Date, From, Subject, X-Mailer, To (comma separated), blank line, body', () => {
    const d = new Date(2021, 2, 1, 9, 44, 8);
    const raw = composeMessage({ from: 'lb@example.com', to: ['a@example.com', 'b@example.com'] }, vrrpInstanceAlert('lb1', 'VI_1', 'MASTER'), d);
    expect(raw).toBe(
      `Date: ${rfc822Date(d)}\r\nFrom: lb@example.com\r\nSubject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n` +
        'X-Mailer: Keepalived\r\nTo: a@example.com, b@example.com\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n',
    );
  });
});

describe('failure log lines (smtp.c)', () => {
  const host = '[10.0.0.9]:25';
  it('maps nodemailer errors to keepalived phrases', () => {
    expect(smtpFailureMessage(host, { code: 'ESOCKET', command: 'CONN', message: 'connect ECONNREFUSED 10.0.0.9:25' })).toBe('SMTP connection ERROR to [10.0.0.9]:25.');
    expect(smtpFailureMessage(host, { code: 'ETIMEDOUT', command: 'CONN' })).toBe('Timeout connecting SMTP server [10.0.0.9]:25.');
    expect(smtpFailureMessage(host, { code: 'ETIMEDOUT', command: 'DATA' })).toBe('Timeout reading data to remote SMTP server [10.0.0.9]:25.');
    expect(smtpFailureMessage(host, { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550 })).toBe(
      'Error processing RCPT cmd on SMTP server [10.0.0.9]:25. SMTP status code = 550',
    );
    expect(smtpFailureMessage(host, { code: 'EPROTOCOL', command: 'EHLO', responseCode: 421 })).toBe(
      'Error processing HELO cmd on SMTP server [10.0.0.9]:25. SMTP status code = 421',
    );
    expect(smtpFailureMessage(host, { code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' })).toBe(
      'Remote SMTP server [10.0.0.9]:25 has closed the connection.',
    );
  });
});

describe('global_defs and the per-object smtp_alert flags', () => {
  const conf = (global: string, rest = '') => `global_defs {\n router_id lb1\n${global}\n}\n${rest}`;
  const inst = (name: string, extra = '') => `vrrp_instance ${name} {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1\n }\n${extra}\n}\n`;
  const vs = (vsExtra = '', rsExtra = '') =>
    `virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n${vsExtra}\n real_server 10.0.0.2 80 {\n${rsExtra}\n }\n}\n`;
  const mail = ' notification_email {\n  a@example.com\n  b@example.com\n }\n notification_email_from lb@example.com\n smtp_server 192.0.2.25 2525\n smtp_helo_name lb1.example.com\n smtp_connect_timeout 7';

  it('reads the mail settings; no_email_faults and no_checker_emails are set, not reported', () => {
    const r = parseText(conf(`${mail}\n no_email_faults\n no_checker_emails`));
    const g = r.config.global;
    expect(g).toMatchObject({
      notificationEmail: ['a@example.com', 'b@example.com'],
      notificationEmailFrom: 'lb@example.com',
      smtpServer: { address: '192.0.2.25', port: 2525 },
      smtpHeloName: 'lb1.example.com',
      smtpConnectTimeoutMs: 7000,
      noEmailFaults: true,
      noCheckerEmails: true,
    });
    expect(r.diagnostics.filter((d) => /email|smtp|helo/i.test(d.message))).toEqual([]);
    expect(smtpSettings(g, { hostname: 'host1', username: 'root' })).toEqual({
      server: { address: '192.0.2.25', port: 2525 },
      from: 'lb@example.com',
      to: ['a@example.com', 'b@example.com'],
      heloName: 'lb1.example.com',
      connectTimeoutMs: 7000,
      routerId: 'lb1',
    });
  });

  it('defaults: port 25, 30 s, From user@host, HELO host; no mail without recipients or server', () => {
    const g = parseText(conf(' notification_email {\n  a@example.com\n }\n smtp_server mail.example.com')).config.global;
    expect(smtpSettings(g, { hostname: 'host1', username: 'root' })).toMatchObject({
      server: { address: 'mail.example.com', port: 25 },
      from: 'root@host1',
      heloName: 'host1',
      connectTimeoutMs: 30000,
    });
    expect(smtpSettings(g, { hostname: '', username: 'root' })).toMatchObject({ from: undefined, heloName: 'localhost' });
    expect(smtpSettings(parseText(conf(' smtp_server 192.0.2.25')).config.global, { hostname: 'h', username: 'u' })).toBeUndefined();
    expect(smtpSettings(parseText(conf(' notification_email {\n  a@example.com\n }')).config.global, { hostname: 'h', username: 'u' })).toBeUndefined();
  });

  it('smtp_connect_timeout 0 is 1 s with keepalived error', () => {
    const r = parseText(conf(' smtp_connect_timeout 0'));
    expect(r.config.global.smtpConnectTimeoutMs).toBe(1000);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toContain('smtp_conect_timeout must be greater than 0, setting to 1');
  });

  const flags = (global: string, own = '') => {
    const r = parseText(
      conf(global, `${inst('VI_1', own)}${inst('VI_2').replace('51', '52')}vrrp_sync_group G1 {\n group {\n  VI_1\n }\n${own}\n}\n${vs(own, own)}`),
    );
    const c = r.config;
    return { vi: c.vrrpInstances[0]?.smtpAlert, vi2: c.vrrpInstances[1]?.smtpAlert, sg: c.vrrpSyncGroups[0]?.smtpAlert, vs: c.virtualServers[0]?.smtpAlert, rs: c.virtualServers[0]?.realServers[0]?.smtpAlert };
  };

  it('unset: VRRP and virtual servers off, real servers on (keepalived keeps that for compatibility)', () => {
    expect(flags('')).toEqual({ vi: false, vi2: false, sg: false, vs: false, rs: true });
  });
  it('global smtp_alert is the default of every object', () => {
    expect(flags(' smtp_alert')).toEqual({ vi: true, vi2: true, sg: true, vs: true, rs: true });
    expect(flags(' smtp_alert off')).toEqual({ vi: false, vi2: false, sg: false, vs: false, rs: false });
  });
  it('smtp_alert_vrrp / smtp_alert_checker win over smtp_alert for their side', () => {
    expect(flags(' smtp_alert\n smtp_alert_vrrp off')).toEqual({ vi: false, vi2: false, sg: false, vs: true, rs: true });
    expect(flags(' smtp_alert off\n smtp_alert_checker')).toEqual({ vi: false, vi2: false, sg: false, vs: true, rs: true });
    expect(flags(' smtp_alert_checker off')).toEqual({ vi: false, vi2: false, sg: false, vs: false, rs: false });
  });
  it("an object's own smtp_alert wins", () => {
    expect(flags(' smtp_alert off', ' smtp_alert')).toEqual({ vi: true, vi2: false, sg: true, vs: true, rs: true });
    expect(flags(' smtp_alert', ' smtp_alert off')).toEqual({ vi: false, vi2: true, sg: false, vs: false, rs: false });
  });
});
