// Shell syntax cannot smuggle an unchecked program past enable_script_security: every line runs
// without a shell (keepalived splits it itself), so an unsafe file named after `&&`, `(`, `<`, `;` or
// `|` is an argument, or the line is refused. Real processes; the unsafe script leaves a marker if run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { ScriptPreparer } from '../../../src/scripts/script-security.js';
import { staticUserDatabase } from '../../../src/scripts/script-user.js';
import { spawnScript } from '../../../src/scripts/spawn.js';

const self = { user: 'self', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
let base = '';
let unsafe = '';
let marker = '';

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'lvsk-shellforms-'));
  chmodSync(base, 0o777); // world-writable, no sticky bit: nothing in it may run as root
  marker = join(base, 'unsafe-ran');
  unsafe = join(base, 'x.sh');
  writeFileSync(unsafe, `#!/bin/sh\ntouch ${marker}\n`);
  chmodSync(unsafe, 0o777);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('shell forms under enable_script_security (real processes)', () => {
  it.each([
    ['a subshell', () => `(${unsafe})`, 'not_found'],
    ['a leading redirection', () => `< /dev/null ${unsafe}`, 'not_found'],
    ['a leading redirection without a blank', () => `</dev/null ${unsafe}`, 'insecure'],
    ['&& after a safe program', () => `/bin/true && ${unsafe}`, undefined],
    ['; after a safe program', () => `/bin/true ; ${unsafe}`, undefined],
    ['| after a safe program', () => `/bin/true | ${unsafe}`, undefined],
  ])('%s never runs the unsafe file', async (_name, line, refusal) => {
    const logger = createMemoryLogger();
    const preparer = new ScriptPreparer({ enableScriptSecurity: true, defaultRunAs: self, users: staticUserDatabase([]), logger, self });
    const res = preparer.prepare(line());
    if (refusal) {
      expect(res).toMatchObject({ ok: false, reason: refusal });
    } else {
      if (!res.ok) throw new Error(res.message);
      expect(res.script.command).toEqual({ kind: 'exec', file: '/bin/true', args: expect.arrayContaining([unsafe]) as unknown });
      expect(await spawnScript(res.script).exited).toMatchObject({ code: 0, signal: null });
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe('keepalived\'s "</file" open test (real processes)', () => {
  it('succeeds when the file opens, fails otherwise; the path and appended arguments are never parsed by sh', async () => {
    const preparer = new ScriptPreparer({ enableScriptSecurity: true, defaultRunAs: self, users: staticUserDatabase([]), logger: createMemoryLogger(), self });
    const run = async (line: string, extra: string[] = []) => {
      const res = preparer.prepare(line);
      if (!res.ok) throw new Error(res.message);
      return (await spawnScript(res.script, extra).exited).code;
    };
    expect(await run('</etc/hosts', ['INSTANCE', `$(touch ${marker})`])).toBe(0);
    expect(await run(`"< ${base}/missing $(touch ${marker})"`)).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
