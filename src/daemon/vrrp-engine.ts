// The VRRP engine of the daemon: builds one VrrpInstance per vrrp_instance of the configuration, opens
// the shared transports (one per interface/family/group-or-peers/source, dispatching by VRID), and
// wires link tracking, track scripts, sync groups, externally deleted VIPs and notify to the instances.
// reload() applies a new configuration as a diff (reload/plan.ts) without flapping a kept instance.
// Kernel access goes through EngineAdapters (src/net in production, fakes in tests).
import { createHash } from 'node:crypto';
import type { Config, VrrpInstance as VrrpInstanceConfig, VrrpSyncGroup } from '../config/model.js';
import type { AddressManager, Announcer, IpRoute, IpRule, LinkState, LinkWatcher, RouteManager, TransportOptions, VirtualAddress, VrrpTransport } from '../net/types.js';
import { canonicalAddress } from '../vrrp/addr.js';
import {
  VrrpInstance,
  type InstanceHooks,
  type InstanceSpec,
  type InstanceStats,
  type StateChangeEvent,
  type TakeoverHooks,
  type VipSpare,
} from '../vrrp/instance.js';
import { VRRP_AUTH_AH, VRRP_AUTH_NONE, VRRP_AUTH_PASS, VRRP_MAX_ADDRESSES } from '../vrrp/packet.js';
import { machineConfig, type TrackerSpec, type TrackerState } from '../vrrp/state-machine.js';
import { syncGroupStep, type SyncGroupState } from '../vrrp/sync-group.js';
import type { TimerHost } from '../vrrp/timers.js';
import type { Logger } from './log.js';
import { LateTimerReporter, type StallExplainer } from '../vrrp/late-timers.js';
import { describePlan, planReload, type ReloadPlan } from './reload/plan.js';
import { ObjectTrackers, trackedObject, type FileTrackSource, type ProcessTrackSource } from './object-trackers.js';
import { addressToAdd } from './vip-address.js';
import type { VmacPort } from './vmac.js';

export interface EngineAdapters {
  openTransport(opts: TransportOptions & { v3ChecksumAsV2?: boolean | undefined }): Promise<VrrpTransport>;
  addresses: AddressManager;
  /** virtual_routes / virtual_rules of the instances (none: an instance with routes logs that it cannot set them). */
  routes?: RouteManager | undefined;
  links: LinkWatcher;
  announcer: Announcer;
  /** Source-address candidates of an interface (primary IPv4, IPv6 link-local). */
  interfaceInfo(name: string): Promise<{ index: number; ipv4?: string | undefined; ipv6LinkLocal?: string | undefined }>;
  timers: TimerHost;
  /** What paused the process between two times (a GC), to explain a late timer; optional. */
  explainStall?: StallExplainer | undefined;
  /** use_vmac / use_vmac_addr VMACs (daemon/vmac.ts); none: such instances use their interfaces. */
  vmac?: VmacPort | undefined;
}

/** What the engine needs from the vrrp_script runner (src/scripts/track-script.ts TrackScriptRunner). */
export interface TrackScriptSource {
  status(name: string): 'init' | 'up' | 'down' | undefined;
  onChange(listener: (name: string, change: { up: boolean }) => void): () => void;
}

/** A sync group as a whole entered a state (keepalived notifies GROUP NAME STATE). */
export interface GroupStateEvent {
  group: string;
  state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';
  scripts: VrrpSyncGroup['notify'];
}

export interface EngineOptions {
  log: Logger;
  onGroupState?: ((ev: GroupStateEvent) => void) | undefined;
  /** -V: keep VIPs at stop (unless -X). */
  keepVipsOnStop: boolean;
  scripts?: TrackScriptSource | undefined;
  /** Seams for notify scripts/FIFO and for checkers/IPVS (onStateChange). */
  hooks?: InstanceHooks | undefined;
  /** IPVS work around the VIPs of a takeover (daemon/ipvs-takeover.ts). */
  takeover?: TakeoverHooks | undefined;
  /** track_file / track_process sources (tests); default: inotify on the files, /proc polling. */
  fileTracker?: FileTrackSource | undefined;
  processTracker?: ProcessTrackSource | undefined;
}

interface TrackerBinding {
  instance: VrrpInstance;
  tracker: string;
}

/** One running instance with what it was built from (replaced piecewise at reload). */
interface RunningInstance {
  instance: VrrpInstance;
  config: VrrpInstanceConfig;
  shared: SharedTransport;
  /** [interface, tracker name] and [vrrp_script, tracker name] pairs. */
  links: [string, string][];
  scripts: [string, string][];
}

/** A kept instance's new configuration, built and checked, not yet applied. */
type PreparedInstance = Omit<RunningInstance, 'instance'> & { running: RunningInstance; spec: InstanceSpec };

interface GroupRuntime {
  cfg: VrrpSyncGroup;
  state: SyncGroupState;
  members: VrrpInstance[];
  notified?: GroupStateEvent['state'] | undefined;
}

interface SharedTransport {
  key: string;
  transport: VrrpTransport;
  byVrid: Map<number, VrrpInstance>;
}

