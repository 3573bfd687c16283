// The line reader: keepalived's read_line() (lib/parser.c) as a pull lexer. It turns the physical
// lines of the configuration (and its includes) into logical lines of words, applying, in
// keepalived's order: comment removal, `@ID` conditionals, `$NAME=value` definitions and their
// expansion, `~SEQ`/`~LST` repetition, `include`, and the splitting of `{` / `}` onto lines of their own.
// No I/O of its own: files come through the injected `FileAccess`.

import type { Diagnostic } from './model.js';

export interface FileAccess {
  /** File contents, or undefined when it cannot be read; more than maxBytes characters: too big (reading may stop there). */
  readFile(path: string, maxBytes: number): string | undefined;
  /** Files matching an include pattern (absolute), sorted; glob `* ? [..]` and `{a,b}` braces; more than limit: too many. */
  expandGlob(pattern: string, limit: number): string[];
  /** The directory name of a path. */
  dirname(path: string): string;
  /** Make a pattern absolute relative to a directory. */
  resolve(dir: string, pattern: string): string;
  /** The current working directory for ${_PWD}. */
  cwd(): string;
}


interface FileContext {
  file: string;
  /** The whole file; lines are sliced on demand so they die young (no array of 370k survivors). */
  text: string;
  /** Offset of the next physical line in `text`, or -1 at the end. */
  pos: number;
  /** Number of the next physical line. */
  lineNo: number;
  /** A lone `{`/`}` that ended the previous fast-path line ('' = none): emitted next, before the queue. */
  pendingBrace: string;
  pendingLine: number;
  /**
   * Logical lines already produced from the current physical line, or includes awaiting opening, as a
   * stack: the next one is last, so a residue goes in front in O(its size), whatever ~SEQ queued.
   */
  pending: QueueItem[];
  /** The include glob's directory, for relative includes from this file. */
  dir: string;
  /** The physical line being expanded, named by messages about its expansion. */
  construct: string;
}

/** plain: the text has no `$` and no `include`, and so neither has any part of it (its residues). */
type QueueItem = { text: string; line: number; plain: boolean } | { include: string; mode: IncludeMode; line: number };

type IncludeMode = { mustMatch: boolean; mustRead: boolean; warnOnly: boolean };

interface Definition {
  value: string;
  multiline: boolean;
  /** A multi-line value split once (at its first use, once complete), not at every use. */
  lines?: string[] | undefined;
  /** Built-ins computed at use time. */
  fn?: (params: string | undefined) => string;
  maxParams: number;
}

const INCLUDE_KEYWORDS: Record<string, IncludeMode | 'default'> = {
  include: 'default',
  includer: { mustMatch: false, mustRead: true, warnOnly: false },
  includem: { mustMatch: true, mustRead: false, warnOnly: false },
  includeb: { mustMatch: true, mustRead: true, warnOnly: false },
  includea: { mustMatch: true, mustRead: true, warnOnly: false },
  includew: { mustMatch: true, mustRead: true, warnOnly: true },
};

const MAX_INCLUDE_DEPTH = 32;

/*
 * Expansion bounds. keepalived streams its expansions (a ~SEQ of 10^8 lines, or an include with 40
 * `{a,b}` groups, runs for hours in constant memory); this reader queues a line's expansion, so each
 * amplifying construct is bounded, counted as it is produced, and exceeding a bound is a config error
 * at the line (never an out-of-memory crash of the parent at SIGHUP). Sizes: the 378k-line, 8 MB
 * config of `npm run bench:parse` (a 2,000 x 20 farm, the size of keepalived issue #2318) reads with
 * 8x headroom and no expansion; expansions may add 2.6x its lines.
 */
export const READER_LIMITS = {
  /** keepalived's MAXBUF (1024) line buffer: it refuses a substitution that would not fit ("would exceed maximum line length"). */
  lineBytes: 1023,
  /** Passes of $NAME replacement (nested definitions); keepalived has no bound (a self-reference loops forever). */
  definitionNesting: 32,
  /** Nesting of ~SEQ/~LST and multi-line definitions within one line. */
  expansionDepth: 64,
  /** Lines (each ~SEQ/~LST round, each line of a multi-line definition) and bytes (those lines and every substitution's result) that expansion produces in the whole configuration. */
  expandedLines: 1_000_000,
  expandedBytes: 64 * 1024 * 1024,
  /** Files read (main and includes, a re-read counted again) and their total size. */
  files: 10_000,
  fileBytes: 64 * 1024 * 1024,
  /** Patterns one include's `{a,b}` groups expand to (glibc's GLOB_BRACE has no bound; keepalived takes 0.3 s for 65,536). */
  includePatterns: 1024,
  /** keepalived copies ~SEQ's numbers into a 64-byte buffer ("~SEQ parameter strings too long"). */
  seqParams: 62,
} as const;
const L = READER_LIMITS;

