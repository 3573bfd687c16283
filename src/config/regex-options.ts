// HTTP_GET/SSL_GET url `regex_options` (keepalived check_http.c regex_options[]: PCRE2 compile options by
// name) and what each becomes for a JavaScript RegExp. Pure.

export type RegexOptionMapping =
  /** A RegExp flag with the same meaning. */
  | { kind: 'flag'; flag: 'i' | 'm' | 's' }
  /** JavaScript already behaves so, or the option cannot change whether a pattern matches: nothing to do. */
  | { kind: 'same' }
  /** No JavaScript equivalent: reported, the regex is matched without it. */
  | { kind: 'none'; why: string };

/** Every name keepalived 2.2.7 accepts (it ignores any other name silently). */
export const REGEX_OPTIONS: Readonly<Record<string, RegexOptionMapping>> = {
  caseless: { kind: 'flag', flag: 'i' },
  multiline: { kind: 'flag', flag: 'm' },
  dotall: { kind: 'flag', flag: 's' },
  // JavaScript's own semantics: `$` only at the very end, `[]` matches nothing, \u/\x as in JavaScript, an unset
  // back reference matches the empty string, multiline `^` also after a final newline.
  dollar_endonly: { kind: 'same' },
  allow_empty_class: { kind: 'same' },
  alt_bsux: { kind: 'same' },
  match_unset_backref: { kind: 'same' },
  alt_circumflex: { kind: 'same' },
  // Optimisation, capture and compile-time controls: a match test gives the same answer with or without them
  // (keepalived installs no callout and sets no offset limit).
  auto_callout: { kind: 'same' },
  dupnames: { kind: 'same' },
  never_ucp: { kind: 'same' },
  never_utf: { kind: 'same' },
  no_auto_capture: { kind: 'same' },
  no_auto_possess: { kind: 'same' },
  no_dotstar_anchor: { kind: 'same' },
  no_start_optimize: { kind: 'same' },
  never_backslash_c: { kind: 'same' },
  alt_verbnames: { kind: 'same' },
  use_offset_limit: { kind: 'same' },
  extended: { kind: 'none', why: 'white space and # comments in the pattern are matched literally' },
  ungreedy: { kind: 'none', why: 'quantifiers stay greedy' },
  firstline: { kind: 'none', why: 'the match may start after the first newline' },
  utf: { kind: 'none', why: 'the body is matched as bytes (latin1), not as UTF-8 characters' },
  ucp: { kind: 'none', why: '\\d, \\w and \\s match ASCII characters only' },
};

/** The RegExp flags for some regex_options words, and the messages for the words without an equivalent. */
export function regexOptionFlags(words: readonly string[]): { flags: string; unsupported: string[] } {
  const flags = new Set<string>();
  const unsupported: string[] = [];
  for (const w of words) {
    const m = Object.prototype.hasOwnProperty.call(REGEX_OPTIONS, w) ? REGEX_OPTIONS[w] : undefined;
    if (m === undefined) unsupported.push(`Unknown regex_options ${w} - ignoring`);
    else if (m.kind === 'flag') flags.add(m.flag);
    else if (m.kind === 'none') unsupported.push(`regex_options ${w} has no JavaScript RegExp equivalent - ignoring (${m.why})`);
  }
  return { flags: [...flags].sort().join(''), unsupported };
}
