import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_CHECKERS_PID_FILE, DEFAULT_PID_FILE, DEFAULT_VRRP_PID_FILE, PidFileError, acquirePidFile, readPidFile, runningInstance,
} from '../../../src/daemon/process/pidfile.js';
import { SIGNAL_TABLE, functionForSignal, installSignalHandlers, signumFor, unknownSigfuncMessage } from '../../../src/daemon/process/signals.js';

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'lko-pid-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pid files', () => {
  it('default to lvskeeper names that cannot collide with keepalived', () => {
    expect([DEFAULT_PID_FILE, DEFAULT_VRRP_PID_FILE, DEFAULT_CHECKERS_PID_FILE]).toEqual([
      '/run/lvskeeper.pid', '/run/lvskeeper_vrrp.pid', '/run/lvskeeper_checkers.pid',
    ]);
  });

  it('writes pid\\n with mode 0644 and removes it on release only while it is ours', () => {
    const f = join(dir, 'a.pid');
    const p = acquirePidFile(f, 4242, { isAlive: () => false });
    expect(readFileSync(f, 'utf8')).toBe('4242\n');
    expect(statSync(f).mode & 0o777).toBe(0o644);
    p.release();
    expect(existsSync(f)).toBe(false);
    const p2 = acquirePidFile(f, 4243, { isAlive: () => false });
    writeFileSync(f, '999\n'); // somebody else took it over
    p2.release();
    expect(readPidFile(f)).toBe(999);
  });

  it('refuses to start while a live lvskeeper holds the file: "daemon is already running"', async () => {
    const f = join(dir, 'b.pid');
    // a real live process whose command line mentions lvskeeper
    const other = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e6)', 'lvskeeper'], { stdio: 'ignore' });
    await new Promise((r) => other.once('spawn', r));
    try {
      writeFileSync(f, `${other.pid}\n`);
      expect(runningInstance(f)).toBe(other.pid);
      expect(() => acquirePidFile(f)).toThrow(PidFileError);
      expect(() => acquirePidFile(f)).toThrow(/^daemon is already running \(pid \d+/);
      expect(readPidFile(f)).toBe(other.pid);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('replaces a stale file: dead pid, reused pid of another program, garbage', async () => {
    const f = join(dir, 'c.pid');
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(f, `${dead.pid}\n`);
    acquirePidFile(f).release();
    writeFileSync(f, '1\n'); // pid 1 is alive but is not lvskeeper
    expect(runningInstance(f, { cmdline: () => '/sbin/init' })).toBeUndefined();
    writeFileSync(f, 'garbage');
    expect(readPidFile(f)).toBeUndefined();
    const p = acquirePidFile(f);
    expect(readPidFile(f)).toBe(process.pid);
    p.release();
  });
});

describe('signals', () => {
  it('--signum names map like keepalived 2.2.7 where Node can catch the signal', () => {
    expect(signumFor('STOP')).toBe(15);
    expect(signumFor('RELOAD')).toBe(1);
    expect(signumFor('DATA')).toBe(10);
    expect(signumFor('STATS')).toBe(12);
    // keepalived uses realtime signals 63 and 36, which Node cannot catch (and which kill by default)
    expect(signumFor('STATS_CLEAR')).toBe(23);
    expect(signumFor('JSON')).toBe(28);
    expect(SIGNAL_TABLE.find((e) => e.name === 'JSON')!.keepalivedNumber).toBe(36);
    expect(signumFor('json')).toBeUndefined();
    expect(signumFor('TDATA')).toBeUndefined();
    expect(unknownSigfuncMessage('json')).toBe('Unknown sigfunc json');
    expect(functionForSignal('SIGINT')).toBe('STOP');
  });

  it('installs handlers for every function and removes them again', () => {
    const target = new EventEmitter();
    const seen: string[] = [];
    const off = installSignalHandlers({ RELOAD: () => seen.push('reload'), STOP: (s) => seen.push(`stop ${s}`) }, target as never);
    for (const s of ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGWINCH', 'SIGURG', 'SIGUSR1']) target.emit(s, s);
    expect(seen).toEqual(['reload', 'stop SIGTERM', 'stop SIGINT']);
    expect(target.listenerCount('SIGWINCH')).toBe(1); // caught even without a handler: never fatal
    off();
    expect(target.eventNames()).toEqual([]);
  });

  it('a real process with the handlers survives JSON and STATS_CLEAR signals', async () => {
    const seen: string[] = [];
    const off = installSignalHandlers({ JSON: () => seen.push('json'), STATS_CLEAR: () => seen.push('clear') });
    try {
      process.kill(process.pid, signumFor('JSON')!);
      process.kill(process.pid, signumFor('STATS_CLEAR')!);
      const end = Date.now() + 2000;
      while (seen.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(seen.sort()).toEqual(['clear', 'json']);
    } finally {
      off();
    }
  });
});