export class LineReader {
  private readonly stack: FileContext[] = [];
  private readonly definitions = new Map<string, Definition>();
  private multilineDef: Definition | undefined;
  private includeDefault: IncludeMode = { mustMatch: false, mustRead: false, warnOnly: false };
  private expandedLines = 0;
  private expandedBytes = 0;
  private filesRead = 0;
  private bytesRead = 0;
  /** A total bound was exceeded (and reported once): further expansion, or reading, is refused. */
  private expansionRefused = false;
  private readingRefused = false;
  /** file:line of the last per-line bound error: one per line, not one per ~SEQ round. */
  private lastBoundError = '';
  /** Count of `{` minus `}` lines seen, as keepalived's block_depth. */
  private blockDepth = 0;
  /** Where the last line came from, for messages issued between lines. */
  lastFile: string;
  lastLine = 1;

  constructor(
    private readonly mainFile: string,
    private readonly files: FileAccess,
    private readonly configId: string,
    private readonly report: (d: Diagnostic) => void,
  ) {
    this.lastFile = mainFile;
    this.definitions.set('_PWD', { value: '', multiline: false, maxParams: 0, fn: () => files.cwd() });
    this.definitions.set('_INSTANCE', { value: '', multiline: false, maxParams: 0, fn: () => configId });
    this.definitions.set('_RANDOM', { value: '', multiline: false, maxParams: 2, fn: randomValue });
    this.definitions.set('_HASH', { value: '#', multiline: false, maxParams: 0 });
    this.definitions.set('_BANG', { value: '!', multiline: false, maxParams: 0 });
  }

  /** `-e` / `--all-config`: every plain include must match and be readable (keepalived's includet). */
  requireAllIncludes(): void {
    this.includeDefault = { mustMatch: true, mustRead: true, warnOnly: false };
  }

  /** Opens the main file; false when it cannot be read. */
  open(): boolean {
    const text = this.readCounted(this.mainFile);
    if (text === undefined) return false;
    if (text === null) {
      this.error(this.mainFile, 1, `Configuration file '${this.mainFile}' is larger than ${L.fileBytes} bytes`);
      return true;
    }
    this.pushFile(this.mainFile, text);
    return true;
  }

  /** A file within the total bounds: undefined when unreadable, null when it would exceed them. */
  private readCounted(file: string): string | null | undefined {
    const left = L.fileBytes - this.bytesRead;
    const text = this.files.readFile(file, left);
    if (text === undefined) return undefined;
    this.filesRead++;
    if (text.length > left) return null;
    this.bytesRead += text.length;
    return text;
  }

  /** Unclosed `{` at the end, as keepalived reports after reading everything. */
  get unclosedBlocks(): number {
    return this.blockDepth;
  }

  private pushFile(file: string, text: string): void {
    this.stack.push({
      file,
      text,
      pos: text.length === 0 ? -1 : 0,
      lineNo: 1,
      pendingBrace: '',
      pendingLine: 0,
      pending: [],
      dir: this.files.dirname(file),
      construct: '',
    });
  }

  private error(file: string, line: number, message: string, severity: Diagnostic['severity'] = 'error'): void {
    this.report({ severity, file, line, message });
  }

