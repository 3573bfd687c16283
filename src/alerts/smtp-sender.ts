// Sends the SMTP alerts of smtp-alert.ts without ever holding up VRRP or the checkers: callers enqueue
// and return; one alert at a time goes out over a fresh connection (as keepalived's smtp_connect()),
// at most MAX_PENDING wait (the oldest are dropped, and counted). nodemailer is imported at the first
// alert, so a daemon that never mails never loads it. A server that is down or slow is logged once with
// keepalived's phrase, then retried quietly with each alert, and logged again when it answers.
import { hostname, userInfo } from 'node:os';
import type { GlobalDefs } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import {
  composeMessage,
  realServerAlert,
  smtpFailureMessage,
  smtpHostLabel,
  smtpSettings,
  vrrpGroupAlert,
  vrrpInstanceAlert,
  VrrpAlertFilter,
  type CheckerTransition,
  type SmtpAlert,
  type SmtpFailure,
  type SmtpSettings,
  type VrrpAlertState,
} from './smtp-alert.js';

export const MAX_PENDING = 100;

/** One SMTP dialogue: envelope and the message as keepalived writes it. Rejects with nodemailer's error. */
export interface MailTransport {
  send(envelope: { from: string; to: string[] }, raw: string): Promise<void>;
  close(): void;
}

export type TransportFactory = (s: SmtpSettings) => Promise<MailTransport>;

/**
 * Plain SMTP as keepalived speaks it: no STARTTLS, no authentication; smtp_connect_timeout bounds the
 * connection, the greeting and every reply (keepalived uses smtp_connection_to for each read).
 */
export const nodemailerTransport: TransportFactory = async (s) => {
  const { createTransport } = await import('nodemailer');
  const t = createTransport({
    host: s.server.address,
    port: s.server.port,
    secure: false,
    ignoreTLS: true,
    name: s.heloName,
    connectionTimeout: s.connectTimeoutMs,
    greetingTimeout: s.connectTimeoutMs,
    socketTimeout: s.connectTimeoutMs,
    logger: false,
  });
  return {
    send: async (envelope, raw) => {
      await t.sendMail({ envelope, raw });
    },
    close: () => t.close(),
  };
};

export interface SenderOptions {
  maxPending?: number | undefined;
  transport?: TransportFactory | undefined;
  now?: (() => Date) | undefined;
}

interface Pending {
  alert: SmtpAlert;
  date: Date;
}

export class SmtpSender {
  private readonly pending: Pending[] = [];
  private running: Promise<void> | undefined;
  private transport: Promise<MailTransport> | undefined;
  private failing = false;
  private dropped = 0;
  private closed = false;
  readonly counters = { sent: 0, failed: 0, dropped: 0 };

  constructor(
    readonly settings: SmtpSettings,
    private readonly log: Logger,
    private readonly opts: SenderOptions = {},
  ) {}

  /** Queue an alert; never waits. */
  send(alert: SmtpAlert): void {
    if (this.closed) return;
    // The Date header is the event's time (keepalived's is the DATA time: the same unless queued).
    this.pending.push({ alert, date: (this.opts.now ?? (() => new Date()))() });
    const max = this.opts.maxPending ?? MAX_PENDING;
    while (this.pending.length > max) {
      this.pending.shift();
      this.counters.dropped++;
      if (this.dropped++ === 0) this.log.warn(`SMTP alert queue full (${max} waiting): dropping the oldest alerts`);
    }
    this.running ??= this.drain();
  }

