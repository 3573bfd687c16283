import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import type { NotifyScripts, ScriptCommand, VirtualServer } from '../../../src/config/model.js';
import {
  configuredNotifyScripts,
  MAX_CONCURRENT_NOTIFY_SCRIPTS,
  Notifier,
  processNotifySlots,
  ScriptSlots,
  type FifoSink,
  type NotifierOptions,
  type NotifyTarget,
} from '../../../src/scripts/notify.js';
import { formatVirtualServer, genericNotifyArgs, rsFifoLine, vrrpFifoLine, vsFifoLine } from '../../../src/scripts/notify-format.js';
import { acceptAllPreparer, FakeClock, FakeSpawner } from './helpers.js';

const loc = { file: 'k.conf', line: 1 };
const cmd = (command: string, user?: string): ScriptCommand => ({ command, user, location: loc });

describe('keepalived notify formats', () => {
  it('formats vrrp FIFO lines and generic notify arguments', () => {
    expect(vrrpFifoLine('INSTANCE', 'VI_1', 'MASTER', 100)).toBe('INSTANCE "VI_1" MASTER 100\n');
    expect(vrrpFifoLine('GROUP', 'G1', 'BACKUP', 0)).toBe('GROUP "G1" BACKUP 0\n');
    expect(vrrpFifoLine('INSTANCE', 'VI_1', 'MASTER_RX_LOWER_PRI', 150)).toBe('INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n');
    expect(genericNotifyArgs('INSTANCE', 'VI_1', 'MASTER', 150)).toEqual(['INSTANCE', 'VI_1', 'MASTER', '150']);
  });

  it('formats virtual and real servers as keepalived (man keepalived.conf examples)', () => {
    const vs = { key: { kind: 'address' as const, family: 'inet' as const, address: '192.168.201.15', port: 80 }, protocol: 'tcp' as const };
    expect(vsFifoLine(vs, true)).toBe('VS [192.168.201.15]:tcp:80 UP\n');
    expect(rsFifoLine({ address: '1.2.3.4', port: 80 }, vs, false)).toBe('RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN\n');
    expect(formatVirtualServer({ kind: 'fwmark', fwmark: 7 }, 'tcp')).toBe('FWM 7');
    expect(formatVirtualServer({ kind: 'group', group: 'web' }, 'tcp')).toBe('[web]:0');
    expect(formatVirtualServer({ kind: 'address', family: 'inet6', address: '2001:db8::1', port: 53 }, 'udp')).toBe('[2001:db8::1]:udp:53');
  });
});

function memoryFifo(): FifoSink & { lines: string[]; closed: boolean } {
  const sink = {
    lines: [] as string[],
    closed: false,
    write(line: string) {
      sink.lines.push(line);
    },
    async close() {
      sink.closed = true;
    },
  };
  return sink;
}

function setup(scriptTimeoutMs = 10_000, more: Partial<NotifierOptions> = {}) {
  const clock = new FakeClock();
  const spawner = new FakeSpawner();
  spawner.dieOnSignal = false;
  const logger = createMemoryLogger();
  const global = memoryFifo();
  const vrrp = memoryFifo();
  const lvs = memoryFifo();
  const preparer = {
    prepareCommand: (c: ScriptCommand) =>
      c.command.startsWith('/insecure') ? { ok: false as const, reason: 'insecure' as const, message: 'x' } : acceptAllPreparer.prepare(c.command),
  };
  // Slots of its own: a test's unfinished fake scripts must not hold the next test's.
  const slots = new ScriptSlots(MAX_CONCURRENT_NOTIFY_SCRIPTS, () => clock.now);
  const options: NotifierOptions = { logger, preparer, fifos: { global, vrrp, lvs }, spawner: spawner.spawn, clock, scriptTimeoutMs, slots, ...more };
  const notifier = new Notifier(options);
  const started = () => spawner.runs.map((r) => [r.script.configured, ...r.extraArgs].join(' '));
  return { clock, spawner, logger, notifier, global, vrrp, lvs, started, options, msgs: () => logger.lines.map((l) => l.msg) };
}

const scripts: NotifyScripts = {
  master: cmd('/etc/k/master.sh VI_1'),
  backup: cmd('/etc/k/backup.sh'),
  fault: cmd('/etc/k/fault.sh'),
  generic: cmd('/etc/k/notify.sh extra'),
};
const vi1: NotifyTarget = { kind: 'INSTANCE', name: 'VI_1', scripts };