  /** The next logical line, or undefined at the end of all input. */
  /** The words of the next logical line (its location is lastFile/lastLine), or undefined at the end. */
  next(): string[] | undefined {
    for (;;) {
      const ctx = this.stack[this.stack.length - 1];
      if (ctx === undefined) return undefined;
      if (ctx.pendingBrace !== '') {
        const brace = ctx.pendingBrace;
        ctx.pendingBrace = '';
        return this.finish(ctx, brace, ctx.pendingLine, true)!;
      }
      const item = ctx.pending.pop();
      if (item !== undefined) {
        if ('include' in item) {
          this.include(ctx, item.include, item.mode, item.line);
          continue;
        }
        const out = this.finish(ctx, item.text, item.line, item.plain);
        if (out !== undefined) return out;
        continue;
      }
      if (ctx.pos < 0) {
        this.stack.pop();
        // keepalived frees the ~SEQ list at the end of each file; a multi-line definition ends too.
        this.multilineDef = undefined;
        continue;
      }
      const lineNo = ctx.lineNo++;
      const nl = ctx.text.indexOf('\n', ctx.pos);
      let raw = nl < 0 ? ctx.text.slice(ctx.pos) : ctx.text.slice(ctx.pos, nl);
      ctx.pos = nl < 0 ? -1 : nl + 1;
      if (raw.length !== 0 && raw.charCodeAt(raw.length - 1) === 13) raw = raw.replace(/\r+$/, '');
      if (this.multilineDef !== undefined) {
        this.continueDefinition(raw, lineNo, ctx.file);
        continue;
      }
      if (raw.length === 0) continue;
      // Single-pass fast path for plain statement lines (no quotes, escapes, $, @, ~, include,
      // and braces only as a trailing word); everything else takes keepalived's full pipeline.
      const words = fastWords(raw);
      if (words !== null) {
        const brace = fastBrace;
        if (words.length === 0) {
          if (brace === '') continue;
          return this.finish(ctx, brace, lineNo, true)!;
        }
        const w0 = words[0]!;
        if (w0.length < 7 || !w0.startsWith('include')) {
          if (brace !== '') {
            ctx.pendingBrace = brace;
            ctx.pendingLine = lineNo;
          }
          this.lastFile = ctx.file;
          this.lastLine = lineNo;
          return words;
        }
      }
      const text = decomment(raw, (msg) => this.error(ctx.file, lineNo, msg));
      if (text.length === 0) continue;
      ctx.construct = text;
      // Fast path: the overwhelmingly common plain statement line.
      const c0 = text.charCodeAt(0);
      const plain = text.indexOf('$') < 0 && text.indexOf('include') < 0;
      if (plain && c0 !== 64 /* @ */ && c0 !== 126 /* ~ */) {
        const out = this.finish(ctx, text, lineNo, true);
        if (out !== undefined) return out;
        continue;
      }
      this.expand(ctx, text, lineNo, plain);
    }
  }