  /** Resolves when nothing is waiting (tests, and stop). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /**
   * Stop: give the alerts already queued (the STOP ones) up to `waitMs` unless the server is known
   * to be failing, then drop the rest.
   */
  async close(waitMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.running && !this.failing && waitMs > 0) {
      await Promise.race([this.running, new Promise<void>((r) => setTimeout(r, waitMs).unref())]);
    }
    this.pending.length = 0;
    const t = this.transport;
    this.transport = undefined;
    if (t) void t.then((x) => x.close()).catch(() => undefined);
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) await this.deliver(next);
    } finally {
      this.running = undefined;
    }
    if (this.dropped > 0) {
      this.log.warn(`${this.dropped} SMTP alert${this.dropped === 1 ? '' : 's'} dropped: the queue was full`);
      this.dropped = 0;
    }
  }

  private async deliver(p: Pending): Promise<void> {
    const s = this.settings;
    const host = smtpHostLabel(s);
    let transport: MailTransport;
    try {
      transport = await (this.transport ??= (this.opts.transport ?? nodemailerTransport)(s));
    } catch (e) {
      this.transport = undefined;
      this.counters.failed++;
      this.failed(`SMTP alerts cannot be sent: ${(e as Error).message}`, e);
      return;
    }
    // nodemailer's own timeouts bound each step; this bounds a server that answers slowly at every one.
    let timer: NodeJS.Timeout | undefined;
    const overall = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('SMTP dialogue too slow'), { code: 'ETIMEDOUT', command: 'DATA' })), s.connectTimeoutMs * 6);
      timer.unref();
    });
    try {
      await Promise.race([transport.send({ from: s.from ?? '', to: s.to }, composeMessage(s, p.alert, p.date)), overall]);
      this.counters.sent++;
      if (this.failing) {
        this.failing = false;
        this.log.info(`Remote SMTP server ${host} connected: SMTP alerts are sent again`);
      }
      this.log.debug('SMTP alert successfully sent.', { subject: p.alert.subject });
    } catch (e) {
      this.counters.failed++;
      this.failed(smtpFailureMessage(host, e as SmtpFailure), e);
    } finally {
      clearTimeout(timer);
    }
  }

  private failed(message: string, e: unknown): void {
    const fields = { error: (e as Error)?.message };
    if (this.failing) {
      this.log.debug(`SMTP alert not sent (server still failing): ${message}`, fields);
      return;
    }
    this.failing = true;
    this.log.warn(message, fields);
  }
}

export interface LocalIdentity {
  hostname: string;
  username: string | undefined;
}

function localIdentity(): LocalIdentity {
  let username: string | undefined;
  try {
    username = userInfo().username;
  } catch {
    username = undefined;
  }
  return { hostname: hostname(), username };
}

/**
 * The daemon's side: turns VRRP notifications and checker transitions into alerts for the global_defs
 * in effect (a reload that changes the mail settings gets a new sender), keepalived's rules deciding.
 */
export class SmtpAlerts {
  private sender: SmtpSender | undefined;
  private senderKey: string | undefined;
  private local: LocalIdentity | undefined;
  private readonly filter = new VrrpAlertFilter();

  constructor(
    private readonly log: Logger,
    private readonly opts: SenderOptions & { local?: LocalIdentity | undefined } = {},
  ) {}

  /** keepalived send_instance_notifies / send_group_notifies → vrrp_(sync_)smtp_notifier. */
  vrrp(g: GlobalDefs, kind: 'INSTANCE' | 'GROUP', name: string, state: VrrpAlertState, enabled: boolean): void {
    if (!enabled) return;
    const sender = this.senderFor(g);
    if (!sender) return;
    if (!this.filter.take(`${kind}:${name}`, state, { enabled, noEmailFaults: g.noEmailFaults === true, group: kind === 'GROUP' })) return;
    const a = kind === 'INSTANCE' ? vrrpInstanceAlert(g.routerId, name, state) : vrrpGroupAlert(g.routerId, name, state);
    if (a) sender.send(a);
  }

  /** A checker changed state (check_*.c smtp_alert(SMTP_MSG_RS, …)). */
  checker(g: GlobalDefs, t: CheckerTransition, enabled: boolean): void {
    if (!enabled) return;
    const sender = this.senderFor(g);
    const a = sender && realServerAlert(g.routerId, t, { enabled, noCheckerEmails: g.noCheckerEmails === true });
    if (a) sender.send(a);
  }

  /** Instances and groups still configured (the others start afresh if they come back). */
  retain(keys: ReadonlySet<string>): void {
    this.filter.retain(keys);
  }

  idle(): Promise<void> {
    return this.sender?.idle() ?? Promise.resolve();
  }

  get counters(): SmtpSender['counters'] | undefined {
    return this.sender?.counters;
  }

  async close(waitMs: number): Promise<void> {
    const s = this.sender;
    this.sender = undefined;
    this.senderKey = undefined;
    await s?.close(waitMs);
  }

  private senderFor(g: GlobalDefs): SmtpSender | undefined {
    if (g.notificationEmail.length === 0 || !g.smtpServer) return undefined;
    const settings = smtpSettings(g, (this.local ??= this.opts.local ?? localIdentity()));
    if (!settings) return undefined;
    const key = JSON.stringify(settings);
    if (key !== this.senderKey) {
      void this.sender?.close(0);
      this.sender = new SmtpSender(settings, this.log, this.opts);
      this.senderKey = key;
    }
    return this.sender;
  }
}
