// Checker blocks of a real_server: the keywords all share (keepalived check_api.c) and the small
// checkers' own (check_dns.c, check_misc.c, check_udp.c, check_file.c, check_bfd.c).

import type { Checker, CheckerKind, SourceLocation } from '../model.js';
import type { Keyword, KeywordTable } from '../engine.js';
import { familyOf, readFlag, readInt, readTimerMs, readUnsigned, TIMER_MAX_S } from '../values.js';
import { type CheckerDraft, type CheckerFn, checkerKeyword, type ParseContext, table } from './context.js';
import { httpKeywords } from './checkers-http.js';
import { smtpKeywords } from './checkers-smtp.js';

export function openChecker(ctx: ParseContext, kind: CheckerKind, w: string[], at: SourceLocation): void {
  if (ctx.rs === undefined) {
    ctx.check = undefined;
    return;
  }
  const common = {
    location: at,
    connectIp: undefined,
    connectPort: undefined,
    bindTo: undefined,
    bindIf: undefined,
    bindPort: undefined,
    fwmark: undefined,
    connectTimeoutMs: 0,
    retry: 0,
    delayBeforeRetryMs: 0,
    warmupMs: 0,
    delayLoopMs: 0,
    alpha: false,
    logAllFailures: ctx.config.global.checkerLogAllFailures,
  };
  let checker: Checker;
  switch (kind) {
    case 'HTTP_GET':
    case 'SSL_GET':
      checker = { ...common, kind, urls: [], fastRecovery: false, enableSni: false };
      break;
    case 'SMTP_CHECK':
      checker = { ...common, kind, heloName: 'localhost', hosts: [] };
      break;
    case 'DNS_CHECK':
      checker = { ...common, kind, type: 'SOA', name: '.' };
      break;
    case 'MISC_CHECK':
      checker = { ...common, kind, path: '', timeoutMs: 0, dynamic: false };
      break;
    case 'UDP_CHECK':
      checker = { ...common, kind, requireReply: false, minReplyLength: 0, maxReplyLength: 255 };
      break;
    case 'FILE_CHECK':
      checker = { ...common, kind, trackFile: '', weightReverse: false };
      break;
    case 'BFD_CHECK':
      checker = { ...common, kind, name: w[1] ?? '' };
      break;
    default:
      // TCP_CHECK dominates big farms: a plain literal (not a spread) keeps one fast object shape.
      checker = {
        kind,
        location: at,
        connectIp: undefined,
        connectPort: undefined,
        bindTo: undefined,
        bindIf: undefined,
        bindPort: undefined,
        fwmark: undefined,
        connectTimeoutMs: 0,
        retry: 0,
        delayBeforeRetryMs: 0,
        warmupMs: 0,
        delayLoopMs: 0,
        alpha: false,
        logAllFailures: ctx.config.global.checkerLogAllFailures,
      };
  }
  ctx.check = {
    checker,
    connectTimeoutMs: undefined,
    retry: undefined,
    delayBeforeRetryMs: undefined,
    warmupMs: undefined,
    delayLoopMs: undefined,
    alpha: undefined,
    miscTimeoutMs: undefined,
  };
}

export function closeChecker(ctx: ParseContext): void {
  const c = ctx.check;
  ctx.check = undefined;
  if (c === undefined || ctx.rs === undefined) return;
  const ch = c.checker;
  if (ch.kind === 'MISC_CHECK' && ch.path === '') {
    ctx.engine.error('MISC_CHECK with no misc_path - ignoring', undefined, ch.location);
    return;
  }
  if (ch.kind === 'FILE_CHECK' && ch.trackFile === '') {
    ctx.engine.error('FILE_CHECK has no track_file specified - ignoring');
    return;
  }
  ctx.rs.checkers.push(c);
}

