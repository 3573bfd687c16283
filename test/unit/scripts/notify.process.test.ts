// Notify scripts and FIFOs with real processes and a real named pipe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import type { ScriptCommand } from '../../../src/config/model.js';
import { Notifier, openNotifyFifos } from '../../../src/scripts/notify.js';
import { NotifyFifo } from '../../../src/scripts/notify-fifo.js';
import { ScriptLauncher } from '../../../src/scripts/launcher.js';
import { ScriptPreparer } from '../../../src/scripts/script-security.js';
import { staticUserDatabase } from '../../../src/scripts/script-user.js';
import type { ScriptSpawner } from '../../../src/scripts/spawn.js';
import { alive, waitFor } from './helpers.js';

const self = { user: 'self', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const loc = { file: 'k.conf', line: 1 };
const cmd = (command: string): ScriptCommand => ({ command, location: loc });

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'lvsk-notify-'));
  chmodSync(base, 0o755);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(base, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

function preparerWith(logger = createMemoryLogger()) {
  return new ScriptPreparer({ enableScriptSecurity: true, defaultRunAs: self, users: staticUserDatabase([]), logger, self });
}

/** Read `count` lines from a FIFO with a separate process, as a real consumer would. */
function readLines(path: string, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('head', ['-n', String(count), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out.split('\n').filter((l) => l !== '')));
  });
}

describe('notify scripts (real processes)', () => {
  it('run in order per instance even when the first is slow, with keepalived arguments', async () => {
    const log = join(base, 'order.log');
    const master = script('master.sh', `sleep 0.3; echo "MASTER $*" >> ${log}`);
    const backup = script('backup.sh', `echo "BACKUP $*" >> ${log}`);
    const generic = script('notify.sh', `echo "notify $*" >> ${log}`);
    const logger = createMemoryLogger();
    const notifier = new Notifier({ logger, preparer: preparerWith(logger) });
    const target = { kind: 'INSTANCE' as const, name: 'VI_1', scripts: { master: cmd(`${master} "a b"`), backup: cmd(backup), generic: cmd(generic) } };
    notifier.vrrpState(target, 'MASTER', 150);
    notifier.vrrpState(target, 'BACKUP', 100);
    await notifier.idle();
    expect(readFileSync(log, 'utf8').trimEnd().split('\n')).toEqual(['MASTER a b', 'notify INSTANCE VI_1 MASTER 150', 'BACKUP ', 'notify INSTANCE VI_1 BACKUP 100']);
    expect(logger.lines).toEqual([]);
    await notifier.close();
  });

  it('a missing notify script is refused at first use, logged with its path', async () => {
    const logger = createMemoryLogger();
    const notifier = new Notifier({ logger, preparer: preparerWith(logger) });
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd(join(base, 'nope.sh')) } }, 'MASTER', 100);
    await notifier.idle();
    expect(logger.lines.map((l) => l.msg)).toEqual([
      `Unable to access script \`${join(base, 'nope.sh')}\` - disabling`,
      `Disabling notify script ${join(base, 'nope.sh')} since not found/accessible`,
    ]);
  });
});

// The VRRP child's notify scripts go through the launcher (its helper is the built one in dist/).
const LAUNCHER_MODULE = new URL('../../../dist/scripts/launcher-main.js', import.meta.url).pathname;
const launcher = new ScriptLauncher({ modulePath: LAUNCHER_MODULE, warn: (m) => process.stderr.write(`${m}\n`) });
afterAll(() => launcher.close());
const SPAWNERS: [string, ScriptSpawner | undefined][] = [
  ['in-process spawn', undefined],
  ['script launcher', existsSync(LAUNCHER_MODULE) ? launcher.spawner : undefined],
];

describe.each(SPAWNERS)('notify script timeout (real processes, %s)', (name, spawner) => {
  it('a notify script that sleeps forever is killed at its timeout, with what it started', async () => {
    if (name === 'script launcher' && !spawner) throw new Error(`${LAUNCHER_MODULE} is missing: npm run build first`);
    const pids = join(base, `hang-${spawner ? 'launcher' : 'spawn'}.pids`);
    const hang = script(`hang-${spawner ? 'launcher' : 'spawn'}.sh`, `sleep 3600 &
echo "$$ $!" > ${pids}.tmp
mv ${pids}.tmp ${pids}
wait`);
    const logger = createMemoryLogger();
    const notifier = new Notifier({ logger, preparer: preparerWith(logger), spawner, scriptTimeoutMs: 300, killGraceMs: 500 });
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd(hang) } }, 'MASTER', 100);
    await waitFor(() => existsSync(pids), 10_000);
    const [shell = 0, sleeper = 0] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    try {
      expect(alive(shell) && alive(sleeper)).toBe(true);
      await waitFor(() => !alive(shell) && !alive(sleeper), 10_000);
    } finally {
      if (alive(shell) || alive(sleeper)) process.kill(-shell, 'SIGKILL'); // a failed run leaves nothing behind
    }
    await notifier.idle();
    expect(logger.lines.map((l) => l.msg)).toEqual([`Notify script '${hang}' for (VI_1) timed out after 0.3 s - killing its process group`]);
    await notifier.close();
  });
});

