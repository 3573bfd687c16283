// One running VRRP instance: drives the pure state machine (state-machine.ts) with real timers and
// performs its actions through the adapters (transport, VIPs, announcements). All VRRP decisions stay in
// the machine; this file only executes them, in the order the machine gives:
// advert first, then VIPs, virtual routes and rules, then GARP/NA (the VIP work is serialised so GARPs
// follow the add); leaving MASTER, rules, routes, then VIPs go (keepalived vrrp_state_become_master and
// vrrp_restore_interface).
import type { Logger } from '../log/logger.js';
import type { AddressManager, Announcer, IpRoute, IpRule, ReceivedPacket, RouteManager, SendOptions, VirtualAddress, VrrpTransport } from '../net/types.js';
import { canonicalAddress } from './addr.js';
import { encodeAdvert, VRRP_AUTH_AH, VRRP_MULTICAST_V4, VRRP_MULTICAST_V6 } from './packet.js';
import { AhSequence } from './ipsec-ah.js';
import { readAdvertHeader, relevantFinding, SplitBrainDetector, type SplitBrainConfig, type SplitBrainEvent, type SplitBrainSuspicion } from './split-brain.js';
import {
  initialState,
  ownFault,
  reconfigure,
  step,
  type Action,
  type MachineConfig,
  type MachineEvent,
  type MachineState,
  type NotifyState,
  type StepResult,
  type TimerKind,
  type TrackerState,
  type VrrpState,
} from './state-machine.js';
import type { TimerHandle, TimerHost } from './timers.js';
import { DropCounters, validateAdvert, type AdvisoryReason, type DropReason, type ValidationConfig } from './validate.js';

export interface InstanceSpec {
  name: string;
  interface: string;
  machine: MachineConfig;
  validation: ValidationConfig;
  /** Addresses carried in adverts (the first 255 of virtual_ipaddress). */
  advertised: string[];
  /** Everything added while MASTER (virtual_ipaddress + virtual_ipaddress_excluded). */
  vips: VirtualAddress[];
  /** virtual_routes and virtual_rules: set while MASTER, after the VIPs, in configuration order. */
  routes?: readonly IpRoute[] | undefined;
  rules?: readonly IpRule[] | undefined;
  authType: number;
  authPassword?: string | undefined;
  multicastGroup?: string | undefined;
  unicast: boolean;
  /** Source of our adverts (also the tie-break address), when known. */
  sourceAddress?: string | undefined;
  v3ChecksumAsV2: boolean;
  /** -V / --dont-release-vrrp: leave the VIPs in place at stop. */
  keepVipsOnStop: boolean;
  /** old_unicast_checksum (IPv4 VRRPv3 unicast): 'old' from the start, 'never' learned from a peer. */
  unicastChecksum?: 'old' | 'never' | undefined;
}

export interface StateChangeEvent {
  instance: string;
  from: VrrpState;
  to: VrrpState;
  reason: string;
  priority: number;
  vips: VirtualAddress[];
  /** Set when the instance left the configuration at reload (to: 'STOP', reason 'deleted'). */
  deleted?: true | undefined;
  /**
   * Resolves when the VIP work queued so far is done; called after the step (e.g. from setImmediate),
   * it includes the VIP removal of a step that left MASTER.
   */
  vipWorkDone(): Promise<void>;
}

/** Says whether a VIP must stay on the interface (at reload: another instance here holds it as MASTER). */
export type VipSpare = (vip: VirtualAddress) => boolean;

/** A kept instance's new configuration at reload (see VrrpInstance.reconfigure). */
export interface Reconfiguration {
  spec: InstanceSpec;
  /** The shared socket of the new transport settings, when they changed. */
  transport?: Pick<VrrpTransport, 'send'> | undefined;
  /** Every tracker of the new spec with its current state (a number for a track_file). */
  trackersUp: Record<string, TrackerState>;
  /** VIPs this instance drops but must leave in place (moved to an instance that is MASTER here). */
  spare: VipSpare;
}

/** Seams for the rest of the daemon: notify scripts/FIFO, checkers/IPVS, sync groups. */
export interface InstanceHooks {
  /** Every state change (after the actions of the step were started). Checkers/IPVS hook here. */
  onStateChange?: ((ev: StateChangeEvent) => void) | undefined;
  /** keepalived notify: MASTER/BACKUP/FAULT/STOP with the effective priority. */
  onNotify?: ((ev: { instance: string; state: NotifyState; priority: number }) => void) | undefined;
  onMasterRxLowerPri?: ((ev: { instance: string; priority: number; source: string }) => void) | undefined;
  onPriorityChange?: ((ev: { instance: string; from: number; to: number; state: VrrpState }) => void) | undefined;
}