  /** Processes a text at the top level, its results next in line. */
  private expand(ctx: FileContext, text: string, lineNo: number, plain: boolean): void {
    const from = ctx.pending.length;
    this.process(ctx, text, lineNo, 0, plain);
    const p = ctx.pending;
    for (let i = from, j = p.length - 1; i < j; i++, j--) {
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
  }

  /** A physical line while a `\`-continued definition is being collected. */
  private continueDefinition(raw: string, lineNo: number, file: string): void {
    const def = this.multilineDef!;
    let text = raw.length === 0 ? '' : decomment(raw, (msg) => this.error(file, lineNo, msg));
    if (text.endsWith('\\')) {
      text = text.slice(0, -1).trimEnd();
      if (text.length !== 0) def.value = def.value.length === 0 ? text : `${def.value}\n${text}`;
      return;
    }
    this.multilineDef = undefined;
    if (text.length !== 0) def.value = def.value.length === 0 ? text : `${def.value}\n${text}`;
    if (!def.value.includes('\n')) def.multiline = false;
  }

  /**
   * Applies conditionals, definitions, ~SEQ/~LST and $-expansion to one logical text, queueing
   * the results on the file context (so includes are opened in order). depth > 0: a text that
   * expansion produced (a ~SEQ/~LST round, a line of a multi-line definition), counted.
   */
  private process(ctx: FileContext, text: string, lineNo: number, depth: number, plain = false): void {
    if (depth > 0 && !this.spend(ctx, lineNo, 1, text.length)) return;
    if (depth > L.expansionDepth) {
      this.refuseExpansion(ctx, lineNo, `'${quote(ctx.construct)}' nests ~SEQ, ~LST and multi-line definitions more than ${L.expansionDepth} levels deep`);
      return;
    }
    // A physical line longer than keepalived's buffer may stay so, it may not grow past it.
    const maxLength = Math.max(L.lineBytes, text.length);
    for (let pass = 0; ; pass++) {
      if (text.charCodeAt(0) === 64 /* @ */) {
        const negate = text.charCodeAt(1) === 94; /* ^ */
        const start = negate ? 2 : 1;
        const m = /[ \t]/.exec(text.slice(start));
        if (m === null) return; // nothing after the id: the line is dropped, as keepalived does
        const id = text.slice(start, start + m.index);
        if ((id === this.configId) === negate) return;
        text = text.slice(start + m.index).replace(/^[ \t]+/, '');
        if (text.length === 0) return;
      }
      if (text.charCodeAt(0) === 36 /* $ */ && this.defineFrom(text, ctx.file, lineNo)) return;
      if (text.startsWith('~SEQ') || text.startsWith('~LST')) {
        this.repeat(ctx, text, lineNo, depth, plain);
        return;
      }
      if (text.charCodeAt(0) === 126 /* ~ */) break;
      if (plain || text.indexOf('$') < 0) break;
      const replaced = this.replaceParams(text, maxLength);
      if (replaced === undefined) break;
      if (replaced.tooLong !== undefined) {
        this.boundError(ctx, lineNo, `'${quote(replaced.tooLong)}' expands the line to more than ${L.lineBytes} bytes (keepalived's line buffer): '${quote(ctx.construct)}'`);
        return;
      }
      if (pass === L.definitionNesting) {
        this.boundError(ctx, lineNo, `Definitions in '${quote(ctx.construct)}' nest more than ${L.definitionNesting} levels deep`);
        return;
      }
      if (!this.spend(ctx, lineNo, 0, replaced.first.length)) return;
      text = replaced.first;
      plain = false;
      if (replaced.rest.length > 1) {
        this.process(ctx, text, lineNo, depth + 1);
        for (let i = 1; i < replaced.rest.length && !this.expansionRefused; i++) this.process(ctx, replaced.rest[i]!, lineNo, depth + 1);
        return;
      }
      if (text.length === 0) return;
      if (text.charCodeAt(0) !== 64 && text.indexOf('$') < 0) break;
    }
    this.queueText(ctx, text, lineNo, plain);
  }

  /** Counts what expansion produced; false (after one error naming the line) past the bounds. */
  private spend(ctx: FileContext, lineNo: number, lines: number, bytes: number): boolean {
    if (this.expansionRefused) return false;
    this.expandedLines += lines;
    this.expandedBytes += bytes;
    if (this.expandedLines > L.expandedLines) {
      this.refuseExpansion(ctx, lineNo, `'${quote(ctx.construct)}' expands to more than ${L.expandedLines} lines (counting the expansions before it)`);
      return false;
    }
    if (this.expandedBytes > L.expandedBytes) {
      this.refuseExpansion(ctx, lineNo, `'${quote(ctx.construct)}' expands to more than ${L.expandedBytes} bytes (counting the expansions before it)`);
      return false;
    }
    return true;
  }

  private refuseExpansion(ctx: FileContext, lineNo: number, message: string): void {
    if (this.expansionRefused) return;
    this.expansionRefused = true;
    this.error(ctx.file, lineNo, message);
  }

  private boundError(ctx: FileContext, lineNo: number, message: string): void {
    const at = `${ctx.file}\0${lineNo}`;
    if (at === this.lastBoundError) return;
    this.lastBoundError = at;
    this.error(ctx.file, lineNo, message);
  }

  private queueText(ctx: FileContext, text: string, lineNo: number, plain: boolean): void {
    if (text.length === 0) return;
    if (!plain) {
      const inc = this.includeOf(text);
      if (inc !== undefined) {
        ctx.pending.push({ include: inc.pattern, mode: inc.mode, line: lineNo });
        return;
      }
      plain = text.indexOf('$') < 0 && text.indexOf('include') < 0;
    }
    ctx.pending.push({ text, line: lineNo, plain });
  }

  /** `include FILE` (exactly two words) or a variant; `include_check` is handled here too. */
  private includeOf(text: string): { pattern: string; mode: IncludeMode } | undefined {
    if (text.indexOf('include') < 0) return undefined;
    const words = splitWords(text, undefined);
    const kw = words[0];
    if (kw === undefined) return undefined;
    if (kw === 'include_check') {
      // include_check [readable] [match] [warn]: the default checks of a plain include.
      const mode: IncludeMode = { mustMatch: false, mustRead: false, warnOnly: false };
      const opts = words.length === 1 ? ['readable', 'match'] : words.slice(1);
      for (const w of opts) {
        if (w === 'readable') mode.mustRead = true;
        else if (w === 'match') mode.mustMatch = true;
        else if (w === 'warn') mode.warnOnly = true;
      }
      this.includeDefault = mode;
      return { pattern: '', mode };
    }
    const variant = INCLUDE_KEYWORDS[kw];
    if (variant === undefined || words.length !== 2) return undefined;
    return { pattern: words[1]!, mode: variant === 'default' ? this.includeDefault : variant };
  }

  private include(ctx: FileContext, pattern: string, mode: IncludeMode, lineNo: number): void {
    if (pattern === '') return; // include_check
    if (this.stack.length > MAX_INCLUDE_DEPTH) {
      this.error(ctx.file, lineNo, `Include depth exceeds ${MAX_INCLUDE_DEPTH} for '${pattern}' - ignoring`);
      return;
    }
    if (this.readingRefused) return;
    const absolute = this.files.resolve(ctx.dir, pattern);
    if (braceExpansionCount(absolute, L.includePatterns) > L.includePatterns) {
      this.boundError(ctx, lineNo, `include '${quote(pattern)}' expands to more than ${L.includePatterns} patterns`);
      return;
    }
    const budget = L.files - this.filesRead;
    const matches = this.files.expandGlob(absolute, budget);
    if (matches.length > budget) {
      this.refuseReading(ctx, lineNo, `include '${quote(pattern)}' reads more than ${L.files} files (counting the files before it)`);
      return;
    }
    const severity = mode.warnOnly ? 'warning' : 'error';
    if (matches.length === 0) {
      // keepalived only logs "No config files matched"; that is not a config error in 2.2.7.
      if (mode.mustMatch) this.error(ctx.file, lineNo, `No config files matched '${pattern}'.`, severity);
      return;
    }
    // Push in reverse so the first match is read first.
    const opened: Array<{ file: string; text: string }> = [];
    for (const file of matches) {
      if (this.stack.some((c) => c.file === file)) {
        this.error(ctx.file, lineNo, `Include of '${file}' would recurse - ignoring`);
        continue;
      }
      const text = this.readCounted(file);
      if (text === null) {
        this.refuseReading(ctx, lineNo, `include '${quote(pattern)}' reads more than ${L.fileBytes} bytes (counting the files before it)`);
        break;
      }
      if (text === undefined) {
        if (mode.mustRead) this.error(ctx.file, lineNo, `Configuration file '${file}' cannot be read - skipping`, severity);
        continue;
      }
      opened.push({ file, text });
    }
    for (let i = opened.length - 1; i >= 0; i--) this.pushFile(opened[i]!.file, opened[i]!.text);
  }

  private refuseReading(ctx: FileContext, lineNo: number, message: string): void {
    this.readingRefused = true;
    this.error(ctx.file, lineNo, message);
  }

  /** `$NAME=value` (or `$NAME = value`); true when the text was a definition. */
  private defineFrom(text: string, file: string, lineNo: number): boolean {
    const c1 = text.charCodeAt(1);
    if (!(isAlpha(c1) || c1 === 95)) return false;
    let p = 2;
    while (p < text.length && isWordChar(text.charCodeAt(p))) p++;
    const name = text.slice(1, p);
    while (text[p] === ' ' || text[p] === '\t') p++;
    if (text[p] !== '=') return false;
    p++;
    while (text[p] === ' ' || text[p] === '\t') p++;
    let value = text.slice(p);
    let multiline = false;
    if (value.endsWith('\\')) {
      value = value.slice(0, -1).trimEnd();
      multiline = true;
    }
    const def: Definition = { value, multiline, maxParams: 0 };
    this.definitions.set(name, def);
    if (multiline) this.multilineDef = def;
    void file;
    void lineNo;
    return true;
  }

  /**
   * One pass of $NAME / ${NAME} / ${_RANDOM a b} replacement. Returns undefined when nothing was
   * replaced. A multi-line definition (only allowed at the end of a line) yields extra lines:
   * `rest` is all its lines, `first` holds the first. `tooLong`: the reference that would take the
   * line past maxLength, checked before each replacement as keepalived's replace_param() does.
   */
  private replaceParams(text: string, maxLength: number): { first: string; rest: readonly string[]; tooLong?: string } | undefined {
    let out = '';
    let pos = 0;
    let found = false;
    let rest: readonly string[] = NO_LINES;
    for (;;) {
      const dollar = text.indexOf('$', pos);
      if (dollar < 0 || dollar + 1 >= text.length) break;
      const hit = this.findDefinition(text, dollar + 1);
      if (hit === undefined) {
        out += text.slice(pos, dollar + 1);
        pos = dollar + 1;
        continue;
      }
      found = true;
      out += text.slice(pos, dollar);
      const def = hit.def;
      let value = def.fn !== undefined ? def.fn(hit.params) : def.value;
      if (def.multiline) {
        rest = def.lines ??= value.split('\n');
        value = rest[0] ?? '';
      }
      if (out.length + value.length + text.length - hit.end > maxLength) return { first: '', rest: NO_LINES, tooLong: text.slice(dollar, hit.end) };
      out += value;
      pos = hit.end;
      // keepalived stops replacing when the value starts a ~SEQ (it is expanded later).
      if (value.trimStart().startsWith('~')) break;
      if (def.multiline) break;
    }
    if (!found) return undefined;
    out += text.slice(pos);
    return { first: out, rest };
  }

  private findDefinition(text: string, at: number): { def: Definition; end: number; params?: string } | undefined {
    let p = at;
    const braces = text.charCodeAt(p) === 123; /* { */
    if (braces) p++;
    const c = text.charCodeAt(p);
    if (!(isAlpha(c) || c === 95)) return undefined;
    const nameStart = p;
    p++;
    while (p < text.length && isWordChar(text.charCodeAt(p))) p++;
    const name = text.slice(nameStart, p);
    let params: string | undefined;
    if (braces) {
      // Only blanks and digits may come before the `}` (scanned so, not searched for: a long line
      // of `${` without `}` stays linear).
      let close = p;
      while (close < text.length && (text.charCodeAt(close) === 32 || isDigit(text.charCodeAt(close)))) close++;
      if (close >= text.length || text.charCodeAt(close) !== 125 /* } */) return undefined;
      const between = text.slice(p, close);
      if (between.length !== 0) {
        if (between.endsWith(' ')) return undefined;
        params = between.trim();
        if (params.length === 0) params = undefined;
      }
      p = close + 1;
    } else {
      const next = text[p];
      if (next !== undefined && next !== ' ' && next !== '\t' && next !== ',' && next !== ')') return undefined;
    }
    const def = this.definitions.get(name);
    if (def === undefined) return undefined;
    if (def.multiline && p !== text.length) return undefined;
    if (params !== undefined && def.maxParams === 0) return undefined;
    return params === undefined ? { def, end: p } : { def, end: p, params };
  }

  /** `~SEQ(var, start, step, end) text`, `~SEQx(...)`, `~LST(var, v1, v2, ...) text`. */
  private repeat(ctx: FileContext, text: string, lineNo: number, depth: number, plain: boolean): void {
    const isList = text.startsWith('~LST');
    let p = 4;
    const hex = !isList && text[p] === 'x';
    if (hex) p++;
    while (text[p] === ' ' || text[p] === '\t') p++;
    const close = text.indexOf(')', p);
    const kind = isList ? '~LST' : '~SEQ';
    if (text[p] !== '(' || close < 0) {
      this.error(ctx.file, lineNo, `Invalid ${kind} specification '${redact(text)}'`);
      return;
    }
    let inner = text.slice(p + 1, close);
    if (!isList) {
      const comma = inner.indexOf(',');
      if (comma >= 0 && inner.slice(comma + 1).replace(/^[ \t]+/, '').length > L.seqParams) {
        this.error(ctx.file, lineNo, `~SEQ parameter strings too long '${quote(text)}'`);
        return;
      }
    }
    // Parameters may themselves use definitions.
    if (inner.indexOf('$') >= 0) {
      const replaced = this.replaceParams(inner, L.lineBytes);
      if (replaced !== undefined && replaced.tooLong === undefined) inner = replaced.first;
    }
    const parts = inner.split(',').map((s) => s.trim());
    const variable = parts.shift() ?? '';
    const body = text.slice(close + 1).replace(/^[ \t]+/, '');
    if (variable.length === 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable) || parts.length === 0) {
      this.error(ctx.file, lineNo, `Invalid ${kind} definition '${redact(text)}'`);
      return;
    }
    let count: number;
    let start = 0;
    let step = 1;
    if (isList) {
      count = parts.length;
    } else {
      const nums = parts.map((s) => parseCLong(s));
      if (nums.some((n) => n === undefined) || nums.length > 3) {
        this.error(ctx.file, lineNo, `Invalid ~SEQ definition '${redact(text)}'`);
        return;
      }
      let end: number;
      if (nums.length === 1) {
        end = nums[0]!;
        step = end < 1 ? -1 : 1;
        start = end < 0 ? -1 : 1;
      } else if (nums.length === 2) {
        start = nums[0]!;
        end = nums[1]!;
        step = start <= end ? 1 : -1;
      } else {
        start = nums[0]!;
        step = nums[1]!;
        end = nums[2]!;
        if (step === 0 || (start < end && step < 0) || (start > end && step > 0)) {
          this.error(ctx.file, lineNo, `Invalid ~SEQ values '${redact(text)}'`);
          return;
        }
      }
      if (hex && (start < 0 || end < 0)) {
        this.error(ctx.file, lineNo, `~SEQx is only valid for positive numbers '${redact(text)}'`);
        return;
      }
      // Counted, not generated: keepalived steps through any range, however long.
      count = Math.floor((end - start) / step) + 1;
    }
    if (!(count <= L.expandedLines)) {
      this.refuseExpansion(ctx, lineNo, `'${quote(text)}' expands to more than ${L.expandedLines} lines`);
      return;
    }
    for (let i = 0; i < count && !this.expansionRefused; i++) {
      const v = start + i * step;
      const value = isList ? parts[i]! : hex ? v.toString(16) : String(v);
      this.definitions.set(variable, { value, multiline: false, maxParams: 0 });
      this.process(ctx, body, lineNo, depth + 1, plain);
    }
  }

