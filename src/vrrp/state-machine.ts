// The VRRP state machine as one pure function: step(config, state, event, nowMs) → (state, actions).
// Every VRRP rule lives here (RFC 3768 §6, RFC 5798 §6, and keepalived's vrrp.c / vrrp_scheduler.c
// behaviour where it differs). Adapters (instance.ts) perform the actions and feed events back.
import type { Family } from '../net/types.js';
import { compareAddresses, canonicalAddress } from './addr.js';
import type { VrrpAdvert, VrrpVersion } from './packet.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';
export type TimerKind = 'adver' | 'masterDown' | 'garpDelay' | 'garpRefresh' | 'garpLowerPrio';
export const TIMER_KINDS: readonly TimerKind[] = ['adver', 'masterDown', 'garpDelay', 'garpRefresh', 'garpLowerPrio'];

export const VRRP_PRIO_OWNER = 255;
export const VRRP_PRIO_STOP = 0;

export interface TrackerSpec {
  /** Unique per instance, e.g. "script:chk_lvs" or "interface:eth1". */
  name: string;
  /** -253..253 (254 for files/processes); 0 = FAULT while down. */
  weight: number;
  reverse?: boolean | undefined;
  /**
   * A value tracker (track_file): its state is a number, not up/down, and it adds value × weight
   * (negated by reverse) to the priority; see fileDelta.
   */
  numeric?: boolean | undefined;
}

/** A tracker's state: up/down, or the value of a numeric tracker (missing = up, or 0). */
export type TrackerState = boolean | number;

export interface MachineConfig {
  name: string;
  version: VrrpVersion;
  family: Family;
  /** Configured priority 1..255 (255 = address owner, never adjusted). */
  basePriority: number;
  /** advert_int in centiseconds. */
  advertIntCs: number;
  /** `state MASTER` */
  wantMaster: boolean;
  nopreempt: boolean;
  preemptDelayMs: number;
  /** down_timer_adverts, default 3 */
  downTimerAdverts: number;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  /** GARPs per VIP on becoming MASTER (garp_master_repeat, default 5). */
  garpMasterRepeat: number;
  /** Second burst after this delay (garp_master_delay, default 5 s); 0 = none. */
  garpMasterDelayMs: number;
  /** garp_master_refresh; 0 = off. */
  garpMasterRefreshMs: number;
  garpMasterRefreshRepeat: number;
  /** GARPs when a MASTER hears a lower-priority advert (garp_lower_prio_repeat); 0 = none. */
  garpLowerPrioRepeat: number;
  /** A second lower-priority burst after this delay (garp_lower_prio_delay); 0 = none. */
  garpLowerPrioDelayMs: number;
  strict: boolean;
  /** Our source address (unicast_src_ip / mcast_src_ip / interface primary) for the tie-break. */
  sourceAddress?: string | undefined;
  trackers: TrackerSpec[];
}

export interface MachineState {
  state: VrrpState;
  effectivePriority: number;
  /** RFC 5798 Master_Adver_Interval (v3 backups learn it from the master), centiseconds. */
  masterAdverIntCs: number;
  /** Tracker name → up (a number for a numeric tracker). Missing = up (0). */
  trackersUp: Record<string, TrackerState>;
  /** Tracker name → what the adapter said of its last change ("0 processes, quorum 1"), for reasons. */
  trackerDetails?: Record<string, string> | undefined;
  /** Set by the sync group when another member is faulty. */
  groupFault: boolean;
  /** keepalived preempt_time: when the running preempt_delay ends (set on the first lower advert). */
  preemptUntilMs?: number | undefined;
  /** Source of the last accepted advert (the current master as seen from BACKUP). */
  masterAddress?: string | undefined;
  masterPriority?: number | undefined;
  /** vrrp_startup_delay: no Master_Down_Timer may end before this time plus the down interval. */
  delayedStartUntilMs?: number | undefined;
}