/**
 * IPVS work tied to a takeover, in keepalived's order (vrrp_state_become_master / vrrp_state_leave_master):
 * the virtual servers of the VIPs go into the kernel before the VIPs arrive (a segment to a VIP that has
 * no virtual server yet would be answered by this node's own stack with a reset), and the IPVS sync
 * daemon becomes master after the VIPs were added and backup before they are removed.
 */
export interface TakeoverHooks {
  /** Before the VIPs are added; resolves (never rejects) when the VIPs may be added. */
  beforeVipsAdded(instance: string): Promise<void>;
  /** After the VIPs were added. */
  afterVipsAdded(instance: string): void;
  /** Leaving MASTER, before the VIPs are removed; resolves (never rejects) when they may be removed. */
  beforeVipsRemoved(instance: string): Promise<void>;
}

export interface InstanceDeps {
  timers: TimerHost;
  transport: Pick<VrrpTransport, 'send'>;
  addresses: AddressManager;
  /** virtual_routes/virtual_rules; needed only by an instance that has some. */
  routes?: RouteManager | undefined;
  announcer: Announcer;
  log: Logger;
  hooks?: InstanceHooks | undefined;
  takeover?: TakeoverHooks | undefined;
  /** Called with the transitions of one step, after its actions ran (the engine's sync-group hook). */
  onTransitions?: ((instance: VrrpInstance, transitions: { from: VrrpState; to: VrrpState; reason: string }[]) => void) | undefined;
  /** Called when a timer ran LATE_TIMER_MS or more after its deadline (the engine explains and logs it). */
  onLateTimer?: ((instance: VrrpInstance, kind: TimerKind, lateMs: number, deadline: number) => void) | undefined;
}

/**
 * A timer this late means the process was blocked or not scheduled (keepalived: "A thread timer expired
 * … ago"). 10 ms is the gap issue #6 allows on top of advert_int, and 10× what the timer host ever
 * adds by itself.
 */
export const LATE_TIMER_MS = 10;

export interface InstanceStats {
  state: VrrpState;
  basePriority: number;
  effectivePriority: number;
  masterAddress?: string | undefined;
  advertsReceived: number;
  advertsSent: number;
  becameMaster: number;
  releasedMaster: number;
  priorityZeroReceived: number;
  priorityZeroSent: number;
  dropped: number;
  drops: Record<string, number>;
  /** Timers that ran LATE_TIMER_MS or more after their deadline, and the worst lateness seen (ms). */
  lateTimers: number;
  maxTimerLateMs: number;
  /** Split-brain suspicions started (split-brain.ts). */
  splitBrainEvents: number;
}

/** The current split-brain suspicion of an instance (VrrpInstance.splitBrain). */
export interface InstanceSplitBrain extends SplitBrainSuspicion {
  /** `since` as milliseconds since the epoch (status output). */
  sinceEpochMs: number;
}

export class VrrpInstance {
  private current: InstanceSpec;
  private transport: Pick<VrrpTransport, 'send'>;
  /** For the step being performed only: VIPs a removeVips must leave in place (reload hand-over). */
  private spare: VipSpare | undefined;
  private ms: MachineState;
  private readonly handles = new Map<TimerKind, TimerHandle>();
  private readonly deadlines = new Map<TimerKind, number>();
  private vipWork: Promise<void> = Promise.resolve();
  private readonly sends = new Set<Promise<void>>();
  readonly drops = new DropCounters();
  private readonly counters = {
    advertsReceived: 0,
    advertsSent: 0,
    becameMaster: 0,
    releasedMaster: 0,
    priorityZeroReceived: 0,
    priorityZeroSent: 0,
    lateTimers: 0,
    maxTimerLateMs: 0,
  };
  private readonly log: Logger;
  /** Observes only: nothing it finds changes the election. */
  private readonly splitBrainDetector: SplitBrainDetector;

