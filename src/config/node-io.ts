// The only file-system and host access of the config parser, kept apart so the parsing core stays
// pure and tests can inject fakes (ParseOptions.readFile / expandGlob / interfaceExists).
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ParseOptions } from './model.js';
import type { FileAccess } from './reader.js';

export function shortHostname(): string {
  try {
    return hostname().split('.')[0] ?? 'localhost';
  } catch {
    return 'localhost';
  }
}

function readRegularFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
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

/** `{a,b}` brace expansion (nested), as glob(3) GLOB_BRACE does before matching. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
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
  if (close < 0) return [pattern];
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const parts: string[] = [];
  let start = open + 1;
  for (const c of [...commas, close]) {
    parts.push(pattern.slice(start, c));
    start = c + 1;
  }
  const out: string[] = [];
  for (const p of parts) for (const e of expandBraces(head + p + tail)) out.push(e);
  return out;
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

/** glob(3) with GLOB_BRACE on absolute patterns: sorted regular files, hidden files need an explicit dot. */
export function expandGlob(pattern: string): string[] {
  const results = new Set<string>();
  for (const p of expandBraces(pattern)) {
    const abs = resolve(p);
    if (!WILD.test(abs)) {
      try {
        if (statSync(abs).isFile()) results.add(abs);
      } catch {
        /* no match */
      }
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

/** Whether a script command's executable can be found and run (PATH search like execvp). */
export function nodeScriptExists(command: string): boolean {
  const exe = command.trim().split(/\s+/)[0] ?? '';
  if (exe.length === 0) return false;
  const candidates = exe.includes('/') ? [exe] : (process.env.PATH ?? '/usr/bin:/bin').split(':').map((d) => join(d || '.', exe));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return true;
    } catch {
      /* try next */
    }
  }
  return false;
}

export function nodeUserExists(name: string): boolean {
  const passwd = readRegularFile('/etc/passwd');
  if (passwd === undefined) return false;
  return passwd.split('\n').some((l) => l.startsWith(`${name}:`));
}
