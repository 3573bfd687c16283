// Notifications on state changes: notify scripts and notify FIFOs, for VRRP instances and sync groups
// (notify_master/backup/fault/stop/deleted, the generic `notify`, notify_master_rx_lower_pri) and for the
// checkers (real server notify_up/notify_down, virtual server quorum_up/quorum_down).
//
// keepalived behaviour kept:
//  - notify_master/backup/fault/stop get only their configured arguments; the generic `notify` also gets
//    `INSTANCE|GROUP NAME STATE PRIORITY` and runs AFTER the state's own script (keepalived.conf(5));
//  - FIFO lines are keepalived's exact format (notify-format.ts), written to notify_fifo and to
//    vrrp_notify_fifo / lvs_notify_fifo (a FIFO named twice is used once, with keepalived's warning);
//  - scripts run as their own user (or script_user), never through a shell (the line is split as
//    keepalived splits it, command-line.ts), after the security checks of script-security.ts; a refused
//    script is skipped with a log line naming it;
//  - every call returns at once: the engine never waits for a script or a FIFO reader.
//
// Better than keepalived (issues #584, #996): keepalived forks every notify script at once, so a fast
// MASTER→BACKUP flap can run the BACKUP script before (or while) the MASTER one, and an operator's
// script can end with the VIP's owner believing the wrong state. Here the scripts of ONE instance, group,
// real server or virtual server run strictly in order: the next starts only when the previous one has
// exited. Different instances do not wait for each other. The FIFOs remain the way to see every event of
// every instance in one global order.
//
// Bounded, where keepalived 2.2.7 is not (notify_exec() forks and forgets: a hung notify script lives
// forever, and a flapping real server or instance piles them up):
//  - a script still running after `scriptTimeoutMs` (10 s, keepalived's startup/shutdown_script_timeout
//    default; keepalived has no notify timeout) is killed as keepalived kills a timed-out vrrp_script:
//    SIGTERM to its process group, SIGKILL 2 s later (script-timeout.ts). The next one starts after it;
//  - at most MAX_CONCURRENT_NOTIFY_SCRIPTS notify scripts run at once in a process (one ScriptSlots per
//    process, shared by its Notifiers). The excess waits for a slot, nothing is dropped, so each
//    instance's order holds; the first wait of a burst is logged (at most once a minute);
//  - at most MAX_WAITING_PER_TARGET notifications wait per instance (group, RS, VS); beyond that the
//    oldest waiting one is dropped, logged once per backlog, so the latest state always runs.

import type { Logger } from '../log/logger.js';
import type { Config, FifoSetting, GlobalDefs, NotifyScripts, ScriptCommand, VirtualServer } from '../config/model.js';
import { systemClock, type TimerClock } from './clock.js';
import { displayCommand } from './command-line.js';
import { NotifyFifo } from './notify-fifo.js';
import {
  formatAddressTrio,
  formatVirtualServer,
  genericNotifyArgs,
  rsFifoLine,
  vrrpFifoLine,
  vsFifoLine,
  type NotifyKind,
  type VrrpFifoEvent,
  type VrrpNotifyState,
} from './notify-format.js';
import { refusalPhrase, type PreparedScript, type ScriptPreparer } from './script-security.js';
import { ScriptTimeout } from './script-timeout.js';
import { defaultSpawner, type RunningScript, type ScriptExit, type ScriptSpawner } from './spawn.js';

export type { NotifyKind, VrrpNotifyState, VrrpFifoEvent } from './notify-format.js';

/** An instance or sync group as the notifier needs it. */
export interface NotifyTarget {
  kind: NotifyKind;
  name: string;
  scripts: NotifyScripts;
}

/** Where FIFO lines go: a NotifyFifo, or anything that takes lines (tests). */
export interface FifoSink {
  write(line: string): void;
  close(): Promise<void>;
}

export interface NotifyFifos {
  /** notify_fifo: both VRRP and LVS events. */
  global?: FifoSink | undefined;
  /** vrrp_notify_fifo */
  vrrp?: FifoSink | undefined;
  /** lvs_notify_fifo */
  lvs?: FifoSink | undefined;
}