export type MachineEvent =
  /** waited: the start was held for the first result of a weight-0 track_script (no "(init)" in the log). */
  | { type: 'start'; waited?: boolean | undefined; delayedStartUntilMs?: number | undefined }
  | { type: 'advert'; advert: VrrpAdvert; source: string }
  | { type: 'timer'; kind: TimerKind }
  /** up: a number for a numeric tracker; detail: shown in the FAULT reason (e.g. a process count). */
  | { type: 'tracker'; name: string; up: TrackerState; detail?: string | undefined }
  | { type: 'vipRemoved'; address: string }
  | { type: 'groupFault'; fault: boolean }
  | { type: 'groupForce'; to: 'MASTER' | 'BACKUP' }
  /** Another member of our sync group heard a lower-priority advert: our own lower-prio GARPs too. */
  | { type: 'groupLowerPrio' }
  | { type: 'stop' }
  /**
   * The instance is gone from the configuration at reload: leave as at stop (priority 0, VIPs released),
   * but notify as keepalived's clear_diff_vrrp() does for a deleted instance: FAULT, or DELETED when the
   * instance has `notify_deleted`.
   */
  | { type: 'delete'; notifyDeleted: boolean };

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Action =
  | { type: 'sendAdvert'; priority: number }
  | { type: 'addVips' }
  | { type: 'removeVips'; reason: 'init' | 'backup' | 'fault' | 'stop' | 'deleted' }
  | { type: 'announce'; repeat: number; reason: 'master' | 'delay' | 'refresh' | 'lower-prio' | 'lower-prio-delay' }
  | { type: 'notify'; state: NotifyState; priority: number }
  | { type: 'notifyMasterRxLowerPri'; priority: number; source: string }
  | { type: 'setTimer'; kind: TimerKind; ms: number }
  | { type: 'cancelTimer'; kind: TimerKind }
  | { type: 'log'; level: LogLevel; text: string }
  | { type: 'transition'; from: VrrpState; to: VrrpState; reason: string }
  | { type: 'priorityChanged'; from: number; to: number };

export interface StepResult {
  state: MachineState;
  actions: Action[];
}

const DEFAULTS: Omit<MachineConfig, 'name' | 'version' | 'family' | 'trackers'> = {
  basePriority: 100,
  advertIntCs: 100,
  wantMaster: false,
  nopreempt: false,
  preemptDelayMs: 0,
  downTimerAdverts: 3,
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  garpMasterRepeat: 5,
  garpMasterDelayMs: 5000,
  garpMasterRefreshMs: 0,
  garpMasterRefreshRepeat: 1,
  garpLowerPrioRepeat: 0,
  garpLowerPrioDelayMs: 0,
  strict: false,
};

/**
 * Fill defaults and apply keepalived's consistency rules: `state MASTER` clears nopreempt/preempt_delay
 * (vrrp_complete_instance), priority 255 cannot be nopreempt, and vrrp_strict implies
 * lower_prio_no_advert, no preempt_delay and no GARP repeats on lower-priority adverts.
 */
export function machineConfig(partial: Partial<MachineConfig> & Pick<MachineConfig, 'name' | 'version' | 'family'>): MachineConfig {
  const c: MachineConfig = { ...DEFAULTS, trackers: [], ...partial };
  if (c.wantMaster || c.basePriority === VRRP_PRIO_OWNER) {
    c.nopreempt = false;
    c.preemptDelayMs = 0;
  }
  if (c.strict) {
    c.lowerPrioNoAdvert = true;
    c.preemptDelayMs = 0;
    c.garpLowerPrioRepeat = 0;
  }
  return c;
}

/** Skew_Time in ms: v2 (256 − prio)/256 s (RFC 3768 §6.1); v3 (256 − prio) × Master_Adver_Interval / 256 (RFC 5798 §6.1). */
export function skewMs(version: VrrpVersion, priority: number, masterAdverIntCs: number): number {
  const p = Math.min(255, Math.max(0, priority));
  return version === 2 ? ((256 - p) * 1000) / 256 : ((256 - p) * masterAdverIntCs * 10) / 256;
}

