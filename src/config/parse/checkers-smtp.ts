// SMTP_CHECK and its host blocks (keepalived check_smtp.c).

import type { SmtpHost } from '../model.js';
import type { Keyword, KeywordTable } from '../engine.js';
import { readTimerMs, readUnsigned, TIMER_MAX_S } from '../values.js';
import { type CheckerFn, checkerKeyword, type ParseContext, table } from './context.js';

/** The keywords of an SMTP_CHECK block after the common ones (checkers.ts). */
export function smtpKeywords(ctx: ParseContext): Array<[string, Keyword]> {
  const on = (fn: CheckerFn): Keyword => checkerKeyword(ctx, fn);
  return [
    ['helo_name', on((d, w) => d.checker.kind === 'SMTP_CHECK' && w[1] !== undefined && (d.checker.heloName = w[1]))],
    [
      'host',
      {
        sub: smtpHostTable(ctx),
        handler: (_w, at) => (ctx.smtpHost = { location: at }),
        close: () => {
          const c = ctx.check?.checker;
          if (ctx.smtpHost && c?.kind === 'SMTP_CHECK') c.hosts.push(ctx.smtpHost);
          ctx.smtpHost = undefined;
        },
      },
    ],
  ];
}

function smtpHostTable(ctx: ParseContext): KeywordTable {
  const on = (fn: (h: SmtpHost, w: string[]) => void): Keyword => ({
    handler: (w) => {
      if (ctx.smtpHost) fn(ctx.smtpHost, w);
    },
  });
  return table([
    ['connect_ip', on((h, w) => (h.connectIp = w[1]))],
    ['connect_port', on((h, w) => (h.connectPort = readUnsigned(w[1], 0, 65535, ctx.fail)))],
    ['bindto', on((h, w) => (h.bindTo = w[1]))],
    ['bind_if', on((h, w) => (h.bindIf = w[1]))],
    ['bind_port', on((h, w) => (h.bindPort = readUnsigned(w[1], 0, 65535, ctx.fail)))],
    [
      'connect_timeout',
      on((h, w) => {
        const v = readTimerMs(w[1], 0.000001, TIMER_MAX_S, ctx.fail);
        if (v !== undefined) h.connectTimeoutMs = v;
      }),
    ],
    ['fwmark', on((h, w) => (h.fwmark = readUnsigned(w[1], 0, 4294967295, ctx.fail) ?? h.fwmark))],
  ]);
}
