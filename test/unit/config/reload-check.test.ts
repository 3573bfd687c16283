// The parent's SIGHUP check (config-load.ts checkReload, run.ts beforeReload): an expansion bomb is
// refused with its file:line and the running configuration stays; nothing the parse throws escapes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkReload } from '../../../src/daemon/config-load.js';
import type { Logger } from '../../../src/daemon/log.js';

const dir = mkdtempSync(join(tmpdir(), 'lvskeeper-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const log = {
    errors,
    debug: () => undefined,
    info: () => undefined,
    notice: () => undefined,
    warn: () => undefined,
    error: (m: string) => void errors.push(m),
    child: () => log,
  };
  return log;
}

const GOOD = 'global_defs {\n  router_id R1\n}\n';

describe('checkReload', () => {
  it('accepts a good file', () => {
    const file = join(dir, 'good.conf');
    writeFileSync(file, GOOD);
    const r = checkReload(file, 'h', [], recordingLogger());
    expect(r.ok && r.next.config.global.routerId).toBe('R1');
  });

  it.each([
    ['$VAR x10 per level', `$A=xxxxxxxxxx\n${'BCDEFGHIJKL'.split('').map((n, i) => `$${n}=${`\${${'ABCDEFGHIJK'[i]}}`.repeat(10)}`).join('\n')}\nglobal_defs {\n  router_id \${L}\n}\n`, 14, /expands the line to more than 1023 bytes/],
    ['include with 40 brace groups', `global_defs {\n}\ninclude /nonexistent/x${'{a,b}'.repeat(40)}\n`, 3, /expands to more than 1024 patterns/],
    ['~SEQ of 10^8', 'global_defs {\n~SEQ(i,1,100000000) router_id r$i\n}\n', 2, /expands to more than 1000000 lines/],
  ])('refuses %s with its file:line, logged, instead of running out of memory', (_name, text, line, message) => {
    const file = join(dir, 'bomb.conf');
    writeFileSync(file, text);
    const log = recordingLogger();
    const r = checkReload(file, 'h', [], log);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.startsWith(`${file}:${line}: `)).toBe(true);
    expect(r.problem).toMatch(message);
    expect(log.errors).toEqual([r.problem]);
  });

  it('returns an exception of the parse as the problem instead of throwing', () => {
    const r = checkReload(join(dir, 'x.conf'), 'h', [], recordingLogger(), () => {
      throw new RangeError('Maximum call stack size exceeded');
    });
    expect(r).toEqual({ ok: false, problem: `${join(dir, 'x.conf')}:1: internal parser error: Maximum call stack size exceeded` });
  });
});
