// CheckerScheduler: runs every checker of every virtual server on timers, feeds the results through
// the pure checker state machine (state.ts) and pool logic (pool.ts), emits keepalived's events and
// keeps the desired IPVS state per virtual server.
//
// Everything crossing the boundary is plain data (specs in, CheckEvent out, ServiceEntry[] out), so
// the scheduler can run unchanged in a worker thread or child process (see worker.ts); the clock,
// the probe function and the random source are injectable for tests.

import type { ServiceEntry } from '../ipvs/types.js';
import { runProbe, type ProbeFn } from './probe/index.js';
import {
  activationLog,
  activationLogs,
  desiredEntries,
  initialPool,
  realServerStatus,
  reloadPool,
  rsEvent,
  shutdownEvents,
  updatePool,
  type PoolEvent,
  type PoolState,
  type RealServerStatus,
} from './pool.js';
import { describeReload, sameChecker } from './reload.js';
import { applyProbeResult, firstProbeDelay, initialCheckerState, type CheckerState } from './state.js';
import type { CheckerSpec, ProbeResult, ProbeSpec, RealServerSpec, VirtualServerSpec } from './types.js';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

export type CheckEvent =
  | PoolEvent
  /** A checker changed state (the log line is emitted separately as a 'log' event). */
  | {
      kind: 'checker';
      vs: string;
      rs: string;
      checker: string;
      up: boolean;
      reason: string;
      /** For SMTP alerts (keepalived mails the checker's kind and its real server's state change). */
      type?: ProbeSpec['type'] | undefined;
      rsWasAlive?: boolean | undefined;
      rsAlive?: boolean | undefined;
    }
  /** The desired IPVS rows of a virtual server changed (full rows for that VS). */
  | { kind: 'desired'; vs: string; entries: ServiceEntry[] };

export interface SchedulerOptions {
  clock?: Clock;
  probe?: ProbeFn;
  /** [0,1) random source for warmup */
  random?: () => number;
  onEvent?: (ev: CheckEvent) => void;
  /** At most this many probes in flight; the others wait their turn (default 1024). */
  maxInFlight?: number;
}

export interface CheckerStatus {
  id: string;
  type: ProbeSpec['type'];
  up: boolean;
  hasRun: boolean;
  retryIt: number;
  lastReason?: string | undefined;
}

export interface RealServerStatusReport {
  id: string;
  label: string;
  alive: boolean;
  weight: number;
  checkers: CheckerStatus[];
  /** Probes completed since start, failed ones, and their durations (CHECK_DURATION_BOUNDS_S buckets, not cumulative). */
  checksRun: number;
  checksFailed: number;
  durationBuckets: number[];
  durationSumS: number;
}

/** Upper bounds (seconds) of the check-duration histogram's buckets; the last bucket is +Inf. */
export const CHECK_DURATION_BOUNDS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Per checker: what its probes did, for status and metrics (a few dozen bytes, allocated at the first result). */
interface CheckTally {
  run: number;
  failed: number;
  sumS: number;
  buckets: Uint32Array;
}

export interface VirtualServerStatusReport {
  id: string;
  label: string;
  quorumUp: boolean;
  realServers: RealServerStatusReport[];
}

interface CheckerRun {
  spec: CheckerSpec;
  vs: VirtualServerSpec;
  rs: RealServerSpec;
  state: CheckerState;
  timer?: TimerHandle | undefined;
  abort?: AbortController | undefined;
  queued: boolean;
  /** When the running probe started (clock time). */
  startedAt?: number | undefined;
  tally?: CheckTally | undefined;
  /**
   * Started by a reload on a real server that already existed, in that real server's state: its first
   * failure is not an alpha start, so it must not re-run the RS down notifiers.
   */
  inherited?: boolean | undefined;
}

interface VsRun {
  spec: VirtualServerSpec;
  pool: PoolState;
  desiredJson: string;
  desired: ServiceEntry[];
}

/** Upper bound for one probe beyond its own timeouts, after which it is aborted. */
function safetyTimeoutMs(p: ProbeSpec): number {
  switch (p.type) {
    case 'MISC_CHECK':
      return p.timeoutMs + 5000;
    case 'HTTP_GET':
    case 'SSL_GET':
      return p.target.connectTimeoutMs * (3 * Math.max(1, p.urls.length) + 1) + 2000;
    case 'SMTP_CHECK':
      return p.hosts.reduce((s, h) => s + h.connectTimeoutMs * 5, 0) + 2000;
    case 'FILE_CHECK':
      return 10_000;
    default:
      return p.target.connectTimeoutMs * 2 + 2000;
  }
}