  /**
   * Splits a processed text at its first `{` or `}` outside quotes (keepalived puts each brace
   * on a line of its own, the text after it becomes the next line), then splits into words.
   */
  private finish(ctx: FileContext, text: string, lineNo: number, plain: boolean): string[] | undefined {
    if (text.length === 1 && (text === '{' || text === '}')) {
      // A lone brace: count it (keepalived's block_depth) and share one words array.
      if (text === '{') this.blockDepth++;
      else if (this.blockDepth-- < 1) {
        this.error(ctx.file, lineNo, "Extra '}' found");
        this.blockDepth = 0;
      }
      this.lastFile = ctx.file;
      this.lastLine = lineNo;
      return text === '{' ? OPEN_WORDS : CLOSE_WORDS;
    }
    let head = text;
    const brace = findBrace(text);
    if (brace >= 0) {
      let residue: string;
      if (brace === 0) {
        head = text[0]!;
        residue = text.slice(1).trim();
      } else {
        head = text.slice(0, brace).trimEnd();
        residue = text.slice(brace).trimEnd();
      }
      // The residue goes through conditionals/definitions again, ahead of anything queued. Scanning
      // it again for `$` and `include` costs its length: that is counted, or a long line of braces
      // would take quadratic time (keepalived's 1023-byte buffer bounds its own rescans).
      if (residue.length !== 0 && (plain || this.spend(ctx, lineNo, 0, residue.length))) this.expand(ctx, residue, lineNo, plain);
    }
    if (head === '{') this.blockDepth++;
    else if (head === '}') {
      if (this.blockDepth-- < 1) {
        this.error(ctx.file, lineNo, "Extra '}' found");
        this.blockDepth = 0;
      }
    }
    this.lastFile = ctx.file;
    this.lastLine = lineNo;
    const words = splitWords(head, (msg) => this.error(ctx.file, lineNo, msg));
    if (words.length === 0) return undefined;
    return words;
  }
}