/** Master_Down_Interval in ms = down_timer_adverts × Master_Adver_Interval + Skew_Time. */
export function masterDownMs(cfg: MachineConfig, priority: number, masterAdverIntCs: number): number {
  return cfg.downTimerAdverts * masterAdverIntCs * 10 + skewMs(cfg.version, priority, masterAdverIntCs);
}

function trackerDown(spec: TrackerSpec, s: MachineState): boolean {
  const up = s.trackersUp[spec.name] ?? true;
  return spec.reverse ? up === true : up === false;
}

/** A numeric tracker's value (anything else reads as 0). */
function trackerValue(s: MachineState, name: string): number {
  const v = s.trackersUp[name];
  return typeof v === 'number' ? v : 0;
}

/** The tracker holds the instance in FAULT: a weight-0 tracker down, or a track_file at -254 or below. */
function trackerFault(t: TrackerSpec, s: MachineState): boolean {
  if (t.numeric) return fileDelta(t, trackerValue(s, t.name)) === null;
  return t.weight === 0 && trackerDown(t, s);
}

/** "track_script chk_lvs failed": the trackers that hold the instance in FAULT. */
function faultReason(cfg: MachineConfig, s: MachineState): string {
  const down = cfg.trackers.filter((t) => trackerFault(t, s));
  if (down.length === 0) return 'tracker';
  return down
    .map((t) => {
      if (t.numeric) return `${trackerLabel(t.name)} value ${trackerValue(s, t.name)}`;
      const detail = s.trackerDetails?.[t.name];
      if (detail !== undefined) return `${trackerLabel(t.name)}: ${detail}`;
      return `${trackerLabel(t.name)} ${/^(primary|interface):/.test(t.name) ? 'down' : 'failed'}`;
    })
    .join(', ');
}

