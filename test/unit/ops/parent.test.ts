import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startParent, type ParentHandle } from '../../../src/daemon/process/parent.js';
import { createNotifier } from '../../../src/daemon/process/sd-notify.js';
import type { ChildSpec } from '../../../src/daemon/process/supervisor.js';

const childScript = fileURLToPath(new URL('./fixtures/runtime-child.mjs', import.meta.url));
const srcDir = fileURLToPath(new URL('../../../src/daemon/process/', import.meta.url));

let dir: string;
let lib: string;
const handles: ParentHandle[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lko-parent-'));
  const out = join(dir, 'lib');
  mkdirSync(out);
  for (const f of ['ipc', 'child', 'messages']) {
    const src = readFileSync(join(srcDir, `${f}.ts`), 'utf8');
    writeFileSync(join(out, `${f}.js`), ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  lib = join(out, 'child.js');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.supervisor.stop('SIGKILL')));
});

// Generous: children are real Node processes, slow to start on a loaded 2-core machine.
async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function setup(tag: string, opts: { beforeReload?: () => string | undefined; env?: Record<string, string> } = {}) {
  const logFile = join(dir, `${tag}.log`);
  writeFileSync(logFile, '');
  const lines = (): string[] => readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean);
  const spec = (name: string): ChildSpec => ({ name, modulePath: childScript, args: [name, logFile], env: { ...process.env, LKO_CHILD_LIB: lib, ...opts.env } });
  const notes: string[] = [];
  const logs: string[] = [];
  const signals = new EventEmitter();
  const pidFile = join(dir, `${tag}.pid`);
  const h = startParent({
    children: [spec('Checker'), spec('VRRP')],
    pidFile,
    pid: 4_000_000 + Math.floor(Math.random() * 100_000),
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(`ERROR ${m}`) },
    notifier: createNotifier({ env: { NOTIFY_SOCKET: '@lko-test' }, send: (_a, b) => void notes.push(b.toString()), monotonicUsec: () => 42n }),
    globalDefs: () => ({ jsonFileLocation: join(dir, `${tag}.json`), stateFileLocation: join(dir, `${tag}.data`), statsFileLocation: join(dir, `${tag}.stats`) }),
    beforeReload: opts.beforeReload,
    signals: signals as never,
    stopTimeoutMs: 3000,
  });
  handles.push(h);
  return { h, notes, logs, lines, signals, pidFile, tag };
}