function extraOf(p: ProbeSpec): string | undefined {
  if (p.type === 'MISC_CHECK') return p.path.split(/\s+/)[0];
  if (p.type === 'FILE_CHECK') return p.path;
  return undefined;
}

export class CheckerScheduler {
  private readonly clock: Clock;
  private readonly probe: ProbeFn;
  private readonly random: () => number;
  private readonly onEvent: (ev: CheckEvent) => void;
  private readonly maxInFlight: number;
  private vss = new Map<string, VsRun>();
  private checkers = new Map<string, CheckerRun>();
  private inFlight = 0;
  private waiting: CheckerRun[] = [];
  private running = false;
  private readonly disabledVs = new Set<string>();

  constructor(
    private specs: VirtualServerSpec[],
    opts: SchedulerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.probe = opts.probe ?? runProbe;
    this.random = opts.random ?? Math.random;
    this.onEvent = opts.onEvent ?? (() => {});
    this.maxInFlight = opts.maxInFlight ?? 1024;
  }

  /** Initial state (RS without alpha are in, alpha ones out), first probes after warmup. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.install(this.specs, new Map(), new Map());
  }

  /**
   * Stop all timers and abort running probes. The desired state stays readable. With `shutdown`
   * (daemon stop, not reload), emits keepalived's shutdown events (and the omega notifiers).
   */
  stop(shutdown = false): void {
    if (shutdown && this.running) {
      for (const v of this.vss.values()) for (const ev of shutdownEvents(v.spec, v.pool)) this.onEvent(ev);
    }
    this.running = false;
    for (const c of this.checkers.values()) {
      c.timer?.cancel();
      c.timer = undefined;
      c.abort?.abort();
    }
    this.clearWaiting();
  }

  /**
   * Replace the configuration (SIGHUP), as a diff (lvskeeper issue #6): a checker whose probe and
   * timing are unchanged keeps its state, its timer and a probe in flight (no re-check burst); a
   * changed or added checker on a kept real server starts in that real server's current state
   * (keepalived migrates it so), a new real server follows alpha; virtual servers keep their quorum
   * state. 'desired' is emitted only for virtual servers whose rows changed (entries [] = removed),
   * so an unchanged reload costs the kernel nothing. One 'log' line per change.
   */
  reload(specs: VirtualServerSpec[]): void {
    const before = this.specs;
    this.specs = specs;
    if (!this.running) return;
    for (const line of describeReload(before, specs)) this.onEvent({ kind: 'log', vs: line.vs, message: line.message });
    const fresh = new Map<string, CheckerSpec>();
    for (const vs of specs) for (const rs of vs.realServers) for (const c of rs.checkers) fresh.set(c.id, c);
    const keep = new Map<string, CheckerRun>();
    for (const [id, run] of this.checkers) {
      const next = fresh.get(id);
      if (next && sameChecker(run.spec, next)) keep.set(id, run);
      else {
        run.timer?.cancel();
        run.abort?.abort();
      }
    }
    // Kept checkers waiting for a probe slot keep their place; dropped ones leave the queue.
    this.waiting = this.waiting.filter((run) => keep.get(run.spec.id) === run);
    const oldVss = this.vss;
    this.install(specs, keep, oldVss);
    for (const id of oldVss.keys()) {
      if (!this.vss.has(id)) {
        this.disabledVs.delete(id);
        this.onEvent({ kind: 'desired', vs: id, entries: [] });
      }
    }
  }

  /**
   * Pause (false) or resume (true) the checkers of a virtual server, like keepalived's ha_suspend
   * while the VS address is not local: a paused checker keeps its state and is not probed.
   */
  setEnabled(vsId: string, enabled: boolean): void {
    if (enabled) this.disabledVs.delete(vsId);
    else this.disabledVs.add(vsId);
  }

  /** Desired rows of every virtual server, in configuration order. */
  desired(): ServiceEntry[] {
    const all: ServiceEntry[] = [];
    for (const v of this.vss.values()) all.push(...v.desired);
    return all;
  }

  desiredFor(vsId: string): ServiceEntry[] {
    return this.vss.get(vsId)?.desired ?? [];
  }

