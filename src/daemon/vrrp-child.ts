// The VRRP child process (keepalived's Keepalived_vrrp): the VRRP engine with its kernel adapters, the
// vrrp_script runner, notify scripts and FIFOs. Forked by the parent (run.ts), it
//   - reports every instance state change to the parent (`instance-state`, forwarded to the checker
//     child, which installs a VIP's virtual servers only while its instance is MASTER);
//   - at `reload` re-reads the configuration and applies it as a diff (VrrpEngine.reload: a MASTER
//     stays MASTER, kept VIPs are never removed, kept track scripts keep their results);
//   - answers `dump` requests (stats, data, JSON) for the parent, which writes the files;
//   - at SIGTERM, or when the parent vanishes, stops: priority-0 adverts, VIPs removed (unless -V),
//     notify STOP, FIFOs drained.
import { SmtpAlerts } from '../alerts/smtp-sender.js';
import { parseConfig } from '../config/index.js';
import type { Config, Diagnostic } from '../config/model.js';
import { interfaceInfo, openAddressManager, openAnnouncer, openLinkManager, openLinkWatcher, openRouteManager, openVrrpTransport } from '../net/index.js';
import { VmacRuntime } from './vmac.js';
import { NoAcceptFirewall } from '../net/firewall.js';
import type { AddressManager, Announcer, FirewallInstance, LinkWatcher, NoAcceptFirewallPort, RouteManager } from '../net/types.js';
import { StaticEntries } from './static-entries.js';
import { PromoteSecondaries } from './promote-secondaries.js';
import { PacedAnnouncer, type GarpIntervals } from './garp-pacer.js';
import { ScriptLauncher } from '../scripts/launcher.js';
import { configuredNotifyScripts, Notifier, openNotifyFifos } from '../scripts/notify.js';
import { ScriptPreparer } from '../scripts/script-security.js';
import { TrackScriptRunner } from '../scripts/track-script.js';
import type { InstanceStats, VrrpInstance } from '../vrrp/instance.js';
import { realTimers } from '../vrrp/timers.js';
import { GcWatch } from './gc-watch.js';
import { IpvsTakeover } from './ipvs-takeover.js';
import { configErrorSummary } from './config-load.js';
import type { Logger } from './log.js';
import type { DaemonOptions } from './options.js';
import { renderDataDump, renderStats, type VrrpInstanceStats } from './process/dump.js';
import type { DumpKind, DumpReply, InstanceStateMessage } from './process/messages.js';
import { VrrpEngine } from './vrrp-engine.js';
import type { InstanceStatus, StatusSnapshot, Transition } from './status/model.js';
import { keepalivedCounters, vrrpStatus } from './status/vrrp-status.js';

type Preparer = Pick<ScriptPreparer, 'prepare' | 'prepareCommand'> & Partial<Pick<ScriptPreparer, 'reportSecurity'>>;

function noScripts(): { ok: false; reason: 'empty'; message: string } {
  return { ok: false, reason: 'empty', message: 'no scripts configured' };
}

/** The preparer resolves script_user (and logs keepalived's warnings), so it is built only when scripts exist. */
export function scriptPreparerFor(config: Config, log: Logger): Preparer {
  return config.scriptCount > 0 ? ScriptPreparer.fromGlobalDefs(config.global, log) : { prepare: noScripts, prepareCommand: noScripts };
}

/** keepalived's stats file counters from an instance's counters and per-reason drops. */
export function keepalivedStats(name: string, s: InstanceStats): VrrpInstanceStats {
  return { instance: name, ...keepalivedCounters(s), drops: s.drops };
}

/**
 * How far the next VRRP timer must be for a reload to start now (capped at half the shortest advert
 * interval): parsing, diffing and a GC can take tens of ms on a loaded host.
 */
const RELOAD_QUIET_MS = 250;

/** Longest a state report waits for the VIP removal it follows (rtnetlink answers in about a millisecond). */
const REPORT_WAIT_MS = 2000;