export interface NotifierOptions {
  logger: Logger;
  preparer: Pick<ScriptPreparer, 'prepareCommand'>;
  fifos?: NotifyFifos | undefined;
  spawner?: ScriptSpawner | undefined;
  clock?: TimerClock | undefined;
  /** A notify script still running after this is killed (default 10 s). */
  scriptTimeoutMs?: number | undefined;
  /** Between SIGTERM and SIGKILL (default 2 s, keepalived's). */
  killGraceMs?: number | undefined;
  /** The process's bound on running notify scripts (default: processNotifySlots). */
  slots?: ScriptSlots | undefined;
  /** Notifications that may wait per instance, group, RS or VS (default MAX_WAITING_PER_TARGET). */
  maxWaitingPerTarget?: number | undefined;
}

interface Job {
  script: PreparedScript;
  extraArgs: string[];
  /** For log lines: "(VI_1)" style subject. */
  subject: string;
}

interface Queue {
  jobs: Job[];
  /** The backlog overflowed and that was logged; cleared when the queue empties. */
  dropLogged: boolean;
}

/**
 * keepalived never times out a notify script (only its STOP script at shutdown). A hung one must not pile
 * up, but a slow one (a service restart in notify_master) must not be killed half-way: a minute is far
 * above what such scripts take.
 */
const DEFAULT_SCRIPT_TIMEOUT_MS = 60_000;
const DEFAULT_KILL_GRACE_MS = 2000;
/** Running notify scripts per process: far above what one failover runs, low enough that a flapping
 * pool cannot fork hundreds of processes. */
export const MAX_CONCURRENT_NOTIFY_SCRIPTS = 32;
export const MAX_WAITING_PER_TARGET = 100;
const LIMIT_LOG_INTERVAL_MS = 60_000;

/**
 * Slots for running notify scripts, first come first served. A caller that has to wait is told whether
 * to log it: once per burst (until nobody waits), at most once per LIMIT_LOG_INTERVAL_MS.
 */
