import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { TrackScriptRunner, trackScriptSpecsFromConfig, type TrackScriptChange, type TrackScriptSpec } from '../../../src/scripts/track-script.js';
import { acceptAllPreparer, FakeClock, FakeSpawner } from './helpers.js';

const spec = (over: Partial<TrackScriptSpec> = {}): TrackScriptSpec => ({
  name: 'lvs_check',
  script: '/bin/check',
  intervalMs: 1000,
  timeoutMs: 1000,
  rise: 1,
  fall: 1,
  initFail: false,
  ...over,
});

function setup(specs: TrackScriptSpec[], killGraceMs = 2000) {
  const clock = new FakeClock();
  const spawner = new FakeSpawner();
  const logger = createMemoryLogger();
  const runner = new TrackScriptRunner({ scripts: specs, preparer: acceptAllPreparer, logger, clock, spawner: spawner.spawn, killGraceMs });
  const changes: TrackScriptChange[] = [];
  runner.onChange((_name, change) => changes.push(change));
  const msgs = () => logger.lines.map((l) => l.msg);
  return { clock, spawner, logger, runner, changes, msgs };
}

describe('TrackScriptRunner scheduling (fake clock)', () => {
  it('runs at start and every interval, reporting transitions once', async () => {
    const { clock, spawner, runner, changes, msgs } = setup([spec()]);
    runner.start();
    expect(spawner.runs).toHaveLength(1);
    expect(runner.status('lvs_check')).toBe('init');
    spawner.last().finish({ code: 0 });
    await clock.advance(0);
    expect(runner.status('lvs_check')).toBe('up');
    expect(changes).toEqual([{ name: 'lvs_check', up: true, status: 'up', previous: 'init', outcome: { kind: 'exited', code: 0 } }]);

    await clock.advance(1000);
    expect(spawner.runs).toHaveLength(2);
    spawner.last().finish({ code: 0 });
    await clock.advance(1000);
    spawner.last().finish({ code: 1 });
    await clock.advance(0);
    expect(runner.status('lvs_check')).toBe('down');
    expect(changes.map((c) => c.status)).toEqual(['up', 'down']);
    expect(msgs()).toEqual(['VRRP_Script(lvs_check) succeeded', 'Script `lvs_check` now returning 1', 'VRRP_Script(lvs_check) failed (exited with status 1)']);
  });

  it('skips a run while the previous one is still going', async () => {
    const { clock, spawner, runner, msgs } = setup([spec({ timeoutMs: 5000 })]);
    runner.start();
    await clock.advance(1000);
    await clock.advance(1000);
    expect(spawner.runs).toHaveLength(1);
    expect(msgs()).toEqual([
      'Track script lvs_check is already running, expect idle - skipping run',
      'Track script lvs_check is already running, expect idle - skipping run',
    ]);
    spawner.last().finish({ code: 0 });
    await clock.advance(1000);
    expect(spawner.runs).toHaveLength(2);
  });

  it('times out: SIGTERM, then SIGKILL after the grace time, counted as a failure', async () => {
    const { clock, spawner, runner, changes, msgs } = setup([spec({ intervalMs: 10_000, timeoutMs: 3000 })], 2000);
    spawner.dieOnSignal = false; // ignores SIGTERM
    runner.start();
    await clock.advance(3000);
    expect(spawner.last().kills).toEqual(['SIGTERM']);
    await clock.advance(1999);
    expect(spawner.last().kills).toEqual(['SIGTERM']);
    await clock.advance(1);
    expect(spawner.last().kills).toEqual(['SIGTERM', 'SIGKILL']);
    spawner.last().finish({ signal: 'SIGKILL' });
    await clock.advance(0);
    expect(runner.status('lvs_check')).toBe('down');
    expect(changes[0]?.outcome).toEqual({ kind: 'timed_out' });
    expect(msgs()).toEqual(['VRRP_Script(lvs_check) timed_out']);
  });

  it('says "being timed out" when a run is due during termination', async () => {
    const { clock, spawner, runner, msgs } = setup([spec({ intervalMs: 1000, timeoutMs: 500 })], 2000);
    spawner.dieOnSignal = false;
    runner.start();
    await clock.advance(1000);
    expect(msgs()).toEqual([]);
    await clock.advance(100);
    expect(msgs()).toEqual(['Track script lvs_check is being timed out, expect idle - skipping run']);
    spawner.last().finish({ signal: 'SIGKILL' });
    await clock.advance(0);
    expect(spawner.runs).toHaveLength(1); // the skipped run is not started late
  });

  it('timeout == interval: the killed run is reaped and the next starts in the same tick, as keepalived', async () => {
    const { clock, spawner, runner, msgs } = setup([spec({ intervalMs: 1000, timeoutMs: 1000 })]);
    runner.start();
    await clock.advance(1000);
    expect(spawner.runs).toHaveLength(2);
    expect(spawner.runs[0]?.kills).toEqual(['SIGTERM', 'SIGKILL']);
    expect(msgs()).toEqual(['VRRP_Script(lvs_check) timed_out']);
  });

  it('a SIGTERM-killed timeout also sweeps the process group with SIGKILL', async () => {
    const { clock, spawner, runner, changes } = setup([spec({ intervalMs: 10_000, timeoutMs: 500 })]);
    runner.start();
    await clock.advance(500);
    expect(spawner.last().kills).toEqual(['SIGTERM', 'SIGKILL']);
    expect(changes[0]?.outcome).toEqual({ kind: 'timed_out' });
  });

  it('treats a foreign signal as a failure "due to signal" and spawn errors as exit 127', async () => {
    const { clock, spawner, runner, msgs } = setup([spec({ name: 'a' }), spec({ name: 'b' })]);
    runner.start();
    spawner.runs[0]?.finish({ signal: 'SIGSEGV' });
    const enoent = Object.assign(new Error('spawn /bin/check ENOENT'), { code: 'ENOENT', errno: -2 });
    spawner.runs[1]?.finish({ spawnError: enoent });
    await clock.advance(0);
    expect(msgs()).toEqual([
      'VRRP_Script(a) failed (due to signal 11)',
      "Error exec-ing command '/bin/check', error -2: spawn /bin/check ENOENT",
      'Script `b` now returning 127',
      'VRRP_Script(b) failed (exited with status 127)',
    ]);
  });

  it('init_fail starts down and rise/fall come from the spec', async () => {
    const { clock, spawner, runner, changes } = setup([spec({ initFail: true, rise: 2, fall: 2 })]);
    expect(runner.status('lvs_check')).toBe('down');
    runner.start();
    spawner.last().finish({ code: 0 });
    await clock.advance(1000);
    expect(runner.status('lvs_check')).toBe('down');
    spawner.last().finish({ code: 0 });
    await clock.advance(0);
    expect(runner.status('lvs_check')).toBe('up');
    expect(changes.map((c) => `${c.previous}->${c.status}`)).toEqual(['down->up']);
  });

  it('stop() kills running checks and schedules nothing more', async () => {
    const { clock, spawner, runner } = setup([spec()]);
    runner.start();
    const stopped = runner.stop();
    await stopped;
    expect(spawner.last().kills).toEqual(['SIGTERM']);
    await clock.advance(5000);
    expect(spawner.runs).toHaveLength(1);
    expect(clock.pending()).toBe(0);
  });

  it('stop() escalates to SIGKILL for a check that ignores SIGTERM', async () => {
    const { clock, spawner, runner } = setup([spec()], 300);
    spawner.dieOnSignal = false;
    runner.start();
    let done = false;
    void runner.stop().then(() => (done = true));
    await clock.advance(299);
    expect(spawner.last().kills).toEqual(['SIGTERM']);
    await clock.advance(1);
    expect(spawner.last().kills).toEqual(['SIGTERM', 'SIGKILL']);
    spawner.last().finish({ signal: 'SIGKILL' });
    await clock.advance(0);
    expect(done).toBe(true);
  });

  it('reload: scripts that were up are considered successful, down ones unsuccessful', async () => {
    const { clock, spawner, runner, msgs, changes } = setup([spec({ name: 'a', rise: 3, fall: 3 }), spec({ name: 'b' }), spec({ name: 'c' })]);
    runner.markAllSuccessfulOnReload(new Map([['a', 'up'], ['b', 'down']]));
    expect(runner.snapshot()).toEqual(new Map([['a', 'up'], ['b', 'down'], ['c', 'init']]));
    expect(msgs()).toEqual(['VRRP_Script(a) considered successful on reload', 'VRRP_Script(b) considered unsuccessful on reload']);
    runner.start();
    spawner.runs[0]?.finish({ code: 1 }); // one failure is enough after reload
    await clock.advance(0);
    expect(runner.status('a')).toBe('down');
    expect(changes.map((c) => `${c.name}:${c.previous}->${c.status}`)).toEqual(['a:up->down']);
  });

  it('markAllSuccessfulOnReload() without a snapshot marks every script up', () => {
    const { runner } = setup([spec({ name: 'a' }), spec({ name: 'b', initFail: true })]);
    runner.markAllSuccessfulOnReload();
    expect([...runner.snapshot().values()]).toEqual(['up', 'up']);
  });

  it('disables scripts the preparer refuses and never runs them', async () => {
    const clock = new FakeClock();
    const spawner = new FakeSpawner();
    const logger = createMemoryLogger();
    const preparer = {
      prepare: (line: string) =>
        line === '/bad'
          ? { ok: false as const, reason: 'insecure' as const, message: 'x' }
          : line === '/gone'
            ? { ok: false as const, reason: 'not_found' as const, message: 'y' }
            : line === '/nouser'
              ? { ok: false as const, reason: 'no_default_user' as const, message: 'z' }
              : acceptAllPreparer.prepare(line),
    };
    const runner = new TrackScriptRunner({
      scripts: [spec({ name: 'bad', script: '/bad' }), spec({ name: 'gone', script: '/gone' }), spec({ name: 'nouser', script: '/nouser' }), spec({ name: 'good' })],
      preparer,
      logger,
      clock,
      spawner: spawner.spawn,
    });
    runner.start();
    expect(spawner.runs.map((r) => r.script.configured)).toEqual(['/bin/check']);
    expect(runner.disabledScripts()).toEqual(['bad', 'gone', 'nouser']);
    expect(runner.status('bad')).toBeUndefined();
    expect(logger.lines.map((l) => l.msg)).toEqual([
      'Disabling track script bad due to insecure',
      'Disabling track script gone since not found/accessible',
      'Unable to set default user for vrrp script nouser - removing',
    ]);
  });

  it('a throwing listener is logged, not propagated', async () => {
    const { clock, spawner, runner, msgs } = setup([spec()]);
    runner.onChange(() => {
      throw new Error('boom');
    });
    runner.start();
    spawner.last().finish({ code: 0 });
    await clock.advance(0);
    expect(msgs()).toContain('Track script lvs_check listener failed: boom');
  });

  it('maps the config model one to one', () => {
    const model = { ...spec(), location: { file: 'k.conf', line: 3 }, weight: -20, weightReverse: false, user: 'nobody', group: undefined };
    expect(trackScriptSpecsFromConfig([model])).toEqual([{ ...spec(), user: 'nobody', group: undefined }]);
  });
});