/** Everything the VRRP side runs, built from one configuration and rebuilt piecewise at reload. */
export class VrrpSide {
  private runner: TrackScriptRunner | undefined;
  private notifier!: Notifier;
  /** smtp_alert mail (nodemailer is loaded at the first alert only). */
  private readonly alerts: SmtpAlerts;
  private engine: VrrpEngine | undefined;
  /** static_ipaddress / static_routes / static_rules (set before the instances start, cleared after they stop). */
  private statics: StaticEntries | undefined;
  private readonly promoteSecondaries: PromoteSecondaries;
  private stopped = false;
  /** keepalived's no_accept nftables rules; opened only when an instance does not accept (vrrp_strict, no_accept). */
  private firewall: NoAcceptFirewallPort | undefined;
  /** During a reload: the configuration being replaced. */
  private retired: Config | undefined;
  /** The running configuration's diagnostics: errors it already had do not block a reload. */
  private diagnostics: readonly Diagnostic[] = [];
  /** Recent GC pauses, to say why a VRRP timer ran late. */
  private readonly gcWatch = new GcWatch();
  /** Forks every track and notify script, so that this process never forks (scripts/launcher.ts). */
  private readonly launcher: ScriptLauncher;
  /** The last transition of each instance, with keepalived's reason, for status. */
  private readonly transitions = new Map<string, Transition>();
  private readonly startedAt = Date.now();
  /** State reports to the parent, in order (a report leaving MASTER waits for the VIPs to go). */
  private reports: Promise<void> = Promise.resolve();

  private constructor(
    private config: Config,
    private readonly options: DaemonOptions,
    private readonly log: Logger,
    private readonly addresses: AddressManager,
    private readonly links: LinkWatcher,
    private readonly announcer: Announcer,
    private readonly report: (msg: Omit<InstanceStateMessage, 'type' | 'at'>) => void,
    private readonly takeover: IpvsTakeover,
    private readonly routes: RouteManager,
  ) {
    this.launcher = new ScriptLauncher({ warn: (m) => log.warn(m) });
    this.alerts = new SmtpAlerts(log);
    this.promoteSecondaries = new PromoteSecondaries(log);
  }

  static async start(
    { config, diagnostics }: { config: Config; diagnostics: readonly Diagnostic[] },
    options: DaemonOptions,
    log: Logger,
    report: (msg: Omit<InstanceStateMessage, 'type' | 'at'>) => void,
    takeover: IpvsTakeover = new IpvsTakeover(log),
  ): Promise<VrrpSide> {
    const [addresses, links, announcer, routes] = await Promise.all([
      openAddressManager({ warn: (m) => log.warn(m) }),
      openLinkWatcher(),
      openAnnouncer({ warn: (m) => log.warn(m) }),
      openRouteManager(),
    ]);
    // vrrp_garp_interval / vrrp_gna_interval pace the messages per interface (keepalived garp_delay).
    const paced = new PacedAnnouncer(announcer, garpIntervals(config));
    const side = new VrrpSide(config, options, log, addresses, links, paced, report, takeover, routes);
    side.diagnostics = diagnostics;
    try {
      await side.startEngine();
    } catch (e) {
      side.closeAdapters();
      throw e;
    }
    return side;
  }

  private identityOf(name: string): Omit<InstanceStateMessage, 'type' | 'at' | 'state' | 'vips'> {
    const ic = this.instanceConfig(name);
    return { instance: name, vrid: ic?.virtualRouterId ?? 0, family: ic?.family ?? 'inet', interface: ic?.interface };
  }

  private openNotify(preparer: Preparer): void {
    const spawner = this.launcher.spawner;
    const fifos = openNotifyFifos(this.config.global, 'vrrp', { logger: this.log, preparer, spawner });
    this.notifier = new Notifier({ logger: this.log, preparer, fifos, spawner });
  }

  /** An instance's configuration; one removed by the reload in progress is still found (its STOP/DELETED notify). */
  private instanceConfig(name: string): Config['vrrpInstances'][number] | undefined {
    return this.config.vrrpInstances.find((i) => i.name === name) ?? this.retired?.vrrpInstances.find((i) => i.name === name);
  }

  private notifyTarget(name: string): Parameters<Notifier['vrrpState']>[0] {
    return { kind: 'INSTANCE', name, scripts: this.instanceConfig(name)?.notify ?? {} };
  }

