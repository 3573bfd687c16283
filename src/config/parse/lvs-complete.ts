// Virtual server validation and VS → RS → checker inheritance (keepalived check_data.c), the SSL
// context (check_daemon.c).

import type { CheckerKind, VirtualServer } from '../model.js';
import { nodeFileAccess } from '../node-io.js';
import { loadSslFiles } from '../ssl.js';
import type { ParseContext, VsDraft } from './context.js';

const CHECKER_DEFAULTS: Record<CheckerKind, { retry: number; delayBeforeRetryMs: number }> = {
  TCP_CHECK: { retry: 1, delayBeforeRetryMs: 1000 },
  HTTP_GET: { retry: 1, delayBeforeRetryMs: 3000 },
  SSL_GET: { retry: 1, delayBeforeRetryMs: 3000 },
  SMTP_CHECK: { retry: 1, delayBeforeRetryMs: 1000 },
  DNS_CHECK: { retry: 3, delayBeforeRetryMs: 1000 },
  MISC_CHECK: { retry: 0, delayBeforeRetryMs: 1000 },
  UDP_CHECK: { retry: 1, delayBeforeRetryMs: 1000 },
  PING_CHECK: { retry: 1, delayBeforeRetryMs: 1000 },
  FILE_CHECK: { retry: 0, delayBeforeRetryMs: 0 },
  BFD_CHECK: { retry: 0, delayBeforeRetryMs: 0 },
};

/** keepalived check_daemon.c: the SSL context is built (its files loaded) only when an SSL_GET exists. */
export function completeSsl(ctx: ParseContext): void {
  const ssl = ctx.config.ssl;
  if (!ssl || !ctx.config.virtualServers.some((vs) => vs.realServers.some((rs) => rs.checkers.some((c) => c.kind === 'SSL_GET')))) return;
  const files = ctx.options.files ?? nodeFileAccess(ctx.options);
  const loaded = loadSslFiles(ssl, (p, max) => files.readFile(p, max));
  if (loaded.error !== undefined) {
    ssl.error = loaded.error;
    ctx.engine.error(`${loaded.error} - SSL_GET checks will fail`, undefined, ssl.location);
    return;
  }
  ssl.caPem = loaded.caPem;
  ssl.certificatePem = loaded.certificatePem;
  ssl.keyPem = loaded.keyPem;
  if (ssl.verifyServerCertificate && ssl.caPem === undefined) {
    ctx.engine.warn('verify_server_certificate needs a ca file - the server certificate is not verified', 'verify_server_certificate', ssl.location);
    ssl.verifyServerCertificate = false;
  }
}

/** Virtual servers naming a group that was never defined are dropped (checked once all groups are read). */
export function completeLvs(ctx: ParseContext): void {
  const groups = new Set(ctx.config.virtualServerGroups.map((g) => g.name));
  ctx.config.virtualServers = ctx.config.virtualServers.filter((vs) => {
    if (vs.key.kind !== 'group' || groups.has(vs.key.group)) return true;
    ctx.engine.error(`Virtual server group ${vs.key.group} specified but not configured - ignoring virtual server`, undefined, vs.location);
    return false;
  });
}

