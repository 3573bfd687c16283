import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { isExecutableBy, isUnsafeComponent, pathPrefixes, ScriptPreparer, type ModeInfo } from '../../../src/scripts/script-security.js';
import { staticUserDatabase } from '../../../src/scripts/script-user.js';

const file = (mode: number, uid = 0, gid = 0): ModeInfo => ({ uid, gid, mode, isDirectory: false, isFile: true, isSymbolicLink: false });
const dir = (mode: number, uid = 0, gid = 0): ModeInfo => ({ uid, gid, mode, isDirectory: true, isFile: false, isSymbolicLink: false });

describe('pure permission checks (keepalived check_security / is_executable)', () => {
  it('flags components not owned by root or writable by non-root', () => {
    expect(isUnsafeComponent(file(0o755))).toBe(false);
    expect(isUnsafeComponent(file(0o755, 1000))).toBe(true);
    expect(isUnsafeComponent(file(0o775, 0, 0))).toBe(false); // group root may write
    expect(isUnsafeComponent(file(0o775, 0, 50))).toBe(true);
    expect(isUnsafeComponent(file(0o757))).toBe(true);
    expect(isUnsafeComponent(dir(0o1777))).toBe(false); // sticky, like /tmp
    expect(isUnsafeComponent(dir(0o777))).toBe(true);
  });

  it('checks the execute bit of the class the identity falls in', () => {
    expect(isExecutableBy(file(0o001), 0, 0)).toBe(true);
    expect(isExecutableBy(file(0o644), 0, 0)).toBe(false);
    expect(isExecutableBy(file(0o700, 0, 0), 65534, 65534)).toBe(false);
    expect(isExecutableBy(file(0o705, 0, 0), 65534, 65534)).toBe(true);
    expect(isExecutableBy(file(0o750, 0, 4), 65534, 4)).toBe(true);
  });

  it('lists path prefixes from the root', () => {
    expect(pathPrefixes('/etc//keepalived/x.sh')).toEqual(['/', '/etc', '/etc/keepalived', '/etc/keepalived/x.sh']);
  });
});

const asRoot = process.getuid?.() === 0;
const users = staticUserDatabase([
  { name: 'root', uid: 0, gid: 0 },
  { name: 'nobody', uid: 65534, gid: 65534 },
]);
const root = { user: 'root', uid: 0, gid: 0 };