  private async startEngine(): Promise<void> {
    this.launcher.start();
    const preparer = scriptPreparerFor(this.config, this.log);
    if (this.config.vrrpScripts.length > 0) {
      this.runner = new TrackScriptRunner({ scripts: this.config.vrrpScripts, preparer, logger: this.log, spawner: this.launcher.spawner });
    }
    this.openNotify(preparer);
    // keepalived start_vrrp(): static entries are set before the instances run.
    this.statics = new StaticEntries(this.addresses, this.routes, this.log);
    await this.statics.start(this.config);
    this.promoteSecondaries.apply(this.config.vrrpInstances);
    this.engine = await VrrpEngine.start(
      this.config,
      {
        openTransport: (o) => openVrrpTransport(o),
        addresses: this.addresses,
        routes: this.routes,
        links: this.links,
        announcer: this.announcer,
        interfaceInfo: (n) => interfaceInfo(n),
        timers: realTimers,
        explainStall: this.gcWatch.explain,
        vmac: new VmacRuntime(openLinkManager(), this.log, this.config.global),
      },
      {
        log: this.log,
        keepVipsOnStop: this.options.dontReleaseVrrp && !this.options.releaseVips,
        scripts: this.runner,
        takeover: this.takeover,
        hooks: {
          // The notifier is looked up at each event: a reload may replace it.
          onNotify: (ev) => {
            this.notifier.vrrpState(this.notifyTarget(ev.instance), ev.state, ev.priority);
            this.alerts.vrrp(this.config.global, 'INSTANCE', ev.instance, ev.state, this.instanceConfig(ev.instance)?.smtpAlert === true);
          },
          onMasterRxLowerPri: (ev) => this.notifier.masterRxLowerPriority(this.notifyTarget(ev.instance), ev.priority),
          onPriorityChange: (ev) => {
            // keepalived sends these only for MASTER and BACKUP (notify_instance_priority).
            if (ev.state !== 'MASTER' && ev.state !== 'BACKUP') return;
            if (this.instanceConfig(ev.instance)?.notifyPriorityChanges) this.notifier.priorityChange({ kind: 'INSTANCE', name: ev.instance }, ev.state, ev.to);
          },
          onStateChange: (ev) => {
            this.transitions.set(ev.instance, { from: ev.from, to: ev.to, reason: ev.reason, at: Date.now() });
            this.syncFirewall();
            // The checker child hears it a moment later (setImmediate, order kept): serialising the IPC
            // message must not delay the VIPs and GARPs the same transition has just queued. Leaving
            // MASTER, it hears it once the VIPs are gone, so that it removes their virtual servers
            // after them (a VIP without its virtual server answers with resets; issue #17).
            const msg = { ...this.identityOf(ev.instance), state: ev.to, vips: ev.vips.map((v) => v.address), from: ev.from, reason: ev.reason };
            setImmediate(() => this.reportInOrder(msg, ev.from === 'MASTER' ? ev.vipWorkDone() : undefined));
          },
        },
        onGroupState: (ev) => {
          this.notifier.vrrpState({ kind: 'GROUP', name: ev.group, scripts: ev.scripts }, ev.state, 0);
          const sg = (c: Config | undefined) => c?.vrrpSyncGroups.find((g) => g.name === ev.group);
          this.alerts.vrrp(this.config.global, 'GROUP', ev.group, ev.state, (sg(this.config) ?? sg(this.retired))?.smtpAlert === true);
        },
      },
    );
    this.runner?.start();
    this.configureSyncDaemon();
    // keepalived checks every notify script at load and then sums up script security once.
    this.notifier.checkScripts(configuredNotifyScripts({ vrrpInstances: this.config.vrrpInstances, vrrpSyncGroups: this.config.vrrpSyncGroups, virtualServers: [] }));
    preparer.reportSecurity?.('vrrp');
    await this.openFirewallIfNeeded();
    this.reportAll();
    await this.reports;
  }

  /**
   * keepalived 2.2.7 (NFTABLES build) needs no `nftables` keyword: an instance that must not accept
   * packets for its VIPs gets its drop rules as soon as it is MASTER. Without nft the VIPs still move,
   * and the operator is told why the rules are missing.
   */
  private async openFirewallIfNeeded(): Promise<void> {
    if (this.firewall || !this.config.vrrpInstances.some((i) => !i.accept)) return;
    try {
      this.firewall = await NoAcceptFirewall.open();
      this.log.info('no_accept/strict specified - using nftables to drop traffic to the VIPs of non-accepting masters');
    } catch (e) {
      this.log.error(`no_accept firewall unavailable, VIPs will accept traffic: ${(e as Error).message}`);
      return;
    }
    this.syncFirewall();
  }

