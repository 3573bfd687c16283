// The VRRP engine of the daemon: builds one VrrpInstance per vrrp_instance of the configuration, opens
// the shared transports (one per interface/family/group-or-peers/source, dispatching by VRID), and
// wires link tracking, track scripts, sync groups, externally deleted VIPs and notify to the instances.
// Kernel access goes through EngineAdapters (src/net in production, fakes in tests).
import type { Config, VrrpInstance as VrrpInstanceConfig, VrrpSyncGroup } from '../config/model.js';
import type { AddressManager, Announcer, LinkState, LinkWatcher, TransportOptions, VirtualAddress, VrrpTransport } from '../net/types.js';
import { VrrpInstance, type InstanceHooks, type InstanceSpec, type InstanceStats, type StateChangeEvent } from '../vrrp/instance.js';
import { VRRP_AUTH_NONE, VRRP_AUTH_PASS, VRRP_MAX_ADDRESSES } from '../vrrp/packet.js';
import { machineConfig, type TrackerSpec } from '../vrrp/state-machine.js';
import { syncGroupStep, type SyncGroupState } from '../vrrp/sync-group.js';
import type { TimerHost } from '../vrrp/timers.js';
import type { Logger } from './log.js';

export interface EngineAdapters {
  openTransport(opts: TransportOptions & { v3ChecksumAsV2?: boolean | undefined }): Promise<VrrpTransport>;
  addresses: AddressManager;
  links: LinkWatcher;
  announcer: Announcer;
  /** Source-address candidates of an interface (primary IPv4, IPv6 link-local). */
  interfaceInfo(name: string): Promise<{ index: number; ipv4?: string | undefined; ipv6LinkLocal?: string | undefined }>;
  timers: TimerHost;
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
}

interface TrackerBinding {
  instance: VrrpInstance;
  tracker: string;
}

interface SharedTransport {
  key: string;
  transport: VrrpTransport;
  byVrid: Map<number, VrrpInstance>;
}

/** keepalived's log phrase for an instance config we cannot run. */
class InstanceConfigError extends Error {}

export class VrrpEngine {
  readonly instances = new Map<string, VrrpInstance>();
  private readonly transports = new Map<string, SharedTransport>();
  private readonly linkBindings = new Map<string, TrackerBinding[]>();
  private readonly scriptBindings = new Map<string, TrackerBinding[]>();
  private readonly groups = new Map<string, { cfg: VrrpSyncGroup; state: SyncGroupState; members: VrrpInstance[]; notified?: GroupStateEvent['state'] }>();
  private readonly groupOf = new Map<VrrpInstance, string>();
  private readonly stateListeners = new Set<(ev: StateChangeEvent) => void>();
  private unsubscribeScripts: (() => void) | undefined;
  private stopped = false;
  private readonly log: Logger;

  private constructor(
    private readonly config: Config,
    private readonly adapters: EngineAdapters,
    private readonly options: EngineOptions,
  ) {
    this.log = options.log;
  }

  static async start(config: Config, adapters: EngineAdapters, options: EngineOptions): Promise<VrrpEngine> {
    const e = new VrrpEngine(config, adapters, options);
    await e.build();
    e.startAll();
    return e;
  }

  /** Subscribe to every instance's state changes (the checkers/IPVS seam). */
  onStateChange(fn: (ev: StateChangeEvent) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
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
    await Promise.all([...this.instances.values()].map((i) => i.stop()));
    for (const g of this.groups.values()) this.notifyGroup(g);
    for (const t of this.transports.values()) t.transport.close();
  }

  private hooksFor(): InstanceHooks {
    const user = this.options.hooks;
    return {
      onNotify: (ev) => user?.onNotify?.(ev),
      onMasterRxLowerPri: (ev) => user?.onMasterRxLowerPri?.(ev),
      onPriorityChange: (ev) => user?.onPriorityChange?.(ev),
      onStateChange: (ev) => {
        user?.onStateChange?.(ev);
        for (const l of this.stateListeners) l(ev);
      },
    };
  }

  private async build(): Promise<void> {
    const scriptsByName = new Map(this.config.vrrpScripts.map((s) => [s.name, s]));
    const groupByMember = new Map<string, VrrpSyncGroup>();
    for (const g of this.config.vrrpSyncGroups) for (const m of g.members) groupByMember.set(m, g);

    for (const ic of this.config.vrrpInstances) {
      try {
        const group = groupByMember.get(ic.name);
        const { spec, links, scripts } = await this.buildSpec(ic, group, scriptsByName);
        const shared = await this.transportFor(ic, spec);
        if (shared.byVrid.has(ic.virtualRouterId)) {
          throw new InstanceConfigError(`(${ic.name}) VRID ${ic.virtualRouterId} is already used by ${shared.byVrid.get(ic.virtualRouterId)!.name} on ${spec.interface} - ignoring instance`);
        }
        const inst = new VrrpInstance(spec, {
          timers: this.adapters.timers,
          transport: shared.transport,
          addresses: this.adapters.addresses,
          announcer: this.adapters.announcer,
          log: this.log,
          hooks: this.hooksFor(),
          onTransitions: (i, ts) => this.afterTransitions(i, ts),
        });
        shared.byVrid.set(ic.virtualRouterId, inst);
        this.instances.set(ic.name, inst);
        for (const [link, tracker] of links) this.bind(this.linkBindings, link, inst, tracker);
        for (const [script, tracker] of scripts) this.bind(this.scriptBindings, script, inst, tracker);
        if (group) {
          this.groupOf.set(inst, group.name);
          const g = this.groups.get(group.name) ?? { cfg: group, state: { name: group.name, faulted: false }, members: [] };
          g.members.push(inst);
          this.groups.set(group.name, g);
        }
      } catch (e) {
        this.log.error(e instanceof InstanceConfigError ? e.message : `(${ic.name}) cannot start: ${(e as Error).message}`);
      }
    }

    this.adapters.links.onChange((l) => this.linkChanged(l));
    this.adapters.addresses.onAddressRemoved((_family, address) => {
      for (const i of this.instances.values()) i.addressRemoved(address);
    });
    if (this.options.scripts) {
      this.unsubscribeScripts = this.options.scripts.onChange((name, change) => {
        for (const b of this.scriptBindings.get(name) ?? []) this.setTracker(b.instance, b.tracker, change.up);
        if (this.waiting.size > 0) this.releaseWaiting();
      });
    }
  }