/** A tracker's id ("script:chk_lvs#0", "interface:eth1#g0", "primary:eth0") as the operator configured it. */
export function trackerLabel(id: string): string {
  const at = id.indexOf(':');
  const kind = id.slice(0, at);
  const name = id.slice(at + 1).replace(/#g?\d+$/, '');
  if (kind === 'primary') return `interface ${name}`;
  const words: Record<string, string> = { script: 'track_script', interface: 'track_interface', file: 'track_file', process: 'track_process', bfd: 'track_bfd' };
  return `${words[kind] ?? kind} ${name}`;
}

/**
 * A tracker's effect on the priority (vrrp_track.c): a positive weight while it is up, a negative one
 * while it is down, negated by `reverse`; null for a weight-0 tracker that is down (FAULT).
 */
export function trackerDelta(t: TrackerSpec, up: boolean): number | null {
  if (t.weight === 0) return (t.reverse ? up : !up) ? null : 0;
  const delta = up ? (t.weight > 0 ? t.weight : 0) : t.weight < 0 ? t.weight : 0;
  return t.reverse ? -delta : delta;
}

/**
 * A track_file's effect on the priority (track_file.c update_track_file_status and
 * process_update_vrrp_track_file_status): weight 0 → FAULT (null) while the value is non-zero (with
 * reverse: while it is zero), else 0; otherwise value × weight, negated by reverse, capped at 253, and
 * FAULT at -254 or below.
 */
export function fileDelta(t: Pick<TrackerSpec, 'weight' | 'reverse'>, value: number): number | null {
  if (t.weight === 0) return (t.reverse ? value === 0 : value !== 0) ? null : 0;
  const status = value * t.weight * (t.reverse ? -1 : 1);
  if (status <= -254) return null;
  return Math.min(253, status);
}

/** A tracker's effect now (trackerDelta or fileDelta by kind); null = it holds the instance in FAULT. */
export function trackerEffect(t: TrackerSpec, state: TrackerState | undefined): number | null {
  if (t.numeric) return fileDelta(t, typeof state === 'number' ? state : 0);
  return trackerDelta(t, state !== false);
}

/** A tracker holds the instance in FAULT (this instance's own fault, not the sync group's). */
export function ownFault(cfg: MachineConfig, s: MachineState): boolean {
  return cfg.trackers.some((t) => trackerFault(t, s));
}

/**
 * Effective priority (vrrp_track.c): base + Σ weights that apply — a positive weight while the tracker is
 * up, a negative weight while it is down; `reverse` negates the adjustment ("decreased when up and
 * increased when down", as src/scripts/track-state.ts trackerEffect) — clamped to 1..254; base 255 is fixed.
 */
export function effectivePriority(cfg: MachineConfig, s: MachineState): number {
  if (cfg.basePriority >= VRRP_PRIO_OWNER) return VRRP_PRIO_OWNER;
  let p = cfg.basePriority;
  for (const t of cfg.trackers) if (t.weight !== 0) p += trackerEffect(t, s.trackersUp[t.name]) ?? 0;
  return Math.min(254, Math.max(1, p));
}

export function initialState(cfg: MachineConfig, trackersUp: Record<string, TrackerState> = {}, trackerDetails?: Record<string, string>): MachineState {
  const s: MachineState = {
    state: 'INIT',
    effectivePriority: cfg.basePriority,
    masterAdverIntCs: cfg.advertIntCs,
    trackersUp: { ...trackersUp },
    trackerDetails: trackerDetails && { ...trackerDetails },
    groupFault: false,
  };
  s.effectivePriority = effectivePriority(cfg, s);
  return s;
}

class Step {
  readonly actions: Action[] = [];
  constructor(readonly cfg: MachineConfig, readonly s: MachineState, readonly nowMs: number) {}
  log(level: LogLevel, text: string): void {
    this.actions.push({ type: 'log', level, text: `(${this.cfg.name}) ${text}` });
  }
  timer(kind: TimerKind, ms: number): void {
    this.actions.push({ type: 'setTimer', kind, ms: Math.max(0, ms) });
  }
  cancel(...kinds: TimerKind[]): void {
    for (const kind of kinds) this.actions.push({ type: 'cancelTimer', kind });
  }
  send(priority: number): void {
    this.actions.push({ type: 'sendAdvert', priority });
  }
  transition(to: VrrpState, reason: string): void {
    const from = this.s.state;
    this.s.state = to;
    this.actions.push({ type: 'transition', from, to, reason });
  }
  notify(state: NotifyState): void {
    this.actions.push({ type: 'notify', state, priority: this.s.effectivePriority });
  }
  downIntervalMs(): number {
    return masterDownMs(this.cfg, this.s.effectivePriority, this.s.masterAdverIntCs);
  }
  /**
   * A Master_Down_Timer of `ms`, pushed past vrrp_startup_delay while it runs (keepalived
   * vrrp_init_instance_sands: sands = delayed start + down timer).
   */
  downTimer(ms: number): void {
    const until = this.s.delayedStartUntilMs;
    if (until !== undefined && until <= this.nowMs) this.s.delayedStartUntilMs = undefined;
    this.timer('masterDown', until !== undefined && until > this.nowMs ? until - this.nowMs + ms : ms);
  }
}

/** Apply one event. The input state is not modified. */
export function step(cfg: MachineConfig, state: MachineState, event: MachineEvent, nowMs: number): StepResult {
  const s: MachineState = { ...state, trackersUp: { ...state.trackersUp } };
  const x = new Step(cfg, s, nowMs);
  if (s.state === 'STOP') return { state: s, actions: [] };
  switch (event.type) {
    case 'start':
      if (s.state === 'INIT') {
        if (event.delayedStartUntilMs !== undefined && event.delayedStartUntilMs > nowMs) s.delayedStartUntilMs = event.delayedStartUntilMs;
        start(x, event.waited === true);
      }
      break;
    case 'stop':
      stop(x, 'stop');
      break;
    case 'delete':
      stop(x, 'deleted', event.notifyDeleted ? 'DELETED' : 'FAULT');
      break;
    case 'tracker':
      s.trackersUp[event.name] = event.up;
      if (event.detail !== undefined) s.trackerDetails = { ...s.trackerDetails, [event.name]: event.detail };
      if (s.state !== 'INIT') reevaluate(x);
      break;
    case 'groupFault':
      s.groupFault = event.fault;
      if (s.state !== 'INIT') reevaluate(x);
      break;
    case 'groupForce':
      // vrrp_sync_master / vrrp_sync_backup: a member's transition drags the others along.
      if (event.to === 'MASTER' && s.state === 'BACKUP') becomeMaster(x, 'sync group');
      else if (event.to === 'BACKUP' && s.state === 'MASTER') leaveMasterToBackup(x, 'sync group');
      break;
    case 'groupLowerPrio':
      if (s.state === 'MASTER') lowerPrioGarps(x);
      break;
    case 'timer':
      onTimer(x, event.kind);
      break;
    case 'advert':
      if (s.state === 'BACKUP') backupRx(x, event.advert, event.source);
      else if (s.state === 'MASTER') masterRx(x, event.advert, event.source);
      // INIT and FAULT ignore adverts.
      break;
    case 'vipRemoved':
      // keepalived: a VIP deleted by someone else while MASTER → BACKUP (the engine filters no_track).
      if (s.state === 'MASTER') {
        x.log('info', `VIP ${event.address} deleted externally`);
        leaveMasterToBackup(x, 'vip removed');
      }
      break;
  }
  return { state: s, actions: x.actions };
}

/** vrrp_init_state: drop stale VIPs, then FAULT, or BACKUP with a master-down timer (1 µs for an owner with state MASTER). */
function start(x: Step, waited: boolean): void {
  const { cfg, s } = x;
  s.effectivePriority = effectivePriority(cfg, s);
  x.actions.push({ type: 'removeVips', reason: 'init' });
  const suffix = waited ? '' : ' (init)';
  if (ownFault(cfg, s) || s.groupFault) {
    x.transition('FAULT', 'init');
    x.log('info', `Entering FAULT STATE${suffix}`);
    x.notify('FAULT');
    return;
  }
  x.transition('BACKUP', 'init');
  x.log('info', `Entering BACKUP STATE${suffix}`);
  x.notify('BACKUP');
  if (cfg.basePriority === VRRP_PRIO_OWNER && cfg.wantMaster) x.timer('masterDown', 0);
  else x.downTimer(x.downIntervalMs());
}

/** Shutdown: a MASTER sends priority 0 (RFC 3768 §6.4.3 Shutdown) then drops its VIPs; notify STOP. */
function stop(x: Step, reason: 'stop' | 'deleted', notifyAs: NotifyState = 'STOP'): void {
  const { s } = x;
  x.cancel(...TIMER_KINDS);
  if (s.state === 'MASTER') {
    x.send(VRRP_PRIO_STOP);
    x.log('info', 'sent 0 priority');
    x.actions.push({ type: 'removeVips', reason });
  }
  x.transition('STOP', reason);
  x.notify(notifyAs);
}

/**
 * Reload (SIGHUP) of a kept instance: `next` replaces `prev` without a state change of its own, so
 * `systemctl reload` never causes a failover. A MASTER keeps its advert schedule (no gap, no extra
 * advert) unless advert_int changed: then it advertises at once and every new interval from now, so
 * that peers (v3: Master_Adver_Interval) learn it immediately. Priority, preempt, trackers and the
 * rest then apply under the normal rules: the new effective priority is advertised at the next advert
 * (a backup with preemption takes over on its own), and a weight-0 tracker that is down means FAULT.
 * `trackersUp` is the full, current tracker table for `next.trackers` (kept trackers keep their state).
 */
export function reconfigure(prev: MachineConfig, next: MachineConfig, state: MachineState, trackersUp: Record<string, TrackerState>, nowMs: number): StepResult {
  const s: MachineState = { ...state, trackersUp: { ...trackersUp } };
  const x = new Step(next, s, nowMs);
  if (s.state === 'STOP') return { state: state, actions: [] };
  if (s.state === 'INIT') {
    s.effectivePriority = effectivePriority(next, s);
    return { state: s, actions: [] };
  }
  if (s.state === 'MASTER') {
    s.masterAdverIntCs = next.advertIntCs;
    if (next.advertIntCs !== prev.advertIntCs) {
      x.log('info', `advert interval changed from ${prev.advertIntCs * 10} to ${next.advertIntCs * 10} ms`);
      x.send(effectivePriority(next, s));
      x.timer('adver', next.advertIntCs * 10);
    }
    if (next.garpMasterRefreshMs !== prev.garpMasterRefreshMs) {
      if (next.garpMasterRefreshMs > 0) x.timer('garpRefresh', next.garpMasterRefreshMs);
      else x.cancel('garpRefresh');
    }
  } else if (next.version === 2 || prev.version !== next.version) {
    // v2 has no learned interval (RFC 3768: it must match ours); v3 keeps what the master advertises.
    s.masterAdverIntCs = next.advertIntCs;
  }
  reevaluate(x);
  return { state: s, actions: x.actions };
}

/** Recompute priority and fault after a tracker or sync-group change. */
function reevaluate(x: Step): void {
  const { cfg, s } = x;
  const prio = effectivePriority(cfg, s);
  if (prio !== s.effectivePriority) {
    x.log('info', `Changing effective priority from ${s.effectivePriority} to ${prio}`);
    x.actions.push({ type: 'priorityChanged', from: s.effectivePriority, to: prio });
    s.effectivePriority = prio;
    // A MASTER whose priority drops does not step down by itself: it only advertises the new value.
  }
  const faulted = ownFault(cfg, s) || s.groupFault;
  if (faulted && (s.state === 'BACKUP' || s.state === 'MASTER')) {
    const wasMaster = s.state === 'MASTER';
    x.cancel(...TIMER_KINDS);
    if (wasMaster) {
      // Leaving MASTER for FAULT sends priority 0 so the peer takes over after Skew_Time.
      x.send(VRRP_PRIO_STOP);
      x.log('info', 'sent 0 priority');
    }
    x.transition('FAULT', s.groupFault && !ownFault(cfg, s) ? 'sync group' : faultReason(cfg, s));
    x.log('info', 'Entering FAULT STATE');
    if (wasMaster) x.actions.push({ type: 'removeVips', reason: 'fault' });
    x.notify('FAULT');
  } else if (!faulted && s.state === 'FAULT') {
    // Recovery: BACKUP, or straight to MASTER (1 µs timer) for an address owner with state MASTER.
    x.transition('BACKUP', 'fault cleared');
    x.log('info', 'Entering BACKUP STATE');
    x.notify('BACKUP');
    s.masterAdverIntCs = cfg.advertIntCs;
    if (cfg.basePriority === VRRP_PRIO_OWNER) x.timer('masterDown', 0);
    else x.downTimer(x.downIntervalMs());
  }
}

function onTimer(x: Step, kind: TimerKind): void {
  const { cfg, s } = x;
  if (kind === 'masterDown' && s.state === 'BACKUP') {
    // RFC 3768 §6.4.2: Master_Down_Timer fires → become MASTER.
    x.log('info', 'Receive advertisement timeout');
    becomeMaster(x, s.masterAddress ? `advert timeout: no advert from ${s.masterAddress}` : 'advert timeout: no master heard');
  } else if (kind === 'adver' && s.state === 'MASTER') {
    x.send(s.effectivePriority);
    x.timer('adver', cfg.advertIntCs * 10);
  } else if (kind === 'garpDelay' && s.state === 'MASTER') {
    if (cfg.garpMasterRepeat > 0) x.actions.push({ type: 'announce', repeat: cfg.garpMasterRepeat, reason: 'delay' });
  } else if (kind === 'garpLowerPrio' && s.state === 'MASTER') {
    if (cfg.garpLowerPrioRepeat > 0) x.actions.push({ type: 'announce', repeat: cfg.garpLowerPrioRepeat, reason: 'lower-prio-delay' });
  } else if (kind === 'garpRefresh' && s.state === 'MASTER') {
    x.actions.push({ type: 'announce', repeat: Math.max(1, cfg.garpMasterRefreshRepeat), reason: 'refresh' });
    if (cfg.garpMasterRefreshMs > 0) x.timer('garpRefresh', cfg.garpMasterRefreshMs);
  }
  // Stale timers (fired after a transition) are ignored.
}

/**
 * Becoming MASTER (RFC 3768 §6.4.1/§6.4.2, keepalived vrrp_state_goto_master): send an advert first so
 * the old master drops the VIPs, add the VIPs, announce them (GARP/NA), then advertise every interval.
 */
function becomeMaster(x: Step, reason: string): void {
  const { cfg, s } = x;
  x.cancel('masterDown');
  x.transition('MASTER', reason);
  s.masterAdverIntCs = cfg.advertIntCs;
  s.masterAddress = undefined;
  s.preemptUntilMs = undefined;
  x.log('info', 'Entering MASTER STATE');
  x.send(s.effectivePriority);
  x.actions.push({ type: 'addVips' });
  if (cfg.garpMasterRepeat > 0) x.actions.push({ type: 'announce', repeat: cfg.garpMasterRepeat, reason: 'master' });
  x.timer('adver', cfg.advertIntCs * 10);
  if (cfg.garpMasterDelayMs > 0 && cfg.garpMasterRepeat > 0) x.timer('garpDelay', cfg.garpMasterDelayMs);
  if (cfg.garpMasterRefreshMs > 0) x.timer('garpRefresh', cfg.garpMasterRefreshMs);
  x.notify('MASTER');
}

function leaveMasterToBackup(x: Step, reason: string): void {
  x.cancel('adver', 'garpDelay', 'garpRefresh', 'garpLowerPrio');
  x.transition('BACKUP', reason);
  x.log('info', 'Entering BACKUP STATE');
  x.actions.push({ type: 'removeVips', reason: 'backup' });
  x.downTimer(x.downIntervalMs());
  x.notify('BACKUP');
}

function isOwnPacket(cfg: MachineConfig, source: string): boolean {
  return cfg.sourceAddress !== undefined && canonicalAddress(cfg.sourceAddress, cfg.family) === canonicalAddress(source, cfg.family);
}

/** Advert received while BACKUP (RFC 3768 §6.4.2, RFC 5798 §6.4.2, keepalived vrrp_state_backup). */
function backupRx(x: Step, adv: VrrpAdvert, source: string): void {
  const { cfg, s, nowMs } = x;
  if (isOwnPacket(cfg, source)) return;
  if (adv.priority === VRRP_PRIO_STOP) {
    // The master is leaving: Master_Down_Timer = Skew_Time.
    x.log('info', 'Backup received priority 0 advertisement');
    x.downTimer(skewMs(cfg.version, s.effectivePriority, s.masterAdverIntCs));
    return;
  }
  const preemptDelayRunning = cfg.preemptDelayMs > 0 && (s.preemptUntilMs === undefined || s.preemptUntilMs > nowMs);
  if (cfg.nopreempt || adv.priority >= s.effectivePriority || preemptDelayRunning) {
    // Accept (no tie-break in BACKUP): restart the down timer, v3 learns the master's interval.
    if (cfg.preemptDelayMs > 0) {
      if (adv.priority > s.effectivePriority) s.preemptUntilMs = undefined;
      else if (s.preemptUntilMs === undefined) s.preemptUntilMs = nowMs + cfg.preemptDelayMs;
    }
    if (cfg.version === 3 && adv.advertIntCs > 0) s.masterAdverIntCs = adv.advertIntCs;
    s.masterAddress = source;
    s.masterPriority = adv.priority;
    x.downTimer(x.downIntervalMs());
    return;
  }
  // Lower priority and preemption allowed: discard; the down timer is not refreshed, so we preempt.
  x.log('info', `received lower priority (${adv.priority}) advert from ${source} - discarding`);
}

/** Advert received while MASTER (RFC 3768 §6.4.3, RFC 5798 §6.4.3, keepalived vrrp_state_master_rx). */
function masterRx(x: Step, adv: VrrpAdvert, source: string): void {
  const { cfg, s } = x;
  if (isOwnPacket(cfg, source)) return;
  // vrrp_strict: an address owner ignores received adverts.
  if (cfg.strict && cfg.basePriority === VRRP_PRIO_OWNER) return;
  if (adv.priority === VRRP_PRIO_STOP) {
    // Another router is leaving: advertise now so backups see the current master (§6.4.3).
    x.send(s.effectivePriority);
    x.timer('adver', cfg.advertIntCs * 10);
    return;
  }
  const mine = s.effectivePriority;
  const cmp = compareAddresses(source, cfg.sourceAddress ?? '', cfg.family);
  if (adv.priority === VRRP_PRIO_OWNER && mine === VRRP_PRIO_OWNER) {
    x.log('error', `CONFIGURATION ERROR: local instance and a remote instance (${source}) are both configured as address owner, please fix`);
  }
  if (adv.priority > mine || (adv.priority === mine && cmp > 0)) {
    x.log(
      'info',
      adv.priority > mine
        ? `Master received advert from ${source} with higher priority ${adv.priority}, ours ${mine}`
        : `Master received advert from ${source} with same priority ${adv.priority} but higher IP address than ours`,
    );
    if (cfg.higherPrioSendAdvert) x.send(mine);
    if (cfg.version === 3 && adv.advertIntCs > 0) s.masterAdverIntCs = adv.advertIntCs;
    s.masterAddress = source;
    s.masterPriority = adv.priority;
    leaveMasterToBackup(x, adv.priority > mine ? `higher priority ${adv.priority} from ${source}` : `same priority ${adv.priority} from higher address ${source}`);
    return;
  }
  // Lower priority (or equal with a lower address): assert mastership at once.
  x.log('info', `Received advert from ${source} with lower priority ${adv.priority}, ours ${mine}, forcing new election`);
  if (!cfg.lowerPrioNoAdvert) {
    x.send(mine);
    x.timer('adver', cfg.advertIntCs * 10);
  }
  lowerPrioGarps(x);
  x.actions.push({ type: 'notifyMasterRxLowerPri', priority: adv.priority, source });
}

/**
 * keepalived vrrp_state_master_rx: garp_lower_prio_repeat GARPs now and, with garp_lower_prio_delay, the
 * same again after the delay (vrrp_lower_prio_gratuitous_arp_thread); sync-group members do the same
 * (groupLowerPrio). keepalived queues one timer per lower advert; one timer, re-armed by each, sends
 * the same burst after the last one.
 */
function lowerPrioGarps(x: Step): void {
  const { cfg } = x;
  if (cfg.garpLowerPrioRepeat === 0) return;
  x.actions.push({ type: 'announce', repeat: cfg.garpLowerPrioRepeat, reason: 'lower-prio' });
  if (cfg.garpLowerPrioDelayMs > 0) x.timer('garpLowerPrio', cfg.garpLowerPrioDelayMs);
}