/** A line or pattern as messages quote it: no auth_pass value, at most 80 characters. */
function quote(text: string): string {
  const t = redact(text);
  return t.length <= 80 ? t : `${t.slice(0, 77)}...`;
}

/**
 * How many patterns `{a,b}` brace expansion (node-io's expandBraces(), as glob(3) GLOB_BRACE) makes
 * of a pattern, without making them: a group's alternatives add up, groups multiply. Past cap (or
 * braces nested more than 32 deep) it returns cap + 1.
 */
export function braceExpansionCount(pattern: string, cap: number): number {
  return countAlternatives(pattern, 0, pattern.length, cap, 0);
}

function countAlternatives(s: string, from: number, to: number, cap: number, nesting: number): number {
  if (nesting > 32) return cap + 1;
  let total = 1;
  let pos = from;
  for (;;) {
    const open = s.indexOf('{', pos);
    if (open < 0 || open >= to) return total;
    let depth = 0;
    let close = -1;
    for (let i = open; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c === 123) depth++;
      else if (c === 125 && --depth === 0) {
        close = i;
        break;
      }
    }
    if (close < 0) return total; // an unclosed `{`: the rest is literal
    let sum = 0;
    let start = open + 1;
    depth = 0;
    for (let i = open + 1; i <= close; i++) {
      const c = s.charCodeAt(i);
      if (i === close || (c === 44 /* , */ && depth === 0)) {
        sum += countAlternatives(s, start, i, cap, nesting + 1);
        if (sum > cap) return cap + 1;
        start = i + 1;
      } else if (c === 123) depth++;
      else if (c === 125) depth--;
    }
    total *= sum;
    if (total > cap) return cap + 1;
    pos = close + 1;
  }
}

