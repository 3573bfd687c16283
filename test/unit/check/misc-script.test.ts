// MISC_CHECK goes through the same script checks as vrrp_script and notify scripts (keepalived's
// check_misc_script_security and misc_end_handler): refused when unsafe under enable_script_security,
// run as its `user`, script_user or keepalived_script otherwise. From configuration text to the uid
// the real script ran as.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSpecsFromConfig } from '../../../src/check/from-config.js';
import { probeMisc } from '../../../src/check/probe/misc.js';
import type { MiscCheckSpec } from '../../../src/check/types.js';
import { parseConfig } from '../../../src/config/index.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { ScriptPreparer } from '../../../src/scripts/script-security.js';
import { staticUserDatabase, type UserEntry } from '../../../src/scripts/script-user.js';

const CONF = '/etc/keepalived/keepalived.conf';
const asRoot = process.getuid?.() === 0;
let base = '';
let out = '';

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'lvsk-misc-sec-'));
  chmodSync(base, 0o755);
  out = join(base, 'out');
  mkdirSync(out);
  chmodSync(out, 0o1777);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function script(name: string, body: string, mode: number): string {
  const path = join(base, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}

function load(globalDefs: string, misc: string, users: UserEntry[] = []) {
  const text = `global_defs {\n${globalDefs}\n}\nvirtual_server 10.0.0.1 80 {\n  real_server 10.0.1.1 80 {\n    MISC_CHECK {\n${misc}\n    }\n  }\n}\n`;
  const { config } = parseConfig(CONF, { readFile: (p) => (p === CONF ? text : undefined), hostname: 'lb1' });
  const logger = createMemoryLogger();
  const db = staticUserDatabase([{ name: 'root', uid: 0, gid: 0 }, { name: 'nobody', uid: 65534, gid: 65534 }, ...users], [{ name: 'root', gid: 0 }]);
  const preparer = ScriptPreparer.fromGlobalDefs(config.global, logger, db);
  const { virtualServers, warnings } = checkSpecsFromConfig(config, { prepareScript: (cmd) => preparer.prepareCommand(cmd) });
  const probes = virtualServers.flatMap((vs) => vs.realServers.flatMap((rs) => rs.checkers.map((c) => c.probe)));
  const miscLine = text.split('\n').findIndex((l) => l.includes('MISC_CHECK')) + 1;
  return { probes: probes as MiscCheckSpec[], warnings, miscLine, logs: () => logger.lines.map((l) => l.msg), preparer };
}

describe('MISC_CHECK script security', () => {
  it('a world-writable script to run as root is refused under enable_script_security, naming file:line', () => {
    const path = script('world-writable.sh', 'exit 0', 0o777);
    const { probes, warnings, miscLine, logs } = load('  enable_script_security', `      misc_path "${path} arg"\n      user root`);
    expect(probes).toEqual([]);
    expect(warnings).toEqual([
      `${CONF}:${miscLine}: Disabling misc script ${path} arg due to insecure: Unsafe permissions found for script '${path}' - disabling.`,
    ]);
    expect(logs()).toContain(`Unsafe permissions found for script '${path}' - disabling.`);
  });

  it('without enable_script_security it runs, and the check process says so', () => {
    const path = script('world-writable2.sh', 'exit 0', 0o777);
    const { probes, warnings, logs, preparer } = load('', `      misc_path ${path}\n      user root`);
    expect(warnings).toEqual([]);
    expect(probes[0]?.script).toMatchObject({ command: { kind: 'exec', file: path, args: [] }, runAs: { uid: 0 } });
    preparer.reportSecurity('check');
    expect(logs()).toEqual([
      "Script user 'keepalived_script' does not exist",
      `Unsafe permissions found for script '${path}'.`,
      'SECURITY VIOLATION - check scripts are being executed but script_security not enabled. There are insecure scripts.',
    ]);
  });

  it('with enable_script_security and no default user (no script_user, no keepalived_script) it is removed', () => {
    const path = script('nouser.sh', 'exit 0', 0o755);
    const { probes, warnings, miscLine } = load('  enable_script_security', `      misc_path ${path}`);
    expect(probes).toEqual([]);
    expect(warnings).toEqual([`${CONF}:${miscLine}: Unable to set default user for misc script ${path} - removing`]);
  });

  it('an unknown user removes it', () => {
    const path = script('ghost.sh', 'exit 0', 0o755);
    const { probes, warnings, miscLine } = load('', `      misc_path ${path}\n      user ghost`);
    expect(probes).toEqual([]);
    expect(warnings).toEqual([`${CONF}:${miscLine}: Failed to set uid/gid for misc checker script ${path} - removing: Script user 'ghost' does not exist`]);
  });

  it('the first word is the program even when the line looks like shell: `(`, `<`, `&&`', () => {
    const unsafe = script('unsafe.sh', 'exit 0', 0o777);
    const forms = [`(${unsafe})`, `< /dev/null ${unsafe}`, `</dev/null ${unsafe}`];
    for (const line of forms) {
      const { probes, warnings } = load('  enable_script_security\n  script_user root', `      misc_path "${line}"`);
      expect(probes).toEqual([]);
      expect(warnings).toHaveLength(1);
    }
    const { probes } = load('  enable_script_security\n  script_user root', `      misc_path "/bin/true && ${unsafe}"`);
    expect(probes[0]?.script.command).toEqual({ kind: 'exec', file: '/bin/true', args: ['&&', unsafe] });
  });

  describe.skipIf(!asRoot)('the uid it runs as (real processes)', () => {
    const whoami = (name: string): string => script(name, `id -u > ${out}/${name}.uid; id -g > ${out}/${name}.gid`, 0o755);
    const ranAs = (name: string): string => `${readFileSync(join(out, `${name}.uid`), 'utf8').trim()}:${readFileSync(join(out, `${name}.gid`), 'utf8').trim()}`;
    const signal = new AbortController().signal;

    it('runs as script_user, not root; its own `user` (with a group) wins', async () => {
      const path = whoami('script-user');
      const { probes } = load('  enable_script_security\n  script_user nobody', `      misc_path ${path}`);
      expect(await probeMisc(probes[0]!, signal)).toEqual({ ok: true, reason: 'exited with status 0' });
      expect(ranAs('script-user')).toBe('65534:65534');
      const own = whoami('own-user');
      const withUser = load('  script_user root', `      misc_path ${own}\n      user nobody root`);
      expect(await probeMisc(withUser.probes[0]!, signal)).toEqual({ ok: true, reason: 'exited with status 0' });
      expect(ranAs('own-user')).toBe('65534:0');
    });

    it('runs as keepalived_script when it exists and nothing else is configured', async () => {
      const path = whoami('default-user');
      const { probes } = load('', `      misc_path ${path}`, [{ name: 'keepalived_script', uid: 65534, gid: 65534 }]);
      expect(await probeMisc(probes[0]!, signal)).toEqual({ ok: true, reason: 'exited with status 0' });
      expect(ranAs('default-user')).toBe('65534:65534');
    });
  });
});
