// SMTP alerts as keepalived 2.2.7 sends them (core/smtp.c, vrrp/vrrp_notify.c, check/check_*.c): which
// events mail, with which subject and body, and the message keepalived writes. Pure: no I/O here; the
// queue and the transport are smtp-sender.ts.
import type { GlobalDefs } from '../config/model.js';

/** keepalived's MAX_HEADERS_LENGTH / MAX_BODY_LENGTH buffers (snprintf truncates to one less). */
const MAX_SUBJECT = 255;
const MAX_BODY = 511;

export interface SmtpAlert {
  subject: string;
  body: string;
}

/** What global_defs says about mail, with keepalived's defaults filled in. */
export interface SmtpSettings {
  server: { address: string; port: number };
  /** Undefined when keepalived has none either (no local name): MAIL FROM:<>. */
  from: string | undefined;
  to: string[];
  heloName: string;
  connectTimeoutMs: number;
  routerId: string;
}

/**
 * keepalived mails only with both notification_email and smtp_server (smtp_alert()). Defaults
 * (global_data.c): From `user@local_name`, HELO `local_name`, else "localhost" (smtp.c helo_cmd).
 */
export function smtpSettings(g: GlobalDefs, local: { hostname: string; username: string | undefined }): SmtpSettings | undefined {
  if (g.notificationEmail.length === 0 || !g.smtpServer) return undefined;
  const host = local.hostname;
  return {
    server: { address: g.smtpServer.address, port: g.smtpServer.port },
    from: g.notificationEmailFrom ?? (host && local.username ? `${local.username}@${host}` : undefined),
    to: [...g.notificationEmail],
    heloName: g.smtpHeloName ?? (host || 'localhost'),
    connectTimeoutMs: g.smtpConnectTimeoutMs,
    routerId: g.routerId,
  };
}

/** keepalived's FMT_SMTP_HOST (inet_sockaddrtopair): "[address]:port". */
export function smtpHostLabel(s: Pick<SmtpSettings, 'server'>): string {
  return `[${s.server.address}]:${s.server.port}`;
}

function alert(subject: string, body: string): SmtpAlert {
  return { subject: subject.slice(0, MAX_SUBJECT), body: body.slice(0, MAX_BODY) };
}

// ------------------------------------------------------------------------------------------- VRRP

export type VrrpAlertState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