/** Messages that quote a line never show an auth_pass value. */
export function redact(text: string): string {
  const at = text.indexOf('auth_pass');
  return at < 0 ? text : `${text.slice(0, at)}auth_pass <redacted>`;
}

const NO_LINES: readonly string[] = [];

/** Shared words of a lone-brace line (never mutated by consumers). */
const OPEN_WORDS: string[] = ['{'];
const CLOSE_WORDS: string[] = ['}'];

/** Set by fastWords(): '{' or '}' when the line ended with a lone brace word, else ''. */
let fastBrace = '';

/**
 * Words of a plain line in one pass, or null when the line needs the full pipeline (quotes,
 * escapes, $, a leading @ or ~, a brace that is not the last word, vertical tab/form feed).
 * A comment (# or !) ends the line even mid-word, as keepalived's decomment().
 */
function fastWords(raw: string): string[] | null {
  fastBrace = '';
  const n = raw.length;
  const words: string[] = [];
  let i = 0;
  while (i < n) {
    let c = raw.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    if (c === 35 || c === 33) return words; // # or !: comment to end of line
    if (c === 123 || c === 125) {
      // A brace word: only handled here when nothing but blanks or a comment follows.
      let j = i + 1;
      while (j < n) {
        const d = raw.charCodeAt(j);
        if (d === 35 || d === 33) break;
        if (d !== 32 && d !== 9 && d !== 13) return null;
        j++;
      }
      fastBrace = c === 123 ? '{' : '}';
      return words;
    }
    if (c === 34 || c === 92 || c === 36 || c === 11 || c === 12 || (words.length === 0 && (c === 64 || c === 126))) return null;
    const start = i;
    for (i++; i < n; i++) {
      c = raw.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13 || c === 35 || c === 33) break;
      if (c === 34 || c === 92 || c === 36 || c === 123 || c === 125 || c === 11 || c === 12) return null;
    }
    words.push(raw.slice(start, i));
    if (c === 35 || c === 33) return words;
  }
  return words;
}