export class ScriptSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private inBurst = false;
  private lastLogAt = -Infinity;
  private unloggedBursts = 0;

  constructor(
    readonly limit: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves when the caller may start a script; call release() once it is over. */
  acquire(logWait: (unloggedBursts: number) => void): Promise<void> {
    if (this.running < this.limit && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (!this.inBurst) {
      this.inBurst = true;
      const now = this.now();
      if (now - this.lastLogAt >= LIMIT_LOG_INTERVAL_MS) {
        this.lastLogAt = now;
        logWait(this.unloggedBursts);
        this.unloggedBursts = 0;
      } else {
        this.unloggedBursts++;
      }
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (this.waiting.length === 0) this.inBurst = false;
    if (next) next(); // the slot passes on: `running` stays
    else this.running--;
  }
}

/** The bound shared by every Notifier of this process (the VRRP child's, the checker child's). */
export const processNotifySlots = new ScriptSlots(MAX_CONCURRENT_NOTIFY_SCRIPTS);

export class Notifier {
  private readonly queues = new Map<string, Queue>();
  private readonly active = new Set<string>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly refused = new Set<string>();
  private readonly log: Logger;
  private readonly spawner: ScriptSpawner;
  private readonly clock: TimerClock;
  private readonly scriptTimeoutMs: number;
  private readonly killGraceMs: number;
  private readonly slots: ScriptSlots;
  private readonly maxWaiting: number;
  private readonly fifos: NotifyFifos;
  private closed = false;

  constructor(private readonly opts: NotifierOptions) {
    this.log = opts.logger;
    this.spawner = opts.spawner ?? defaultSpawner;
    this.clock = opts.clock ?? systemClock;
    this.scriptTimeoutMs = opts.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS;
    this.killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.slots = opts.slots ?? processNotifySlots;
    this.maxWaiting = opts.maxWaitingPerTarget ?? MAX_WAITING_PER_TARGET;
    this.fifos = opts.fifos ?? {};
  }

  // ------------------------------------------------------------------ VRRP

  /**
   * An instance or sync group entered `state`. `priority` is the instance's effective priority
   * (keepalived passes it to `notify` and the FIFO; groups pass 0).
   */
  vrrpState(target: NotifyTarget, state: VrrpNotifyState, priority: number): void {
    const prio = target.kind === 'GROUP' ? 0 : priority;
    this.writeVrrpFifos(vrrpFifoLine(target.kind, target.name, state, prio));
    const own = stateScript(target.scripts, state);
    const subject = `${target.kind === 'INSTANCE' ? '' : 'group '}(${target.name})`;
    const key = `${target.kind}:${target.name}`;
    if (own) this.enqueue(key, own, [], subject);
    if (target.scripts.generic) this.enqueue(key, target.scripts.generic, genericNotifyArgs(target.kind, target.name, state, prio), subject);
  }

  /** A master received a lower-priority advert: FIFO `MASTER_RX_LOWER_PRI` and notify_master_rx_lower_pri. */
  masterRxLowerPriority(target: NotifyTarget, priority: number): void {
    this.writeVrrpFifos(vrrpFifoLine(target.kind, target.name, 'MASTER_RX_LOWER_PRI', priority));
    const script = target.scripts.masterRxLowerPri;
    if (script) this.enqueue(`${target.kind}:${target.name}`, script, [], `(${target.name})`);
  }

  /** notify_priority_changes: FIFO only, `MASTER_PRIORITY` or `BACKUP_PRIORITY` with the new priority. */
  priorityChange(target: Pick<NotifyTarget, 'kind' | 'name'>, state: 'MASTER' | 'BACKUP', priority: number): void {
    this.writeVrrpFifos(vrrpFifoLine(target.kind, target.name, state === 'MASTER' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', priority));
  }

  // ------------------------------------------------------------------ LVS

  /** A real server went up or down: FIFO `RS …` line and its notify_up / notify_down script. */
  realServer(
    rs: { address: string; port: number; notifyUp?: ScriptCommand | undefined; notifyDown?: ScriptCommand | undefined },
    vs: Pick<VirtualServer, 'key' | 'protocol'>,
    up: boolean,
  ): void {
    this.writeLvsFifos(rsFifoLine(rs, vs, up));
    const script = up ? rs.notifyUp : rs.notifyDown;
    const rsText = formatAddressTrio(rs.address, vs.protocol, rs.port);
    if (script) this.enqueue(`RS:${rsText}:${formatVirtualServer(vs.key, vs.protocol)}`, script, [], `RS ${rsText}`);
  }

  /** A virtual server gained or lost quorum: FIFO `VS …` line and quorum_up / quorum_down. */
  virtualServerQuorum(vs: Pick<VirtualServer, 'key' | 'protocol' | 'quorumUp' | 'quorumDown'>, up: boolean): void {
    this.writeLvsFifos(vsFifoLine(vs, up));
    const script = up ? vs.quorumUp : vs.quorumDown;
    const vsText = formatVirtualServer(vs.key, vs.protocol);
    if (script) this.enqueue(`VS:${vsText}`, script, [], `VS ${vsText}`);
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Check scripts now (at startup, as keepalived does at config load) so their problems are logged
   * before the first state change; refused ones are then skipped silently. Call before
   * ScriptPreparer.reportSecurity(). See configuredNotifyScripts().
   */
  checkScripts(commands: readonly ScriptCommand[]): void {
    for (const cmd of commands) this.prepareOrRefuse(cmd);
  }

  /** Resolves when no notify script is queued or being waited for (tests, orderly stop). */
  idle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * At stop, after the STOP notifications: wait up to `timeoutMs` for queued scripts, then close the
   * FIFOs (letting them drain). Scripts still running are left to finish (or time out) on their own.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    let timer: unknown;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, timeoutMs)))]);
    this.clock.clearTimeout(timer);
    this.closed = true;
    const fifos = [...new Set([this.fifos.global, this.fifos.vrrp, this.fifos.lvs])].filter((f): f is FifoSink => f !== undefined);
    await Promise.all(fifos.map((f) => f.close()));
  }

  // ------------------------------------------------------------------ internals

  private writeVrrpFifos(line: string): void {
    this.fifos.global?.write(line);
    this.fifos.vrrp?.write(line);
  }

  private writeLvsFifos(line: string): void {
    this.fifos.global?.write(line);
    this.fifos.lvs?.write(line);
  }

  private prepareOrRefuse(cmd: ScriptCommand): PreparedScript | undefined {
    if (cmd.command.trim() === '') return undefined; // e.g. notify_deleted without a script
    const prepared = this.opts.preparer.prepareCommand(cmd);
    if (prepared.ok) return prepared.script;
    const id = `${cmd.command}\u0000${cmd.user ?? ''}\u0000${cmd.group ?? ''}`;
    if (!this.refused.has(id)) {
      this.refused.add(id);
      if (prepared.reason === 'no_default_user') this.log.warn(`Failed to set default user for notify script ${cmd.command} - ignoring`);
      else this.log.warn(`Disabling notify script ${cmd.command} ${refusalPhrase(prepared.reason)}`);
    }
    return undefined;
  }

  private enqueue(key: string, cmd: ScriptCommand, extraArgs: string[], subject: string): void {
    if (this.closed) return;
    const script = this.prepareOrRefuse(cmd);
    if (!script) return;
    const job: Job = { script, extraArgs, subject };
    const queue = this.queues.get(key);
    if (queue) {
      queue.jobs.push(job);
      if (queue.jobs.length > this.maxWaiting) this.dropOldest(queue);
      return;
    }
    this.queues.set(key, { jobs: [job], dropLogged: false });
    this.active.add(key);
    void this.drain(key);
  }

  /** A backlog over its bound loses its oldest waiting notification: the latest state still runs. */
  private dropOldest(queue: Queue): void {
    const dropped = queue.jobs.shift();
    if (!dropped || queue.dropLogged) return;
    queue.dropLogged = true;
    this.log.warn(
      `Notify scripts for ${dropped.subject}: more than ${this.maxWaiting} notifications waiting - dropping the oldest waiting ones, from '${displayCommand(dropped.script.command, dropped.extraArgs)}'`,
    );
  }

  private async drain(key: string): Promise<void> {
    for (;;) {
      const queue = this.queues.get(key);
      const job = queue?.jobs.shift();
      if (!queue || !job) break;
      await this.slots.acquire((unlogged) =>
        this.log.warn(
          `Notify script '${displayCommand(job.script.command, job.extraArgs)}' for ${job.subject} waits: ${this.slots.limit} notify scripts are running, the most this process runs at once; later notifications start as scripts end, in order per instance${unlogged > 0 ? ` (${unlogged} earlier waits not logged)` : ''}`,
        ),
      );
      try {
        await this.runOne(job);
      } finally {
        this.slots.release();
      }
    }
    this.queues.delete(key);
    this.active.delete(key);
    if (this.active.size === 0) {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  /** Runs one script to its end: its exit, or its kill after the timeout (bounded even if it cannot die). */
  private async runOne(job: Job): Promise<void> {
    const display = displayCommand(job.script.command, job.extraArgs);
    let running: RunningScript;
    try {
      running = this.spawner(job.script, job.extraArgs, { captureStderr: false, unref: true });
    } catch (err) {
      this.log.warn(`Error exec-ing command '${display}': ${(err as Error).message}`);
      return;
    }
    let giveUp!: () => void;
    const gaveUp = new Promise<undefined>((resolve) => (giveUp = () => resolve(undefined)));
    const timeout = new ScriptTimeout(running, {
      clock: this.clock,
      timeoutMs: this.scriptTimeoutMs,
      killGraceMs: this.killGraceMs,
      onTimedOut: () => this.log.warn(`Notify script '${display}' for ${job.subject} timed out after ${this.scriptTimeoutMs / 1000} s - killing its process group`),
      onKillFailed: (pid) => {
        this.log.warn(`Notify script '${display}' for ${job.subject} (PID ${pid ?? '?'}) failed to terminate after kill - not waiting for it any longer`);
        timeout.cancel();
        giveUp();
      },
    });
    const exited = running.exited.catch((err: unknown): ScriptExit => ({ code: null, signal: null, spawnError: err as NodeJS.ErrnoException, stderrTail: '' }));
    const exit = await Promise.race([exited, gaveUp]);
    if (!exit) return;
    const timedOut = timeout.settle(exit);
    if (exit.spawnError) this.log.warn(`Error exec-ing command '${display}', error ${exit.spawnError.errno ?? '?'}: ${exit.spawnError.message}`);
    else if (exit.code !== 0 && !timedOut) this.log.debug(`Notify script '${display}' for ${job.subject} exited with ${exit.signal ? `signal ${exit.signal}` : `status ${exit.code}`}`);
  }
}

/** Every notify-type script of a configuration: instance and group notifies, RS notify_up/down, VS quorum_up/down. */
export function configuredNotifyScripts(config: Pick<Config, 'vrrpInstances' | 'vrrpSyncGroups' | 'virtualServers'>): ScriptCommand[] {
  const out: ScriptCommand[] = [];
  const add = (cmd: ScriptCommand | undefined): void => {
    if (cmd && cmd.command.trim() !== '') out.push(cmd);
  };
  for (const owner of [...config.vrrpInstances, ...config.vrrpSyncGroups]) {
    const n = owner.notify;
    for (const cmd of [n.master, n.backup, n.fault, n.stop, n.deleted, n.generic, n.masterRxLowerPri]) add(cmd);
  }
  for (const vs of config.virtualServers) {
    add(vs.quorumUp);
    add(vs.quorumDown);
    for (const rs of vs.realServers) {
      add(rs.notifyUp);
      add(rs.notifyDown);
    }
  }
  return out;
}

function stateScript(scripts: NotifyScripts, state: VrrpNotifyState): ScriptCommand | undefined {
  switch (state) {
    case 'MASTER':
      return scripts.master;
    case 'BACKUP':
      return scripts.backup;
    case 'FAULT':
      return scripts.fault;
    case 'STOP':
      return scripts.stop;
    case 'DELETED':
      return scripts.deleted?.command ? scripts.deleted : undefined; // notify_deleted may have no script
  }
}

export interface OpenNotifyFifosOptions {
  logger: Logger;
  preparer: Pick<ScriptPreparer, 'prepareCommand'>;
  spawner?: ScriptSpawner | undefined;
  clock?: TimerClock | undefined;
}

/**
 * Open the FIFOs a process needs: 'vrrp' opens notify_fifo + vrrp_notify_fifo, 'check' opens
 * notify_fifo + lvs_notify_fifo, 'both' all three. A FIFO path given twice is opened once, with
 * keepalived's "notify FIFO X has been specified for global and vrrp FIFO - ignoring vrrp FIFO".
 */
export function openNotifyFifos(
  global: Pick<GlobalDefs, 'notifyFifo' | 'vrrpNotifyFifo' | 'lvsNotifyFifo'>,
  role: 'vrrp' | 'check' | 'both',
  opts: OpenNotifyFifosOptions,
): NotifyFifos {
  const open = (setting: FifoSetting | undefined, label: string): NotifyFifo | undefined => {
    if (!setting) return undefined;
    let script: PreparedScript | undefined;
    if (setting.script) {
      const res = opts.preparer.prepareCommand(setting.script);
      if (res.ok) script = res.script;
      else opts.logger.warn(`Disabling ${label}notify fifo script ${setting.script.command} ${refusalPhrase(res.reason)}`);
    }
    return NotifyFifo.open({ path: setting.path, label, logger: opts.logger, script, spawner: opts.spawner, clock: opts.clock });
  };
  const wantVrrp = role !== 'check';
  const wantLvs = role !== 'vrrp';
  let vrrpSetting = wantVrrp ? global.vrrpNotifyFifo : undefined;
  let lvsSetting = wantLvs ? global.lvsNotifyFifo : undefined;
  if (global.notifyFifo && vrrpSetting?.path === global.notifyFifo.path) {
    opts.logger.warn(`notify FIFO ${vrrpSetting.path} has been specified for global and vrrp FIFO - ignoring vrrp FIFO`);
    vrrpSetting = undefined;
  }
  if (global.notifyFifo && lvsSetting?.path === global.notifyFifo.path) {
    opts.logger.warn(`notify FIFO ${lvsSetting.path} has been specified for global and LVS FIFO - ignoring LVS FIFO`);
    lvsSetting = undefined;
  }
  const globalFifo = open(global.notifyFifo, '');
  const vrrp = open(vrrpSetting, 'vrrp ');
  // One path for both vrrp and lvs events: open it once; close() closes each distinct sink once.
  const lvs = vrrp && lvsSetting && lvsSetting.path === vrrpSetting?.path ? vrrp : open(lvsSetting, 'lvs ');
  return { global: globalFifo, vrrp, lvs };
}