const INSTANCE_TEXTS: Record<VrrpAlertState, [string, string]> = {
  MASTER: ['Entering MASTER state', '=> VRRP Instance is now owning VRRP VIPs <='],
  BACKUP: ['Entering BACKUP state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  FAULT: ['Entering FAULT state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  STOP: ['Stopping', '=> VRRP Instance stopping <='],
  DELETED: ['Deleted', '=> VRRP Deleted at reload <='],
};

const GROUP_TEXTS: Partial<Record<VrrpAlertState, [string, string]>> = {
  MASTER: ['Entering MASTER state', '=> All VRRP group instances are now in MASTER state <='],
  BACKUP: ['Entering BACKUP state', '=> All VRRP group instances are now in BACKUP state <='],
  FAULT: ['Entering FAULT state', '=> All VRRP group instances are now in FAULT state <='],
  STOP: ['Stopping', '=> All VRRP group instances are now stopping <='],
};

/** vrrp_smtp_notifier(): "[router_id] VRRP Instance VI_1 - Entering MASTER state". */
export function vrrpInstanceAlert(routerId: string, instance: string, state: VrrpAlertState): SmtpAlert {
  const [what, body] = INSTANCE_TEXTS[state];
  return alert(`[${routerId}] VRRP Instance ${instance} - ${what}`, body);
}

/** vrrp_sync_smtp_notifier(): "[router_id] VRRP Group G1 - Entering MASTER state" (no DELETED). */
export function vrrpGroupAlert(routerId: string, group: string, state: VrrpAlertState): SmtpAlert | undefined {
  const t = GROUP_TEXTS[state];
  return t && alert(`[${routerId}] VRRP Group ${group} - ${t[0]}`, t[1]);
}

/**
 * keepalived's last_email_state: an instance or group mails a state once, however often it is
 * notified; with no_email_faults FAULT neither mails nor counts (so BACKUP → FAULT → BACKUP mails
 * nothing). Keyed "INSTANCE:VI_1" / "GROUP:G1".
 */
export class VrrpAlertFilter {
  private readonly last = new Map<string, VrrpAlertState>();

  /** Whether this notification mails; records it when it does. */
  take(key: string, state: VrrpAlertState, o: { enabled: boolean; noEmailFaults: boolean; group?: boolean }): boolean {
    if (!o.enabled) return false;
    if (o.noEmailFaults && state === 'FAULT') return false;
    if (this.last.get(key) === state) return false;
    if (o.group && state === 'DELETED') return false;
    this.last.set(key, state);
    return true;
  }

  /** Forget names that no longer exist (after a reload), so a re-added one starts afresh. */
  retain(keys: ReadonlySet<string>): void {
    for (const k of this.last.keys()) if (!keys.has(k)) this.last.delete(k);
  }
}

// ------------------------------------------------------------------------------------------- checkers

/** keepalived's checker kinds that can mail (FILE_CHECK never does: check_file.c has no smtp_alert). */
export type AlertCheckerType =
  | 'TCP_CHECK'
  | 'HTTP_GET'
  | 'SSL_GET'
  | 'SMTP_CHECK'
  | 'DNS_CHECK'
  | 'MISC_CHECK'
  | 'UDP_CHECK'
  | 'PING_CHECK'
  | 'FILE_CHECK'
  | 'BFD_CHECK';

/** The body each checker passes to smtp_alert(SMTP_MSG_RS, …) in keepalived's check_*.c. */
export function checkerAlertBody(type: AlertCheckerType, up: boolean, detail: { reason?: string | undefined; bfdName?: string | undefined } = {}): string | undefined {
  switch (type) {
    case 'TCP_CHECK':
      return `=> TCP CHECK ${up ? 'succeed' : 'failed'} on service <=`;
    case 'HTTP_GET':
    case 'SSL_GET':
      return up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service : HTTP request failed <=';
    case 'SMTP_CHECK':
      if (up) return '=> CHECK succeed on service <=';
      return detail.reason ? `=> CHECK failed on service : ${detail.reason} <=` : '=> CHECK failed on service <=';
    case 'DNS_CHECK':
      return `=> DNS_CHECK: ${up ? 'succeed' : 'failed'} on service <=`;
    case 'MISC_CHECK':
      return `=> MISC CHECK ${up ? 'succeeded' : /timed out/.test(detail.reason ?? '') ? 'timed out' : 'failed'} on service <=`;
    case 'UDP_CHECK':
      return `=> UDP CHECK ${up ? 'succeed' : 'failed'} on service <=`;
    case 'PING_CHECK':
      return `=> ICMP CHECK ${up ? 'succeed' : 'failed'} on service <=`;
    case 'BFD_CHECK':
      return `=> BFD CHECK ${detail.bfdName ?? ''} ${up ? 'succeeded' : 'failed'} on service <=`;
    case 'FILE_CHECK':
      return undefined;
  }
}

/** A checker changed state (its real server's alive state before and after the change). */
export interface CheckerTransition {
  type: AlertCheckerType;
  up: boolean;
  reason?: string | undefined;
  rsWasAlive: boolean;
  rsAlive: boolean;
  /** keepalived's FMT_RS / FMT_VS: "[10.0.0.2]:tcp:80", "[10.0.0.1]:tcp:80", "FWM 1", "[group]:80". */
  rsLabel: string;
  vsLabel: string;
}

/**
 * check_*.c: a checker that changed state mails when its real server has smtp_alert and either the
 * real server's state changed or no_checker_emails is off. The subject's UP/DOWN is the real
 * server's state, not the checker's.
 */
export function realServerAlert(
  routerId: string,
  t: CheckerTransition,
  o: { enabled: boolean; noCheckerEmails: boolean },
): SmtpAlert | undefined {
  if (!o.enabled) return undefined;
  if (t.rsWasAlive === t.rsAlive && o.noCheckerEmails) return undefined;
  const body = checkerAlertBody(t.type, t.up, { reason: t.reason });
  if (body === undefined) return undefined;
  return alert(`[${routerId}] Realserver ${t.rsLabel} of virtual server ${t.vsLabel} - ${t.rsAlive ? 'UP' : 'DOWN'}`, body);
}

// ------------------------------------------------------------------------------------------- message

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** strftime("%a, %d %b %Y %H:%M:%S %z") in local time, as smtp.c body_cmd() writes the Date header. */
export function rfc822Date(d: Date): string {
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  const zone = `${off < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
  return `${DAYS[d.getDay()]}, ${two(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zone}`;
}

/**
 * The DATA keepalived sends (SMTP_HEADERS_CMD SMTP_BODY_CMD): Date, From, Subject, X-Mailer, To (the
 * recipients joined with ", "), a blank line, the body and an empty last line. X-Mailer stays
 * "Keepalived" so that filters written for keepalived's mail keep matching.
 */
export function composeMessage(s: Pick<SmtpSettings, 'from' | 'to'>, a: SmtpAlert, date: Date): string {
  return (
    `Date: ${rfc822Date(date)}\r\nFrom: ${s.from ?? ''}\r\nSubject: ${a.subject}\r\n` +
    `X-Mailer: Keepalived\r\nTo: ${s.to.join(', ')}\r\n\r\n${a.body}\r\n\r\n`
  );
}

/** An SMTP failure as nodemailer reports it (code, the command it was sending, the server's code). */
export interface SmtpFailure {
  code?: string | undefined;
  command?: string | undefined;
  responseCode?: number | undefined;
  message?: string | undefined;
}

/** keepalived's command names in "Error processing %s cmd" (smtp.c SMTP_FSM). */
function commandName(command: string): string {
  const c = command.toUpperCase();
  if (c.startsWith('EHLO') || c.startsWith('HELO') || c.startsWith('LHLO')) return 'HELO';
  if (c.startsWith('MAIL')) return 'MAIL';
  if (c.startsWith('RCPT')) return 'RCPT';
  if (c.startsWith('DATA')) return 'DATA';
  if (c === 'CONN' || c === 'GREETING') return '(E)SMTP';
  return 'BODY';
}

/** keepalived's log line for a failed alert (smtp.c), e.g. "SMTP connection ERROR to [10.0.0.9]:25.". */
export function smtpFailureMessage(host: string, e: SmtpFailure): string {
  if (e.responseCode !== undefined && e.command) {
    return `Error processing ${commandName(e.command)} cmd on SMTP server ${host}. SMTP status code = ${e.responseCode}`;
  }
  if (e.code === 'ETIMEDOUT') {
    return e.command === 'CONN' ? `Timeout connecting SMTP server ${host}.` : `Timeout reading data to remote SMTP server ${host}.`;
  }
  if (/\bclosed\b/i.test(e.message ?? '')) return `Remote SMTP server ${host} has closed the connection.`;
  return `SMTP connection ERROR to ${host}.`;
}