  /** Encoded adverts by priority: a backup taking over sends a ready buffer (no cold encode on the hot path). */
  private readonly adverts = new Map<number, Buffer>();
  /** auth_type AH: keepalived's per-instance sequence counter (send and anti-replay), kept across reloads. */
  private ahSequence: AhSequence | undefined;
  /** The AH sequence number of the advert being dispatched. */
  private rxAhSequence: number | undefined;
  /** old_unicast_checksum: configured, or learned from a peer's advert (then 'old'). */
  private unicastChecksum: 'old' | 'never' | undefined;

  constructor(spec: InstanceSpec, private readonly deps: InstanceDeps) {
    this.current = spec;
    this.transport = deps.transport;
    this.ms = initialState(spec.machine);
    this.ahSequence = spec.authType === VRRP_AUTH_AH ? new AhSequence() : undefined;
    this.unicastChecksum = spec.unicastChecksum;
    this.log = deps.log;
    this.splitBrainDetector = new SplitBrainDetector(splitBrainConfig(spec));
    this.prepareAdverts();
  }

  private prepareAdverts(): void {
    this.adverts.clear();
    try {
      for (const p of new Set([this.spec.machine.basePriority, this.ms.effectivePriority, 0])) this.advertFor(p);
    } catch {
      // reported when sending
    }
  }

  /** The running configuration (replaced as a whole at reload). */
  get spec(): InstanceSpec {
    return this.current;
  }

  private advertFor(priority: number): Buffer {
    let b = this.adverts.get(priority);
    if (!b) {
      b = this.encode(priority);
      if (this.adverts.size > 16) this.adverts.clear();
      this.adverts.set(priority, b);
    }
    return b;
  }

