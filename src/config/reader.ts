// The line reader: keepalived's read_line() (lib/parser.c) as a pull lexer. It turns the physical
// lines of the configuration (and its includes) into logical lines of words, applying, in
// keepalived's order: comment removal, `@ID` conditionals, `$NAME=value` definitions and their
// expansion, `~SEQ`/`~LST` repetition, `include`, and the splitting of `{` / `}` onto lines of their own.
// No I/O of its own: files come through the injected `FileAccess`.

import type { Diagnostic } from './model.js';

export interface FileAccess {
  /** File contents, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  /** Files matching an include pattern (absolute), sorted; glob `* ? [..]` and `{a,b}` braces. */
  expandGlob(pattern: string): string[];
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
  /** Logical lines already produced from the current physical line, or items awaiting processing. */
  queue: QueueItem[];
  queueHead: number;
  /** The include glob's directory, for relative includes from this file. */
  dir: string;
}

type QueueItem = { text: string; line: number } | { include: string; mode: IncludeMode; line: number };

type IncludeMode = { mustMatch: boolean; mustRead: boolean; warnOnly: boolean };

interface Definition {
  value: string;
  multiline: boolean;
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
const MAX_EXPANDED_LINES = 1_000_000;

export class LineReader {
  private readonly stack: FileContext[] = [];
  private readonly definitions = new Map<string, Definition>();
  private multilineDef: Definition | undefined;
  private includeDefault: IncludeMode = { mustMatch: false, mustRead: false, warnOnly: false };
  private expanded = 0;
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
    const text = this.files.readFile(this.mainFile);
    if (text === undefined) return false;
    this.pushFile(this.mainFile, text);
    return true;
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
      queue: [],
      queueHead: 0,
      dir: this.files.dirname(file),
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
        return this.finish(ctx, brace, ctx.pendingLine)!;
      }
      if (ctx.queueHead < ctx.queue.length) {
        const item = ctx.queue[ctx.queueHead++]!;
        if (ctx.queueHead === ctx.queue.length) {
          ctx.queue.length = 0;
          ctx.queueHead = 0;
        }
        if ('include' in item) {
          this.include(ctx, item.include, item.mode, item.line);
          continue;
        }
        const out = this.finish(ctx, item.text, item.line);
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
          return this.finish(ctx, brace, lineNo)!;
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
      // Fast path: the overwhelmingly common plain statement line.
      const c0 = text.charCodeAt(0);
      if (
        c0 !== 64 /* @ */ &&
        c0 !== 36 /* $ */ &&
        c0 !== 126 /* ~ */ &&
        text.indexOf('$') < 0 &&
        text.indexOf('include') < 0
      ) {
        const out = this.finish(ctx, text, lineNo);
        if (out !== undefined) return out;
        continue;
      }
      this.process(ctx, text, lineNo, 0);
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
   * the results on the file context (so includes are opened in order).
   */
  private process(ctx: FileContext, text: string, lineNo: number, depth: number): void {
    if (depth > 64 || this.expanded > MAX_EXPANDED_LINES) {
      if (this.expanded <= MAX_EXPANDED_LINES + 1) {
        this.expanded = MAX_EXPANDED_LINES + 2;
        this.error(ctx.file, lineNo, 'Definition or ~SEQ expansion too deep or too large - ignoring');
      }
      return;
    }
    for (let recheck = 0; recheck < 32; recheck++) {
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
        this.repeat(ctx, text, lineNo, depth);
        return;
      }
      if (text.charCodeAt(0) === 126 /* ~ */) break;
      if (text.indexOf('$') < 0) break;
      const replaced = this.replaceParams(text);
      if (replaced === undefined) break;
      text = replaced.first;
      if (replaced.rest.length !== 0) {
        this.process(ctx, text, lineNo, depth + 1);
        for (const more of replaced.rest) this.process(ctx, more, lineNo, depth + 1);
        return;
      }
      if (text.length === 0) return;
      if (text.charCodeAt(0) !== 64 && text.indexOf('$') < 0) break;
    }
    this.queueText(ctx, text, lineNo, depth);
  }