export function checkerTable(ctx: ParseContext, kind: CheckerKind): KeywordTable {
  const on = (fn: CheckerFn): Keyword => checkerKeyword(ctx, fn);
  const timer = (min: number, fn: (d: CheckerDraft, ms: number) => void): Keyword =>
    on((d, w) => {
      const v = readTimerMs(w[1], min, TIMER_MAX_S, ctx.fail);
      if (v !== undefined) fn(d, v);
    });
  const retry = on((d, w) => (d.retry = readUnsigned(w[1], 0, 4294967295, ctx.fail) ?? d.retry));
  const entries: Array<[string, Keyword]> = [];
  if (kind !== 'MISC_CHECK' && kind !== 'FILE_CHECK') {
    entries.push(
      ['connect_ip', on((d, w) => (familyOf(w[1] ?? '') ? (d.checker.connectIp = w[1]) : ctx.fail(`Invalid connect_ip ${w[1] ?? ''}`)))],
      ['connect_port', on((d, w) => (d.checker.connectPort = readUnsigned(w[1], 0, 65535, ctx.fail) ?? d.checker.connectPort))],
      ['bindto', on((d, w) => (familyOf(w[1] ?? '') ? (d.checker.bindTo = w[1]) : ctx.fail(`Invalid bindto ${w[1] ?? ''}`)))],
      ['bind_if', on((d, w) => (d.checker.bindIf = w[1]))],
      ['bind_port', on((d, w) => (d.checker.bindPort = readUnsigned(w[1], 0, 65535, ctx.fail) ?? d.checker.bindPort))],
      ['fwmark', on((d, w) => (d.checker.fwmark = readUnsigned(w[1], 0, 4294967295, ctx.fail) ?? d.checker.fwmark))],
      ['connect_timeout', timer(0.000001, (d, v) => (d.connectTimeoutMs = v))],
    );
  }
  entries.push(
    ['retry', retry],
    ['delay_before_retry', timer(0, (d, v) => (d.delayBeforeRetryMs = v))],
    ['warmup', timer(0, (d, v) => (d.warmupMs = v))],
    ['delay_loop', timer(0.000001, (d, v) => (d.delayLoopMs = v))],
    ['alpha', on((d, w) => (d.alpha = readFlag(w, ctx.fail)))],
    ['log_all_failures', on((d, w) => (d.checker.logAllFailures = readFlag(w, ctx.fail)))],
  );
  switch (kind) {
    case 'HTTP_GET':
    case 'SSL_GET':
      entries.push(...httpKeywords(ctx, kind));
      break;
    case 'SMTP_CHECK':
      entries.push(...smtpKeywords(ctx));
      break;
    case 'DNS_CHECK':
      entries.push(
        ['type', on((d, w) => d.checker.kind === 'DNS_CHECK' && (d.checker.type = w[1] ?? 'SOA'))],
        ['name', on((d, w) => d.checker.kind === 'DNS_CHECK' && (d.checker.name = w[1] ?? '.'))],
      );
      break;
    case 'MISC_CHECK':
      entries.push(
        [
          'misc_path',
          on((d, w) => {
            if (d.checker.kind !== 'MISC_CHECK' || w[1] === undefined) return;
            d.checker.path = w.slice(1).join(' ');
            ctx.config.scriptCount++;
          }),
        ],
        ['misc_timeout', timer(0.000001, (d, v) => (d.miscTimeoutMs = v))],
        ['misc_dynamic', on((d) => d.checker.kind === 'MISC_CHECK' && (d.checker.dynamic = true))],
        [
          'user',
          on((d, w) => {
            if (d.checker.kind !== 'MISC_CHECK' || w[1] === undefined) return;
            const [u, gr] = w[1].includes(':') ? w[1].split(':', 2) : [w[1], w[2]];
            d.checker.user = u;
            if (gr !== undefined) d.checker.group = gr;
          }),
        ],
      );
      break;
    case 'UDP_CHECK':
      entries.push(
        ['payload', on((d, w) => d.checker.kind === 'UDP_CHECK' && (d.checker.payload = w.slice(1).join('')))],
        [
          'require_reply',
          on((d, w) => {
            if (d.checker.kind !== 'UDP_CHECK') return;
            d.checker.requireReply = true;
            if (w[1] !== undefined) d.checker.requireReplyPattern = w.slice(1).join('');
          }),
        ],
        ['min_reply_length', on((d, w) => d.checker.kind === 'UDP_CHECK' && (d.checker.minReplyLength = readUnsigned(w[1], 0, 65535, ctx.fail) ?? 0))],
        ['max_reply_length', on((d, w) => d.checker.kind === 'UDP_CHECK' && (d.checker.maxReplyLength = readUnsigned(w[1], 0, 65535, ctx.fail) ?? 255))],
      );
      break;
    case 'FILE_CHECK':
      entries.push(
        [
          'track_file',
          on((d, w) => {
            if (d.checker.kind !== 'FILE_CHECK') return;
            // keepalived resolves the name when it reads it: the track_file must be defined above.
            if (ctx.config.trackFiles.some((t) => t.name === w[1])) d.checker.trackFile = w[1]!;
            else ctx.fail(`track_file ${w[1] ?? ''} not found`);
          }),
        ],
        [
          'weight',
          on((d, w) => {
            if (d.checker.kind !== 'FILE_CHECK') return;
            d.checker.weight = readInt(w[1], -254, 254, ctx.fail);
            if (w[2] === 'reverse') d.checker.weightReverse = true;
          }),
        ],
      );
      break;
    case 'BFD_CHECK':
      // keepalived 2.2.7 check_bfd.c: `name` and `alpha` only.
      entries.push(['alpha', ctx.warns('lvskeeper has no BFD')], ['name', on((d, w) => d.checker.kind === 'BFD_CHECK' && (d.checker.name = w[1] ?? ''))]);
      break;
    default:
      break;
  }
  return table(entries);
}
