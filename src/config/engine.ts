// keepalived's process_stream() and alloc_value_block(): walks the logical lines against nested
// keyword tables. Its quirks are deliberate (they decide which lines keepalived applies where):
// an unknown keyword followed by `{` reports "Unexpected '{' - ignoring" and its inner lines are
// read at the enclosing level, and the `}` that closed it then closes the enclosing block.

import type { Diagnostic, SourceLocation } from './model.js';
import type { LineReader } from './reader.js';

/**
 * What lvskeeper does with a keyword keepalived 2.2.7 accepts, when it does not simply work. The
 * keyword tables carry it so that docs/KEYWORDS.md is generated from them and cannot drift.
 */
export interface KeywordStatus {
  /**
   * `warns`: accepted and not acted on, reported at each use as an `unsupported` diagnostic (`-t` exits 0,
   * as keepalived's would). `refuses`: its absence would change safety (authentication, routes, addresses,
   * who owns a VIP), so each use is a configuration error until it is implemented. `extension`: lvskeeper's
   * own keyword, unknown to keepalived 2.2.7 (which reports it and goes on).
   */
  kind: 'warns' | 'refuses' | 'extension';
  /** What happens instead, as the message says it ("the processes keep lvskeeper's names"). */
  why: string;
  /** The handler reports it itself (its message quotes the value); the engine does not. */
  reportedByHandler?: true;
}

export interface Keyword {
  /** Absent: the keyword works as in keepalived. */
  status?: KeywordStatus;
  /** Called with the keyword line's words (word 0 is the keyword). */
  handler?: (words: string[], at: SourceLocation) => void;
  /** Sub-keywords: the keyword opens a `{ }` block read against this table. */
  sub?: KeywordTable;
  /** Called when the block closes normally. */
  close?: () => void;
}

export type KeywordTable = Map<string, Keyword>;

export class Engine {
  private level = 0;
  /** keepalived's skip_sublevel: -1 = skip the block if the next line opens one; n > 0 = depth inside a skipped block. */
  private skipLevel = 0;
  /** Words of the line being handled, for messages about it. */
  currentWords: string[] = [];

  constructor(
    private readonly reader: LineReader,
    private readonly report: (d: Diagnostic) => void,
  ) {}

  at(): SourceLocation {
    return { file: this.reader.lastFile, line: this.reader.lastLine };
  }

  error(message: string, keyword?: string, at?: SourceLocation, severity: Diagnostic['severity'] = 'error'): void {
    const loc = at ?? this.at();
    const d: Diagnostic = { severity, file: loc.file, line: loc.line, message };
    if (keyword !== undefined) d.keyword = keyword;
    this.report(d);
  }

  warn(message: string, keyword?: string, at?: SourceLocation): void {
    this.error(message, keyword, at, 'warning');
  }

  /** The one message for an accepted keyword lvskeeper does not act on (or refuses). */
  reportStatus(keyword: string, status: KeywordStatus, at: SourceLocation): void {
    if (status.kind === 'refuses') this.error(`${keyword} is not supported by lvskeeper yet: ${status.why}`, keyword, at);
    else this.error(`${keyword} is not supported by lvskeeper: ${status.why}`, keyword, at, 'unsupported');
  }

  /** Handlers call this to ignore the rest of the block they open (keepalived's skip_block). */
  skipBlock(): void {
    this.skipLevel = -1;
  }

  run(table: KeywordTable): void {
    this.stream(table, false);
  }

  /** Returns true when the block was skipped (no close handler then). */
  private stream(table: KeywordTable, needOpen: boolean): boolean {
    let skipped = false;
    const reader = this.reader;
    for (let words = reader.next(); words !== undefined; words = reader.next()) {
      this.currentWords = words;
      const first = words[0]!;
      if (this.skipLevel === -1) {
        if (first === '{') {
          this.skipLevel = 1;
          needOpen = false;
          continue;
        }
        this.skipLevel = 0;
      }
      if (this.skipLevel > 0) {
        for (const w of words) {
          if (w === '{') this.skipLevel++;
          else if (w === '}' && --this.skipLevel === 0) break;
        }
        if (first === '}' && this.skipLevel === 0 && this.level > 0) {
          skipped = true;
          break;
        }
        continue;
      }
      if (needOpen) {
        needOpen = false;
        if (first === '{' && this.level > 0) continue;
        this.error("Missing '{' at beginning of configuration block");
      } else if (first === '{') {
        this.error("Unexpected '{' - ignoring");
        continue;
      }
      if (first === '}' && this.level > 0) break;
      const kw = table.get(first);
      if (kw === undefined) {
        this.error(`Unknown keyword '${first}'`, first);
        continue;
      }
      const at = { file: reader.lastFile, line: reader.lastLine };
      if (kw.status !== undefined && kw.status.kind !== 'extension' && kw.status.reportedByHandler !== true) this.reportStatus(first, kw.status, at);
      kw.handler?.(words, at);
      if (kw.sub !== undefined) {
        this.level++;
        const wasSkipped = this.stream(kw.sub, true);
        this.level--;
        if (!wasSkipped) kw.close?.();
      }
    }
    return skipped;
  }

  /**
   * A value block (virtual_ipaddress, track_script, …): each line until `}` is one entry.
   * keepalived only logs (not a config error) when the `{` is missing.
   */
  valueBlock(words: string[], onEntry: (entry: string[], at: SourceLocation) => void): void {
    if (words.length > 1) {
      this.error(`Block ${words[0]} has extra parameters ${words[1]} ...`);
    }
    let needOpen = true;
    const reader = this.reader;
    for (let words = reader.next(); words !== undefined; words = reader.next()) {
      this.currentWords = words;
      let entry = words;
      if (needOpen) {
        needOpen = false;
        if (entry[0] === '{') {
          if (entry.length === 1) continue;
          entry = entry.slice(1);
        }
      }
      if (entry[entry.length - 1] === '}') {
        if (entry.length === 1) break;
        onEntry(entry.slice(0, -1), { file: reader.lastFile, line: reader.lastLine });
        break;
      }
      onEntry(entry, { file: reader.lastFile, line: reader.lastLine });
    }
  }
}