/**
 * keepalived's decomment(): strips leading/trailing blanks and a `#`/`!` comment outside double
 * quotes (even mid-word); `\#` and `\!` outside quotes become literal.
 */
export function decomment(raw: string, onError: (message: string) => void): string {
  let quote = false;
  let cut = -1;
  let needsUnescape = false;
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c === 34 /* " */) {
      quote = !quote;
    } else if (c === 92 /* \ */) {
      const d = raw.charCodeAt(i + 1);
      if (!quote && (d === 35 || d === 33)) needsUnescape = true;
      i++;
    } else if (!quote && (c === 35 /* # */ || c === 33) /* ! */) {
      cut = i;
      break;
    }
  }
  if (quote && cut < 0) onError(`Unterminated quote '${redact(raw.trim())}'`);
  let text = cut >= 0 ? raw.slice(0, cut) : raw;
  if (needsUnescape) text = unescapeCommentChars(text);
  return text.trim();
}

function unescapeCommentChars(text: string): string {
  let out = '';
  let quote = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') quote = !quote;
    if (ch === '\\' && !quote && (text[i + 1] === '#' || text[i + 1] === '!')) continue;
    if (ch === '\\') {
      out += ch + (text[i + 1] ?? '');
      i++;
      continue;
    }
    out += ch;
  }
  return out;
}

function findBrace(text: string): number {
  const c0 = text.charCodeAt(0);
  if (c0 === 123 || c0 === 125) return 0;
  let p = 0;
  for (;;) {
    // Fast scan: most lines have no brace or quote at all.
    let i = p;
    const n = text.length;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 123 || c === 125 || c === 34) break;
      i++;
    }
    if (i >= n) return -1;
    if (text.charCodeAt(i) !== 34) return i;
    const close = text.indexOf('"', i + 1);
    if (close < 0) return -1;
    p = close + 1;
  }
}

/** keepalived's alloc_strvec_r(): words split on blanks; "..." is one word without the quotes. */
export function splitWords(text: string, onError: ((message: string) => void) | undefined): string[] {
  const words: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    while (i < n && (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12)) c = text.charCodeAt(++i);
    if (i >= n) break;
    if (c === 34) {
      const close = text.indexOf('"', i + 1);
      if (close < 0) {
        onError?.(`Unmatched quote: '${redact(text)}'`);
        break;
      }
      words.push(text.slice(i + 1, close));
      i = close + 1;
      continue;
    }
    const start = i;
    while (i < n) {
      c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 34 || c === 10 || c === 13 || c === 11 || c === 12) break;
      i++;
    }
    words.push(text.slice(start, i));
  }
  return words;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWordChar(c: number): boolean {
  return isAlpha(c) || (c >= 48 && c <= 57) || c === 95;
}

/** strtol(s, &end, 0) on the whole trimmed string: decimal, 0x hex or 0 octal. */
function parseCLong(s: string): number | undefined {
  const t = s.trim();
  let m = /^([+-]?)0[xX]([0-9a-fA-F]+)$/.exec(t);
  if (m) return (m[1] === '-' ? -1 : 1) * parseInt(m[2]!, 16);
  m = /^([+-]?)0([0-7]+)$/.exec(t);
  if (m) return (m[1] === '-' ? -1 : 1) * parseInt(m[2]!, 8);
  if (/^[+-]?[0-9]+$/.test(t)) return parseInt(t, 10);
  return undefined;
}

function randomValue(params: string | undefined): string {
  let min = 0;
  let max = 32767;
  if (params !== undefined) {
    const parts = params.split(/\s+/).filter((s) => s.length !== 0);
    if (parts[0] !== undefined) min = Number(parts[0]);
    if (parts[1] !== undefined) max = Number(parts[1]);
  }
  if (!(max >= min)) return String(min);
  return String(min + Math.floor(Math.random() * (max - min + 1)));
}
