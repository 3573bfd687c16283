import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_EXIT_PERMANENT, respawnDelay, DEFAULT_RESPAWN, Supervisor, type ChildSpec } from '../../../src/daemon/process/supervisor.js';
import { InstanceStateRelay, type InstanceStateMessage } from '../../../src/daemon/process/messages.js';

const dummy = fileURLToPath(new URL('./fixtures/dummy-child.mjs', import.meta.url));
const srcDir = fileURLToPath(new URL('../../../src/daemon/process/', import.meta.url));

type Msg = { type: string; [k: string]: unknown };

let dir: string;
let lib: string;
const running: Array<Supervisor<Msg, Msg>> = [];

/** The child-side modules, transpiled to plain JS so that the dummy children can import them. */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lko-sup-'));
  const out = join(dir, 'lib');
  mkdirSync(out);
  for (const f of ['ipc', 'child']) {
    const src = readFileSync(join(srcDir, `${f}.ts`), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    writeFileSync(join(out, `${f}.js`), js.outputText);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  lib = join(out, 'child.js');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
});

interface Logged {
  info: string[];
  warn: string[];
  error: string[];
  all: string[];
}
function makeLog(): Logged & { info: string[] } {
  const l: Logged = { info: [], warn: [], error: [], all: [] };
  return l;
}

function spec(name: string, mode: string, logFile: string, env: Record<string, string> = {}, pidFile?: string): ChildSpec {
  return { name, modulePath: dummy, args: [name, mode, logFile], env: { ...process.env, LKO_CHILD_LIB: lib, ...env }, pidFile };
}

function supervisor(specs: ChildSpec[], opts: ConstructorParameters<typeof Supervisor<Msg, Msg>>[1] = {}) {
  const log = makeLog();
  const messages: Array<[string, Msg]> = [];
  const s = new Supervisor<Msg, Msg>(specs, {
    log: {
      info: (m) => (log.info.push(m), log.all.push(m)),
      warn: (m) => (log.warn.push(m), log.all.push(m)),
      error: (m) => (log.error.push(m), log.all.push(m)),
    },
    onMessage: (c, m) => messages.push([c, m]),
    ...opts,
  });
  running.push(s);
  return { s, log, messages };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const lines = (f: string): string[] => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : []);