  get name(): string {
    return this.spec.name;
  }
  get state(): VrrpState {
    return this.ms.state;
  }
  get machineState(): Readonly<MachineState> {
    return this.ms;
  }
  /** The earliest armed timer deadline (advert, master-down, GARP), on the TimerHost clock. */
  get nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const d of this.deadlines.values()) if (next === undefined || d < next) next = d;
    return next;
  }
  get ownFault(): boolean {
    return ownFault(this.spec.machine, this.ms);
  }

  /** The split brain suspected now (another router claims our VRID and nobody yields), if any. */
  splitBrain(): InstanceSplitBrain | undefined {
    const s = this.splitBrainDetector.suspicion;
    if (!s) return undefined;
    return { ...s, sinceEpochMs: Date.now() - (this.deps.timers.now() - s.since) };
  }

  /**
   * vrrp_init_state, with the trackers' states known at start (missing = up). `spare`: stale VIPs to
   * leave in place (an instance added at reload must not delete a VIP another instance holds as MASTER).
   */
  start(trackersUp: Record<string, TrackerState> = {}, waited = false, spare?: VipSpare, delayedStartUntilMs?: number): void {
    if (this.ms.state !== 'INIT') return;
    this.ms = initialState(this.spec.machine, { ...this.ms.trackersUp, ...trackersUp }, this.ms.trackerDetails);
    this.withSpare(spare, () => this.dispatch({ type: 'start', waited, delayedStartUntilMs }));
  }

  /**
   * Removed from the configuration at reload: priority 0 if MASTER, VIPs released except the spared
   * ones (moved to another instance that is MASTER here), then STOP quietly. Resolves when the I/O is done.
   */
  async delete(notifyDeleted: boolean, spare: VipSpare): Promise<void> {
    this.withSpare(spare, () => this.dispatch({ type: 'delete', notifyDeleted }));
    await this.settled();
  }

  /**
   * Reload of a kept instance (same VRID, family, interface and transport identity; maybe renamed):
   * state and timers are kept, the machine applies the new settings (state-machine.ts reconfigure).
   * A MASTER adds its new VIPs (with GARP/NA) and drops the removed ones (unless spared); kept VIPs
   * are never touched.
   */
  reconfigure(next: Reconfiguration): void {
    const prev = this.current;
    const wasMaster = this.ms.state === 'MASTER';
    const added = next.spec.vips.filter((v) => !prev.vips.some((o) => sameVip(o, v)));
    const dropped = prev.vips.filter((o) => !next.spec.vips.some((v) => sameVip(o, v)) && !next.spare(o));
    // Routes and rules as keepalived's clear_diff_vrrp_vroutes/vrules: only the difference is touched.
    const routes = difference(prev.routes, next.spec.routes);
    const rules = difference(prev.rules, next.spec.rules);
    this.current = next.spec;
    this.ahSequence = next.spec.authType === VRRP_AUTH_AH ? (this.ahSequence ?? new AhSequence()) : undefined;
    // A learned old checksum stays (keepalived keeps it across reloads) unless the file now says otherwise.
    if (next.spec.unicastChecksum !== undefined || this.unicastChecksum !== 'old') this.unicastChecksum = next.spec.unicastChecksum;
    if (next.transport) this.transport = next.transport;
    this.splitBrainDetector.reconfigure(splitBrainConfig(next.spec));
    this.prepareAdverts();
    if (wasMaster && routes.dropped.length + rules.dropped.length > 0) this.queueVipWork(() => this.clearRoutes(routes.dropped, rules.dropped));
    if (wasMaster && dropped.length > 0) {
      this.log.info(`(${this.name}) removing VIPs ${dropped.map((v) => v.address).join(' ')} on reload.`, { instance: this.name });
      this.queueVipWork(() => this.removeAll(dropped));
    }
    this.apply(reconfigure(prev.machine, next.spec.machine, this.ms, next.trackersUp, this.deps.timers.now()));
    if (wasMaster && this.ms.state === 'MASTER') {
      if (added.length > 0) {
        this.log.info(`(${this.name}) setting VIPs.`, { instance: this.name });
        this.queueVipWork(() => this.addAll(added));
      }
      if (routes.added.length + rules.added.length > 0) this.queueVipWork(() => this.setRoutes(routes.added, rules.added));
      if (added.length > 0) this.announce(added, this.spec.machine.garpMasterRepeat);
    }
  }

  /** Leave: priority 0 if MASTER, VIPs removed (unless -V), STOP notify. Resolves when the I/O is done. */
  async stop(): Promise<void> {
    this.dispatch({ type: 'stop' });
    await this.settled();
  }

  /** Resolves when queued VIP work and sends have completed. */
  async settled(): Promise<void> {
    await Promise.allSettled([this.vipWork, ...this.sends]);
  }

  /** up: a number for a numeric tracker (track_file); detail: for the FAULT reason (track_process). */
  setTracker(name: string, up: TrackerState, detail?: string): void {
    if (this.ms.state === 'INIT') {
      const trackerDetails = detail === undefined ? this.ms.trackerDetails : { ...this.ms.trackerDetails, [name]: detail };
      this.ms = { ...this.ms, trackersUp: { ...this.ms.trackersUp, [name]: up }, trackerDetails };
      return;
    }
    if ((this.ms.trackersUp[name] ?? true) === up && name in this.ms.trackersUp) return;
    this.dispatch({ type: 'tracker', name, up, detail });
  }

  /** An address was deleted from our interface by someone (RTM_DELADDR). Ignores no_track VIPs. */
  addressRemoved(address: string): void {
    if (this.ms.state !== 'MASTER') return;
    const vip = this.spec.vips.find((v) => canonicalAddress(v.address, v.family) === canonicalAddress(address, v.family));
    if (!vip || vip.noTrack) return;
    // Our own removals can be reported late; only react if it is really gone while we are MASTER.
    void this.vipWork.then(async () => {
      if (this.ms.state !== 'MASTER') return;
      const present = await this.deps.addresses.has(vip).catch(() => true);
      if (!present && this.ms.state === 'MASTER') this.dispatch({ type: 'vipRemoved', address: vip.address });
    });
  }

  handlePacket(packet: ReceivedPacket): void {
    try {
      this.counters.advertsReceived++;
      const now = this.deps.timers.now();
      const r = validateAdvert(packet, this.spec.validation, { ahSequence: this.ahSequence, backup: this.ms.state === 'BACKUP', unicastChecksum: this.unicastChecksum });
      if (!r.ok) {
        const line = this.drops.record(r.reason, r.message, packet.source, now);
        if (line) this.log.info(line, { instance: this.name, reason: r.reason, peer: packet.source });
        this.heard(packet, true, r.reason, now);
        return;
      }
      if (r.oldUnicastChecksum && this.unicastChecksum === undefined) {
        // keepalived: from now on this instance sends and expects the old checksum.
        this.unicastChecksum = 'old';
        this.log.info(`(${this.name}) Setting unicast VRRPv3 checksum to old version`, { instance: this.name });
      }
      for (const a of r.advisories) {
        const line = this.drops.record(a.reason, a.message, packet.source, now);
        if (line) this.log.info(line, { instance: this.name, reason: a.reason, peer: packet.source });
      }
      if (r.advert.priority === 0) this.counters.priorityZeroReceived++;
      // The master-down timer restarts from the packet's arrival, not from when this callback ran.
      this.rxAhSequence = packet.ah?.sequence;
      try {
        this.dispatch({ type: 'advert', advert: r.advert, source: packet.source }, undefined, packet.receivedAt);
      } finally {
        this.rxAhSequence = undefined;
      }
      // After the step: the detector judges the advert by what the election made of it.
      this.heard(packet, false, r.advisories[0]?.reason, now);
    } catch (err) {
      // Never crash on a packet from the network.
      this.log.error(`(${this.name}) error handling a packet from ${packet.source}: ${(err as Error).message}`);
    }
  }

  /** Feed the split-brain detector one advert for our VRID (O(1)); never throws into packet handling. */
  private heard(packet: ReceivedPacket, dropped: boolean, finding: DropReason | AdvisoryReason | undefined, now: number): void {
    if (!relevantFinding(dropped, finding)) return;
    try {
      const h = readAdvertHeader(packet.payload, packet.source, dropped, finding);
      if (h) this.logSplitBrain(this.splitBrainDetector.observe(h, this.ownView(), now));
    } catch (err) {
      this.log.error(`(${this.name}) split-brain check failed: ${(err as Error).message}`);
    }
  }

  /** The periodic end/repeat check (advert timer, state changes); `tookOver`: we just became MASTER. */
  private splitBrainTick(tookOver = false): void {
    try {
      const d = this.splitBrainDetector;
      const now = this.deps.timers.now();
      this.logSplitBrain(tookOver ? d.becameMaster(this.ownView(), now) : d.tick(this.ownView(), now));
    } catch (err) {
      this.log.error(`(${this.name}) split-brain check failed: ${(err as Error).message}`);
    }
  }

  private ownView(): { state: VrrpState; priority: number; master?: string | undefined } {
    return { state: this.ms.state, priority: this.ms.effectivePriority, master: this.ms.masterAddress };
  }

  private logSplitBrain(events: readonly SplitBrainEvent[]): void {
    for (const e of events) this.log[e.level](e.text, { instance: this.name, peer: e.peer, difference: e.difference, splitBrain: e.kind });
  }

  /** Count a packet the engine dropped before it reached validation (e.g. an unknown VRID on our socket). */
  recordDrop(reason: 'vrid' | 'too-short', message: string, peer: string): void {
    const line = this.drops.record(reason, message, peer, this.deps.timers.now());
    if (line) this.log.info(line, { instance: this.name, reason, peer });
  }

  /** Feed one event to the machine and perform its actions. */
  dispatch(event: MachineEvent, firing?: { kind: TimerKind; deadline: number }, at?: number): void {
    const clock = this.deps.timers.now();
    // `at` (a packet's arrival) is used only when it is plausibly on the timers' clock: a little earlier.
    const now = at !== undefined && at <= clock && clock - at < 1000 ? at : clock;
    this.apply(step(this.spec.machine, this.ms, event, now), firing, now);
  }

  private withSpare(spare: VipSpare | undefined, fn: () => void): void {
    this.spare = spare;
    try {
      fn();
    } finally {
      this.spare = undefined;
    }
  }

  private apply(r: StepResult, firing?: { kind: TimerKind; deadline: number }, at?: number): void {
    const now = at ?? this.deps.timers.now();
    this.ms = r.state;
    if (this.ahSequence) this.ahBeforeActions(r.actions);
    const transitions: { from: VrrpState; to: VrrpState; reason: string }[] = [];
    // Adverts first: the wire must not wait for log lines, hooks and notify (RFC 5798 §6.4.2 sends the
    // advert before anything else on becoming master); the other actions keep the machine's order.
    const ordered = r.actions.some((a) => a.type === 'sendAdvert')
      ? [...r.actions.filter((a) => a.type === 'sendAdvert'), ...r.actions.filter((a) => a.type !== 'sendAdvert')]
      : r.actions;
    for (const a of ordered) {
      try {
        this.perform(a, now, firing);
      } catch (err) {
        this.log.error(`(${this.name}) action ${a.type} failed: ${(err as Error).message}`);
      }
      if (a.type === 'transition') transitions.push(a);
    }
    if (transitions.length > 0) {
      this.deps.onTransitions?.(this, transitions);
      // Leaving MASTER/BACKUP (FAULT, STOP) ends a suspicion at once; taking over from a master whose
      // adverts we drop starts one.
      this.splitBrainTick(transitions.some((t) => t.to === 'MASTER'));
    }
  }

  /** keepalived's AH counter rules that follow the election (vrrp_state_master_rx, vrrp_state_goto_master), before any advert goes out. */
  private ahBeforeActions(actions: readonly Action[]): void {
    const seq = this.ahSequence!;
    const rx = this.rxAhSequence;
    for (const a of actions) {
      if (a.type === 'notifyMasterRxLowerPri' && rx !== undefined) {
        seq.masterRxLower(rx);
        this.log.info(`(${this.name}) IPSEC-AH : Syncing seq_num - Increment seq`, { instance: this.name });
      } else if (a.type === 'transition' && a.from === 'MASTER' && rx !== undefined) seq.masterRxHigher();
      else if (a.type === 'transition' && a.to === 'MASTER') seq.becomingMaster();
    }
  }

  /** STATS_CLEAR: zero the counters (after they were written out). */
  clearStats(): void {
    for (const k of Object.keys(this.counters) as (keyof typeof this.counters)[]) this.counters[k] = 0;
    this.drops.clear();
    this.splitBrainDetector.clearCount();
  }

  stats(): InstanceStats {
    return {
      state: this.ms.state,
      basePriority: this.spec.machine.basePriority,
      effectivePriority: this.ms.effectivePriority,
      masterAddress: this.ms.state === 'MASTER' ? this.spec.sourceAddress : this.ms.masterAddress,
      ...this.counters,
      dropped: this.drops.total(),
      drops: this.drops.toJSON(),
      splitBrainEvents: this.splitBrainDetector.events,
    };
  }

  private perform(a: Action, now: number, firing: { kind: TimerKind; deadline: number } | undefined): void {
    const hooks = this.deps.hooks;
    switch (a.type) {
      case 'log':
        this.log[a.level](a.text, { instance: this.name });
        break;
      case 'setTimer': {
        // Keep timers exact: a timer set in response to a timer is measured from that timer's ideal
        // deadline, not from when the callback ran (unless we are a whole period late: then from now).
        const base = firing && now - firing.deadline < a.ms ? firing.deadline : now;
        this.arm(a.kind, base + a.ms);
        break;
      }
      case 'cancelTimer':
        this.handles.get(a.kind)?.cancel();
        this.handles.delete(a.kind);
        this.deadlines.delete(a.kind);
        break;
      case 'sendAdvert':
        this.sendAdvert(a.priority);
        break;
      case 'addVips':
        // Logged now, in step order; the netlink work is queued behind earlier VIP work.
        this.log.info(`(${this.name}) setting VIPs.`, { instance: this.name });
        // The advert goes on the wire before the VIPs are added (keepalived vrrp_state_goto_master).
        const sending = [...this.sends];
        const vips = this.spec.vips;
        const { routes = [], rules = [] } = this.spec;
        const takeover = this.deps.takeover;
        this.queueVipWork(async () => {
          await Promise.allSettled(sending);
          // IPVS ready before the first packet to the VIP can arrive (TakeoverHooks).
          if (takeover) await takeover.beforeVipsAdded(this.name).catch(() => undefined);
          await this.addAll(vips);
          await this.setRoutes(routes, rules);
          takeover?.afterVipsAdded(this.name);
        });
        break;
      case 'removeVips': {
        if (a.reason === 'stop' && this.spec.keepVipsOnStop) break;
        // At start there was no MASTER to leave; at stop the daemon stops the sync daemon itself first.
        const takeover = a.reason === 'init' || a.reason === 'stop' ? undefined : this.deps.takeover;
        const spare = this.spare;
        const vips = spare ? this.spec.vips.filter((v) => !spare(v)) : this.spec.vips;
        // At start nothing of ours is set: keepalived's vrrp_init_state removes only what it set (none).
        const { routes = [], rules = [] } = a.reason === 'init' ? {} : this.spec;
        this.log.info(`(${this.name}) removing VIPs.`, { instance: this.name });
        this.queueVipWork(async () => {
          if (takeover) await takeover.beforeVipsRemoved(this.name).catch(() => undefined);
          await this.clearRoutes(routes, rules);
          await this.removeAll(vips);
        });
        break;
      }
      case 'announce':
        this.announce(this.spec.vips, a.repeat);
        break;
      case 'notify':
        try {
          hooks?.onNotify?.({ instance: this.name, state: a.state, priority: a.priority });
        } catch (e) {
          this.log.error(`(${this.name}) notify hook failed: ${(e as Error).message}`);
        }
        break;
      case 'notifyMasterRxLowerPri':
        hooks?.onMasterRxLowerPri?.({ instance: this.name, priority: a.priority, source: a.source });
        break;
      case 'priorityChanged':
        try {
          this.advertFor(a.to);
        } catch {
          // reported when sending
        }
        hooks?.onPriorityChange?.({ instance: this.name, from: a.from, to: a.to, state: this.ms.state });
        break;
      case 'transition':
        if (a.to === 'MASTER') this.counters.becameMaster++;
        if (a.from === 'MASTER') this.counters.releasedMaster++;
        try {
          hooks?.onStateChange?.({
            instance: this.name,
            from: a.from,
            to: a.to,
            reason: a.reason,
            priority: this.ms.effectivePriority,
            vips: this.spec.vips,
            ...(a.reason === 'deleted' ? { deleted: true as const } : {}),
            vipWorkDone: () => this.vipWork,
          });
        } catch (e) {
          this.log.error(`(${this.name}) state change hook failed: ${(e as Error).message}`);
        }
        break;
    }
  }

  private arm(kind: TimerKind, deadline: number): void {
    this.handles.get(kind)?.cancel();
    this.deadlines.set(kind, deadline);
    this.handles.set(
      kind,
      this.deps.timers.at(deadline, () => {
        if (this.deadlines.get(kind) !== deadline) return;
        this.handles.delete(kind);
        this.deadlines.delete(kind);
        const lateMs = this.deps.timers.now() - deadline;
        this.dispatch({ type: 'timer', kind }, { kind, deadline });
        // After the step: reporting must not delay the advert any further.
        if (kind === 'adver') this.splitBrainTick();
        if (lateMs > this.counters.maxTimerLateMs) this.counters.maxTimerLateMs = lateMs;
        if (lateMs >= LATE_TIMER_MS) {
          this.counters.lateTimers++;
          this.deps.onLateTimer?.(this, kind, lateMs, deadline);
        }
      }),
    );
  }

  private async addAll(vips: readonly VirtualAddress[]): Promise<void> {
    await Promise.all(vips.map((v) => this.deps.addresses.add(v).catch((e: Error) => this.log.error(`(${this.name}) cannot add VIP ${v.address}: ${e.message}`))));
  }

  /** virtual_routes then virtual_rules, one at a time in configuration order (a route may need the one before it). */
  private async setRoutes(routes: readonly IpRoute[], rules: readonly IpRule[]): Promise<void> {
    if (routes.length + rules.length === 0) return;
    const m = this.deps.routes;
    if (!m) return this.log.error(`(${this.name}) cannot set virtual routes and rules: no route manager`);
    for (const r of routes) await m.addRoute(r).catch((e: Error) => this.log.error(`(${this.name}) ${e.message}`));
    for (const r of rules) await m.addRule(r).catch((e: Error) => this.log.error(`(${this.name}) ${e.message}`));
  }

  /** Rules first, then routes (keepalived vrrp_restore_interface). */
  private async clearRoutes(routes: readonly IpRoute[], rules: readonly IpRule[]): Promise<void> {
    if (routes.length + rules.length === 0) return;
    const m = this.deps.routes;
    if (!m) return;
    for (const r of rules) await m.removeRule(r).catch((e: Error) => this.log.error(`(${this.name}) ${e.message}`));
    for (const r of routes) await m.removeRoute(r).catch((e: Error) => this.log.error(`(${this.name}) ${e.message}`));
  }

  private async removeAll(vips: readonly VirtualAddress[]): Promise<void> {
    await Promise.all(vips.map((v) => this.deps.addresses.remove(v).catch((e: Error) => this.log.error(`(${this.name}) cannot remove VIP ${v.address}: ${e.message}`))));
  }

  /** GARP (IPv4) / unsolicited NA (IPv6) `repeat` times for each VIP, queued behind the VIP work. */
  private announce(vips: readonly VirtualAddress[], repeat: number): void {
    for (const v of vips) {
      this.log.info(
        v.family === 'inet'
          ? `(${this.name}) Sending/queueing gratuitous ARPs on ${v.interface} for ${v.address}`
          : `(${this.name}) Sending/queueing Unsolicited Neighbour Adverts on ${v.interface} for ${v.address}`,
        { instance: this.name },
      );
    }
    this.queueVipWork(async () => {
      for (let i = 0; i < repeat; i++) {
        if (this.ms.state !== 'MASTER') return;
        await Promise.all(
          vips.map((v) =>
            this.deps.announcer.announce(v.interface, { family: v.family, address: v.address }).catch((e: Error) => this.log.warn(`(${this.name}) announce ${v.address} failed: ${e.message}`)),
          ),
        );
      }
    });
  }

  private queueVipWork(fn: () => Promise<void>): void {
    this.vipWork = this.vipWork.then(fn).catch((e: Error) => this.log.error(`(${this.name}) ${e.message}`));
  }

  /** Build and send one advert; the v3 checksum needs addresses (the transport/kernel fixes it per peer). */
  encode(priority: number): Buffer {
    const s = this.spec;
    const group = s.multicastGroup ?? (s.machine.family === 'inet' ? VRRP_MULTICAST_V4 : VRRP_MULTICAST_V6);
    const canPseudo = s.sourceAddress !== undefined && !s.unicast;
    return encodeAdvert(
      {
        version: s.machine.version,
        family: s.machine.family,
        vrid: s.validation.vrid,
        priority,
        advertIntCs: s.machine.advertIntCs,
        addresses: s.advertised,
        authType: s.authType,
        authPassword: s.authPassword,
      },
      { source: s.sourceAddress, destination: group, v3ChecksumAsV2: s.v3ChecksumAsV2 || !canPseudo },
    );
  }

  private sendOptions(): SendOptions | undefined {
    const o: SendOptions = {};
    if (this.ahSequence) o.ahSequence = this.ahSequence.next();
    if (this.unicastChecksum === 'old' && this.spec.unicast && this.spec.validation.family === 'inet' && this.spec.validation.version === 3) {
      o.v3ChecksumDestination = this.spec.multicastGroup ?? VRRP_MULTICAST_V4;
    }
    return o.ahSequence === undefined && o.v3ChecksumDestination === undefined ? undefined : o;
  }

  private sendAdvert(priority: number): void {
    let buf: Buffer;
    try {
      buf = this.advertFor(priority);
    } catch (e) {
      this.log.error(`(${this.name}) cannot build advert: ${(e as Error).message}`);
      return;
    }
    this.counters.advertsSent++;
    if (priority === 0) this.counters.priorityZeroSent++;
    const p: Promise<void> = this.transport
      .send(buf, this.sendOptions())
      .catch((e: Error) => this.log.warn(`(${this.name}) send failed: ${e.message}`))
      .finally(() => this.sends.delete(p));
    this.sends.add(p);
  }
}

