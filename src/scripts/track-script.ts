// Running vrrp_script checks on their interval and turning exits into up/down (keepalived's
// vrrp_script_thread / vrrp_script_child_thread). Counting is in track-state.ts; this module owns the
// timers and the processes.
//
// Behaviour, as keepalived 2.2.7:
//  - every script runs at start, then every `interval` (fixed rate, measured from the previous start);
//  - if the previous run is still going when the next is due, the run is skipped:
//      "Track script chk is already running, expect idle - skipping run" (or "being timed out");
//  - after `timeout` (the model resolves 0 to the interval) the script's process group gets SIGTERM, then
//    SIGKILL `killGraceMs` later (keepalived: 2 s; script-timeout.ts, shared with notify scripts); dying of
//    it counts as a failure, "VRRP_Script(chk) timed_out";
//  - scripts are checked once at start (script-security.ts); a refused one is never run and no longer
//    tracked, as keepalived drops it: "Disabling track script chk due to insecure" /
//    "Disabling track script chk since not found/accessible". Callers should ignore disabled scripts.
//  - a script that vanishes later fails ("Error exec-ing command …", exit status 127), it never throws.
// Nothing here blocks: spawns are asynchronous, results arrive as events. stop() kills running checks.
//
// Wiring (engine): build with the model's `vrrpScripts`, call markAllSuccessfulOnReload(previous) on a
// reload before start(), subscribe with onChange(), read status() when computing priorities, and apply
// trackerEffect() from track-state.ts per (instance, track_script) with that tracker's weight.

import { constants as osConstants } from 'node:os';
import type { Logger } from '../log/logger.js';
import type { VrrpScript } from '../config/model.js';
import { systemClock, type TimerClock } from './clock.js';
import { displayCommand } from './command-line.js';
import { refusalPhrase, type PrepareResult, type PreparedScript, type ScriptPreparer } from './script-security.js';
import { ScriptTimeout } from './script-timeout.js';
import { defaultSpawner, type RunningScript, type ScriptExit, type ScriptSpawner } from './spawn.js';
import {
  applyRunOutcome,
  initialTrackState,
  reloadedTrackState,
  type RunOutcome,
  type TrackScriptState,
  type TrackStatus,
} from './track-state.js';

export type TrackScriptSpec = Pick<VrrpScript, 'name' | 'script' | 'intervalMs' | 'timeoutMs' | 'rise' | 'fall' | 'initFail' | 'user' | 'group'>;

export type { TimerClock } from './clock.js';
export { systemClock } from './clock.js';

export interface TrackScriptChange {
  name: string;
  up: boolean;
  status: 'up' | 'down';
  previous: TrackStatus;
  outcome: RunOutcome;
}

export type TrackScriptListener = (name: string, change: TrackScriptChange) => void;

export interface TrackScriptRunnerOptions {
  scripts: readonly TrackScriptSpec[];
  /** Checks scripts and resolves users; share one per process. */
  preparer: Pick<ScriptPreparer, 'prepare'>;
  logger: Logger;
  clock?: TimerClock | undefined;
  spawner?: ScriptSpawner | undefined;
  /** Between SIGTERM and SIGKILL after a timeout, and at stop (keepalived: 2 s). */
  killGraceMs?: number | undefined;
}

type Phase = 'idle' | ScriptTimeout['phase'];

interface ScriptRuntime {
  spec: TrackScriptSpec;
  prepared: PreparedScript | undefined;
  disabled: boolean;
  state: TrackScriptState;
  running: RunningScript | undefined;
  /** The running script's timeout and kill escalation. */
  timeout: ScriptTimeout | undefined;
  /** Increments per run so a late exit of an old run cannot touch a newer one. */
  runId: number;
  tickTimer: unknown;
  /** A run fell due while the previous one was being killed: start it as soon as that one exits. */
  runWhenIdle: boolean;
  graceTimer: unknown;
}

const DEFAULT_KILL_GRACE_MS = 2000;
const TERMINATION_TICK_GRACE_MS = 100;

function signalNumber(signal: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}