/** keepalived's log phrase for an instance config we cannot run. */
class InstanceConfigError extends Error {}

export class VrrpEngine {
  /** Running instances by (current) name. */
  readonly instances = new Map<string, VrrpInstance>();
  private readonly running = new Map<VrrpInstance, RunningInstance>();
  private readonly transports = new Map<string, SharedTransport>();
  private readonly linkBindings = new Map<string, TrackerBinding[]>();
  private readonly scriptBindings = new Map<string, TrackerBinding[]>();
  /** "file:NAME" / "process:NAME" → instance trackers (derived from the specs' tracker names). */
  private readonly objectBindings = new Map<string, TrackerBinding[]>();
  private readonly objects: ObjectTrackers;
  private readonly groups = new Map<string, GroupRuntime>();
  private readonly groupOf = new Map<VrrpInstance, string>();
  private readonly stateListeners = new Set<(ev: StateChangeEvent) => void>();
  private scripts: TrackScriptSource | undefined;
  private unsubscribeScripts: (() => void) | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly log: Logger;
  private readonly lateTimers: LateTimerReporter;

  private constructor(
    private config: Config,
    private readonly adapters: EngineAdapters,
    private readonly options: EngineOptions,
  ) {
    this.log = options.log;
    this.lateTimers = new LateTimerReporter(adapters.timers, options.log, adapters.explainStall);
    this.objects = new ObjectTrackers(options.log, { files: options.fileTracker, processes: options.processTracker });
    this.objects.onChange((key, state, detail) => {
      for (const b of this.objectBindings.get(key) ?? []) this.setTracker(b.instance, b.tracker, state, detail);
    });
  }

  static async start(config: Config, adapters: EngineAdapters, options: EngineOptions): Promise<VrrpEngine> {
    const e = new VrrpEngine(config, adapters, options);
    await e.build();
    e.startAll();
    return e;
  }

  /** The configuration in effect: the last one loaded, except for instances whose reload failed. */
  get configuration(): Config {
    return this.config;
  }

