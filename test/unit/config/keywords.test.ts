// docs/KEYWORDS.md is generated from the parser's keyword tables and must match them; every keyword of
// keepalived 2.2.7's own list must be in it. keepalived's list is read at test time from its man page
// (keywords are the bold words that start a line), kept only where the installed binary holds the word
// (as a string or the tail of one: the linker merges `priority` into `vrrp_priority`), which drops the
// man page's prose.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { keywordCatalogue, renderKeywordsMarkdown } from '../../../src/config/keywords.js';
import { parseText } from './helpers.js';

const root = new URL('../../../', import.meta.url);
const MAN_PAGE = '/usr/share/man/man5/keepalived.conf.5.gz';
const BINARY = ['/usr/sbin/keepalived', '/usr/local/sbin/keepalived'].find((p) => existsSync(p));

/** Bold words of the man page that start a line and are no keyword, with why. */
const NOT_KEYWORDS: Record<string, string> = {
  keepalived: 'the file name keepalived.conf',
  BFD: 'a section title',
  VRRP: 'a section title',
  start: "a parameter of the ~SEQ line",
  dynamic: "documented for FILE_CHECK, but keepalived 2.2.7 itself reports Unknown keyword 'dynamic'",
};

function keepalivedKeywords(): string[] {
  const man = gunzipSync(readFileSync(MAN_PAGE)).toString('utf8');
  const bold = new Set([...man.matchAll(/^\s*\\fB([A-Za-z][A-Za-z0-9_-]*)/gm)].map((m) => m[1]!));
  const strings = readFileSync(BINARY!).toString('latin1').split(/[^\x20-\x7e]+/);
  return [...bold].filter((w) => !(w in NOT_KEYWORDS) && strings.some((s) => s.endsWith(w)));
}

describe('keyword catalogue', () => {
  it('docs/KEYWORDS.md is what the tables say (run `npm run docs:keywords` after changing a table)', () => {
    const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
    const doc = readFileSync(new URL('docs/KEYWORDS.md', root), 'utf8');
    expect(doc).toBe(renderKeywordsMarkdown(keywordCatalogue(), version));
  });

  it.skipIf(BINARY === undefined || !existsSync(MAN_PAGE))("lists every keyword of keepalived 2.2.7's man page", () => {
    const ours = new Set(keywordCatalogue().map((e) => e.keyword));
    const theirs = keepalivedKeywords();
    // The extraction itself must find keepalived's list, not an empty one.
    expect(theirs.length).toBeGreaterThan(250);
    expect(theirs.filter((k) => !ours.has(k))).toEqual([]);
  });

  it('each warning-status keyword, used, is reported once at its line as unsupported; refused ones are errors', () => {
    for (const e of keywordCatalogue()) {
      if (e.status !== 'warns' && e.status !== 'refuses') continue;
      if (e.context !== 'global_defs') continue;
      const r = parseText(`global_defs {\n  ${e.keyword} 1\n}\n`);
      const about = r.diagnostics.filter((d) => d.keyword === e.keyword);
      expect(about.map((d) => [d.line, d.severity]), e.keyword).toEqual([[2, e.status === 'warns' ? 'unsupported' : 'error']]);
      // The engine's message says what happens instead; a handler's own one quotes the value instead.
      expect(about[0]!.message, e.keyword).toMatch(new RegExp(`^${e.keyword} is not supported`));
    }
  });

  it('root-only keywords are unknown inside global_defs, as in keepalived', () => {
    for (const k of ['net_namespace', 'instance', 'use_pid_dir', 'child_wait_time', 'namespace_with_ipsets']) {
      const r = parseText(`global_defs {\n  ${k} x\n}\n`);
      expect(r.diagnostics.map((d) => d.message)).toContain(`Unknown keyword '${k}'`);
    }
  });
});