  status(): VirtualServerStatusReport[] {
    const out: VirtualServerStatusReport[] = [];
    for (const v of this.vss.values()) {
      out.push({
        id: v.spec.id,
        label: v.spec.label,
        quorumUp: v.pool.quorumUp,
        realServers: v.spec.realServers.map((rs) => {
          const st = v.pool.rs[rs.id];
          const tallies = rs.checkers.flatMap((c) => this.checkers.get(c.id)?.tally ?? []);
          const durationBuckets = CHECK_DURATION_BOUNDS_S.map(() => 0).concat(0);
          for (const t of tallies) t.buckets.forEach((n, i) => (durationBuckets[i]! += n));
          return {
            id: rs.id,
            label: rs.label,
            alive: st?.alive ?? false,
            weight: st?.weight ?? rs.weight,
            checksRun: tallies.reduce((n, t) => n + t.run, 0),
            checksFailed: tallies.reduce((n, t) => n + t.failed, 0),
            durationBuckets,
            durationSumS: tallies.reduce((n, t) => n + t.sumS, 0),
            checkers: rs.checkers.map((c) => {
              const run = this.checkers.get(c.id);
              return {
                id: c.id,
                type: c.probe.type,
                up: run?.state.up ?? false,
                hasRun: run?.state.hasRun ?? false,
                retryIt: run?.state.retryIt ?? 0,
                lastReason: run?.state.lastReason,
              };
            }),
          };
        }),
      });
    }
    return out;
  }

  private install(specs: VirtualServerSpec[], kept: Map<string, CheckerRun>, oldVss: Map<string, VsRun>): void {
    this.checkers = new Map();
    this.vss = new Map();
    for (const vs of specs) {
      const old = oldVss.get(vs.id);
      if (!old) for (const line of activationLogs(vs)) this.onEvent({ kind: 'log', vs: vs.id, message: line });
      for (const rs of vs.realServers) {
        const rsBefore = old?.pool.rs[rs.id];
        for (const c of rs.checkers) {
          const prev = kept.get(c.id);
          if (prev) {
            prev.spec = c;
            prev.vs = vs;
            prev.rs = rs;
            this.checkers.set(c.id, prev);
            continue;
          }
          const run: CheckerRun = { spec: c, vs, rs, state: initialCheckerState(c.timing), queued: false };
          if (rsBefore) {
            // keepalived: a new checker on an existing real server starts in that server's state, so
            // neither a restart nor alpha moves the real server before the new checker decides.
            run.state = { ...run.state, up: rsBefore.alive };
            run.inherited = true;
            this.onEvent({ kind: 'log', vs: vs.id, message: activationLog(vs, rs) });
          }
          this.checkers.set(c.id, run);
        }
      }
      const statuses = this.rsStatuses(vs);
      const step = old ? reloadPool(vs, old.pool, statuses) : initialPool(vs, statuses);
      for (const ev of step.events) this.onEvent(ev);
      const desired = desiredEntries(vs, step.state);
      const desiredJson = JSON.stringify(desired, bigintSafe);
      this.vss.set(vs.id, { spec: vs, pool: step.state, desired, desiredJson });
      if (desiredJson !== old?.desiredJson) this.onEvent({ kind: 'desired', vs: vs.id, entries: desired });
    }
    for (const run of this.checkers.values()) {
      if (!run.timer && !run.abort && !run.queued) {
        this.schedule(run, run.state.hasRun ? run.spec.timing.delayLoopMs : firstProbeDelay(run.spec.timing, this.random));
      }
    }
  }

  private rsStatuses(vs: VirtualServerSpec): Record<string, RealServerStatus> {
    const out: Record<string, RealServerStatus> = {};
    for (const rs of vs.realServers) {
      out[rs.id] = realServerStatus(
        rs,
        rs.checkers.map((c) => this.checkers.get(c.id)?.state),
      );
    }
    return out;
  }

  private schedule(run: CheckerRun, delayMs: number): void {
    run.timer?.cancel();
    run.timer = this.clock.setTimer(delayMs, () => {
      run.timer = undefined;
      this.launch(run);
    });
  }