describe('notify script environment (real processes)', () => {
  it('a script sees PATH only, not the daemon’s environment (run as nobody when root)', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'lvsk-notify-env-'));
    const asRoot = self.uid === 0;
    if (asRoot) chownSync(outDir, 65534, 65534);
    const out = join(outDir, 'env.out');
    const printEnv = script('print-env.sh', `env > ${out}`);
    const logger = createMemoryLogger();
    const nobody = { user: 'nobody', uid: 65534, gid: 65534 };
    const preparer = new ScriptPreparer({
      enableScriptSecurity: true,
      defaultRunAs: asRoot ? nobody : self,
      users: staticUserDatabase([{ name: 'nobody', uid: 65534, gid: 65534 }]),
      logger,
      self,
    });
    const notifier = new Notifier({ logger, preparer });
    process.env['LVSK_DAEMON_ONLY'] = 'not for scripts';
    try {
      notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { generic: cmd(printEnv) } }, 'MASTER', 100);
      await notifier.idle();
    } finally {
      delete process.env['LVSK_DAEMON_ONLY'];
    }
    // dash exports PWD itself.
    const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('PWD='));
    expect(lines).toEqual([`PATH=${process.env['PATH']}`]);
    expect(logger.lines).toEqual([]);
    rmSync(outDir, { recursive: true, force: true });
  });
});

describe('NotifyFifo (real named pipe)', () => {
  it('creates a missing FIFO (0600), delivers lines in order to a reader, removes it at close', async () => {
    const path = join(base, 'created.fifo');
    const logger = createMemoryLogger();
    const fifo = NotifyFifo.open({ path, logger, label: 'vrrp ' });
    expect(fifo).toBeDefined();
    expect(lstatSync(path).isFIFO()).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    const reading = readLines(path, 3);
    fifo?.write('INSTANCE "VI_1" BACKUP 100\n');
    fifo?.write('INSTANCE "VI_1" MASTER 100\n');
    fifo?.write('GROUP "G1" MASTER 0\n');
    expect(await reading).toEqual(['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100', 'GROUP "G1" MASTER 0']);
    await fifo?.close();
    expect(existsSync(path)).toBe(false);
    expect(logger.lines).toEqual([]);
  });

  it('keeps a FIFO that existed before', async () => {
    const path = join(base, 'existing.fifo');
    expect(spawnSync('mkfifo', ['-m', '0600', path]).status).toBe(0);
    const fifo = NotifyFifo.open({ path, logger: createMemoryLogger() });
    await fifo?.close();
    expect(lstatSync(path).isFIFO()).toBe(true);
  });

  it('never blocks without a reader: fills the pipe, queues, then drops with one warning', async () => {
    const path = join(base, 'noreader.fifo');
    const logger = createMemoryLogger();
    const fifo = NotifyFifo.open({ path, logger, maxQueuedBytes: 64 * 1024, retryMs: 20 });
    const line = `INSTANCE "VI_1" MASTER 100 ${'x'.repeat(70)}\n`; // 100 bytes
    const t0 = Date.now();
    for (let i = 0; i < 5000; i++) fifo?.write(line); // 500 kB: pipe (64 kB) + queue (64 kB) overflow
    expect(Date.now() - t0).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 200));
    expect(fifo?.pendingBytes).toBeGreaterThan(0);
    expect(logger.lines.map((l) => l.msg)).toEqual([`notify fifo ${path} is full (no reader?) - dropping events`]);
    // A reader arrives: the queue drains in order and the drop count is reported.
    const reader = spawn('cat', [path], { stdio: ['ignore', 'ignore', 'ignore'] });
    expect(await fifo?.whenDrained(5000)).toBe(true);
    reader.kill();
    expect(logger.lines.at(-1)?.msg).toMatch(new RegExp(`^notify fifo ${path}: \\d+ events were dropped while it was full$`));
    await fifo?.close(0);
  });

  it('runs the notify_fifo_script with the FIFO path as last argument', async () => {
    const path = join(base, 'scripted.fifo');
    const out = join(base, 'fifo-script.out');
    const reader = script('fifo-reader.sh', `echo "arg: $1" > ${out}; head -n 1 "$1" >> ${out}`);
    const logger = createMemoryLogger();
    const fifos = openNotifyFifos(
      { notifyFifo: undefined, vrrpNotifyFifo: { path, script: cmd(reader), location: loc }, lvsNotifyFifo: { path, location: loc } },
      'both',
      { logger, preparer: preparerWith(logger) },
    );
    expect(fifos.lvs).toBe(fifos.vrrp); // same path: one FIFO
    const notifier = new Notifier({ logger, preparer: preparerWith(logger), fifos });
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: {} }, 'MASTER', 100);
    const until = Date.now() + 5000;
    while (!(existsSync(out) && readFileSync(out, 'utf8').split('\n').length >= 3) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(out, 'utf8')).toBe(`arg: ${path}\nINSTANCE "VI_1" MASTER 100\n`);
    await notifier.close(1000);
    expect(existsSync(path)).toBe(false);
  });

  it('ignores a vrrp FIFO that is also the global one, as keepalived', () => {
    const path = join(base, 'dup.fifo');
    const logger = createMemoryLogger();
    const fifos = openNotifyFifos({ notifyFifo: { path, location: loc }, vrrpNotifyFifo: { path, location: loc }, lvsNotifyFifo: undefined }, 'vrrp', {
      logger,
      preparer: preparerWith(logger),
    });
    expect(fifos.global).toBeDefined();
    expect(fifos.vrrp).toBeUndefined();
    expect(logger.lines.map((l) => l.msg)).toEqual([`notify FIFO ${path} has been specified for global and vrrp FIFO - ignoring vrrp FIFO`]);
    return fifos.global?.close();
  });

  it('reports a FIFO it cannot create', () => {
    const logger = createMemoryLogger();
    expect(NotifyFifo.open({ path: join(base, 'no/such/dir/x.fifo'), logger, label: 'lvs ' })).toBeUndefined();
    expect(logger.lines.map((l) => l.msg)).toEqual([`Unable to create lvs notify fifo ${join(base, 'no/such/dir/x.fifo')}`]);
  });
});
