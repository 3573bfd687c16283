// The runner with real child processes: exit codes, timeouts and kills, missing and unrunnable files, users.
// Each case runs twice: with the in-process spawner and through the script launcher the VRRP child uses
// (src/scripts/launcher.ts; its helper module is the built one in dist/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { ScriptPreparer } from '../../../src/scripts/script-security.js';
import { staticUserDatabase } from '../../../src/scripts/script-user.js';
import { ScriptLauncher } from '../../../src/scripts/launcher.js';
import type { ScriptSpawner } from '../../../src/scripts/spawn.js';
import { alive, waitFor } from './helpers.js';
import { TrackScriptRunner, type TrackScriptChange, type TrackScriptSpec } from '../../../src/scripts/track-script.js';

const LAUNCHER_MODULE = new URL('../../../dist/scripts/launcher-main.js', import.meta.url).pathname;
const launcher = new ScriptLauncher({ modulePath: LAUNCHER_MODULE, warn: (m) => process.stderr.write(`${m}\n`) });
afterAll(() => launcher.close());
const SPAWNERS: [string, ScriptSpawner | undefined][] = [
  ['in-process spawn', undefined],
  ['script launcher', existsSync(LAUNCHER_MODULE) ? launcher.spawner : undefined],
];

const root = { user: 'root', uid: 0, gid: 0 };
const self = { user: 'self', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const users = staticUserDatabase([
  { name: 'root', uid: 0, gid: 0 },
  { name: 'nobody', uid: 65534, gid: 65534 },
]);

let base: string;

function script(name: string, body: string, mode = 0o755): string {
  const path = join(base, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

let spawner: ScriptSpawner | undefined;

function runnerFor(specs: Partial<TrackScriptSpec>[], killGraceMs = 200) {
  const logger = createMemoryLogger();
  const preparer = new ScriptPreparer({ enableScriptSecurity: true, defaultRunAs: self.uid === 0 ? root : self, users, logger, self });
  const runner = new TrackScriptRunner({
    scripts: specs.map((s, i) => ({ name: `chk${i}`, script: '/bin/true', intervalMs: 100, timeoutMs: 100, rise: 1, fall: 1, initFail: false, ...s })),
    preparer,
    logger,
    killGraceMs,
    spawner,
  });
  const changes: TrackScriptChange[] = [];
  runner.onChange((_n, c) => changes.push(c));
  return { runner, logger, changes, msgs: () => logger.lines.map((l) => l.msg) };
}

describe.each(SPAWNERS)('TrackScriptRunner with real processes (%s)', (name, use) => {
  beforeAll(() => {
    if (name === 'script launcher' && !use) throw new Error(`${LAUNCHER_MODULE} is missing: npm run build first`);
    spawner = use;
    base = mkdtempSync(join(tmpdir(), 'lvsk-track-'));
    chmodSync(base, 0o755);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('follows the exit code of the script', async () => {
    const codeFile = join(base, 'code');
    writeFileSync(codeFile, '0');
    const path = script('by-file.sh', `exit $(cat ${codeFile})`);
    const { runner, changes, msgs } = runnerFor([{ script: path, intervalMs: 50, timeoutMs: 2000 }]);
    runner.start();
    await waitFor(() => runner.status('chk0') === 'up');
    writeFileSync(codeFile, '3');
    await waitFor(() => runner.status('chk0') === 'down');
    await runner.stop();
    expect(changes.map((c) => c.status)).toEqual(['up', 'down']);
    expect(msgs()).toContain('VRRP_Script(chk0) failed (exited with status 3)');
    expect(msgs()).toContain('Script `chk0` now returning 3');
  });

  it('times out a hanging script, killing its whole process group', async () => {
    const pidFile = join(base, 'grandchild.pid');
    const path = script('hang.sh', `sleep 300 &\necho $! > ${pidFile}\nwait`);
    const { runner, changes, msgs } = runnerFor([{ script: path, intervalMs: 10_000, timeoutMs: 300 }]);
    const t0 = Date.now();
    runner.start();
    await waitFor(() => changes.length > 0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(changes[0]?.outcome).toEqual({ kind: 'timed_out' });
    expect(msgs()).toEqual(['VRRP_Script(chk0) timed_out']);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => !alive(grandchild), 2000);
    await runner.stop();
  });

  it('timeout == interval: each hung run is killed and runs keep coming, with one timed_out line', async () => {
    const starts = join(base, 'starts');
    const path = script('hang-every.sh', `echo start >> ${starts}\nexec sleep 30`);
    const { runner, msgs } = runnerFor([{ script: path, intervalMs: 250, timeoutMs: 250 }]);
    runner.start();
    await new Promise((r) => setTimeout(r, 1400));
    await runner.stop();
    expect(readFileSync(starts, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(3);
    expect(runner.status('chk0')).toBe('down');
    // Later kills change nothing (already down): only skip notices may follow, never another transition.
    // Under load a skip notice can precede the kill's line; exactly one transition line either way.
    expect(msgs().filter((m) => m === 'VRRP_Script(chk0) timed_out')).toHaveLength(1);
    expect(msgs().filter((m) => m !== 'VRRP_Script(chk0) timed_out').every((m) => /^Track script chk0 is (already running|being timed out), expect idle - skipping run$/.test(m))).toBe(true);
  });

  it('SIGKILLs a script that ignores SIGTERM', async () => {
    const path = script('stubborn.sh', `trap '' TERM\nwhile :; do sleep 0.05; done`);
    const { runner, changes } = runnerFor([{ script: path, intervalMs: 10_000, timeoutMs: 200 }], 200);
    const t0 = Date.now();
    runner.start();
    await waitFor(() => changes.length > 0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    expect(changes[0]?.outcome).toEqual({ kind: 'timed_out' });
    await runner.stop();
  });

  it('disables missing and non-executable scripts at start, without crashing', async () => {
    const noexec = script('noexec.sh', 'exit 0', 0o644);
    const { runner, msgs } = runnerFor([{ script: join(base, 'missing.sh') }, { script: noexec }, { script: '/bin/true' }]);
    runner.start();
    await waitFor(() => runner.status('chk2') === 'up');
    await runner.stop();
    expect(runner.disabledScripts()).toEqual(['chk0', 'chk1']);
    expect(msgs()).toEqual(
      expect.arrayContaining([
        `Unable to access script \`${join(base, 'missing.sh')}\` - disabling`,
        'Disabling track script chk0 since not found/accessible',
        expect.stringMatching(/^WARNING - script '.*noexec\.sh' is not executable for uid:gid \d+:\d+ - disabling\.$/),
        'Disabling track script chk1 since not found/accessible',
      ]),
    );
  });

  it('fails (status 127) when the script disappears after start', async () => {
    const path = script('vanishing.sh', 'exit 0');
    const { runner, msgs } = runnerFor([{ script: path, intervalMs: 50, timeoutMs: 2000 }]);
    runner.start();
    await waitFor(() => runner.status('chk0') === 'up');
    unlinkSync(path);
    await waitFor(() => runner.status('chk0') === 'down');
    await runner.stop();
    expect(msgs()).toContain('VRRP_Script(chk0) failed (exited with status 127)');
    expect(msgs().some((m) => m.startsWith(`Error exec-ing command '${path}'`))).toBe(true);
  });

  it('logs the end of a failing script’s stderr at debug level', async () => {
    const path = script('noisy.sh', 'echo "haproxy: connection refused" >&2; exit 2');
    const { runner, logger } = runnerFor([{ script: path, intervalMs: 10_000, timeoutMs: 2000 }]);
    runner.start();
    await waitFor(() => runner.status('chk0') === 'down');
    await runner.stop();
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'debug', msg: `Script \`chk0\` (${path}) stderr: haproxy: connection refused` }),
    );
  });

  it('runs the line without a shell, as keepalived: shell syntax reaches the script as arguments', async () => {
    const out = join(base, 'args-out');
    const path = script('args.sh', `printf '%s\\n' "$@" > ${out}`);
    const { runner } = runnerFor([{ script: `${path} "a b" && exit | $HOME`, intervalMs: 10_000, timeoutMs: 2000 }]);
    runner.start();
    await waitFor(() => runner.status('chk0') !== 'init');
    await runner.stop();
    expect(runner.status('chk0')).toBe('up');
    expect(readFileSync(out, 'utf8')).toBe('a b\n&&\nexit\n|\n$HOME\n');
  });

  it.skipIf(self.uid !== 0)('runs the script as its configured user', async () => {
    const out = join(base, 'out');
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o1777);
    const path = script('whoami.sh', `id -u > ${out}/uid; id -g > ${out}/gid; id -G > ${out}/groups`);
    const { runner } = runnerFor([{ script: path, user: 'nobody', intervalMs: 10_000, timeoutMs: 2000 }]);
    runner.start();
    await waitFor(() => runner.status('chk0') !== 'init');
    await runner.stop();
    expect(runner.status('chk0')).toBe('up');
    expect(readFileSync(join(out, 'uid'), 'utf8').trim()).toBe('65534');
    expect(readFileSync(join(out, 'gid'), 'utf8').trim()).toBe('65534');
    expect(readFileSync(join(out, 'groups'), 'utf8').trim()).toBe('65534'); // supplementary groups cleared
  });
});