  /** The firewall's view of every instance: accept from the configuration, state and VIPs from the engine. */
  private firewallInstances(): FirewallInstance[] {
    const out: FirewallInstance[] = [];
    for (const ic of this.config.vrrpInstances) {
      const inst = this.engine?.instances.get(ic.name);
      if (!inst) continue;
      out.push({
        name: ic.name,
        state: inst.state,
        accept: ic.accept,
        vips: inst.spec.vips.map((v) => ({ family: v.family, address: v.address, interface: v.interface })),
      });
    }
    return out;
  }

  private syncFirewall(): void {
    if (!this.firewall || this.stopped) return;
    this.firewall.update(this.firewallInstances()).catch((e: unknown) => this.log.error(`no_accept firewall: ${(e as Error).message}`));
  }

  /** lvs_sync_daemon follows its instance from this process, as keepalived's VRRP process does. */
  private configureSyncDaemon(): void {
    this.takeover.configure(this.config, (name) => this.engine?.instances.get(name)?.state === 'MASTER');
  }

  /** Sends a state report after the earlier ones, and after `after` (bounded: a report is never lost). */
  private reportInOrder(msg: Omit<InstanceStateMessage, 'type' | 'at'>, after?: Promise<void>): void {
    const waited = after && Promise.race([after, new Promise<void>((r) => setTimeout(r, REPORT_WAIT_MS).unref())]);
    this.reports = this.reports
      .then(() => waited)
      .then(() => this.report(msg))
      .catch((e: unknown) => this.log.error(`cannot report ${msg.instance} ${msg.state} to the parent: ${(e as Error).message}`));
  }

  /** Every instance's current state, so the checker child starts from the full picture. */
  private reportAll(): void {
    for (const [name, inst] of this.engine?.instances ?? []) {
      this.reportInOrder({ ...this.identityOf(name), state: inst.state, vips: inst.spec.vips.map((v) => v.address) });
    }
  }

  /**
   * SIGHUP (through the parent): parse again (the parent checked the file, but it may have changed
   * since); on errors keep everything as it is. Otherwise the new vrrp_script runner inherits the old
   * results (keepalived: scripts that were up are "considered successful on reload") and the engine
   * applies the difference.
   */
  async reload(): Promise<void> {
    if (!this.engine || this.stopped) return;
    // Parsing and diffing block this process for a few milliseconds: start right after an advert or
    // timer, never just before one (issue #6: no advert gap longer than advert_int + 10 ms at reload).
    await this.engine.quietWindow(RELOAD_QUIET_MS);
    const { config, diagnostics } = parseConfig(this.options.configFile, { configId: this.options.configId });
    const problem = configErrorSummary(diagnostics, this.diagnostics);
    if (problem) throw new Error(problem);
    const previous = this.config;
    const oldRunner = this.runner;
    const preparer = scriptPreparerFor(config, this.log);
    const runner =
      config.vrrpScripts.length > 0
        ? new TrackScriptRunner({ scripts: config.vrrpScripts, preparer, logger: this.log, spawner: this.launcher.spawner })
        : undefined;
    runner?.markAllSuccessfulOnReload(oldRunner?.snapshot());
    const removed = previous.vrrpInstances.filter((o) => !config.vrrpInstances.some((n) => n.name === o.name)).map((o) => o.name);
    const oldNotifier = this.notifier;
    const fifosChanged = JSON.stringify(fifoSettings(previous)) !== JSON.stringify(fifoSettings(config));
    this.config = config;
    this.retired = previous;
    if (fifosChanged) this.openNotify(preparer);
    try {
      await this.engine.reload(config, runner);
    } catch (e) {
      this.config = previous;
      if (fifosChanged) {
        void this.notifier.close(0);
        this.notifier = oldNotifier;
      }
      this.retired = undefined;
      throw e;
    }
    this.diagnostics = diagnostics;
    await this.statics?.reload(config);
    if (this.announcer instanceof PacedAnnouncer) this.announcer.setIntervals(garpIntervals(config));
    this.promoteSecondaries.apply(config.vrrpInstances);
    await this.openFirewallIfNeeded();
    this.syncFirewall();
    this.runner = runner;
    runner?.start();
    await oldRunner?.stop();
    if (fifosChanged) void oldNotifier.close(2000);
    // New states first (a renamed instance is known under its new name before the old one goes),
    // then the instances gone from the configuration, which the checker side must forget.
    this.reportAll();
    for (const name of removed) {
      if (!this.engine.instances.has(name)) this.reportInOrder({ ...this.identityOf(name), state: 'DELETED', vips: [] });
    }
    this.configureSyncDaemon();
    // Reported before reload-done, so the checker child knows the new instances when it reloads.
    await this.reports;
    this.retired = undefined;
  }