describe('Notifier', () => {
  it('writes the FIFOs at once and runs the state script, then the generic one with 4 arguments', async () => {
    const { clock, spawner, notifier, global, vrrp, lvs, started } = setup();
    notifier.vrrpState(vi1, 'MASTER', 150);
    expect(global.lines).toEqual(['INSTANCE "VI_1" MASTER 150\n']);
    expect(vrrp.lines).toEqual(global.lines);
    expect(lvs.lines).toEqual([]);
    await clock.advance(0);
    expect(started()).toEqual(['/etc/k/master.sh VI_1']); // own arguments only
    spawner.last().finish({ code: 0 });
    await clock.advance(0);
    expect(started()).toEqual(['/etc/k/master.sh VI_1', '/etc/k/notify.sh extra INSTANCE VI_1 MASTER 150']);
    spawner.last().finish({ code: 0 });
    await notifier.idle();
  });

  it('runs one instance’s scripts strictly in order, even when states flap (keepalived #584/#996)', async () => {
    const { clock, spawner, notifier, global, started } = setup();
    notifier.vrrpState(vi1, 'MASTER', 150);
    notifier.vrrpState(vi1, 'BACKUP', 150);
    notifier.vrrpState(vi1, 'FAULT', 150);
    expect(global.lines.map((l) => l.split(' ')[2])).toEqual(['MASTER', 'BACKUP', 'FAULT']);
    await clock.advance(0);
    expect(started()).toEqual(['/etc/k/master.sh VI_1']);
    for (let i = 0; i < 5; i++) {
      spawner.last().finish({ code: 0 });
      await clock.advance(0);
    }
    expect(started()).toEqual([
      '/etc/k/master.sh VI_1',
      '/etc/k/notify.sh extra INSTANCE VI_1 MASTER 150',
      '/etc/k/backup.sh',
      '/etc/k/notify.sh extra INSTANCE VI_1 BACKUP 150',
      '/etc/k/fault.sh',
      '/etc/k/notify.sh extra INSTANCE VI_1 FAULT 150',
    ]);
  });

  it('kills a hung script at its timeout (SIGTERM to its group, SIGKILL 2 s later); the next one runs after it', async () => {
    const { clock, spawner, notifier, started, msgs } = setup(10_000);
    const target: NotifyTarget = { kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd('/hang.sh'), backup: cmd('/b.sh') } };
    notifier.vrrpState(target, 'MASTER', 100);
    notifier.vrrpState(target, 'BACKUP', 100);
    await clock.advance(9_999);
    expect(spawner.runs[0]?.kills).toEqual([]);
    await clock.advance(1);
    expect(spawner.runs[0]?.kills).toEqual(['SIGTERM']);
    expect(msgs()).toEqual(["Notify script '/hang.sh' for (VI_1) timed out after 10 s - killing its process group"]);
    expect(started()).toEqual(['/hang.sh']); // order kept: BACKUP's script waits for MASTER's to be gone
    await clock.advance(2_000);
    expect(spawner.runs[0]?.kills).toEqual(['SIGTERM', 'SIGKILL']);
    spawner.runs[0]?.finish({ signal: 'SIGKILL' });
    await clock.advance(0);
    expect(started()).toEqual(['/hang.sh', '/b.sh']);
    expect(msgs()).toHaveLength(1);
  });

  it('a script that dies of the SIGTERM gets a SIGKILL to its group too (what it started)', async () => {
    const { clock, spawner, notifier } = setup(10_000);
    spawner.dieOnSignal = true;
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd('/hang.sh') } }, 'MASTER', 100);
    await clock.advance(10_000);
    expect(spawner.runs[0]?.kills).toEqual(['SIGTERM', 'SIGKILL']);
    await notifier.idle();
  });

  it('gives up on a script that survives SIGKILL (a grace time later), so its queue moves on', async () => {
    const { clock, spawner, notifier, started, msgs } = setup(10_000);
    const target: NotifyTarget = { kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd('/stuck.sh'), backup: cmd('/b.sh') } };
    notifier.vrrpState(target, 'MASTER', 100);
    notifier.vrrpState(target, 'BACKUP', 100);
    await clock.advance(14_000);
    expect(spawner.runs[0]?.kills).toEqual(['SIGTERM', 'SIGKILL']);
    expect(started()).toEqual(['/stuck.sh', '/b.sh']);
    expect(msgs()).toEqual([
      "Notify script '/stuck.sh' for (VI_1) timed out after 10 s - killing its process group",
      "Notify script '/stuck.sh' for (VI_1) (PID 1001) failed to terminate after kill - not waiting for it any longer",
    ]);
    expect(clock.pending()).toBe(1); // /b.sh's own timeout, nothing more for /stuck.sh
  });

  it('bounds the notify scripts running at once; the excess waits its turn, in order, logged once per burst', async () => {
    const { clock, spawner, started, msgs, options } = setup(10_000);
    // Two Notifiers of one process share its bound (the VRRP child replaces its Notifier at a reload).
    const slots = new ScriptSlots(2, () => clock.now);
    const a = new Notifier({ ...options, slots });
    const b = new Notifier({ ...options, slots });
    const target = (name: string): NotifyTarget => ({ kind: 'INSTANCE', name, scripts: { master: cmd(`/m-${name}.sh`), backup: cmd(`/b-${name}.sh`) } });
    a.vrrpState(target('VI_1'), 'MASTER', 100);
    b.vrrpState(target('VI_2'), 'MASTER', 100);
    a.vrrpState(target('VI_3'), 'MASTER', 100);
    a.vrrpState(target('VI_3'), 'BACKUP', 100);
    b.vrrpState(target('VI_4'), 'MASTER', 100);
    await clock.advance(0);
    expect(started()).toEqual(['/m-VI_1.sh', '/m-VI_2.sh']);
    expect(msgs()).toEqual([
      "Notify script '/m-VI_3.sh' for (VI_3) waits: 2 notify scripts are running, the most this process runs at once; later notifications start as scripts end, in order per instance",
    ]);
    // Each slot that frees goes to the longest waiting instance; VI_3 keeps MASTER before BACKUP.
    spawner.runs[0]?.finish({ code: 0 });
    await clock.advance(0);
    expect(started()).toEqual(['/m-VI_1.sh', '/m-VI_2.sh', '/m-VI_3.sh']);
    spawner.runs[1]?.finish({ code: 0 });
    await clock.advance(0);
    expect(started()).toEqual(['/m-VI_1.sh', '/m-VI_2.sh', '/m-VI_3.sh', '/m-VI_4.sh']);
    spawner.runs[2]?.finish({ code: 0 });
    spawner.runs[3]?.finish({ code: 0 });
    await clock.advance(0);
    expect(started()).toEqual(['/m-VI_1.sh', '/m-VI_2.sh', '/m-VI_3.sh', '/m-VI_4.sh', '/b-VI_3.sh']);
    spawner.runs[4]?.finish({ code: 0 });
    await Promise.all([a.idle(), b.idle()]);
    expect(msgs()).toHaveLength(1);

    // A second burst within the minute is not logged; the next one after it says how many were not.
    for (const name of ['VI_5', 'VI_6', 'VI_7']) a.vrrpState(target(name), 'MASTER', 100);
    await clock.advance(0);
    expect(spawner.runs.filter((r) => !r.done)).toHaveLength(2);
    for (const r of spawner.runs) r.finish({ code: 0 });
    await clock.advance(0);
    for (const r of spawner.runs) r.finish({ code: 0 });
    await a.idle();
    expect(msgs()).toHaveLength(1);
    await clock.advance(60_000);
    for (const name of ['VI_8', 'VI_9', 'VI_10']) a.vrrpState(target(name), 'MASTER', 100);
    await clock.advance(0);
    expect(msgs()[1]).toBe(
      "Notify script '/m-VI_10.sh' for (VI_10) waits: 2 notify scripts are running, the most this process runs at once; later notifications start as scripts end, in order per instance (1 earlier waits not logged)",
    );
  });

  it('hung scripts hold their slots only until their timeout: the waiting ones run after the kills', async () => {
    const { clock, spawner, options, started } = setup(10_000);
    spawner.dieOnSignal = true;
    const notifier = new Notifier({ ...options, slots: new ScriptSlots(1, () => clock.now) });
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd('/hang.sh') } }, 'MASTER', 100);
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_2', scripts: { master: cmd('/next.sh') } }, 'MASTER', 100);
    await clock.advance(9_999);
    expect(started()).toEqual(['/hang.sh']);
    await clock.advance(1);
    expect(started()).toEqual(['/hang.sh', '/next.sh']);
  });

  it('drops the oldest waiting notifications of an instance beyond its backlog, logged once; the latest still runs', async () => {
    const { clock, spawner, notifier, started, msgs } = setup(10_000, { maxWaitingPerTarget: 3 });
    const target: NotifyTarget = { kind: 'INSTANCE', name: 'VI_1', scripts: { generic: cmd('/notify.sh') } };
    const states = ['MASTER', 'BACKUP', 'FAULT', 'BACKUP', 'MASTER', 'BACKUP'] as const;
    for (const state of states) notifier.vrrpState(target, state, 100);
    await clock.advance(0);
    expect(started()).toEqual(['/notify.sh INSTANCE VI_1 MASTER 100']);
    expect(msgs()).toEqual([
      "Notify scripts for (VI_1): more than 3 notifications waiting - dropping the oldest waiting ones, from '/notify.sh INSTANCE VI_1 BACKUP 100'",
    ]);
    for (let i = 0; i < 4; i++) {
      spawner.last().finish({ code: 0 });
      await clock.advance(0);
    }
    expect(started()).toEqual([
      '/notify.sh INSTANCE VI_1 MASTER 100',
      '/notify.sh INSTANCE VI_1 BACKUP 100',
      '/notify.sh INSTANCE VI_1 MASTER 100',
      '/notify.sh INSTANCE VI_1 BACKUP 100',
    ]);
    expect(msgs()).toHaveLength(1);
    await notifier.idle();
  });

  it('by default, every Notifier of a process shares one bound of MAX_CONCURRENT_NOTIFY_SCRIPTS', () => {
    expect(processNotifySlots.limit).toBe(MAX_CONCURRENT_NOTIFY_SCRIPTS);
    expect(MAX_CONCURRENT_NOTIFY_SCRIPTS).toBe(32);
  });

  it('does not make different instances wait for each other', async () => {
    const { clock, notifier, started } = setup();
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd('/a.sh') } }, 'MASTER', 100);
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_2', scripts: { master: cmd('/b.sh') } }, 'MASTER', 100);
    await clock.advance(0);
    expect(started()).toEqual(['/a.sh', '/b.sh']);
  });

  it('gives groups priority 0 and runs only scripts that exist', async () => {
    const { clock, notifier, global, started } = setup();
    notifier.vrrpState({ kind: 'GROUP', name: 'G1', scripts: { generic: cmd('/n.sh') } }, 'BACKUP', 100);
    expect(global.lines).toEqual(['GROUP "G1" BACKUP 0\n']);
    await clock.advance(0);
    expect(started()).toEqual(['/n.sh GROUP G1 BACKUP 0']);
  });

  it('handles STOP, DELETED with and without a notify_deleted script, priority events and rx-lower-pri', async () => {
    const { clock, notifier, vrrp, started } = setup();
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { stop: cmd('/stop.sh'), deleted: cmd('') } }, 'DELETED', 90);
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_2', scripts: { stop: cmd('/stop.sh'), deleted: cmd('/del.sh') } }, 'STOP', 90);
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_3', scripts: { deleted: cmd('/del.sh') } }, 'DELETED', 90);
    notifier.priorityChange({ kind: 'INSTANCE', name: 'VI_1' }, 'MASTER', 120);
    notifier.masterRxLowerPriority({ kind: 'INSTANCE', name: 'VI_4', scripts: { masterRxLowerPri: cmd('/rx.sh') } }, 150);
    await clock.advance(0);
    expect(vrrp.lines).toEqual([
      'INSTANCE "VI_1" DELETED 90\n',
      'INSTANCE "VI_2" STOP 90\n',
      'INSTANCE "VI_3" DELETED 90\n',
      'INSTANCE "VI_1" MASTER_PRIORITY 120\n',
      'INSTANCE "VI_4" MASTER_RX_LOWER_PRI 150\n',
    ]);
    expect(started()).toEqual(['/stop.sh', '/del.sh', '/rx.sh']);
  });

  it('writes RS and VS events to the lvs FIFOs and runs their scripts', async () => {
    const { clock, notifier, global, vrrp, lvs, started } = setup();
    const vs = {
      key: { kind: 'address' as const, family: 'inet' as const, address: '10.0.0.1', port: 80 },
      protocol: 'tcp' as const,
      quorumUp: cmd('/q-up.sh'),
      quorumDown: undefined,
    } satisfies Pick<VirtualServer, 'key' | 'protocol' | 'quorumUp' | 'quorumDown'>;
    notifier.realServer({ address: '10.1.0.5', port: 8080, notifyDown: cmd('/rs-down.sh 10.1.0.5') }, vs, false);
    notifier.realServer({ address: '10.1.0.5', port: 8080, notifyDown: cmd('/rs-down.sh 10.1.0.5') }, vs, true);
    notifier.virtualServerQuorum(vs, true);
    notifier.virtualServerQuorum(vs, false);
    await clock.advance(0);
    expect(lvs.lines).toEqual([
      'RS [10.1.0.5]:tcp:8080 [10.0.0.1]:tcp:80 DOWN\n',
      'RS [10.1.0.5]:tcp:8080 [10.0.0.1]:tcp:80 UP\n',
      'VS [10.0.0.1]:tcp:80 UP\n',
      'VS [10.0.0.1]:tcp:80 DOWN\n',
    ]);
    expect(global.lines).toEqual(lvs.lines);
    expect(vrrp.lines).toEqual([]);
    expect(started()).toEqual(['/rs-down.sh 10.1.0.5', '/q-up.sh']);
  });

  it('skips refused scripts, saying so once, but still writes the FIFO', async () => {
    const { clock, notifier, global, started, msgs } = setup();
    const target: NotifyTarget = { kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd('/insecure.sh') } };
    notifier.vrrpState(target, 'MASTER', 100);
    notifier.vrrpState(target, 'MASTER', 100);
    await clock.advance(0);
    expect(started()).toEqual([]);
    expect(global.lines).toHaveLength(2);
    expect(msgs()).toEqual(['Disabling notify script /insecure.sh due to insecure']);
  });

  it('logs spawn failures with the command and keeps going', async () => {
    const { clock, spawner, notifier, started, msgs } = setup();
    notifier.vrrpState(vi1, 'MASTER', 100);
    await clock.advance(0);
    spawner.last().finish({ spawnError: Object.assign(new Error('spawn /etc/k/master.sh EACCES'), { code: 'EACCES', errno: -13 }) });
    await clock.advance(0);
    expect(started()).toHaveLength(2);
    expect(msgs()).toEqual(["Error exec-ing command '/etc/k/master.sh VI_1', error -13: spawn /etc/k/master.sh EACCES"]);
  });

  it('close() waits for queued scripts (bounded) and closes the FIFOs', async () => {
    const { clock, spawner, notifier, global, vrrp } = setup();
    notifier.vrrpState(vi1, 'STOP', 100);
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { stop: cmd('/stop.sh') } }, 'STOP', 100);
    await clock.advance(0);
    let closed = false;
    void notifier.close(5000).then(() => (closed = true));
    await clock.advance(100);
    expect(closed).toBe(false);
    spawner.last().finish({ code: 0 }); // the generic notify (VI_1 has no notify_stop)
    await clock.advance(0);
    expect(closed).toBe(false);
    expect(spawner.last().script.configured).toBe('/stop.sh');
    spawner.last().finish({ code: 0 });
    await clock.advance(0);
    expect(closed).toBe(true);
    expect(global.closed && vrrp.closed).toBe(true);
    notifier.vrrpState(vi1, 'MASTER', 100); // after close: ignored, no throw
  });

  it('close() gives up waiting after its timeout', async () => {
    const { clock, notifier, global } = setup();
    notifier.vrrpState(vi1, 'STOP', 100);
    let closed = false;
    void notifier.close(3000).then(() => (closed = true));
    await clock.advance(2999);
    expect(closed).toBe(false);
    await clock.advance(1);
    expect(closed).toBe(true);
    expect(global.closed).toBe(true);
  });

  it('checkScripts() logs refused scripts at startup, once, and configuredNotifyScripts() finds them all', async () => {
    const { clock, notifier, started, msgs } = setup();
    const config = {
      vrrpInstances: [{ notify: { master: cmd('/m.sh'), deleted: cmd(''), generic: cmd('/insecure-n.sh') } }],
      vrrpSyncGroups: [{ notify: { backup: cmd('/g.sh') } }],
      virtualServers: [{ quorumUp: cmd('/qu.sh'), quorumDown: undefined, realServers: [{ notifyUp: undefined, notifyDown: cmd('/rd.sh') }] }],
    } as unknown as Parameters<typeof configuredNotifyScripts>[0];
    const all = configuredNotifyScripts(config);
    expect(all.map((c) => c.command)).toEqual(['/m.sh', '/insecure-n.sh', '/g.sh', '/qu.sh', '/rd.sh']);
    notifier.checkScripts(all);
    expect(msgs()).toEqual(['Disabling notify script /insecure-n.sh due to insecure']);
    notifier.vrrpState({ kind: 'INSTANCE', name: 'VI_1', scripts: { master: cmd('/m.sh'), generic: cmd('/insecure-n.sh') } }, 'MASTER', 100);
    await clock.advance(0);
    expect(started()).toEqual(['/m.sh']);
    expect(msgs()).toHaveLength(1);
  });
});
