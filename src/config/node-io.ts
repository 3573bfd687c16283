// The only file-system and host access of the config parser, kept apart so the parsing core stays
// pure and tests can inject fakes (ParseOptions.readFile / expandGlob / interfaceExists).
import { accessSync, closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ParseOptions } from './model.js';
import { READER_LIMITS, type FileAccess } from './reader.js';

export function shortHostname(): string {
  try {
    return hostname().split('.')[0] ?? 'localhost';
  } catch {
    return 'localhost';
  }
}

/** With maxBytes, at most maxBytes + 1 bytes are read: a huge file (or `-f /dev/zero`) never fills the heap. */
function readRegularFile(path: string, maxBytes?: number): string | undefined {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO (or device) put in place of a configuration file must not block the daemon's
    // event loop until someone writes to it; only a regular file is read.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return undefined;
    const want = maxBytes === undefined ? Infinity : Math.max(0, maxBytes) + 1;
    const size = fstatSync(fd).size; // 0 for devices and /proc: grow as read
    let buf = Buffer.allocUnsafe(Math.min(want, size > 0 ? size + 1 : 1 << 16));
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total >= want) break;
        const bigger = Buffer.allocUnsafe(Math.min(want, buf.length * 2));
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
    }
    return buf.toString('latin1', 0, total);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function nodeFileAccess(options: ParseOptions = {}): FileAccess {
  return {
    readFile: options.readFile ?? readRegularFile,
    expandGlob: options.expandGlob ?? expandGlob,
    dirname,
    resolve: (dir, pattern) => (isAbsolute(pattern) ? pattern : join(dir, pattern)),
    cwd: () => process.cwd(),
  };
}

/**
 * `{a,b}` brace expansion (nested), as glob(3) GLOB_BRACE does before matching. Stops past limit
 * results (the reader refuses such a pattern before, from braceExpansionCount()).
 */
export function expandBraces(pattern: string, limit = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  expandBracesInto(pattern, out, limit);
  return out;
}

function expandBracesInto(pattern: string, out: string[], limit: number): void {
  const open = pattern.indexOf('{');
  if (open < 0) {
    out.push(pattern);
    return;
  }
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close < 0) {
    out.push(pattern);
    return;
  }
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  let start = open + 1;
  for (const c of [...commas, close]) {
    expandBracesInto(head + pattern.slice(start, c) + tail, out, limit);
    if (out.length > limit) return;
    start = c + 1;
  }
}

function segmentRegex(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let cls = seg.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

const WILD = /[*?[]/;

/**
 * glob(3) with GLOB_BRACE on absolute patterns: sorted regular files, hidden files need an explicit dot.
 * More than limit entries means more than limit matches (or directories to search on the way).
 */
export function expandGlob(pattern: string, limit = Number.POSITIVE_INFINITY): string[] {
  const results = new Set<string>();
  const patterns = expandBraces(pattern, READER_LIMITS.includePatterns);
  if (patterns.length > READER_LIMITS.includePatterns) throw new Error(`include pattern expands to more than ${READER_LIMITS.includePatterns} patterns`);
  for (const p of patterns) {
    const abs = resolve(p);
    if (!WILD.test(abs)) {
      try {
        if (statSync(abs).isFile()) results.add(abs);
      } catch {
        /* no match */
      }
      if (results.size > limit) return [...results];
      continue;
    }
    const segs = abs.split('/').filter((s) => s.length !== 0);
    let current = ['/'];
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const next: string[] = [];
      for (const dir of current) {
        if (!WILD.test(seg)) {
          next.push(join(dir, seg));
          continue;
        }
        const re = segmentRegex(seg);
        let names: string[] = [];
        try {
          names = readdirSync(dir);
        } catch {
          continue;
        }
        for (const n of names.sort()) if ((!n.startsWith('.') || seg.startsWith('.')) && re.test(n)) next.push(join(dir, n));
        if (next.length > limit) return next;
      }
      current = next;
    }
    for (const f of current) {
      try {
        if (statSync(f).isFile()) results.add(f);
      } catch {
        /* vanished */
      }
    }
    if (results.size > limit) return [...results];
  }
  return [...results];
}

export function nodeInterfaceExists(name: string): boolean {
  if (name.length === 0 || name.includes('/') || name === '.' || name === '..') return false;
  try {
    statSync(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}

export function nodeUserExists(name: string): boolean {
  const passwd = readRegularFile('/etc/passwd');
  if (passwd === undefined) return false;
  return passwd.split('\n').some((l) => l.startsWith(`${name}:`));
}
