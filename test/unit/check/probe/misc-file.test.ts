import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMisc } from '../../../../src/check/probe/misc.js';
import { fileCheckResult, parseTrackFileValue, probeFile } from '../../../../src/check/probe/file.js';
import type { MiscCheckSpec } from '../../../../src/check/types.js';
import { silentLogger } from '../../../../src/daemon/log.js';
import { ScriptPreparer } from '../../../../src/scripts/script-security.js';
import { currentIdentity, staticUserDatabase } from '../../../../src/scripts/script-user.js';
import { signal } from './servers.js';

let dir = '';
function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}
const preparer = new ScriptPreparer({
  enableScriptSecurity: false,
  defaultRunAs: currentIdentity(),
  users: staticUserDatabase([{ name: 'nobody', uid: 65534, gid: 65534 }]),
  logger: silentLogger,
});
/** A spec as from-config builds it: misc_path checked and its user resolved by the preparer. */
function misc(path: string, over: Partial<MiscCheckSpec> & { user?: string } = {}): MiscCheckSpec {
  const { user, ...rest } = over;
  const prepared = preparer.prepare(path, user);
  if (!prepared.ok) throw new Error(prepared.message);
  return { type: 'MISC_CHECK', path, script: prepared.script, timeoutMs: 2000, dynamic: false, ...rest };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvskeeper-misc-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MISC_CHECK probe', () => {
  it('exit 0 is up, exit 1 is down', async () => {
    expect(await probeMisc(misc(script('ok.sh', 'exit 0')), signal())).toEqual({ ok: true, reason: 'exited with status 0' });
    expect(await probeMisc(misc(script('ko.sh', 'exit 1')), signal())).toEqual({ ok: false, reason: 'exited with status 1' });
  });

  it('misc_dynamic: exit 5 is up with weight 3; without misc_dynamic it is a failure', async () => {
    const p = script('five.sh', 'exit 5');
    expect(await probeMisc(misc(p, { dynamic: true }), signal())).toEqual({ ok: true, reason: 'exited with status 5', weight: 3 });
    expect(await probeMisc(misc(p), signal())).toEqual({ ok: false, reason: 'exited with status 5' });
    expect(await probeMisc(misc(script('one.sh', 'exit 1'), { dynamic: true }), signal())).toMatchObject({ ok: false });
    expect(await probeMisc(misc(script('zero.sh', 'exit 0'), { dynamic: true }), signal())).toEqual({ ok: true, reason: 'exited with status 0' });
  });

  it('passes arguments without a shell, quotes respected', async () => {
    const p = script('args.sh', '[ "$1" = "a b" ] && [ "$2" = "c" ] && exit 0; exit 1');
    expect((await probeMisc(misc(`${p} "a b" c`), signal())).ok).toBe(true);
  });

  it('shell syntax is passed to the program as arguments, as keepalived does (no /bin/sh)', async () => {
    const p = script('count.sh', '[ "$#" = 4 ] && [ "$1" = "&&" ] && [ "$3" = "|" ] && exit 0; exit 1');
    expect((await probeMisc(misc(`${p} && exit | 1`), signal())).ok).toBe(true);
    expect(await probeMisc(misc('/bin/test 1 -eq 1 && exit 0 || exit 1'), signal())).toEqual({ ok: false, reason: 'exited with status 2' });
  });

  it('a hanging script is killed at misc_timeout (SIGTERM) and fails', async () => {
    const marker = join(dir, 'child-survived');
    const p = script('hang.sh', `(sleep 1; touch ${marker}) & sleep 30`);
    const started = Date.now();
    const r = await probeMisc(misc(p, { timeoutMs: 300 }), signal());
    expect(r).toEqual({ ok: false, reason: 'timed out after 300 ms' });
    expect(Date.now() - started).toBeLessThan(1900);
    await new Promise((res) => setTimeout(res, 1300));
    expect(existsSync(marker)).toBe(false); // the whole process group died
  });

  it('a script ignoring SIGTERM gets SIGKILL after the grace period', async () => {
    const p = script('stubborn.sh', "trap '' TERM\nsleep 30 & wait; sleep 30 & wait; sleep 30");
    const started = Date.now();
    const r = await probeMisc(misc(p, { timeoutMs: 200 }), signal());
    const took = Date.now() - started;
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/timed out/);
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(6000);
  });

  it('a program gone since the configuration was loaded is a failure with a reason', async () => {
    const spec = misc(script('gone.sh', 'exit 0'));
    rmSync(spec.script.command.file);
    const r = await probeMisc(spec, signal());
    expect(r).toEqual({ ok: false, reason: `cannot run ${join(dir, 'gone.sh')}: ENOENT` });
  });

  it.skipIf(process.getuid?.() !== 0)('runs as the configured user', async () => {
    const p = script('whoami.sh', '[ "$(id -u)" = "65534" ] && exit 0; exit 1');
    chmodSync(dir, 0o755);
    expect((await probeMisc(misc(p, { user: 'nobody' }), signal())).ok).toBe(true);
    expect((await probeMisc(misc(p), signal())).ok).toBe(false);
  });
});

describe('FILE_CHECK probe', () => {
  it('parses numbers like strtol(…, 0)', () => {
    expect(parseTrackFileValue('42\n')).toBe(42);
    expect(parseTrackFileValue('  -7 apples')).toBe(-7);
    expect(parseTrackFileValue('0x10')).toBe(16);
    expect(parseTrackFileValue('010')).toBe(8);
    expect(parseTrackFileValue('abc')).toBe(0);
    expect(parseTrackFileValue('')).toBe(0);
    expect(Number.isNaN(parseTrackFileValue('99999999999'))).toBe(true);
  });

  it('weight 0: non-zero is down; reverse flips it', () => {
    const s = { type: 'FILE_CHECK' as const, path: '', weight: 0, reverse: false };
    expect(fileCheckResult(s, 0).ok).toBe(true);
    expect(fileCheckResult(s, 3).ok).toBe(false);
    expect(fileCheckResult({ ...s, reverse: true }, 0).ok).toBe(false);
    expect(fileCheckResult({ ...s, reverse: true }, 1).ok).toBe(true);
  });

  it('weight W: value*W is added (negated with reverse)', () => {
    const s = { type: 'FILE_CHECK' as const, path: '', weight: 2, reverse: false };
    expect(fileCheckResult(s, 3)).toEqual({ ok: true, reason: 'value 3', weightDelta: 6 });
    expect(fileCheckResult({ ...s, reverse: true }, 3)).toEqual({ ok: true, reason: 'value 3', weightDelta: -6 });
  });

  it('reads the file; a missing file counts as 0; garbage keeps the previous value', async () => {
    const path = join(dir, 'weight');
    const s = { type: 'FILE_CHECK' as const, path, weight: 0, reverse: false };
    expect((await probeFile(s, signal())).ok).toBe(true);
    writeFileSync(path, '1\n');
    expect((await probeFile(s, signal())).ok).toBe(false);
    writeFileSync(path, '99999999999999');
    expect((await probeFile(s, signal())).ok).toBe(false);
    writeFileSync(path, '0');
    expect((await probeFile(s, signal())).ok).toBe(true);
    writeFileSync(path, '5');
    expect(await probeFile({ ...s, weight: 10 }, signal())).toMatchObject({ ok: true, weightDelta: 50 });
  });
});