  private bind(map: Map<string, TrackerBinding[]>, key: string, instance: VrrpInstance, tracker: string): void {
    const list = map.get(key) ?? [];
    list.push({ instance, tracker });
    map.set(key, list);
  }

  private startAll(): void {
    for (const inst of this.instances.values()) {
      if (this.waitingForScripts(inst)) {
        // keepalived: an instance with a weight-0 track_script stays in INIT until the script's first result.
        this.waiting.add(inst);
        continue;
      }
      inst.start(this.trackerSnapshot(inst));
    }
    for (const name of this.groups.keys()) this.syncGroup(name, []);
  }

  private readonly waiting = new Set<VrrpInstance>();

  private trackerSnapshot(inst: VrrpInstance): Record<string, boolean> {
    const up: Record<string, boolean> = {};
    for (const [link, bs] of this.linkBindings) {
      for (const b of bs) if (b.instance === inst) up[b.tracker] = linkUp(this.adapters.links.get(link));
    }
    for (const [script, bs] of this.scriptBindings) {
      // 'init' (no result yet) has no effect on a weighted tracker; init_fail starts down.
      for (const b of bs) if (b.instance === inst) up[b.tracker] = this.options.scripts?.status(script) !== 'down';
    }
    return up;
  }

  private waitingForScripts(inst: VrrpInstance): boolean {
    const scripts = this.options.scripts;
    if (!scripts) return false;
    for (const [script, bs] of this.scriptBindings) {
      if (scripts.status(script) !== 'init') continue;
      for (const b of bs) {
        if (b.instance !== inst) continue;
        if (inst.spec.machine.trackers.find((t) => t.name === b.tracker)?.weight === 0) return true;
      }
    }
    return false;
  }

  private releaseWaiting(): void {
    for (const inst of [...this.waiting]) {
      if (this.waitingForScripts(inst)) continue;
      this.waiting.delete(inst);
      inst.start(this.trackerSnapshot(inst), true);
      const g = this.groupOf.get(inst);
      if (g) this.syncGroup(g, []);
    }
  }

  private linkChanged(link: LinkState): void {
    const up = linkUp(link);
    for (const b of this.linkBindings.get(link.name) ?? []) this.setTracker(b.instance, b.tracker, up);
  }

  private setTracker(inst: VrrpInstance, tracker: string, up: boolean): void {
    if (this.stopped) return;
    inst.setTracker(tracker, up);
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
    const key = [spec.interface, ic.family, peers.length ? peers.join(',') : ic.mcastGroup, src ?? ''].join('|');
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
    scripts: Map<string, Config['vrrpScripts'][number]>,
  ): Promise<{ spec: InstanceSpec; links: [string, string][]; scripts: [string, string][] }> {
    const iface = ic.interface;
    if (!iface) throw new InstanceConfigError(`(${ic.name}) no interface configured - ignoring instance`);
    const family = ic.family;
    const vips: VirtualAddress[] = [...ic.virtualIpAddresses, ...ic.virtualIpAddressesExcluded].map((v) => ({
      family: v.family,
      address: v.address,
      prefixLength: v.prefixLength,
      interface: v.dev ?? iface,
      broadcast: v.brd,
      scope: v.scope as VirtualAddress['scope'],
      label: v.label,
      noTrack: v.noTrack,
    }));
    const advertised = ic.virtualIpAddresses.filter((v) => v.family === family).slice(0, VRRP_MAX_ADDRESSES).map((v) => v.address);

    let authType = VRRP_AUTH_NONE;
    let authPassword: string | undefined;
    if (ic.authentication && ic.version === 2) {
      if (ic.authentication.type === 'PASS') {
        authType = VRRP_AUTH_PASS;
        authPassword = ic.authentication.password;
      } else {
        this.log.error(`(${ic.name}) auth_type AH is not supported by lvskeeper - sending without authentication`);
      }
    }

    let source = ic.unicastSrcIp ?? ic.mcastSrcIp;
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
      strict: ic.strictMode,
      sourceAddress: source,
      trackers,
    });
    const unicast = ic.unicastPeers.length > 0;
    const spec: InstanceSpec = {
      name: ic.name,
      interface: iface,
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
      },
      advertised,
      vips,
      authType,
      authPassword,
      multicastGroup: ic.mcastGroup,
      unicast,
      sourceAddress: source,
      // Not in the config model yet (v3_checksum_as_v2).
      v3ChecksumAsV2: false,
      keepVipsOnStop: this.options.keepVipsOnStop,
    };
    return { spec, links, scripts: scriptLinks };
  }
}

function linkUp(l: LinkState | undefined): boolean {
  // An interface we cannot see is down (keepalived: FAULT until it appears).
  return l !== undefined && l.up && l.running;
}