describe.skipIf(!asRoot)('ScriptPreparer on real files', () => {
  let base: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'lvsk-sec-'));
    writeFileSync(join(base, 'ok.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(base, 'noexec.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    writeFileSync(join(base, 'groupw.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o775 });
    chownSync(join(base, 'groupw.sh'), 0, 65534);
    chmodSync(join(base, 'groupw.sh'), 0o775);
    mkdirSync(join(base, 'userdir'), { mode: 0o755 });
    writeFileSync(join(base, 'userdir', 'x.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    chownSync(join(base, 'userdir'), 65534, 65534);
    writeFileSync(join(base, 'private.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o700 });
    symlinkSync(join(base, 'userdir', 'x.sh'), join(base, 'link.sh'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const make = (enableScriptSecurity: boolean) => {
    const logger = createMemoryLogger();
    const preparer = new ScriptPreparer({ enableScriptSecurity, defaultRunAs: root, users, logger, self: root, pathEnv: '/usr/bin:/bin' });
    return { logger, preparer, msgs: () => logger.lines.map((l) => l.msg) };
  };

  it('accepts a root-owned script in a root-only directory and keeps its arguments', () => {
    const { preparer, msgs } = make(true);
    const res = preparer.prepare(`${base}/ok.sh --port 80`);
    expect(res).toMatchObject({ ok: true, insecure: false, script: { command: { kind: 'exec', file: `${base}/ok.sh`, args: ['--port', '80'] }, runAs: root } });
    expect(msgs()).toEqual([]);
  });

  it('refuses a group-writable script with enable_script_security, naming it', () => {
    const { preparer, msgs } = make(true);
    expect(preparer.prepare(`${base}/groupw.sh`)).toMatchObject({ ok: false, reason: 'insecure' });
    expect(msgs()).toEqual([`Unsafe permissions found for script '${base}/groupw.sh' - disabling.`]);
    preparer.reportSecurity();
    expect(msgs()).toHaveLength(1); // no SECURITY VIOLATION when security is on
  });

  it('refuses a script under a directory owned by a user, also through a symlink', () => {
    const { preparer, msgs } = make(true);
    expect(preparer.prepare(`${base}/userdir/x.sh`)).toMatchObject({ ok: false, reason: 'insecure' });
    expect(preparer.prepare(`${base}/link.sh`)).toMatchObject({ ok: false, reason: 'insecure' });
    expect(msgs()).toEqual([
      `Unsafe permissions found for script '${base}/userdir/x.sh' - disabling.`,
      `Unsafe permissions found for script '${base}/userdir/x.sh' - disabling.`,
    ]);
  });

  it('without enable_script_security runs it but says so once', () => {
    const { preparer, msgs } = make(false);
    expect(preparer.prepare(`${base}/groupw.sh`)).toMatchObject({ ok: true, insecure: true });
    expect(preparer.prepare(`${base}/ok.sh`)).toMatchObject({ ok: true, insecure: false });
    preparer.reportSecurity();
    expect(msgs()).toEqual([
      `Unsafe permissions found for script '${base}/groupw.sh'.`,
      'SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts.',
    ]);
  });

  it('logs the plain SECURITY VIOLATION line when all scripts are safe', () => {
    const { preparer, msgs } = make(false);
    preparer.prepare(`${base}/ok.sh`);
    preparer.reportSecurity('check');
    expect(msgs()).toEqual(['SECURITY VIOLATION - check scripts are being executed but script_security not enabled.']);
  });

  it('does not check the path for a script run as a non-root user, but checks it can execute', () => {
    const { preparer, msgs } = make(true);
    expect(preparer.prepare(`${base}/userdir/x.sh`, 'nobody')).toMatchObject({ ok: true, script: { runAs: { uid: 65534 } } });
    expect(preparer.prepare(`${base}/private.sh`, 'nobody')).toMatchObject({ ok: false, reason: 'not_executable' });
    expect(msgs()).toEqual([`WARNING - script '${base}/private.sh' is not executable for uid:gid 65534:65534 - disabling.`]);
  });

  it('reports missing and non-executable files and unknown users', () => {
    const { preparer, msgs } = make(true);
    expect(preparer.prepare(`${base}/missing.sh`)).toMatchObject({ ok: false, reason: 'not_found' });
    expect(preparer.prepare(`${base}/noexec.sh`)).toMatchObject({ ok: false, reason: 'not_executable' });
    expect(preparer.prepare(`${base}/ok.sh`, 'ghost')).toMatchObject({ ok: false, reason: 'bad_user' });
    expect(msgs()).toEqual([
      `Unable to access script \`${base}/missing.sh\` - disabling`,
      `WARNING - script '${base}/noexec.sh' is not executable for uid:gid 0:0 - disabling.`,
      `Script user 'ghost' does not exist - disabling script '${base}/ok.sh'`,
    ]);
  });

  it('resolves bare names by PATH search with keepalived warning', () => {
    const { preparer, msgs } = make(true);
    const res = preparer.prepare('true');
    expect(res.ok && res.script.command.kind === 'exec' && res.script.command.file).toMatch(/^\/(usr\/)?bin\/true$/);
    expect(msgs()[0]).toMatch(/^WARNING - script `true` resolved by path search to `\/(usr\/)?bin\/true`. Please specify full path.$/);
    expect(preparer.prepare('no_such_program_lvsk')).toMatchObject({ ok: false, reason: 'not_found' });
    expect(msgs()[1]).toBe('Cannot find script no_such_program_lvsk in path - disabling');
  });

  it('judges system paths by their resolved directories (/bin -> usr/bin on merged-/usr systems)', () => {
    const { preparer, msgs } = make(true);
    expect(preparer.prepare('/bin/true')).toMatchObject({ ok: true, insecure: false, script: { command: { file: '/bin/true' } } });
    expect(msgs()).toEqual([]);
  });

  it('caches results', () => {
    const { preparer, msgs } = make(true);
    const first = preparer.prepare(`${base}/ok.sh a`);
    expect(preparer.prepare(`${base}/ok.sh a`)).toBe(first);
    expect(preparer.prepare(`${base}/groupw.sh`)).toMatchObject({ ok: false, reason: 'insecure' });
    expect(preparer.prepare(`${base}/groupw.sh`)).toMatchObject({ ok: false, reason: 'insecure' });
    expect(msgs()).toHaveLength(1);
  });

  it('splits a line as keepalived does, so shell syntax never hides the program that runs', () => {
    const { preparer, msgs } = make(true);
    // The file checked is the file run; `&&`, `|`, `>` are its arguments.
    expect(preparer.prepare(`${base}/ok.sh | /bin/cat && ${base}/groupw.sh`)).toMatchObject({
      ok: true,
      script: { command: { kind: 'exec', file: `${base}/ok.sh`, args: ['|', '/bin/cat', '&&', `${base}/groupw.sh`] } },
    });
    expect(preparer.prepare(`${base}/groupw.sh && true`)).toMatchObject({ ok: false, reason: 'insecure' });
    expect(preparer.prepare(`(${base}/ok.sh)`)).toMatchObject({ ok: false, reason: 'not_found' });
    expect(preparer.prepare(`"${base}/ok.sh`)).toMatchObject({ ok: false, reason: 'bad_syntax' });
    expect(msgs()).toEqual([
      `Unsafe permissions found for script '${base}/groupw.sh' - disabling.`,
      `Unable to access script \`(${base}/ok.sh)\` - disabling`,
      `Unable to parse script '"${base}/ok.sh': missing terminating " - disabling`,
    ]);
  });

  it('accepts keepalived\'s "</file" open test unchecked, but not followed by other words', () => {
    const { preparer, msgs } = make(true);
    expect(preparer.prepare('</dev/tcp/127.0.0.1/80')).toEqual({
      ok: true,
      insecure: false,
      script: { command: { kind: 'exec', file: '/bin/sh', args: ['-c', '<"$1"', 'sh', '/dev/tcp/127.0.0.1/80'] }, runAs: root, configured: '</dev/tcp/127.0.0.1/80' },
    });
    expect(preparer.prepare(`</dev/null ${base}/groupw.sh`)).toMatchObject({ ok: false, reason: 'insecure' });
    expect(msgs()).toEqual([
      `Script '</dev/null ${base}/groupw.sh' is a file open test followed by other words, which would run unchecked through /bin/sh - disabling`,
    ]);
    const insecure = make(false);
    insecure.preparer.prepare('</etc/hosts');
    insecure.preparer.reportSecurity();
    expect(insecure.msgs()).toEqual([]); // an open test alone runs nothing: no SECURITY VIOLATION (keepalived SC_SYSTEM)
  });

  it('refuses scripts without their own user when there is no default user (enable_script_security)', () => {
    const logger = createMemoryLogger();
    const preparer = new ScriptPreparer({ enableScriptSecurity: true, defaultRunAs: undefined, users, logger, self: root });
    expect(preparer.prepare(`${base}/ok.sh`)).toMatchObject({ ok: false, reason: 'no_default_user' });
    expect(preparer.prepare(`${base}/ok.sh --other`)).toMatchObject({ ok: false, reason: 'no_default_user' });
    expect(preparer.prepare(`${base}/userdir/x.sh`, 'nobody')).toMatchObject({ ok: true });
    expect(logger.lines.map((l) => l.msg)).toEqual(['Unable to set default user keepalived_script for script']);
  });
});