  private queueText(ctx: FileContext, text: string, lineNo: number, depth: number): void {
    if (text.length === 0) return;
    this.expanded++;
    const inc = this.includeOf(text);
    if (inc !== undefined) {
      ctx.queue.push({ include: inc.pattern, mode: inc.mode, line: lineNo });
      return;
    }
    void depth;
    ctx.queue.push({ text, line: lineNo });
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
    const absolute = this.files.resolve(ctx.dir, pattern);
    const matches = this.files.expandGlob(absolute);
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
      const text = this.files.readFile(file);
      if (text === undefined) {
        if (mode.mustRead) this.error(ctx.file, lineNo, `Configuration file '${file}' cannot be read - skipping`, severity);
        continue;
      }
      opened.push({ file, text });
    }
    for (let i = opened.length - 1; i >= 0; i--) this.pushFile(opened[i]!.file, opened[i]!.text);
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
   * replaced. A multi-line definition (only allowed at the end of a line) yields extra lines.
   */
  private replaceParams(text: string): { first: string; rest: string[] } | undefined {
    let out = '';
    let pos = 0;
    let found = false;
    let rest: string[] = [];
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
        const lines = value.split('\n');
        value = lines[0] ?? '';
        rest = lines.slice(1);
      }
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
      const close = text.indexOf('}', p);
      if (close < 0) return undefined;
      const between = text.slice(p, close);
      if (between.length !== 0) {
        if (!/^[ 0-9]*$/.test(between) || between.endsWith(' ')) return undefined;
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
  private repeat(ctx: FileContext, text: string, lineNo: number, depth: number): void {
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
    // Parameters may themselves use definitions.
    let inner = text.slice(p + 1, close);
    if (inner.indexOf('$') >= 0) inner = this.replaceParams(inner)?.first ?? inner;
    const parts = inner.split(',').map((s) => s.trim());
    const variable = parts.shift() ?? '';
    const body = text.slice(close + 1).replace(/^[ \t]+/, '');
    if (variable.length === 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable) || parts.length === 0) {
      this.error(ctx.file, lineNo, `Invalid ${kind} definition '${redact(text)}'`);
      return;
    }
    let values: string[];
    if (isList) {
      values = parts;
    } else {
      const nums = parts.map((s) => parseCLong(s));
      if (nums.some((n) => n === undefined) || nums.length > 3) {
        this.error(ctx.file, lineNo, `Invalid ~SEQ definition '${redact(text)}'`);
        return;
      }
      let start: number;
      let step: number;
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
      values = [];
      for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
        values.push(hex ? v.toString(16) : String(v));
        if (values.length > MAX_EXPANDED_LINES) break;
      }
    }
    for (const value of values) {
      if (this.expanded > MAX_EXPANDED_LINES) {
        this.process(ctx, body, lineNo, 1000);
        return;
      }
      this.definitions.set(variable, { value, multiline: false, maxParams: 0 });
      this.process(ctx, body, lineNo, depth + 1);
    }
  }

  /**
   * Splits a processed text at its first `{` or `}` outside quotes (keepalived puts each brace
   * on a line of its own, the text after it becomes the next line), then splits into words.
   */
  private finish(ctx: FileContext, text: string, lineNo: number): string[] | undefined {
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
      if (residue.length !== 0) {
        // The residue goes through conditionals/definitions again, ahead of anything queued.
        const saved = ctx.queue.slice(ctx.queueHead);
        ctx.queue.length = 0;
        ctx.queueHead = 0;
        this.process(ctx, residue, lineNo, 0);
        for (const s of saved) ctx.queue.push(s);
      }
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

/** Messages that quote a line never show an auth_pass value. */
export function redact(text: string): string {
  const at = text.indexOf('auth_pass');
  return at < 0 ? text : `${text.slice(0, at)}auth_pass <redacted>`;
}

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
