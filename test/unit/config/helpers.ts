// In-memory file system for parser tests: no disk access, exact control over includes.
import { parseConfig, type FullParseOptions, type FullParseResult } from '../../../src/config/parse.js';

export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (const c of pattern) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

/** `{a,b}` alternatives; at most 64 groups are expanded (fuzzed patterns may hold thousands). */
function braces(p: string, budget = { left: 64 }): string[] {
  const m = /\{([^{}]*)\}/.exec(p);
  if (!m || budget.left <= 0) return [p];
  budget.left--;
  return m[1]!.split(',').flatMap((alt) => braces(p.slice(0, m.index) + alt + p.slice(m.index + m[0].length), budget));
}

/** `include` glob and brace expansion over the names of a virtual file system (sorted, no duplicates). */
export function virtualGlob(files: Record<string, string>): (pattern: string) => string[] {
  return (pattern) => {
    const out: string[] = [];
    for (const alt of braces(pattern)) {
      const re = globToRegExp(alt);
      for (const name of Object.keys(files).sort()) if (re.test(name) && !out.includes(name)) out.push(name);
    }
    return out;
  };
}

/** Parses `files['/etc/keepalived/keepalived.conf']` (or `main`) with the given virtual files. */
export function parseVirtual(
  files: Record<string, string>,
  options: FullParseOptions = {},
  main = '/etc/keepalived/keepalived.conf',
): FullParseResult {
  return parseConfig(main, {
    hostname: 'testhost',
    readFile: (p) => files[p],
    expandGlob: virtualGlob(files),
    ...options,
  });
}

/** Parses one configuration text. */
export function parseText(text: string, options: FullParseOptions = {}): FullParseResult {
  return parseVirtual({ '/etc/keepalived/keepalived.conf': text }, options);
}

export function messages(r: FullParseResult): string[] {
  return r.diagnostics.map((d) => d.message);
}

/** A minimal valid VRRP instance body around extra lines. */
export function instance(extra: string, name = 'VI_1'): string {
  return `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.1\n  }\n${extra}\n}\n`;
}