describe('Supervisor', () => {
  it('forks named children, round-trips messages and requests both ways, writes and removes child pid files', async () => {
    const logFile = join(dir, 'rt.log');
    const pidFile = join(dir, 'vrrp.pid');
    const { s, messages, log } = supervisor([spec('VRRP', 'echo', logFile, {}, pidFile), spec('Checker', 'echo', logFile)], {
      onRequest: (child, m) => ({ answeredFor: child, type: m.type }),
    });
    s.start();
    await until(() => messages.filter(([, m]) => m.type === 'ready').length === 2);
    const vrrpPid = s.pid('VRRP')!;
    expect(log.info).toContain(`Starting VRRP child process, pid=${vrrpPid}`);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${vrrpPid}\n`);
    s.send('VRRP', { type: 'ping', n: 1 });
    s.broadcast({ type: 'ping', n: 2 }, 'VRRP');
    await until(() => messages.filter(([, m]) => m.type === 'pong').length === 2);
    // two processes answer: their order is not defined
    const pongs = messages.filter(([, m]) => m.type === 'pong').sort(([a], [b]) => a.localeCompare(b));
    expect(pongs).toEqual([
      ['Checker', { type: 'pong', n: 2, from: 'Checker' }],
      ['VRRP', { type: 'pong', n: 1, from: 'VRRP' }],
    ]);
    const r = await s.request<{ echo: Msg; pid: number }>('Checker', { type: 'status', deep: { a: [1, 2] } });
    expect(r).toEqual({ echo: { type: 'status', deep: { a: [1, 2] } }, from: 'Checker', pid: s.pid('Checker') });
    await expect(s.request('VRRP', { type: 'fail' })).rejects.toThrow('asked to fail');
    // child → parent request answered by onRequest
    expect(await s.request('VRRP', { type: 'ask-parent' })).toEqual({ parent: { answeredFor: 'VRRP', type: 'who' } });
    const exit = await s.stop();
    expect(exit).toEqual({ reason: { kind: 'stopped' }, exitCode: 0 });
    expect(existsSync(pidFile)).toBe(false);
  });

  it('stops children in stopOrder, each after the previous one exited', async () => {
    const logFile = join(dir, 'order.log');
    const { s, messages } = supervisor([spec('Checker', 'echo', logFile), spec('VRRP', 'echo', logFile)], {
      stopOrder: ['VRRP'],
    });
    s.start();
    await until(() => messages.length === 2);
    const t0 = Date.now();
    await s.stop();
    const ev = lines(logFile).filter((l) => !l.includes('start'));
    expect(ev).toEqual(['VRRP term', 'VRRP exit', 'Checker term', 'Checker exit']);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(s.children().every((c) => !c.running)).toBe(true);
  });

  it('SIGKILLs a child that ignores SIGTERM after stopTimeoutMs', async () => {
    const logFile = join(dir, 'hang.log');
    const exits: Array<[string, NodeJS.Signals | null]> = [];
    const { s, log } = supervisor([spec('VRRP', 'hang', logFile)], {
      stopTimeoutMs: 300,
      onChildExit: (n, _p, _c, sig) => exits.push([n, sig]),
    });
    s.start();
    await until(() => lines(logFile).length === 1);
    const t0 = Date.now();
    await s.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(lines(logFile)).toContain('VRRP ignoring-term');
    expect(exits).toEqual([['VRRP', 'SIGKILL']]);
    expect(log.warn.some((m) => /did not stop within 300 ms: killing it/.test(m))).toBe(true);
  });

  it('respawns a dead child with keepalived\'s phrase, then backs off, then gives up', async () => {
    const logFile = join(dir, 'crash.log');
    const spawns: Array<[number, boolean]> = [];
    const { s, log } = supervisor([spec('VRRP', 'crash', logFile)], {
      respawn: { maxDeaths: 3, windowMs: 60_000, backoffMs: 50, maxBackoffMs: 1000 },
      onSpawn: (_n, pid, re) => spawns.push([pid, re]),
    });
    s.start();
    const exit = await s.done;
    expect(exit).toEqual({ reason: expect.objectContaining({ kind: 'respawn-limit', child: 'VRRP', deaths: 4 }), exitCode: 1 });
    expect(spawns.map(([, re]) => re)).toEqual([false, true, true, true]);
    const [p0, p1, p2, p3] = spawns.map(([p]) => p);
    expect(log.warn).toEqual([
      `VRRP child process(${p0}) died: Respawning`,
      `VRRP child process(${p1}) died: Respawning in 50 ms (2 deaths in 60 s)`,
      `VRRP child process(${p2}) died: Respawning in 100 ms (3 deaths in 60 s)`,
    ]);
    expect(log.error).toEqual([`VRRP child process(${p3}) died 4 times in 60 s: giving up (exit code 3)`]);
    expect(s.children()[0]).toMatchObject({ running: false, respawns: 3 });
  });

  it('forgets deaths older than the window (fake clock)', async () => {
    const logFile = join(dir, 'window.log');
    let now = 0;
    const { s, log } = supervisor([spec('Checker', 'crash', logFile)], {
      respawn: { maxDeaths: 1, windowMs: 1000, backoffMs: 10, maxBackoffMs: 10 },
      now: () => (now += 5000), // every death is 5 s after the previous one
    });
    s.start();
    await until(() => log.warn.length >= 4);
    await s.stop();
    expect(log.error).toEqual([]);
    expect(log.warn.every((m) => /died: Respawning$/.test(m))).toBe(true);
  });

  it('--dont-respawn: a dead child stops the others and the daemon exits 1', async () => {
    const logFile = join(dir, 'dontrespawn.log');
    const { s, log } = supervisor([spec('VRRP', 'echo', logFile), spec('Checker', 'crash', logFile, { LKO_CRASH_AFTER: '300' })], {
      dontRespawn: true,
    });
    s.start();
    const exit = await s.done;
    expect(exit.exitCode).toBe(1);
    expect(exit.reason).toMatchObject({ kind: 'dont-respawn', child: 'Checker' });
    expect(log.error.some((m) => /^Checker child process\(\d+\) died: Exiting \(exit code 3\)$/.test(m))).toBe(true);
    expect(lines(logFile)).toContain('VRRP term');
    expect(s.children().every((c) => !c.running)).toBe(true);
  });

  it('a permanent error (exit 78) is never respawned', async () => {
    const logFile = join(dir, 'perm.log');
    const { s } = supervisor([spec('Checker', 'permanent', logFile)]);
    s.start();
    const exit = await s.done;
    expect(exit.reason).toMatchObject({ kind: 'permanent-error', code: CHILD_EXIT_PERMANENT });
    expect(lines(logFile).filter((l) => l.includes('start'))).toHaveLength(1);
  });

  it('a child whose parent is SIGKILLed runs its stop handler instead of living on', async () => {
    const logFile = join(dir, 'orphan.log');
    // a throw-away parent process: forks the dummy and waits forever
    const parentScript = join(dir, 'parent.mjs');
    writeFileSync(
      parentScript,
      `import { fork } from 'node:child_process';\nfork(${JSON.stringify(dummy)}, ['VRRP', 'orphan', ${JSON.stringify(logFile)}], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });\nsetInterval(() => {}, 1 << 30);\n`,
    );
    const parent = spawn(process.execPath, [parentScript], { env: { ...process.env, LKO_CHILD_LIB: lib }, stdio: 'inherit' });
    await until(() => lines(logFile).length === 1);
    const childPid = Number(lines(logFile)[0]!.split(' ')[2]);
    parent.kill('SIGKILL');
    await until(() => lines(logFile).includes('VRRP parent-gone'));
    await until(() => {
      try {
        process.kill(childPid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });
});

describe('respawnDelay', () => {
  it('is 0 for the first death, then doubles from backoffMs up to maxBackoffMs', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => respawnDelay(n, DEFAULT_RESPAWN))).toEqual([0, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe('InstanceStateRelay', () => {
  const st = (instance: string, state: InstanceStateMessage['state'], vips = ['10.0.0.1']): InstanceStateMessage => ({
    type: 'instance-state', instance, vrid: 51, family: 'inet', state, vips, at: 0,
  });
  it('reports real changes only and gives a snapshot for a respawned checker', () => {
    const r = new InstanceStateRelay();
    expect(r.update(st('VI_1', 'BACKUP'))).toBe(true);
    expect(r.update(st('VI_1', 'BACKUP'))).toBe(false);
    expect(r.update(st('VI_1', 'MASTER'))).toBe(true);
    expect(r.update(st('VI_1', 'MASTER', ['10.0.0.1', '10.0.0.2']))).toBe(true);
    expect(r.update(st('VI_2', 'FAULT'))).toBe(true);
    expect(r.snapshot().states.map((s) => [s.instance, s.state])).toEqual([['VI_1', 'MASTER'], ['VI_2', 'FAULT']]);
    expect(r.update(st('VI_2', 'DELETED'))).toBe(true);
    expect(r.snapshot().states).toHaveLength(1);
    r.clear();
    expect(r.snapshot().states).toEqual([]);
  });
});

describe('Supervisor without fork', () => {
  it('a fork that throws counts as a death: backoff, then give up', async () => {
    const errors: string[] = [];
    let calls = 0;
    const s = new Supervisor<Msg, Msg>([{ name: 'VRRP', modulePath: '/nonexistent.js' }], {
      respawn: { maxDeaths: 2, windowMs: 60_000, backoffMs: 10, maxBackoffMs: 10 },
      log: { info: () => {}, warn: () => {}, error: (m) => errors.push(m) },
      forkChild: () => {
        calls++;
        throw new Error('spawn EAGAIN');
      },
    });
    s.start();
    const exit = await s.done;
    expect(exit.reason).toMatchObject({ kind: 'respawn-limit', deaths: 3 });
    expect(calls).toBe(3);
    expect(errors.filter((e) => e === 'VRRP child process: cannot fork: spawn EAGAIN')).toHaveLength(3);
    expect(() => s.start()).toThrow(/already started/);
  });
});
