// HTTP_GET / SSL_GET and their url blocks (keepalived check_http.c, check_ssl.c).

import type { Checker, HttpUrl, SourceLocation } from '../model.js';
import type { Keyword, KeywordTable } from '../engine.js';
import { readFlag, readUnsigned } from '../values.js';
import { regexOptionFlags } from '../regex-options.js';
import { type CheckerFn, checkerKeyword, type ParseContext, table } from './context.js';

/** The keywords of an HTTP_GET / SSL_GET block after the common ones (checkers.ts). */
export function httpKeywords(ctx: ParseContext, kind: 'HTTP_GET' | 'SSL_GET'): Array<[string, Keyword]> {
  const on = (fn: CheckerFn): Keyword => checkerKeyword(ctx, fn);
  const http = (fn: (c: Extract<Checker, { kind: 'HTTP_GET' | 'SSL_GET' }>, w: string[], at: SourceLocation) => void): Keyword =>
    on((d, w, at) => {
      if (d.checker.kind === 'HTTP_GET' || d.checker.kind === 'SSL_GET') fn(d.checker, w, at);
    });
  const entries: Array<[string, Keyword]> = [];
  entries.push(
    [
      'url',
      {
        sub: urlTable(ctx),
        handler: (_w, at) => {
          ctx.url = { path: '', statusCodes: [], regexNoMatch: false, location: at };
        },
        close: () => {
          const c = ctx.check?.checker;
          const u = ctx.url;
          ctx.url = undefined;
          if (!u || !c || (c.kind !== 'HTTP_GET' && c.kind !== 'SSL_GET')) return;
          if (u.path === '') {
            ctx.engine.error('Url has no path - ignoring', undefined, u.location);
            return;
          }
          if (u.statusCodes.length === 0) u.statusCodes.push([200, 299]);
          // keepalived url_check(): regex settings without a regex, and crossed offsets, are dropped.
          if (u.regex === undefined && (u.regexFlags || u.regexNoMatch || u.regexMinOffset !== undefined || u.regexMaxOffset !== undefined)) {
            ctx.engine.warn('regex parameters specified without regex', undefined, u.location);
            u.regexFlags = u.regexMinOffset = u.regexMaxOffset = undefined;
            u.regexNoMatch = false;
          }
          if (u.regexMaxOffset !== undefined && (u.regexMinOffset ?? 0) > u.regexMaxOffset) {
            ctx.engine.warn(`regex min offset ${u.regexMinOffset ?? 0} > regex_max_offset ${u.regexMaxOffset} - ignoring`, undefined, u.location);
            u.regexMinOffset = u.regexMaxOffset = undefined;
          }
          c.urls.push(u);
        },
      },
    ],
    ['http_protocol', http((c, w) => (c.httpProtocol = w[1]))],
    ['virtualhost', http((c, w) => (c.virtualhost = w[1]))],
    ['fast_recovery', http((c, w) => (c.fastRecovery = readFlag(w, ctx.fail)))],
    [
      'nb_get_retry',
      on((d, w) => {
        ctx.fail("nb_get_retry is deprecated - please use 'retry'");
        d.retry = readUnsigned(w[1], 0, 4294967295, ctx.fail) ?? d.retry;
      }),
    ],
  );
  if (kind === 'SSL_GET') {
    entries.push(
      ['enable_sni', http((c, w) => (c.enableSni = readFlag(w, ctx.fail)))],
      ['sni_name', ctx.extension('the name sent as SNI (else the virtualhost)', http((c, w) => ((c.sniName = w[1]), (c.enableSni = true))))],
    );
  }
  return entries;
}

/** keepalived check_http.c regex_offset_handler (its messages; a bad value leaves the offset unset). */
function regexOffset(ctx: ParseContext, w: string[], type: 'min' | 'max'): number | undefined {
  if (w.length !== 2) {
    ctx.engine.warn(`Missing or too may options for regex_${type}_offset`);
    return undefined;
  }
  if (!/^\d+$/.test(w[1]!) || !Number.isSafeInteger(Number(w[1]))) {
    ctx.engine.warn(`Invalid regex_${type}_offset ${w[1]!} specified`);
    return undefined;
  }
  return Number(w[1]);
}

function urlTable(ctx: ParseContext): KeywordTable {
  const on = (fn: (u: HttpUrl, w: string[]) => void): Keyword => ({
    handler: (w) => {
      if (ctx.url) fn(ctx.url, w);
    },
  });
  return table([
    ['path', on((u, w) => (u.path = w[1] ?? ''))],
    ['digest', on((u, w) => (u.digest = w[1]))],
    [
      'status_code',
      on((u, w) => {
        for (const spec of w.slice(1)) {
          const m = /^(\d{3})(?:-(\d{3}))?$/.exec(spec);
          if (!m) {
            ctx.fail(`Invalid HTTP_GET status code '${spec}'`);
            continue;
          }
          const lo = Number(m[1]);
          const hi = m[2] === undefined ? lo : Number(m[2]);
          if (lo < 100 || hi > 599 || hi < lo) ctx.fail(`HTTP status code ${spec} out of range`);
          else u.statusCodes.push([lo, hi]);
        }
      }),
    ],
    ['virtualhost', on((u, w) => (u.virtualhost = w[1]))],
    ['regex', on((u, w) => (u.regex = w.slice(1).join(' ')))],
    ['regex_no_match', on((u) => (u.regexNoMatch = true))],
    [
      'regex_options',
      on((u, w) => {
        // keepalived ORs every line's options into the url's; each has a JS flag, is moot, or is reported.
        const { flags, unsupported } = regexOptionFlags(w.slice(1));
        u.regexFlags = [...new Set((u.regexFlags ?? '') + flags)].sort().join('');
        for (const m of unsupported) ctx.engine.warn(m, 'regex_options');
      }),
    ],
    ['regex_stack', ctx.warns('JavaScript regexes have no stack size to set')],
    ['regex_min_offset', on((u, w) => (u.regexMinOffset = regexOffset(ctx, w, 'min')))],
    ['regex_max_offset', on((u, w) => (u.regexMaxOffset = regexOffset(ctx, w, 'max')))],
  ]);
}