export class TrackScriptRunner {
  private readonly scripts = new Map<string, ScriptRuntime>();
  private readonly listeners = new Set<TrackScriptListener>();
  private readonly clock: TimerClock;
  private readonly spawner: ScriptSpawner;
  private readonly killGraceMs: number;
  private readonly log: Logger;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: TrackScriptRunnerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.spawner = opts.spawner ?? defaultSpawner;
    this.killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.log = opts.logger;
    for (const spec of opts.scripts) {
      this.scripts.set(spec.name, {
        spec,
        prepared: undefined,
        disabled: false,
        state: initialTrackState(spec),
        running: undefined,
        timeout: undefined,
        runId: 0,
        tickTimer: undefined,
        runWhenIdle: false,
        graceTimer: undefined,
      });
    }
  }

  /** Subscribe to up/down transitions; returns the unsubscribe function. */
  onChange(listener: TrackScriptListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** 'init' until the first result (or after init_fail: 'down'); undefined for unknown or disabled scripts. */
  status(name: string): TrackStatus | undefined {
    const rt = this.scripts.get(name);
    return rt && !rt.disabled ? rt.state.status : undefined;
  }

  isUp(name: string): boolean {
    return this.status(name) === 'up';
  }

  /** Every enabled script's status, e.g. to carry over a reload. */
  snapshot(): Map<string, TrackStatus> {
    const out = new Map<string, TrackStatus>();
    for (const [name, rt] of this.scripts) if (!rt.disabled) out.set(name, rt.state.status);
    return out;
  }

  /** Scripts refused at start (not found, not executable, insecure, unknown user). */
  disabledScripts(): string[] {
    return [...this.scripts.values()].filter((rt) => rt.disabled).map((rt) => rt.spec.name);
  }

  /**
   * On reload, before start(): keepalived's clear_diff_script(). With `previous` (the old runner's
   * snapshot()), scripts that were up are "considered successful on reload" and scripts that were down
   * "considered unsuccessful"; new ones start as usual. Without it, every script is considered successful.
   */
  markAllSuccessfulOnReload(previous?: ReadonlyMap<string, TrackStatus>): void {
    for (const [name, rt] of this.scripts) {
      const before: TrackStatus | undefined = previous ? previous.get(name) : 'up';
      if (before === undefined) continue;
      const { state, logs } = reloadedTrackState(rt.spec, name, before);
      rt.state = state;
      for (const line of logs) this.log.info(line);
    }
  }

  /** Check every script, then run each now and every interval. Idempotent. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const rt of this.scripts.values()) {
      const res: PrepareResult = this.opts.preparer.prepare(rt.spec.script, rt.spec.user, rt.spec.group);
      if (!res.ok) {
        rt.disabled = true;
        const fields = { script: rt.spec.name, command: rt.spec.script, reason: res.reason };
        if (res.reason === 'no_default_user') this.log.warn(`Unable to set default user for vrrp script ${rt.spec.name} - removing`, fields);
        else this.log.warn(`Disabling track script ${rt.spec.name} ${refusalPhrase(res.reason)}`, fields);
        continue;
      }
      rt.prepared = res.script;
      this.tick(rt);
    }
  }

  /** Stop scheduling and kill running checks (SIGTERM, SIGKILL after the grace time). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const waits: Promise<unknown>[] = [];
    for (const rt of this.scripts.values()) {
      this.clock.clearTimeout(rt.tickTimer);
      rt.timeout?.cancel();
      this.clock.clearTimeout(rt.graceTimer);
      const running = rt.running;
      if (!running) continue;
      running.kill('SIGTERM');
      const killTimer = this.clock.setTimeout(() => running.kill('SIGKILL'), this.killGraceMs);
      waits.push(running.exited.finally(() => this.clock.clearTimeout(killTimer)));
    }
    await Promise.all(waits);
  }

  private tick(rt: ScriptRuntime): void {
    if (this.stopped) return;
    // The next tick is armed AFTER a launch arms its timeout, so with timeout == interval (the default)
    // the kill comes first and the next run starts as soon as the killed one is reaped.
    const scheduleNext = (): void => {
      rt.tickTimer = this.clock.setTimeout(() => this.tick(rt), rt.spec.intervalMs);
    };
    const phase = phaseOf(rt);
    if (phase === 'idle') {
      this.launch(rt);
      scheduleNext();
      return;
    }
    scheduleNext();
    if (phase === 'running') {
      this.log.info(`Track script ${rt.spec.name} is already running, expect idle - skipping run`);
      return;
    }
    // Being killed: with timeout == interval the kill and the next run fall due together. keepalived
    // reaps the killed run first and then starts the next; give the exit a moment to arrive.
    rt.runWhenIdle = true;
    rt.graceTimer = this.clock.setTimeout(() => {
      if (!rt.runWhenIdle) return;
      rt.runWhenIdle = false;
      this.log.info(`Track script ${rt.spec.name} is being timed out, expect idle - skipping run`);
    }, TERMINATION_TICK_GRACE_MS);
  }

  private launch(rt: ScriptRuntime): void {
    const prepared = rt.prepared;
    if (!prepared) return;
    const runId = ++rt.runId;
    let running: RunningScript;
    try {
      running = this.spawner(prepared);
    } catch (err) {
      // A spawner must not throw, but a bug here must not stop the checks either.
      running = { pid: undefined, kill() {}, exited: Promise.resolve({ code: null, signal: null, spawnError: err as NodeJS.ErrnoException, stderrTail: '' }) };
    }
    rt.running = running;
    // keepalived: timeout 0 means "the interval" (the model resolves it; be safe with hand-made specs).
    const timeoutMs = rt.spec.timeoutMs > 0 ? rt.spec.timeoutMs : rt.spec.intervalMs;
    rt.timeout = new ScriptTimeout(running, {
      clock: this.clock,
      timeoutMs,
      killGraceMs: this.killGraceMs,
      onKillFailed: (pid) => this.log.warn(`Child (PID ${pid ?? '?'}) failed to terminate after kill`, { script: rt.spec.name }),
    });
    running.exited.then(
      (exit) => this.onExit(rt, runId, exit),
      (err: unknown) => this.onExit(rt, runId, { code: null, signal: null, spawnError: err as NodeJS.ErrnoException, stderrTail: '' }),
    );
  }

  private onExit(rt: ScriptRuntime, runId: number, exit: ScriptExit): void {
    if (rt.runId !== runId) return;
    const timeout = rt.timeout;
    rt.timeout = undefined;
    rt.running = undefined;
    if (this.stopped) {
      timeout?.cancel();
      return;
    }
    const timedOut = timeout?.settle(exit) ?? false;

    const name = rt.spec.name;
    const outcome = this.outcomeOf(rt, timedOut, exit);

    const step = applyRunOutcome(rt.state, rt.spec, name, outcome);
    const previous = rt.state.status;
    rt.state = step.state;
    for (const line of step.logs) this.log.info(line, { script: name, command: rt.spec.script });
    if (outcome.kind !== 'exited' || outcome.code !== 0) {
      const stderr = exit.stderrTail.trim();
      if (stderr) this.log.debug(`Script \`${name}\` (${rt.prepared ? displayCommand(rt.prepared.command) : rt.spec.script}) stderr: ${stderr}`, { script: name });
    }
    if (rt.runWhenIdle) {
      rt.runWhenIdle = false;
      this.clock.clearTimeout(rt.graceTimer);
      this.launch(rt);
    }
    if (step.transition) {
      const change: TrackScriptChange = { name, up: step.transition.to === 'up', status: step.transition.to, previous, outcome };
      for (const listener of this.listeners) {
        try {
          listener(name, change);
        } catch (err) {
          this.log.error(`Track script ${name} listener failed: ${(err as Error).message}`);
        }
      }
    }
  }

  private outcomeOf(rt: ScriptRuntime, timedOut: boolean, exit: ScriptExit): RunOutcome {
    if (exit.spawnError) {
      const err = exit.spawnError;
      const display = rt.prepared ? displayCommand(rt.prepared.command) : rt.spec.script;
      this.log.warn(`Error exec-ing command '${display}', error ${err.errno ?? '?'}: ${err.message}`, { script: rt.spec.name });
      // As a shell would report it: 127 not found, 126 found but not executable.
      return { kind: 'exited', code: err.code === 'ENOENT' ? 127 : 126 };
    }
    if (exit.code !== null) return { kind: 'exited', code: exit.code };
    if (timedOut) return { kind: 'timed_out' };
    return { kind: 'signaled', signal: signalNumber(exit.signal ?? 'SIGKILL') };
  }
}

function phaseOf(rt: ScriptRuntime): Phase {
  return rt.timeout?.phase ?? 'idle';
}

/** The model's vrrp_script list as runner specs (identity today; kept so the mapping has one home). */
export function trackScriptSpecsFromConfig(scripts: readonly VrrpScript[]): TrackScriptSpec[] {
  return scripts.map(({ name, script, intervalMs, timeoutMs, rise, fall, initFail, user, group }) => ({
    name,
    script,
    intervalMs,
    timeoutMs,
    rise,
    fall,
    initFail,
    user,
    group,
  }));
}