function splitBrainConfig(spec: InstanceSpec): SplitBrainConfig {
  return {
    name: spec.name,
    vrid: spec.validation.vrid,
    version: spec.machine.version,
    family: spec.machine.family,
    advertIntCs: spec.machine.advertIntCs,
    authType: spec.validation.authType,
    unicast: spec.unicast,
    ownAddress: spec.sourceAddress ?? spec.machine.sourceAddress,
  };
}

/** Entries of `next` not in `prev` and the reverse, compared by value (key order aside). */
function difference<T extends object>(prev: readonly T[] = [], next: readonly T[] = []): { added: T[]; dropped: T[] } {
  const key = (v: T): string => stableJson(v);
  const before = new Set(prev.map(key));
  const after = new Set(next.map(key));
  return { added: next.filter((v) => !before.has(key(v))), dropped: prev.filter((v) => !after.has(key(v))) };
}

/** JSON with object keys sorted; `location` and `noTrack` (config bookkeeping) left out. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (k, val: unknown) => {
    if (k === 'location' || k === 'noTrack') return undefined;
    if (val === null || typeof val !== 'object' || Array.isArray(val)) return val;
    return Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/** The same VIP on the same interface with the same attributes (a changed label/scope/brd is a re-add; no_track is not). */
function sameVip(a: VirtualAddress, b: VirtualAddress): boolean {
  return (
    a.family === b.family &&
    canonicalAddress(a.address, a.family) === canonicalAddress(b.address, b.family) &&
    a.prefixLength === b.prefixLength &&
    a.interface === b.interface &&
    a.broadcast === b.broadcast &&
    a.scope === b.scope &&
    a.label === b.label
  );
}