/** check_data.c's validation of one virtual server, and VS → RS → checker inheritance. */
export function completeVs(ctx: ParseContext, d: VsDraft): void {
  {
    const vs = d.vs;
    const at = vs.location;
    const err = (m: string): void => ctx.engine.error(m, undefined, at);
    // keepalived check_data.c: unset → smtp_alert_checker, else smtp_alert, else off.
    vs.smtpAlert ??= ctx.config.global.smtpAlertChecker ?? ctx.config.global.smtpAlert ?? false;
    const key = vs.key;
    const isFwmark = key.kind === 'fwmark';
    let name = vsName(vs, d.protocolSet ? vs.protocol : 'none');
    if (isFwmark) {
      if (d.protocolSet) err(`Warning: Virtual server ${name}: protocol specified for fwmark - protocol will be ignored`);
      vs.protocol = 'tcp';
    } else if (!d.protocolSet) {
      err(`Virtual server ${name}: no protocol set - defaulting to UDP`);
      vs.protocol = 'udp';
    }
    name = vsName(vs, vs.protocol);
    if (!d.schedulerSet) err(`Virtual server ${name}: no scheduler set, setting default 'wlc'`);
    if (!d.methodSet) err(`Virtual server ${name}: no forwarding method set, setting default NAT`);
    if (key.kind === 'address' && key.port === 0 && vs.persistenceTimeout === undefined) {
      err(`Virtual server ${name}: zero port only valid for persistent services - setting`);
      vs.persistenceTimeout = 360;
    }
    if (vs.haSuspend && isFwmark) {
      err(`Virtual server ${name}: ha_suspend is not valid with fwmark - ignoring`);
      vs.haSuspend = false;
    }
    if (!d.warmupSet) vs.warmupMs = vs.delayLoopMs;

    const seen = new Set<string>();
    for (const rd of d.rs) {
      const rs = rd.rs;
      const rsKey = `${rs.address}/${rs.port}`;
      const rsName = (): string => `[${rs.address}]:${vs.protocol}:${rs.port}`;
      if (seen.has(rsKey)) {
        ctx.engine.error(`VS ${name}: real server ${rsName()} is duplicated - removing second rs`, undefined, rs.location);
        continue;
      }
      seen.add(rsKey);
      if (!rd.methodSet) {
        rs.forwardMethod = vs.forwardMethod;
        rs.tunnel = vs.tunnel;
      }
      // VS-level `weight` / `inhibit_on_failure` may follow the real_server blocks.
      if (!rd.weightSet) rs.weight = d.weight;
      if (!rd.inhibitSet) rs.inhibitOnFailure = vs.inhibitOnFailure;
      if ((rs.forwardMethod === 'route' || rs.forwardMethod === 'tunnel') && key.kind === 'address' && rd.portSet && rs.port !== key.port) {
        ctx.engine.error(`WARNING - virtual server ${name} and real server ${rsName()} ports don't match - resetting`, undefined, rs.location);
        rs.port = key.port;
      }
      rs.alpha = rd.alpha ?? vs.alpha;
      // keepalived check_data.c: unset → smtp_alert_checker, else smtp_alert, else on (unlike the others).
      rs.smtpAlert = rd.smtpAlert ?? ctx.config.global.smtpAlertChecker ?? ctx.config.global.smtpAlert ?? true;
      rs.delayLoopMs = rd.delayLoopMs ?? vs.delayLoopMs;
      rs.warmupMs = rd.warmupMs ?? (d.warmupSet ? vs.warmupMs : rs.delayLoopMs);
      for (const cd of rd.checkers) {
        const c = cd.checker;
        const def = CHECKER_DEFAULTS[c.kind];
        c.delayLoopMs = cd.delayLoopMs ?? rs.delayLoopMs;
        c.connectTimeoutMs = cd.connectTimeoutMs ?? rd.connectTimeoutMs ?? vs.connectTimeoutMs;
        // keepalived smtp_check_end_handler: a host{} without connect_timeout takes the RS's, else the VS's.
        if (c.kind === 'SMTP_CHECK') for (const h of c.hosts) h.connectTimeoutMs ??= rd.connectTimeoutMs ?? vs.connectTimeoutMs;
        c.retry = cd.retry ?? rd.retry ?? vs.retry ?? def.retry;
        c.delayBeforeRetryMs = cd.delayBeforeRetryMs ?? rd.delayBeforeRetryMs ?? vs.delayBeforeRetryMs ?? def.delayBeforeRetryMs;
        c.warmupMs = cd.warmupMs ?? rd.warmupMs ?? (d.warmupSet ? vs.warmupMs : c.delayLoopMs);
        c.alpha = cd.alpha ?? rs.alpha;
        if (c.kind !== 'MISC_CHECK' && c.kind !== 'FILE_CHECK' && c.kind !== 'BFD_CHECK' && c.kind !== 'PING_CHECK') {
          c.connectPort ??= rs.port;
        }
        if (c.kind === 'MISC_CHECK') c.timeoutMs = cd.miscTimeoutMs ?? c.delayLoopMs;
        if ((c.kind === 'HTTP_GET' || c.kind === 'SSL_GET') && c.urls.length === 0) {
          ctx.engine.error(`${c.kind} has no url - checker will always fail`, undefined, c.location, 'warning');
        }
        rs.checkers.push(c);
      }
      vs.realServers.push(rs);
    }
    if (vs.realServers.length === 0 && vs.sorryServer === undefined) {
      err(`Virtual server ${name} has no real servers - ignoring`);
      return;
    }
    const totalWeight = vs.realServers.reduce((s, r) => s + r.weight, 0);
    if (vs.quorum > totalWeight && vs.realServers.length > 0) {
      vs.quorum = Math.max(1, totalWeight);
    }
    if (vs.hysteresis >= vs.quorum) vs.hysteresis = vs.quorum - 1;
    ctx.config.virtualServers.push(vs);
  }
}

function vsName(vs: VirtualServer, protocol: string): string {
  const k = vs.key;
  if (k.kind === 'fwmark') return `FWM ${k.fwmark}`;
  if (k.kind === 'group') return `[${k.group}]:${protocol}`;
  return `[${k.address}]:${protocol}:${k.port}`;
}