  /** The VRRP child's part of the status snapshot. */
  status(): Pick<StatusSnapshot, 'instances' | 'syncGroups' | 'trackers' | 'gcPauses'> {
    const engine = this.engine;
    const stats = engine?.stats() ?? {};
    const instances = Object.entries(stats).map(([name, s]) => {
      const id = this.identityOf(name);
      const inst = engine?.instances.get(name);
      return {
        name,
        vrid: id.vrid,
        family: id.family,
        interface: id.interface,
        vips: inst?.spec.vips.map((v) => v.address) ?? [],
        stats: s,
        ...(engine?.trackersOf(name) ?? { trackers: [] }),
        lastTransition: this.transitions.get(name),
        startedAt: this.startedAt,
        splitBrain: splitBrainStatus(inst?.splitBrain()),
        splitBrainEvents: s.splitBrainEvents,
      };
    });
    return { ...vrrpStatus(instances, this.runner?.snapshot() ?? new Map()), gcPauses: { vrrp: this.gcWatch.longPauses } };
  }

  dump(what: DumpKind): DumpReply {
    const stats = this.engine?.stats() ?? {};
    if (what === 'json') return { json: { vrrp: stats } };
    if (what === 'stats' || what === 'stats-clear') {
      const text = renderStats(Object.entries(stats).map(([n, s]) => keepalivedStats(n, s)));
      if (what === 'stats-clear') this.engine?.clearStats();
      return { text };
    }
    return {
      text: renderDataDump(
        Object.entries(stats).map(([name, s]) => ({
          title: `VRRP Instance ${name}`,
          body: { state: s.state, priority: s.effectivePriority, base_priority: s.basePriority, master: s.masterAddress ?? 'unknown' },
        })),
        `lvskeeper VRRP data, ${new Date().toISOString()}`,
      ),
    };
  }

  /** Priority-0 adverts and VIPs released by the engine, then scripts stopped and STOP notifications drained. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // keepalived stop_vrrp: the sync daemon stops before the VIPs are released.
    await this.takeover.stop();
    await this.engine?.stop();
    // keepalived vrrp_terminate_phase1(): static rules, routes, addresses go after the instances' entries.
    await this.statics?.stop();
    this.promoteSecondaries.stop();
    // After the VIPs are gone, as keepalived removes its table last.
    await this.firewall?.close().catch((e: unknown) => this.log.error(`no_accept firewall: ${(e as Error).message}`));
    await this.runner?.stop();
    await Promise.all([this.notifier.close(2000), this.alerts.close(2000)]);
    this.closeAdapters();
  }

  private closeAdapters(): void {
    this.addresses.close();
    this.routes.close();
    this.links.close();
    this.announcer.close();
    this.gcWatch.close();
    this.launcher.close();
  }
}

function splitBrainStatus(s: ReturnType<VrrpInstance['splitBrain']>): InstanceStatus['splitBrain'] {
  return s && { peer: s.peer, difference: s.difference, since: s.sinceEpochMs };
}

function garpIntervals(config: Config): GarpIntervals {
  return { garpMs: config.global.vrrpGarpIntervalMs, gnaMs: config.global.vrrpGnaIntervalMs };
}

function fifoSettings(config: Config): unknown {
  const g = config.global;
  return [g.notifyFifo, g.vrrpNotifyFifo, g.scriptUser, g.enableScriptSecurity];
}

