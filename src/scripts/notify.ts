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
// exited. A script that runs longer than `scriptTimeoutMs` (default 10 s) is not killed — it may be
// doing real work — but the queue stops waiting for it, with a warning naming it, so a hung script
// delays later notifications by at most that long. Different instances do not wait for each other.
// The FIFOs remain the way to see every event of every instance in one global order.

import type { Logger } from '../daemon/log.js';
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
import { defaultSpawner, type ScriptSpawner } from './spawn.js';

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
  /** How long one script may hold its queue before the next starts (default 10 s). */
  scriptTimeoutMs?: number | undefined;
}

interface Job {
  script: PreparedScript;
  extraArgs: string[];
  /** For log lines: "(VI_1)" style subject. */
  subject: string;
}

const DEFAULT_SCRIPT_TIMEOUT_MS = 10_000;

export class Notifier {
  private readonly queues = new Map<string, Job[]>();
  private readonly active = new Set<string>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly refused = new Set<string>();
  private readonly log: Logger;
  private readonly spawner: ScriptSpawner;
  private readonly clock: TimerClock;
  private readonly scriptTimeoutMs: number;
  private readonly fifos: NotifyFifos;
  private closed = false;

  constructor(private readonly opts: NotifierOptions) {
    this.log = opts.logger;
    this.spawner = opts.spawner ?? defaultSpawner;
    this.clock = opts.clock ?? systemClock;
    this.scriptTimeoutMs = opts.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS;
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
   * FIFOs (letting them drain). Scripts still running are left to finish on their own.
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
    const queue = this.queues.get(key);
    const job: Job = { script, extraArgs, subject };
    if (queue) {
      queue.push(job);
      return;
    }
    this.queues.set(key, [job]);
    this.active.add(key);
    void this.drain(key);
  }

  private async drain(key: string): Promise<void> {
    for (;;) {
      const queue = this.queues.get(key);
      const job = queue?.shift();
      if (!queue || !job) break;
      await this.runOne(job);
    }
    this.queues.delete(key);
    this.active.delete(key);
    if (this.active.size === 0) {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  private async runOne(job: Job): Promise<void> {
    const display = displayCommand(job.script.command, job.extraArgs);
    let running;
    try {
      running = this.spawner(job.script, job.extraArgs, { captureStderr: false, unref: true });
    } catch (err) {
      this.log.warn(`Error exec-ing command '${display}': ${(err as Error).message}`);
      return;
    }
    const exitLogged = running.exited.then((exit) => {
      if (exit.spawnError) this.log.warn(`Error exec-ing command '${display}', error ${exit.spawnError.errno ?? '?'}: ${exit.spawnError.message}`);
      else if (exit.code !== 0) this.log.debug(`Notify script '${display}' for ${job.subject} exited with ${exit.signal ? `signal ${exit.signal}` : `status ${exit.code}`}`);
      return true;
    });
    let timer: unknown;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.clock.setTimeout(() => resolve(false), this.scriptTimeoutMs);
    });
    const finished = await Promise.race([exitLogged, timedOut]);
    this.clock.clearTimeout(timer);
    if (!finished) {
      this.log.warn(`Notify script '${display}' for ${job.subject} still running after ${this.scriptTimeoutMs / 1000} s - not waiting for it any longer`);
    }
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