  /** Subscribe to every instance's state changes (the checkers/IPVS seam). */
  onStateChange(fn: (ev: StateChangeEvent) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /**
   * Resolves once no instance timer is due within `marginMs` (waiting past a deadline that is), so
   * that blocking work (a reload's parse and diff) runs between adverts instead of delaying one.
   */
  async quietWindow(marginMs: number): Promise<void> {
    // Never more than half the shortest advert interval, or a short interval would never leave a window.
    let shortest = Infinity;
    for (const i of this.instances.values()) shortest = Math.min(shortest, i.spec.machine.advertIntCs * 10);
    marginMs = Math.min(marginMs, shortest / 2);
    for (let tries = 0; tries < 10; tries++) {
      const now = this.adapters.timers.now();
      let next: number | undefined;
      for (const i of this.instances.values()) {
        const d = i.nextDeadline;
        if (d !== undefined && (next === undefined || d < next)) next = d;
      }
      if (next === undefined || next - now >= marginMs) return;
      await new Promise<void>((resolve) => this.adapters.timers.at(Math.max(next, now) + 1, resolve));
    }
  }

  stats(): Record<string, InstanceStats> {
    const out: Record<string, InstanceStats> = {};
    for (const [n, i] of this.instances) out[n] = i.stats();
    return out;
  }

  clearStats(): void {
    for (const i of this.instances.values()) i.clearStats();
  }

  /** Stop every instance (priority 0 from masters, VIPs removed unless -V), then close the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeScripts?.();
    this.objects.stop();
    await Promise.all([...this.instances.values()].map((i) => i.stop()));
    for (const g of this.groups.values()) this.notifyGroup(g);
    for (const t of this.transports.values()) t.transport.close();
    // keepalived shutdown_vrrp_instances: the VMACs go once the instances have released their VIPs.
    await this.adapters.vmac?.stop();
  }

  private hooksFor(): InstanceHooks {
    const user = this.options.hooks;
    return {
      onNotify: (ev) => user?.onNotify?.(ev),
      onMasterRxLowerPri: (ev) => {
        user?.onMasterRxLowerPri?.(ev);
        // keepalived: the other members of the sync group send their lower-priority GARPs too.
        const inst = this.instances.get(ev.instance);
        const group = inst && this.groups.get(this.groupOf.get(inst) ?? '');
        for (const m of group?.members ?? []) if (m !== inst) m.dispatch({ type: 'groupLowerPrio' });
      },
      onPriorityChange: (ev) => user?.onPriorityChange?.(ev),
      onStateChange: (ev) => {
        user?.onStateChange?.(ev);
        for (const l of this.stateListeners) l(ev);
      },
    };
  }

  private async build(): Promise<void> {
    const { scriptsByName, groupByMember } = lookups(this.config);
    await this.objects.configure(this.config);
    for (const ic of this.config.vrrpInstances) {
      try {
        await this.create(ic, groupByMember.get(ic.name), scriptsByName);
      } catch (e) {
        this.reportInstanceError(ic, e);
      }
    }
    this.rebind();
    this.rebuildGroups(groupByMember);

    this.adapters.links.onChange((l) => this.linkChanged(l));
    this.adapters.addresses.onAddressRemoved((_family, address) => {
      for (const i of this.instances.values()) i.addressRemoved(address);
    });
    this.useScripts(this.options.scripts);
  }

  /** Build one instance and register it on its shared socket (not started). */
  private async create(ic: VrrpInstanceConfig, group: VrrpSyncGroup | undefined, scriptsByName: ScriptsByName): Promise<RunningInstance> {
    const { spec, links, scripts } = await this.buildSpec(ic, group, scriptsByName);
    const shared = await this.transportFor(ic, spec);
    this.checkVridFree(shared, ic, spec, undefined);
    const instance = new VrrpInstance(spec, {
      timers: this.adapters.timers,
      transport: shared.transport,
      addresses: this.adapters.addresses,
      routes: this.adapters.routes,
      announcer: this.adapters.announcer,
      log: this.log,
      hooks: this.hooksFor(),
      takeover: this.options.takeover,
      onTransitions: (i, ts) => this.afterTransitions(i, ts),
      onLateTimer: (i, kind, lateMs, deadline) => this.lateTimers.report(i.name, kind, lateMs, deadline),
    });
    const r: RunningInstance = { instance, config: ic, shared, links, scripts };
    shared.byVrid.set(ic.virtualRouterId, instance);
    this.running.set(instance, r);
    this.instances.set(ic.name, instance);
    return r;
  }

  private checkVridFree(shared: SharedTransport, ic: VrrpInstanceConfig, spec: InstanceSpec, self: VrrpInstance | undefined): void {
    const holder = shared.byVrid.get(ic.virtualRouterId);
    if (holder && holder !== self) {
      throw new InstanceConfigError(`(${ic.name}) VRID ${ic.virtualRouterId} is already used by ${holder.name} on ${spec.interface} - ignoring instance`);
    }
  }

  /** Once per attempt (start, or a reload that retries it); the other instances run on. */
  private reportInstanceError(ic: VrrpInstanceConfig, e: unknown): void {
    if (e instanceof InstanceConfigError) this.log.error(e.message);
    else this.log.error(`(${ic.name}) cannot start (${ic.location.file}:${ic.location.line}): ${(e as Error).message}`);
  }

  /** Follow a (new) vrrp_script runner: its results drive the script trackers from now on. */
  private useScripts(scripts: TrackScriptSource | undefined): void {
    this.unsubscribeScripts?.();
    this.unsubscribeScripts = undefined;
    this.scripts = scripts;
    if (!scripts) return;
    this.unsubscribeScripts = scripts.onChange((name, change) => {
      for (const b of this.scriptBindings.get(name) ?? []) this.setTracker(b.instance, b.tracker, change.up);
      if (this.waiting.size > 0) this.releaseWaiting();
    });
  }

  /** Tracker bindings (interface / vrrp_script → instance tracker) from the running instances. */
  private rebind(): void {
    this.linkBindings.clear();
    this.scriptBindings.clear();
    this.objectBindings.clear();
    for (const r of this.running.values()) {
      for (const [link, tracker] of r.links) bind(this.linkBindings, link, r.instance, tracker);
      for (const [script, tracker] of r.scripts) bind(this.scriptBindings, script, r.instance, tracker);
      for (const t of r.instance.spec.machine.trackers) {
        const key = trackedObject(t.name);
        if (key !== undefined) bind(this.objectBindings, key, r.instance, t.name);
      }
    }
  }

  /** Sync groups for the running instances; a group that exists before and after keeps its state. */
  private rebuildGroups(groupByMember: Map<string, VrrpSyncGroup>): void {
    const before = new Map(this.groups);
    this.groups.clear();
    this.groupOf.clear();
    for (const inst of this.instances.values()) {
      const cfg = groupByMember.get(inst.name);
      if (!cfg) continue;
      this.groupOf.set(inst, cfg.name);
      let g = this.groups.get(cfg.name);
      if (!g) {
        const prev = before.get(cfg.name);
        g = { cfg, state: prev?.state ?? { name: cfg.name, faulted: false }, members: [], notified: prev?.notified };
        this.groups.set(cfg.name, g);
      }
      g.members.push(inst);
    }
  }

  private startAll(): void {
    // vrrp_startup_delay (keepalived vrrp_daemon.c start_vrrp): only at the daemon's start, not at reload.
    const delayMs = this.config.global.vrrpStartupDelayMs ?? 0;
    if (delayMs > 0) {
      this.delayedStartUntilMs = this.adapters.timers.now() + delayMs;
      this.log.info(`Delaying startup for ${delayMs / 1000} seconds`);
    }
    for (const inst of this.instances.values()) this.startInstance(inst, undefined);
    for (const name of this.groups.keys()) this.syncGroup(name, []);
  }

  private startInstance(inst: VrrpInstance, spare: VipSpare | undefined): void {
    if (this.waitingForScripts(inst)) {
      // keepalived: an instance with a weight-0 track_script stays in INIT until the script's first result.
      this.waiting.add(inst);
      return;
    }
    inst.start(this.trackerSnapshot(inst), false, spare, this.delayedStartUntilMs);
  }

  /**
   * SIGHUP: apply `newConfig` (already parsed without errors) as a diff, as keepalived does but without
   * flapping (src/daemon/reload/plan.ts matches instances by VRID + family + interface + transport):
   * - kept instances (even renamed) keep their state and timers; a MASTER keeps advertising on its
   *   schedule and never drops a kept VIP; new VIPs are added and announced, removed ones released;
   *   priority, preempt, advert_int, auth, peers and trackers apply under the normal VRRP rules, and a
   *   changed transport (peers, source) moves the instance to the matching shared socket;
   * - added instances start as at start-up (stale VIPs removed first, BACKUP "(init)");
   * - removed instances send priority 0 if MASTER and release their VIPs, except one that another
   *   instance now holds as MASTER here (a move), then stop: state change to STOP with `deleted`,
   *   notify FAULT (DELETED with notify_deleted) as keepalived's clear_diff_vrrp();
   * - sync groups are rebuilt for the new membership without forcing any member's state.
   * An instance that cannot be built keeps its previous configuration (or, if new, is not started);
   * the others are applied anyway. Reloads are serialised.
   *
   * Track scripts: pass the new TrackScriptRunner built from `newConfig` after calling
   * markAllSuccessfulOnReload(oldRunner.snapshot()), start it after this resolves, then stop the old
   * one. The engine listens to the new runner from now on and reads kept scripts' carried-over results,
   * so a script that was down stays down (no FAULT or recovery blip). Without `scripts` the current
   * source is kept.
   */
  reload(newConfig: Config, scripts?: TrackScriptSource): Promise<void> {
    const done = this.reloading.then(() => this.applyReload(newConfig, scripts));
    this.reloading = done.catch(() => undefined);
    return done;
  }

  private async applyReload(next: Config, scripts: TrackScriptSource | undefined): Promise<void> {
    if (this.stopped) return;
    const plan = planReload(this.runningConfig(), next);
    for (const line of describeVrrpPlan(plan)) this.log.info(`Reload: ${line}`);
    if (scripts && scripts !== this.scripts) this.useScripts(scripts);
    const { scriptsByName, groupByMember } = lookups(next);
    // Files and processes of the new configuration, read before the instances are built (kept ones keep their state).
    await this.objects.configure(next);
    if (this.stopped) return;
    const byConfig = new Map([...this.running.values()].map((r) => [r.config, r] as const));
    // stop() may run while sockets open: it released everything it knew (removed instances included);
    // sockets opened by this reload are closed here and nothing new starts.
    const socketsBefore = new Set(this.transports.values());
    const abandon = (): void => {
      for (const t of this.transports.values()) if (!socketsBefore.has(t)) t.transport.close();
    };

    // Removed instances leave the socket tables now (a kept instance may move onto their VRID) and
    // send their priority 0 once the new settings are known (nothing async happens in between).
    const gone: [RunningInstance, VrrpInstanceConfig][] = [];
    for (const ic of plan.vrrpInstances.removed) {
      const r = byConfig.get(ic);
      if (!r) continue;
      this.forget(r);
      gone.push([r, ic]);
    }

    // Kept: build the new spec and socket first, so that a failure leaves the instance as it was.
    const prepared = new Map<VrrpInstance, PreparedInstance>();
    const added: VrrpInstanceConfig[] = [...plan.vrrpInstances.added];
    for (const k of plan.vrrpInstances.kept) {
      const r = byConfig.get(k.old);
      if (!r) {
        added.push(k.new); // it could not start before: try again
        continue;
      }
      try {
        prepared.set(r.instance, await this.prepare(r, k.new, groupByMember.get(k.new.name), scriptsByName));
      } catch (e) {
        this.log.error(`(${k.old.name}) cannot apply the new configuration, keeping the previous one: ${(e as Error).message}`);
      }
    }
    if (this.stopped) return abandon();

    // VIPs held by an instance that is MASTER here once this reload is applied: nobody removes them
    // (a VIP moving to another instance is handed over, never removed and re-added).
    const holders = new Map<string, VrrpInstance>();
    for (const inst of this.running.keys()) {
      if (inst.state !== 'MASTER') continue;
      for (const v of (prepared.get(inst)?.spec ?? inst.spec).vips) holders.set(vipKey(v), inst);
    }
    const spareFor = (self: VrrpInstance): VipSpare => (v) => {
      const holder = holders.get(vipKey(v));
      return holder !== undefined && holder !== self;
    };

    const leaving = gone.map(([r, ic]) =>
      r.instance.delete(ic.notify.deleted !== undefined, spareFor(r.instance)).catch((e: Error) => this.log.error(`(${ic.name}) ${e.message}`)),
    );
    for (const p of prepared.values()) this.commit(p, spareFor(p.running.instance));

    // Added: built now, started once trackers and groups know them.
    const fresh: VrrpInstance[] = [];
    for (const ic of added) {
      try {
        fresh.push((await this.create(ic, groupByMember.get(ic.name), scriptsByName)).instance);
      } catch (e) {
        this.reportInstanceError(ic, e);
      }
    }
    if (this.stopped) return abandon();

    this.renameAll(next);
    this.rebind();
    this.rebuildGroups(groupByMember);
    this.resyncGroupFaults();
    for (const inst of fresh) {
      this.startInstance(inst, spareFor(inst));
      const g = this.groupOf.get(inst);
      if (g) this.syncGroup(g, []);
    }
    if (this.waiting.size > 0) this.releaseWaiting();
    this.config = { ...next, vrrpInstances: [...this.running.values()].map((r) => r.config) };

    await Promise.all(leaving);
    this.closeUnusedTransports();
    await this.adapters.vmac?.retain([...this.running.values()].map((r) => r.config));
  }

  /** The configuration of what runs now (instances that failed to start are absent, so a reload retries them). */
  private runningConfig(): Config {
    return { ...this.config, vrrpInstances: [...this.running.values()].map((r) => r.config) };
  }

  /** A kept instance's new spec and socket, built without touching the running instance. */
  private async prepare(
    r: RunningInstance,
    ic: VrrpInstanceConfig,
    group: VrrpSyncGroup | undefined,
    scriptsByName: ScriptsByName,
  ): Promise<PreparedInstance> {
    const { spec, links, scripts } = await this.buildSpec(ic, group, scriptsByName);
    const shared = await this.transportFor(ic, spec);
    this.checkVridFree(shared, ic, spec, r.instance);
    return { running: r, config: ic, spec, links, scripts, shared };
  }

  /** Switch a kept instance to its prepared configuration (socket, trackers, then the instance itself). */
  private commit(p: PreparedInstance, spare: VipSpare): void {
    const r = p.running;
    const moved = p.shared !== r.shared;
    if (moved) {
      if (r.shared.byVrid.get(r.config.virtualRouterId) === r.instance) r.shared.byVrid.delete(r.config.virtualRouterId);
      p.shared.byVrid.set(p.config.virtualRouterId, r.instance);
    }
    Object.assign(r, { config: p.config, shared: p.shared, links: p.links, scripts: p.scripts });
    r.instance.reconfigure({ spec: p.spec, transport: moved ? p.shared.transport : undefined, trackersUp: this.trackerStates(r, p.spec.machine.trackers), spare });
  }

  /** Drop a removed instance from every table (its leaving step must not drag its old group along). */
  private forget(r: RunningInstance): void {
    this.running.delete(r.instance);
    this.waiting.delete(r.instance);
    this.groupOf.delete(r.instance);
    if (r.shared.byVrid.get(r.config.virtualRouterId) === r.instance) r.shared.byVrid.delete(r.config.virtualRouterId);
    for (const g of this.groups.values()) g.members = g.members.filter((m) => m !== r.instance);
  }

  /** `instances` under the current names, in the new configuration's order. */
  private renameAll(next: Config): void {
    const order = new Map(next.vrrpInstances.map((ic, i) => [ic.name, i] as const));
    const list = [...this.running.keys()].sort((a, b) => (order.get(a.name) ?? Infinity) - (order.get(b.name) ?? Infinity));
    this.instances.clear();
    for (const inst of list) {
      if (this.instances.has(inst.name)) this.log.warn(`(${inst.name}) two running instances have this name; only one is listed`);
      this.instances.set(inst.name, inst);
    }
  }

  /**
   * After groups changed membership: each group's fault is its members' own faults; members that left
   * a faulted group, or joined one, get the group's verdict (keepalived vrrp_sync.c rules).
   */
  private resyncGroupFaults(): void {
    for (const name of this.groups.keys()) this.syncGroup(name, []);
    for (const inst of this.running.keys()) {
      const g = this.groupOf.get(inst);
      const fault = g !== undefined && this.groups.get(g)!.state.faulted;
      if (inst.machineState.groupFault !== fault) inst.dispatch({ type: 'groupFault', fault });
    }
  }

  private closeUnusedTransports(): void {
    for (const [key, t] of this.transports) {
      if (t.byVrid.size > 0) continue;
      t.transport.close();
      this.transports.delete(key);
    }
  }

  private readonly waiting = new Set<VrrpInstance>();
  /** vrrp_startup_delay's end, on the timers' clock. */
  private delayedStartUntilMs: number | undefined;

  /** An instance's trackers with their weight and current state, and its sync group (for status). */
  trackersOf(name: string): { trackers: TrackerSnapshot[]; group?: { name: string; state: string } | undefined } {
    const inst = this.instances.get(name);
    if (!inst) return { trackers: [] };
    const up = this.trackerSnapshot(inst);
    const groupName = this.groupOf.get(inst);
    const group = groupName ? this.groups.get(groupName) : undefined;
    return {
      trackers: inst.spec.machine.trackers.map((t) => {
        const st = up[t.name];
        const base = { name: t.name, weight: t.weight, reverse: t.reverse ?? false };
        if (t.numeric) return { ...base, up: true, numeric: true, value: typeof st === 'number' ? st : 0 };
        return { ...base, up: st !== false, detail: this.objects.state(t.name)?.detail };
      }),
      group: groupName && group ? { name: groupName, state: group.notified ?? (group.state.faulted ? 'FAULT' : 'INIT') } : undefined,
    };
  }

  private trackerSnapshot(inst: VrrpInstance): Record<string, TrackerState> {
    const r = this.running.get(inst);
    return r ? this.trackerStates(r) : {};
  }

  /** Current state of every tracker of an instance, from the link watcher and the script runner. */
  private trackerStates(r: Pick<RunningInstance, 'links' | 'scripts' | 'instance'>, trackers = r.instance.spec.machine.trackers): Record<string, TrackerState> {
    const up: Record<string, TrackerState> = {};
    for (const [link, tracker] of r.links) up[tracker] = linkUp(this.adapters.links.get(link));
    // 'init' (no result yet) has no effect on a weighted tracker; init_fail starts down.
    for (const [script, tracker] of r.scripts) up[tracker] = this.scripts?.status(script) !== 'down';
    // track_file values and track_process quorums (trackers: the spec being applied, at reload).
    for (const t of trackers) {
      const st = this.objects.state(t.name);
      if (st !== undefined) up[t.name] = st.state;
    }
    return up;
  }

  private waitingForScripts(inst: VrrpInstance): boolean {
    const scripts = this.scripts;
    const r = this.running.get(inst);
    if (!scripts || !r) return false;
    return r.scripts.some(([script, tracker]) => scripts.status(script) === 'init' && inst.spec.machine.trackers.find((t) => t.name === tracker)?.weight === 0);
  }

  private releaseWaiting(): void {
    for (const inst of [...this.waiting]) {
      if (this.waitingForScripts(inst)) continue;
      this.waiting.delete(inst);
      inst.start(this.trackerSnapshot(inst), true, undefined, this.delayedStartUntilMs);
      const g = this.groupOf.get(inst);
      if (g) this.syncGroup(g, []);
    }
  }

  private linkChanged(link: LinkState): void {
    const up = linkUp(link);
    for (const b of this.linkBindings.get(link.name) ?? []) this.setTracker(b.instance, b.tracker, up);
  }

  private setTracker(inst: VrrpInstance, tracker: string, up: TrackerState, detail?: string): void {
    if (this.stopped) return;
    inst.setTracker(tracker, up, detail);
    const g = this.groupOf.get(inst);
    if (g) this.syncGroup(g, []);
  }

  private afterTransitions(inst: VrrpInstance, ts: { from: string; to: string; reason: string }[]): void {
    const g = this.groupOf.get(inst);
    if (!g || this.stopped) return;
    this.syncGroup(
      g,
      ts.map((t) => ({ member: inst.name, from: t.from as never, to: t.to as never, reason: t.reason })),
    );
  }

  private syncGroup(name: string, triggers: Parameters<typeof syncGroupStep>[2]): void {
    const g = this.groups.get(name);
    if (!g) return;
    const r = syncGroupStep(
      g.state,
      g.members.map((m) => ({ name: m.name, state: m.state, ownFault: m.ownFault })),
      triggers,
    );
    g.state = r.group;
    for (const l of r.logs) this.log.info(l);
    for (const ev of r.events) this.instances.get(ev.member)?.dispatch(ev.event);
    this.notifyGroup(g);
  }

  /** The group's own state: FAULT if any member is, MASTER/BACKUP/STOP when all members agree. */
  private notifyGroup(g: { cfg: VrrpSyncGroup; members: VrrpInstance[]; notified?: GroupStateEvent['state'] }): void {
    const states = g.members.map((m) => m.state);
    let state: GroupStateEvent['state'] | undefined;
    if (states.includes('FAULT')) state = 'FAULT';
    else if (states.length > 0 && states.every((x) => x === 'MASTER')) state = 'MASTER';
    else if (states.length > 0 && states.every((x) => x === 'BACKUP')) state = 'BACKUP';
    else if (states.length > 0 && states.every((x) => x === 'STOP')) state = 'STOP';
    if (state === undefined || state === g.notified) return;
    g.notified = state;
    this.log.info(`VRRP_Group(${g.cfg.name}) Entering ${state === 'STOP' ? 'STOP' : state} STATE`);
    try {
      this.options.onGroupState?.({ group: g.cfg.name, state, scripts: g.cfg.notify });
    } catch (e) {
      this.log.error(`VRRP_Group(${g.cfg.name}) notify failed: ${(e as Error).message}`);
    }
  }

  private async transportFor(ic: VrrpInstanceConfig, spec: InstanceSpec): Promise<SharedTransport> {
    const peers = ic.unicastPeers.map((p) => p.address);
    const src = ic.unicastSrcIp ?? ic.mcastSrcIp;
    // auth_type AH: its own protocol-51 socket per password (the transport checks the ICV with it).
    const ah = spec.authType === VRRP_AUTH_AH ? { password: spec.authPassword ?? '' } : undefined;
    const ahKey = ah ? `ah:${createHash('sha256').update(ah.password).digest('hex').slice(0, 16)}` : '';
    const key = [spec.interface, ic.family, peers.length ? peers.join(',') : ic.mcastGroup, src ?? '', ahKey].join('|');
    const existing = this.transports.get(key);
    if (existing) return existing;
    const transport = await this.adapters.openTransport({
      family: ic.family,
      interface: spec.interface,
      // IPv4: give the transport the source we resolved at start (keepalived keeps its saddr too), so the
      // first advert after a takeover is not delayed by an rtnetlink look-up of the primary address.
      sourceAddress: src ?? (ic.family === 'inet' ? spec.sourceAddress : undefined),
      multicastGroup: ic.mcastGroup,
      unicastPeers: peers.length ? peers : undefined,
      unicastTtl: ic.unicastTtl,
      v3ChecksumAsV2: spec.v3ChecksumAsV2,
      ipsecAh: ah,
    });
    const shared: SharedTransport = { key, transport, byVrid: new Map() };
    transport.onPacket((p) => {
      try {
        const vrid = p.payload.length > 1 ? p.payload[1]! : undefined;
        const inst = vrid === undefined ? undefined : shared.byVrid.get(vrid);
        if (inst) {
          inst.handlePacket(p);
          return;
        }
        // Not for any of our instances on this socket: count it on each of them.
        for (const i of shared.byVrid.values()) {
          if (vrid === undefined) i.recordDrop('too-short', `(${i.name}) ip/vrrp header too short. ${p.payload.length} and expect at least 8`, p.source);
          else i.recordDrop('vrid', `(${i.name}) received VRID ${vrid}, expect ${i.spec.validation.vrid}`, p.source);
        }
      } catch (e) {
        this.log.error(`VRRP packet from ${p.source} on ${spec.interface}: ${(e as Error).message}`);
      }
    });
    transport.onError((e) => this.log.warn(`VRRP socket on ${spec.interface}: ${e.message}`));
    this.transports.set(key, shared);
    return shared;
  }

  private async buildSpec(
    ic: VrrpInstanceConfig,
    group: VrrpSyncGroup | undefined,
    scripts: ScriptsByName,
  ): Promise<{ spec: InstanceSpec; links: [string, string][]; scripts: [string, string][] }> {
    const iface = ic.interface;
    if (!iface) throw new InstanceConfigError(`(${ic.name}) no interface configured - ignoring instance`);
    const family = ic.family;
    // use_vmac: VIPs, adverts and GARPs go on the VMAC (the IPv4 source stays the base's address).
    const vmac = await this.adapters.vmac?.prepare(ic);
    const vips: VirtualAddress[] = [...ic.virtualIpAddresses, ...ic.virtualIpAddressesExcluded].map((v) => ({ ...addressToAdd(v, iface), ...(vmac && { interface: vmac.vipInterface(v) }) }));
    const advertised = ic.virtualIpAddresses.filter((v) => v.family === family).slice(0, VRRP_MAX_ADDRESSES).map((v) => v.address);

    let authType = VRRP_AUTH_NONE;
    let authPassword: string | undefined;
    if (ic.authentication && ic.version === 2) {
      if (ic.authentication.type === 'PASS') {
        authType = VRRP_AUTH_PASS;
        authPassword = ic.authentication.password;
      } else if (family === 'inet') {
        // IPsec AH (RFC 2402) as keepalived: src/vrrp/ipsec-ah.ts, the transport's `ipsecAh`.
        authType = VRRP_AUTH_AH;
        authPassword = ic.authentication.password;
      } else {
        throw new InstanceConfigError(`(${ic.name}) Cannot use AH authentication with IPv6 - ignoring instance`);
      }
    }

    let source = ic.unicastSrcIp ?? ic.mcastSrcIp ?? (family === 'inet6' ? vmac?.linkLocal : undefined);
    if (source === undefined) {
      try {
        const info = await this.adapters.interfaceInfo(iface);
        source = family === 'inet' ? info.ipv4 : info.ipv6LinkLocal;
      } catch (e) {
        this.log.warn(`(${ic.name}) cannot read the addresses of ${iface}: ${(e as Error).message}`);
      }
    }

    // Trackers: the instance's interface (weight 0 unless dont_track_primary), track_interface,
    // track_script, and the sync group's trackers (weight 0 unless sync_group_tracking_weight).
    const trackers: TrackerSpec[] = [];
    const links: [string, string][] = [];
    const scriptLinks: [string, string][] = [];
    if (!ic.dontTrackPrimary) {
      trackers.push({ name: `primary:${iface}`, weight: 0 });
      links.push([iface, `primary:${iface}`]);
    }
    const addIf = (t: { name: string; weight: number; reverse: boolean }, idx: string, forceZero: boolean): void => {
      const name = `interface:${t.name}#${idx}`;
      trackers.push({ name, weight: forceZero ? 0 : t.weight, reverse: t.reverse });
      links.push([t.name, name]);
    };
    const addScript = (t: { name: string; weight?: number | undefined; reverse: boolean }, idx: string, forceZero: boolean): void => {
      const sc = scripts.get(t.name);
      if (!sc) {
        this.log.warn(`(${ic.name}) track_script ${t.name} not found, ignoring...`);
        return;
      }
      const name = `script:${t.name}#${idx}`;
      trackers.push({ name, weight: forceZero ? 0 : (t.weight ?? sc.weight), reverse: t.reverse || sc.weightReverse });
      scriptLinks.push([t.name, name]);
    };
    ic.trackInterfaces.forEach((t, i) => addIf(t, `${i}`, false));
    ic.trackScripts.forEach((t, i) => addScript(t, `${i}`, false));
    if (group) {
      const zero = !group.syncGroupTrackingWeight;
      group.trackInterfaces.forEach((t, i) => addIf(t, `g${i}`, zero));
      group.trackScripts.forEach((t, i) => addScript(t, `g${i}`, zero));
    }
    trackers.push(...this.objects.trackersFor(ic, group));

    const machine = machineConfig({
      name: ic.name,
      version: ic.version,
      family,
      basePriority: ic.priority,
      advertIntCs: Math.max(1, Math.round(ic.advertIntervalMs / 10)),
      wantMaster: ic.state === 'MASTER',
      nopreempt: ic.nopreempt,
      preemptDelayMs: ic.preemptDelayMs,
      downTimerAdverts: ic.downTimerAdverts,
      lowerPrioNoAdvert: ic.lowerPrioNoAdvert,
      higherPrioSendAdvert: ic.higherPrioSendAdvert,
      garpMasterRepeat: ic.garpMasterRepeat,
      garpMasterDelayMs: ic.garpMasterDelayMs,
      garpMasterRefreshMs: ic.garpMasterRefreshMs,
      garpMasterRefreshRepeat: ic.garpMasterRefreshRepeat,
      garpLowerPrioRepeat: ic.garpLowerPrioRepeat,
      garpLowerPrioDelayMs: ic.garpLowerPrioDelayMs,
      strict: ic.strictMode,
      sourceAddress: source,
      trackers,
    });
    const unicast = ic.unicastPeers.length > 0;
    const spec: InstanceSpec = {
      name: ic.name,
      interface: vmac?.transportInterface ?? iface,
      machine,
      validation: {
        name: ic.name,
        version: ic.version,
        family,
        vrid: ic.virtualRouterId,
        authType,
        authPassword,
        advertIntCs: machine.advertIntCs,
        unicast,
        multicastGroup: ic.mcastGroup,
        v3ChecksumAsV2: false,
        addresses: advertised,
        skipCheckAdvAddr: ic.skipCheckAdvAddr,
        checkUnicastSrc: ic.checkUnicastSrc,
        unicastPeers: ic.unicastPeers.map((p) => p.address),
        unicastPeerTtl: new Map(ic.unicastPeers.filter((p) => p.minTtl !== undefined || p.maxTtl !== undefined).map((p) => [p.address, { min: p.minTtl ?? 0, max: p.maxTtl ?? 255 }])),
      },
      advertised,
      vips,
      routes: ic.virtualRoutes.map(({ location: _l, noTrack: _n, ...r }): IpRoute => r),
      rules: ic.virtualRules.map(({ location: _l, noTrack: _n, ...r }): IpRule => r),
      authType,
      authPassword,
      multicastGroup: ic.mcastGroup,
      unicast,
      sourceAddress: source,
      // Not in the config model yet (v3_checksum_as_v2).
      v3ChecksumAsV2: false,
      keepVipsOnStop: this.options.keepVipsOnStop,
      unicastChecksum: ic.unicastChecksum,
    };
    return { spec, links, scripts: scriptLinks };
  }
}

type ScriptsByName = Map<string, Config['vrrpScripts'][number]>;

/** One tracker of an instance for status: up/down, or a track_file's value; detail: a process count. */
export interface TrackerSnapshot {
  name: string;
  weight: number;
  reverse: boolean;
  up: boolean;
  numeric?: boolean | undefined;
  value?: number | undefined;
  detail?: string | undefined;
}

function lookups(config: Config): { scriptsByName: ScriptsByName; groupByMember: Map<string, VrrpSyncGroup> } {
  const groupByMember = new Map<string, VrrpSyncGroup>();
  for (const g of config.vrrpSyncGroups) for (const m of g.members) groupByMember.set(m, g);
  return { scriptsByName: new Map(config.vrrpScripts.map((s) => [s.name, s])), groupByMember };
}

function bind(map: Map<string, TrackerBinding[]>, key: string, instance: VrrpInstance, tracker: string): void {
  const list = map.get(key) ?? [];
  list.push({ instance, tracker });
  map.set(key, list);
}

/** How the kernel tells a VIP apart on an interface (family, address, device). */
function vipKey(v: VirtualAddress): string {
  return `${v.family}|${canonicalAddress(v.address, v.family)}|${v.interface}`;
}

/** describePlan's lines for the VRRP side (virtual servers are the checkers' business). */
function describeVrrpPlan(plan: ReloadPlan): string[] {
  return describePlan({ ...plan, virtualServers: { added: [], removed: [], kept: [] } });
}

function linkUp(l: LinkState | undefined): boolean {
  // An interface we cannot see is down (keepalived: FAULT until it appears).
  return l !== undefined && l.up && l.running;
}