describe('startParent', () => {
  it('READY=1 after every child is ready, relays instance states to the checker, stops VRRP first, removes the pid file', async () => {
    const t = setup('main');
    expect(existsSync(t.pidFile)).toBe(true);
    await until(() => t.notes.some((n) => n.startsWith('READY=1')));
    await until(() => t.lines().includes('Checker got instance-state VI_1 MASTER'));
    expect(t.lines()).toContain('Checker got instance-state VI_1 BACKUP');
    expect(t.h.instanceStates().map((s) => s.state)).toEqual(['MASTER']);
    await until(() => t.notes.some((n) => n.endsWith('STATUS=VI_1 MASTER')));
    t.signals.emit('SIGTERM', 'SIGTERM');
    expect(await t.h.done).toBe(0);
    expect(t.notes.at(-1)).toBe('STOPPING=1');
    const stops = t.lines().filter((l) => l.endsWith(' stop'));
    expect(stops).toEqual(['VRRP stop', 'Checker stop']);
    expect(existsSync(t.pidFile)).toBe(false);
  });

  it('HUP: RELOADING=1 with MONOTONIC_USEC, every child reloads, "Reload complete", READY=1', async () => {
    const t = setup('reload');
    await until(() => t.notes.some((n) => n.startsWith('READY=1')));
    const before = t.notes.length;
    t.signals.emit('SIGHUP', 'SIGHUP');
    await until(() => t.logs.includes('Reload complete'));
    // A child's state report may add a STATUS= note in between; READY=1 must follow RELOADING=1.
    await until(() => t.notes.slice(before).some((n) => n.startsWith('READY=1')));
    expect(t.notes[before]).toBe('RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading');
    expect(t.notes.slice(before + 1).find((n) => n.startsWith('READY=1'))).toMatch(/^READY=1\nSTATUS=VI_1 (MASTER|BACKUP)$/);
    expect(t.lines().filter((l) => l.endsWith(' reload')).sort()).toEqual(['Checker reload', 'VRRP reload']);
    // a HUP during a reload runs exactly one more afterwards
    const a = t.h.reload();
    const b = t.h.reload();
    expect(await a).toBe(true);
    expect(await b).toBe(true);
    expect(t.lines().filter((l) => l === 'VRRP reload')).toHaveLength(3);
  });

  it('a configuration that does not parse aborts the reload: children untouched, READY=1 again', async () => {
    const t = setup('abort', { beforeReload: () => 'keepalived.conf:3: unknown keyword' });
    await until(() => t.notes.some((n) => n.startsWith('READY=1')));
    expect(await t.h.reload()).toBe(false);
    expect(t.logs).toContain('ERROR Reload aborted, the running configuration stays: keepalived.conf:3: unknown keyword');
    expect(t.lines().filter((l) => l.endsWith(' reload'))).toEqual([]);
    expect(t.notes.at(-1)).toMatch(/^READY=1/);
  });

  it('a configuration check that throws refuses the reload and leaves the parent running', async () => {
    const t = setup('throw', {
      beforeReload: () => {
        throw new Error('heap limit');
      },
    });
    await until(() => t.notes.some((n) => n.startsWith('READY=1')));
    expect(await t.h.reload()).toBe(false);
    expect(t.logs).toContain('ERROR Reload aborted, the running configuration stays: the new configuration could not be checked: heap limit');
    expect(t.lines().filter((l) => l.endsWith(' reload'))).toEqual([]);
    expect(t.notes.at(-1)).toMatch(/^READY=1/);
    expect(await t.h.reload()).toBe(false); // and the next reload is handled too
  });

  it('a child that fails its reload is reported, and READY=1 still follows', async () => {
    const t = setup('fail', { env: { LKO_RELOAD_FAIL: '1' } });
    await until(() => t.notes.some((n) => n.startsWith('READY=1')));
    expect(await t.h.reload()).toBe(false);
    expect(t.logs.some((l) => /^ERROR (VRRP|Checker) child process: reload failed: bad new config$/.test(l))).toBe(true);
    expect(t.logs).not.toContain('Reload complete');
    // The first child's refusal stops the reload: the other child is not asked (both stay on one file).
    expect(t.logs.filter((l) => / child process: reload failed: /.test(l))).toHaveLength(1);
    expect(t.logs.some((l) => /^ERROR Reload aborted, the running configuration stays in the \w+ child process$/.test(l))).toBe(true);
    expect(t.notes.at(-1)).toMatch(/^READY=1/);
  });

  it('dump signals write 0600 files at the global_defs locations, passwords redacted', async () => {
    const t = setup('dump');
    await until(() => t.notes.some((n) => n.startsWith('READY=1')));
    t.signals.emit('SIGWINCH', 'SIGWINCH'); // JSON
    t.signals.emit('SIGUSR1', 'SIGUSR1'); // DATA
    t.signals.emit('SIGUSR2', 'SIGUSR2'); // STATS
    const json = join(dir, 'dump.json');
    await until(() => existsSync(json) && existsSync(join(dir, 'dump.data')) && existsSync(join(dir, 'dump.stats')));
    const parsed = JSON.parse(readFileSync(json, 'utf8'));
    expect(parsed.VRRP).toEqual({ name: 'VRRP', what: 'json', authentication: { password: '<redacted>' } });
    expect(statSync(json).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'dump.data'), 'utf8').split('\n').sort()).toEqual(['', 'Checker data reloads=0', 'VRRP data reloads=0']);
    expect(readFileSync(join(dir, 'dump.stats'), 'utf8')).toContain('VRRP stats reloads=0');
  });

  it('a respawned checker gets the instance states at once', async () => {
    const t = setup('respawn');
    await until(() => t.lines().includes('Checker got instance-state VI_1 MASTER'));
    const checkerPid = t.h.supervisor.pid('Checker')!;
    process.kill(checkerPid, 'SIGKILL');
    await until(() => t.lines().includes('Checker got instance-states VI_1=MASTER'));
    expect(t.logs).toContain(`Checker child process(${checkerPid}) died: Respawning`);
  });
});