  private launch(run: CheckerRun): void {
    if (!this.running || this.checkers.get(run.spec.id) !== run) return;
    if (this.disabledVs.has(run.vs.id)) {
      // keepalived: a disabled checker just re-arms its timer at delay_loop.
      this.schedule(run, run.spec.timing.delayLoopMs);
      return;
    }
    if (this.inFlight >= this.maxInFlight) {
      if (!run.queued) {
        run.queued = true;
        this.waiting.push(run);
      }
      return;
    }
    this.inFlight++;
    const abort = new AbortController();
    run.abort = abort;
    run.startedAt = this.clock.now();
    const safety = this.clock.setTimer(safetyTimeoutMs(run.spec.probe), () => abort.abort());
    let probing: Promise<ProbeResult>;
    try {
      probing = this.probe(run.spec.probe, abort.signal);
    } catch (err) {
      probing = Promise.resolve({ ok: false, reason: `probe crashed: ${String(err)}` });
    }
    probing
      .catch((err: unknown): ProbeResult => ({ ok: false, reason: `probe crashed: ${String(err)}` }))
      .then((result) => {
        safety.cancel();
        this.inFlight--;
        if (run.abort === abort) run.abort = undefined;
        this.drainWaiting();
        if (!this.running || this.checkers.get(run.spec.id) !== run) return;
        this.onResult(run, result);
      });
  }

  private clearWaiting(): void {
    for (const run of this.waiting) run.queued = false;
    this.waiting = [];
  }

  private drainWaiting(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const next = this.waiting.shift() as CheckerRun;
      next.queued = false;
      this.launch(next);
    }
  }

  /** One probe result: state machine, logs, pool update, next timer. */
  private onResult(run: CheckerRun, result: ProbeResult): void {
    if (run.startedAt !== undefined) tallyProbe(run, (this.clock.now() - run.startedAt) / 1000, result.ok);
    const step = applyProbeResult(run.state, result, {
      type: run.spec.probe.type,
      label: run.spec.label,
      timing: run.spec.timing,
      extra: extraOf(run.spec.probe),
    });
    const firstRun = !run.state.hasRun;
    const wasUp = run.state.up;
    run.state = step.state;
    for (const message of step.logs) this.onEvent({ kind: 'log', vs: run.vs.id, message });
    // keepalived update_svr_checker_state: an alpha checker's first failure changes nothing but
    // still runs the RS down notifiers (notify_down script, FIFO line).
    if (firstRun && !wasUp && !result.ok && !run.inherited) this.onEvent(rsEvent(run.vs, run.rs, false));
    if (step.transition) {
      this.onEvent({
        kind: 'checker',
        vs: run.vs.id,
        rs: run.rs.id,
        checker: run.spec.id,
        up: step.transition === 'up',
        reason: result.reason,
        type: run.spec.probe.type,
        rsWasAlive: this.vss.get(run.vs.id)?.pool.rs[run.rs.id]?.alive ?? false,
        rsAlive: realServerStatus(run.rs, run.rs.checkers.map((c) => this.checkers.get(c.id)?.state)).alive,
      });
    }
    if (step.transition || step.weightChanged) this.refreshPool(run.vs.id);
    let delay = step.delayMs;
    // keepalived times MISC_CHECK runs from their start (last_ran + delay), the others from the result.
    if (run.spec.probe.type === 'MISC_CHECK' && run.startedAt !== undefined) {
      delay = Math.max(1, delay - (this.clock.now() - run.startedAt));
    }
    this.schedule(run, delay);
  }

  private refreshPool(vsId: string): void {
    const v = this.vss.get(vsId);
    if (!v) return;
    const step = updatePool(v.spec, v.pool, this.rsStatuses(v.spec));
    v.pool = step.state;
    for (const ev of step.events) this.onEvent(ev);
    const desired = desiredEntries(v.spec, v.pool);
    const json = JSON.stringify(desired, bigintSafe);
    if (json !== v.desiredJson) {
      v.desired = desired;
      v.desiredJson = json;
      this.onEvent({ kind: 'desired', vs: vsId, entries: desired });
    }
  }
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

function tallyProbe(run: CheckerRun, seconds: number, ok: boolean): void {
  const t = (run.tally ??= { run: 0, failed: 0, sumS: 0, buckets: new Uint32Array(CHECK_DURATION_BOUNDS_S.length + 1) });
  t.run++;
  if (!ok) t.failed++;
  t.sumS += seconds;
  let i = 0;
  while (i < CHECK_DURATION_BOUNDS_S.length && seconds > CHECK_DURATION_BOUNDS_S[i]!) i++;
  t.buckets[i]!++;
}
