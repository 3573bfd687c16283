// The daemon side of the health checkers (keepalived's Keepalived_healthcheckers process), attached to
// the VRRP engine through runDaemon's `hooks.onEngine`:
//
//  - the checker scheduler runs in a worker thread (src/check/worker-main.ts), so checker load never
//    delays VRRP adverts; a crashed worker is restarted;
//  - its events become log lines, notify_up/notify_down/quorum_up/quorum_down scripts and
//    lvs_notify_fifo / notify_fifo lines (src/scripts/notify.ts);
//  - IPVS is kept equal to ONE desired state through the reconciler (src/check/ipvs-sync.ts): the
//    checkers' rows, minus the virtual servers that must not be programmed on this node now.
//
// Who programs IPVS (lvskeeper's default, keepalived issue #2389): a virtual server whose address is a
// VIP of a vrrp_instance is installed while that instance is MASTER and removed when it leaves MASTER;
// every other virtual server is always installed. Health checks run on both nodes all the time, so a
// new master installs an already-correct pool at once. `lvs_program_on_all_nodes` in global_defs gives
// keepalived's behaviour (every virtual server on every node, only the VIP moves).
//
// A takeover must not leave a window where the VIP is here and its virtual server is not (issue #17):
// the rows of every gated virtual server are staged in the VRRP child (`onStaged`), which installs
// them itself before it adds the VIPs; this side then adopts them. Leaving MASTER, the VRRP child
// reports the state only once the VIPs are gone, and the rows are removed after. Gated rows found in
// the kernel while their instance is not MASTER are deleted only when a removal is due (at start,
// for leftovers of a kill -9, and after leaving MASTER), never while the VRRP child may be installing them.
//
// Also: lvs_flush (flush all at start), lvs_timeouts (set at start), lvs_sync_daemon (master/backup
// following the named instance: driven by the VRRP child, as keepalived's VRRP process does; here
// only without an instance or without VRRP), removal of our services at stop unless -I, lvs_flush_on_stop (flush
// everything at stop). After a kill -9 the services of our configuration left in the kernel are
// adopted (reconciled in place), and services that are not ours are never touched. Without ip_vs the
// checkers still run (logs, notifications), one error is logged and VRRP is unaffected.

import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { SmtpAlerts } from '../alerts/smtp-sender.js';
import { canonicalAddress } from '../net/packet-codec.js';
import type { Config, RealServer, VirtualServer } from '../config/model.js';
import { checkSpecsFromConfig } from '../check/from-config.js';
import { IpvsSync } from '../check/ipvs-sync.js';
import type { CheckEvent } from '../check/runtime.js';
import type { VirtualServerSpec } from '../check/types.js';
import { CheckerClient, type PortLike } from '../check/worker.js';
import { openIpvs } from '../ipvs/client.js';
import type { IpvsOp } from '../ipvs/ops.js';
import type { ReconcileClient, ReconcileResult } from '../ipvs/reconcile.js';
import { planChanges, serviceKeyId } from '../ipvs/reconcile.js';
import type { IpvsApi, ServiceEntry, ServiceKey, SyncDaemon } from '../ipvs/types.js';
import { configuredNotifyScripts, Notifier, openNotifyFifos, type NotifyFifos } from '../scripts/notify.js';
import { ScriptPreparer } from '../scripts/script-security.js';
import type { ScriptSpawner } from '../scripts/spawn.js';
import type { VrrpState } from '../vrrp/state-machine.js';
import type { Logger } from './log.js';
import type { DaemonOptions } from './options.js';
import { describeGateChanges, instancesNeedingAllNodes, vipGateId, vipGates, type VipGates } from './ipvs-gating.js';
import type { IpvsStagedMessage, StagedService } from './process/messages.js';
import { virtualServerStatus } from './status/checker-status.js';
import type { VirtualServerStatus } from './status/model.js';

/** What the checkers need from the VRRP engine (VrrpEngine satisfies it). */
export interface EngineView {
  readonly instances: ReadonlyMap<string, { readonly state: VrrpState }>;
  onStateChange(fn: (ev: { instance: string; to: VrrpState }) => void): () => void;
}

export type IpvsHandle = IpvsApi & ReconcileClient;

/** A running checker scheduler on the other side of a port (a worker thread by default). */
export interface CheckerHost {
  port: PortLike;
  /** Called with a reason when the host died unexpectedly (the runtime then starts a new one). */
  onExit(fn: (reason: string) => void): void;
  terminate(): Promise<void>;
}

export interface CheckersDeps {
  /** Default: openIpvs() (generic netlink). */
  openIpvs?: (() => Promise<IpvsHandle>) | undefined;
  /** Default: a worker thread running check/worker-main.js. */
  startHost?: (() => CheckerHost) | undefined;
  /** Checks MISC_CHECK and notify scripts. Default: ScriptPreparer.fromGlobalDefs of the loaded
   * configuration (built when the configuration has such scripts). */
  preparer?: Pick<ScriptPreparer, 'prepareCommand'> | undefined;
  fifos?: NotifyFifos | undefined;
  spawner?: ScriptSpawner | undefined;
  /** Delay before re-syncing after a failed kernel read or refused ops (default 2000 ms). */
  retryMs?: number | undefined;
  /** Delay before restarting a dead checker worker (default 1000 ms). */
  restartMs?: number | undefined;
  /** Where the gated virtual servers' rows go, for the VRRP child to install at a takeover. */
  onStaged?: ((msg: IpvsStagedMessage) => void) | undefined;
}

export interface CheckersOptions {
  /** -I: leave our IPVS entries in place at stop. */
  dontReleaseIpvs?: boolean | undefined;
}

function workerHost(): CheckerHost {
  const worker = new Worker(new URL('../check/worker-main.js', import.meta.url));
  let exitFn: ((reason: string) => void) | undefined;
  let terminating = false;
  let lastError = '';
  worker.on('error', (err) => {
    lastError = err.stack ?? err.message;
  });
  worker.on('exit', (code) => {
    if (!terminating) exitFn?.(lastError || `exit code ${code}`);
  });
  return {
    port: worker,
    onExit: (fn) => {
      exitFn = fn;
    },
    terminate: async () => {
      terminating = true;
      await worker.terminate();
    },
  };
}

/** How long a reload waits for the checker worker to confirm it applied the new specs. */
const RELOAD_WAIT_MS = 5000;

function describeOp(op: IpvsOp): string {
  const key = (k: ServiceKey): string =>
    k.kind === 'fwmark' ? `FWM ${k.fwmark}` : `${k.protocol.toUpperCase()} ${k.family === 'inet6' ? `[${k.address}]` : k.address}:${k.port}`;
  switch (op.op) {
    case 'add-service':
    case 'edit-service':
      return `${op.op} ${key(op.service.key)} ${op.service.scheduler}`;
    case 'del-service':
      return `${op.op} ${key(op.key)}`;
    case 'add-dest':
    case 'edit-dest':
      return `${op.op} ${key(op.key)} -> ${op.dest.address}:${op.dest.port} weight ${op.dest.weight}`;
    case 'del-dest':
      return `${op.op} ${key(op.key)} -> ${op.dest.address}:${op.dest.port}`;
    default:
      return (op as { op: string }).op;
  }
}

export function keyLabel(k: ServiceKey): string {
  return k.kind === 'fwmark' ? `FWM ${k.fwmark}` : `[${k.address}]:${k.protocol}:${k.port}`;
}

/**
 * The checkers/IPVS half of the daemon. `start()` once the VRRP engine runs (or without an engine for
 * `-C`: then every virtual server is installed), `stop()` at shutdown.
 */
export class CheckersRuntime {
  private readonly log: Logger;
  private specs: VirtualServerSpec[] = [];
  private host: CheckerHost | undefined;
  private client: CheckerClient | undefined;
  private ipvs: IpvsHandle | undefined;
  private sync: IpvsSync | undefined;
  private notifier: Notifier | undefined;
  /** smtp_alert mail, created at the first checker transition. */
  private alerts: SmtpAlerts | undefined;
  private ownPreparer: ScriptPreparer | undefined;
  private readonly vsConfig = new Map<string, { vs: VirtualServer; rs: Map<string, RealServer> }>();
  /** canonical VIP ("inet/10.0.0.1") -> the instances whose MASTER state gates it */
  private vipOwners: VipGates = new Map();
  /** ha_suspend by address presence (no VRRP gate): re-checked every second. */
  private suspendPoll: NodeJS.Timeout | undefined;
  /** os.networkInterfaces, replaceable in tests. */
  localInterfaces: () => NodeJS.Dict<os.NetworkInterfaceInfo[]> = () => os.networkInterfaces();
  /** Instances already announced as programming their virtual servers on every node. */
  private readonly announcedUngated = new Set<string>();
  /** Virtual servers paused by ha_suspend (resumed when a reload makes them unsuspendable). */
  private suspended = new Set<string>();
  private engine: EngineView | undefined;
  private readonly instanceStates = new Map<string, VrrpState>();
  private unsubscribe: (() => void) | undefined;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly loggedFailures = new Set<string>();
  private syncDaemonRole: 'master' | 'backup' | undefined;
  /** The sync daemon parameters last started (JSON), to restart it when a reload changes them. */
  private syncDaemonJson: string | undefined;
  private hasEngine = false;
  /** Set by start(); a reload arriving meanwhile waits for it (one worker, one kernel handle). */
  private starting: Promise<void> | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private kernelTried = false;
  private syncDaemonChain: Promise<void> = Promise.resolve();
  /** The gate of each gated service key at the last sync (for the install/remove log lines). */
  private readonly lastGate = new Map<string, boolean>();
  /** serviceKeyId -> what was last sent to the VRRP child for it (owners and ops, as text). */
  private readonly stagedSent = new Map<string, string>();
  private stagedResetDue = true;
  /**
   * A desired row's id, staged ops and their JSON, computed once per row: rows are replaced, never
   * mutated, when they change, so an event re-encodes only the rows it changed.
   */
  private readonly stagedRows = new WeakMap<ServiceEntry, { id: string; ops: IpvsOp[]; json: string }>();
  /**
   * Instances whose gated rows may be deleted while they are not MASTER, with the number of sync
   * passes started when the removal became due: a pass started later has done it.
   */
  private readonly releaseDue = new Map<string, number>();
  /** When each real server ("vsId rsId") last went up or down (for status). */
  private readonly rsSince = new Map<string, number>();

  constructor(
    private config: Config,
    log: Logger,
    private readonly options: CheckersOptions = {},
    private readonly deps: CheckersDeps = {},
  ) {
    this.log = log;
  }

  start(engine?: EngineView): Promise<void> {
    this.starting ??= this.startOnce(engine);
    return this.starting;
  }

  private async startOnce(engine: EngineView | undefined): Promise<void> {
    this.hasEngine = engine !== undefined;
    this.engine = engine;
    this.buildModel();
    if (engine) {
      for (const [name, inst] of engine.instances) this.instanceStates.set(name, inst.state);
      this.unsubscribe = engine.onStateChange((ev) => this.onInstanceState(ev.instance, ev.to));
    }

    this.openNotifier();
    // Gated rows left by an earlier run (kill -9) go unless their instance is MASTER.
    for (const owners of this.vipOwners.values()) for (const o of owners) this.releaseDue.set(o, 0);

    if (this.needsKernel()) await this.openKernel(true);

    if (this.specs.length > 0) {
      this.startHost();
      this.applySuspend();
    }
    this.updateSyncDaemon();
  }

  /**
   * SIGHUP with a new configuration that parsed without errors (lvskeeper issue #6): applied as a
   * diff, never a restart. The scheduler keeps the state and timers of unchanged checkers and real
   * servers (CheckerScheduler.reload); IPVS changes go through the one reconciler (removed virtual and
   * real servers deleted, weights and service parameters edited), and only when the rows to install
   * changed, so an unchanged file costs the kernel nothing. Gating, ha_suspend, lvs_timeouts and
   * lvs_sync_daemon follow the new file; lvs_flush is a start-up action and is not run again.
   */
  reload(config: Config): Promise<void> {
    // Reloads apply one after the other (each compares with the state the previous one left).
    const run = this.reloading.then(() => this.reloadNow(config));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(config: Config): Promise<void> {
    if (this.stopping) return;
    if (!this.starting) {
      this.config = config; // start() builds everything from it
      return;
    }
    await this.starting.catch(() => undefined);
    if (this.stopping) return;
    const previous = this.config;
    const installedBefore = this.installedJson();
    const gatesBefore = this.vipOwners;
    this.config = config;
    this.ownPreparer = undefined; // scripts are checked again against the new global_defs, as keepalived does
    this.buildModel();
    const served = new Set(this.specs.flatMap((s) => s.keys.flatMap((k) => (k.kind === 'addr' ? [vipGateId(k.family, k.address)] : []))));
    for (const line of describeGateChanges(gatesBefore, this.vipOwners, served)) this.log.info(line);
    this.refreshInstanceStates();
    // A reload may gate rows on an instance that is not MASTER here: they go (the VRRP child reloaded first).
    for (const owners of this.vipOwners.values()) {
      for (const o of owners) if (this.instanceStates.get(o) !== 'MASTER' && !this.releaseDue.has(o)) this.releaseDue.set(o, this.sync?.passes ?? 0);
    }
    if (this.notifier) this.notifier.checkScripts(configuredNotifyScripts({ vrrpInstances: [], vrrpSyncGroups: [], virtualServers: config.virtualServers }));
    else this.openNotifier();
    if (!this.ipvs && !this.kernelTried && this.needsKernel()) await this.openKernel(false);
    else if (JSON.stringify(previous.global.lvsTimeouts) !== JSON.stringify(config.global.lvsTimeouts)) await this.setTimeouts();
    const client = this.client;
    if (this.restartTimer) {
      // A dead worker is about to be replaced: the new one starts with the new specs.
    } else if (client) {
      // A worker that dies meanwhile is restarted with the new specs; do not wait for it forever.
      await Promise.race([client.reload(this.specs), new Promise<void>((r) => setTimeout(r, RELOAD_WAIT_MS).unref())]);
    } else if (this.specs.length > 0) this.startHost();
    if (this.stopping) return;
    this.applySuspend();
    this.updateSyncDaemon();
    this.stageTakeovers();
    // Rows the scheduler changed already asked for a sync; this covers gating changes alone.
    if (this.installedJson() !== installedBefore) void this.sync?.request();
  }

  /** After a reload: the state of instances it added, from the engine view; instances it removed are forgotten. */
  private refreshInstanceStates(): void {
    const names = new Set(this.config.vrrpInstances.map((i) => i.name));
    for (const name of [...this.instanceStates.keys()]) if (!names.has(name)) this.instanceStates.delete(name);
    for (const [name, inst] of this.engine?.instances ?? []) if (names.has(name)) this.instanceStates.set(name, inst.state);
  }

  private installedJson(): string {
    return JSON.stringify(this.desired(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }

  private needsKernel(): boolean {
    const g = this.config.global;
    return this.specs.length > 0 || g.lvsFlush || g.lvsTimeouts !== undefined || g.lvsSyncDaemon !== undefined;
  }

  /** Specs, the config objects behind them and the VIP owners, from this.config. */
  private buildModel(): void {
    const cfg = this.config;
    const { virtualServers, warnings } = checkSpecsFromConfig(cfg, { prepareScript: (cmd) => this.scriptPreparer().prepareCommand(cmd) });
    for (const w of warnings) this.log.warn(w);
    this.specs = virtualServers;
    this.vsConfig.clear();
    virtualServers.forEach((spec, i) => {
      const vs = cfg.virtualServers[i];
      if (vs) this.vsConfig.set(spec.id, { vs, rs: new Map(vs.realServers.map((r) => [`${r.address}:${r.port}`, r])) });
    });
    this.vipOwners = this.hasEngine && !cfg.global.lvsProgramOnAllNodes ? vipGates(cfg, this.ungatedInstances()) : new Map();
  }

  /** instancesNeedingAllNodes, with the notice saying why logged once per instance (not at every reload). */
  private ungatedInstances(): Set<string> {
    const ungated = new Set<string>();
    for (const u of instancesNeedingAllNodes(this.config)) {
      ungated.add(u.instance);
      if (this.announcedUngated.has(u.instance)) continue;
      this.announcedUngated.add(u.instance);
      this.log.notice(
        `(${u.instance}) track_script ${u.script} reads the IPVS tables (${u.evidence}) and puts ${u.instance} in FAULT when it fails: ` +
          `its virtual servers are programmed on every node, as keepalived does, so the backup can pass it (set lvs_program_on_all_nodes to say so explicitly)`,
      );
    }
    for (const name of [...this.announcedUngated]) if (!ungated.has(name)) this.announcedUngated.delete(name);
    return ungated;
  }

  /** The rows that should be in the kernel now (checkers' desired state minus gated services). */
  desired(): ServiceEntry[] {
    return (this.client?.desired() ?? []).filter((e) => this.installed(e.service.key));
  }

  /** The virtual servers for `lvskeeper status`: checkers' view, the kernel's, and who programs them. */
  async status(): Promise<VirtualServerStatus[]> {
    const [reports, kernel] = await Promise.all([
      this.client?.status() ?? Promise.resolve([]),
      this.ipvs?.getAll().catch(() => [] as ServiceEntry[]) ?? Promise.resolve([] as ServiceEntry[]),
    ]);
    return virtualServerStatus({ specs: this.specs, reports, kernel, gate: (key) => this.gateOf(key), since: this.rsSince });
  }

  private gateOf(key: ServiceKey): { programmed: boolean; why: string } {
    const owners = this.ownersOf(key);
    if (!owners) {
      if (!this.hasEngine) return { programmed: true, why: 'checkers only (-C): always installed' };
      return { programmed: true, why: this.config.global.lvsProgramOnAllNodes ? 'lvs_program_on_all_nodes' : 'not a VIP of a VRRP instance: always installed' };
    }
    const master = owners.find((n) => this.instanceStates.get(n) === 'MASTER');
    if (master) return { programmed: true, why: `${master} is MASTER` };
    return { programmed: false, why: `${owners.map((n) => `${n} ${this.instanceStates.get(n) ?? 'unknown'}`).join(', ')}: installed only on the MASTER` };
  }

  /** Resolves when the kernel matched the latest desired state (tests). */
  async synced(): Promise<void> {
    await this.sync?.request();
  }

  /** Stop the checkers (shutdown notifiers incl. omega), release our IPVS entries unless -I. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unsubscribe?.();
    if (this.suspendPoll) clearInterval(this.suspendPoll);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const client = this.client;
    if (client) {
      await Promise.race([client.stop(true), new Promise<void>((r) => setTimeout(r, 1000).unref())]);
    }
    await this.host?.terminate().catch(() => undefined);
    this.host = undefined;
    const ipvs = this.ipvs;
    if (ipvs) {
      await this.sync?.request().catch(() => undefined); // let a sync in progress finish
      if (this.options.dontReleaseIpvs) {
        this.log.info('Leaving IPVS entries in place (--dont-release-ipvs)');
      } else if (this.config.global.lvsFlushOnStop === 'all') {
        await ipvs.flush().catch((e: unknown) => this.log.error(`IPVS: flush at stop failed: ${(e as Error).message}`));
      } else if (this.sync) {
        const owned = new Set(this.sync.ownedKeys().map(serviceKeyId));
        for (const e of this.client?.desired() ?? []) owned.add(serviceKeyId(e.service.key));
        const actual = await ipvs.getAll().catch(() => [] as ServiceEntry[]);
        const ops: IpvsOp[] = actual.filter((e) => owned.has(serviceKeyId(e.service.key))).map((e) => ({ op: 'del-service', key: e.service.key }));
        if (ops.length > 0) {
          const errors = await ipvs.apply(ops).catch(() => []);
          errors.forEach((err, i) => {
            if (err && ops[i]) this.log.error(`IPVS: ${describeOp(ops[i])}: ${err.message}`);
          });
        }
      }
      if (!this.options.dontReleaseIpvs) await this.stopSyncDaemons();
      ipvs.close();
    }
    await Promise.all([this.notifier?.close(2000), this.alerts?.close(2000)]);
  }

  // ------------------------------------------------------------------ start-up

  /** One preparer for MISC_CHECK and notify scripts, so each is checked and logged once per load. */
  private scriptPreparer(): Pick<ScriptPreparer, 'prepareCommand'> {
    return this.deps.preparer ?? (this.ownPreparer ??= ScriptPreparer.fromGlobalDefs(this.config.global, this.log));
  }

  private openNotifier(): void {
    const cfg = this.config;
    const lvsScripts = configuredNotifyScripts({ vrrpInstances: [], vrrpSyncGroups: [], virtualServers: cfg.virtualServers });
    const hasFifo = cfg.global.notifyFifo || cfg.global.lvsNotifyFifo;
    if (lvsScripts.length === 0 && !hasFifo && !this.deps.fifos) return;
    const preparer = this.scriptPreparer();
    // notify_fifo is also written by the VRRP side; here only lvs events go to it.
    const fifos = this.deps.fifos ?? openNotifyFifos(cfg.global, 'check', { logger: this.log, preparer, spawner: this.deps.spawner });
    this.notifier = new Notifier({ logger: this.log, preparer, fifos, spawner: this.deps.spawner });
    this.notifier.checkScripts(lvsScripts);
  }

  /** `atStart`: lvs_flush runs only then (keepalived flushes at start, never at reload). */
  private async openKernel(atStart: boolean): Promise<void> {
    const g = this.config.global;
    this.kernelTried = true;
    try {
      this.ipvs = await (this.deps.openIpvs ?? (() => openIpvs()))();
    } catch (e) {
      this.log.error(`IPVS: Can't initialize ipvs: ${(e as Error).message} - virtual servers will not be programmed`);
      return;
    }
    const ipvs = this.ipvs;
    if (g.lvsFlush && atStart) {
      await ipvs.flush().catch((e: unknown) => this.log.error(`IPVS: lvs_flush failed: ${(e as Error).message}`));
    }
    await this.setTimeouts();
    this.sync = new IpvsSync(ipvs, () => this.client?.desired() ?? [], {
      filter: (e) => this.installed(e.service.key),
      mayDelete: (key) => this.mayDelete(key),
      onResult: (r, pass) => this.onReconciled(r, pass),
      onError: (err) => {
        this.logOnce(`IPVS: cannot read the kernel tables: ${(err as Error).message}`);
        this.scheduleRetry();
      },
    });
  }

  /** lvs_timeouts (at start, and at reload when the file changed them). */
  private async setTimeouts(): Promise<void> {
    const t = this.config.global.lvsTimeouts;
    if (!t || !this.ipvs) return;
    await this.ipvs
      .setTimeouts({ tcp: t.tcp ?? 0, tcpFin: t.tcpFin ?? 0, udp: t.udp ?? 0 })
      .catch((e: unknown) => this.log.error(`IPVS: lvs_timeouts failed: ${(e as Error).message}`));
  }

  private startHost(): void {
    const host = (this.deps.startHost ?? workerHost)();
    this.host = host;
    const client = new CheckerClient(host.port, (ev) => this.onCheckEvent(ev));
    this.client = client;
    host.onExit((reason) => {
      if (this.stopping || this.host !== host) return;
      this.log.error(`Checker worker died (${reason}) - restarting it`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.stopping) {
          this.startHost();
          this.applySuspend();
        }
      }, this.deps.restartMs ?? 1000);
    });
    client.start(this.specs);
  }

  // ------------------------------------------------------------------ events

  private onCheckEvent(ev: CheckEvent): void {
    if (this.stopping && ev.kind === 'desired') return;
    switch (ev.kind) {
      case 'log':
        this.log.info(ev.message);
        break;
      case 'rs': {
        this.rsSince.set(`${ev.vs} ${ev.rs}`, Date.now());
        const c = this.vsConfig.get(ev.vs);
        const rs = c?.rs.get(ev.rs);
        if (c && rs) this.notifier?.realServer(rs, c.vs, ev.state === 'UP');
        break;
      }
      case 'vs': {
        const c = this.vsConfig.get(ev.vs);
        if (c) this.notifier?.virtualServerQuorum(c.vs, ev.state === 'UP');
        break;
      }
      case 'checker':
        this.log.debug(`checker ${ev.checker} ${ev.up ? 'up' : 'down'}: ${ev.reason}`);
        this.mailChecker(ev);
        break;
      case 'desired':
        void this.sync?.request();
        this.stageTakeovers();
        break;
    }
  }

  /** keepalived check_*.c: smtp_alert(SMTP_MSG_RS, …) when a checker changes state. */
  private mailChecker(ev: Extract<CheckEvent, { kind: 'checker' }>): void {
    const g = this.config.global;
    if (g.notificationEmail.length === 0 || !g.smtpServer || ev.type === undefined) return;
    const spec = this.specs.find((s) => s.id === ev.vs);
    const rsSpec = spec?.realServers.find((r) => r.id === ev.rs);
    const rs = this.vsConfig.get(ev.vs)?.rs.get(ev.rs);
    if (!spec || !rsSpec || !rs) return;
    (this.alerts ??= new SmtpAlerts(this.log)).checker(
      g,
      { type: ev.type, up: ev.up, reason: ev.reason, rsWasAlive: ev.rsWasAlive ?? !ev.up, rsAlive: ev.rsAlive ?? ev.up, rsLabel: rsSpec.label, vsLabel: spec.label },
      rs.smtpAlert,
    );
  }

  private onInstanceState(instance: string, to: VrrpState): void {
    const before = this.instanceStates.get(instance);
    this.instanceStates.set(instance, to);
    if ((before === 'MASTER') === (to === 'MASTER')) return;
    if (to === 'MASTER') this.releaseDue.delete(instance);
    else this.releaseDue.set(instance, this.sync?.passes ?? 0);
    this.applySuspend();
    this.updateSyncDaemon();
    if (this.isGatingInstance(instance)) void this.sync?.request();
  }

  private onReconciled(r: ReconcileResult, pass: number): void {
    for (const op of r.ops) this.log.debug(`IPVS: ${describeOp(op)}`);
    for (const f of r.failed) this.logOnce(`IPVS: ${describeOp(f.op)}: ${f.error.message}`);
    if (r.failed.length > 0) this.scheduleRetry();
    else {
      this.loggedFailures.clear();
      for (const [instance, since] of this.releaseDue) if (pass > since) this.releaseDue.delete(instance);
    }
    // Say when a VRRP-gated virtual server was installed or removed.
    const wanted = new Set((this.client?.desired() ?? []).map((e) => serviceKeyId(e.service.key)));
    for (const spec of this.specs) {
      for (const key of spec.keys) {
        const owners = this.ownersOf(key);
        const id = serviceKeyId(key);
        if (!owners || !wanted.has(id)) continue;
        const now = this.installed(key);
        if (this.lastGate.get(id) === now) continue;
        const had = this.lastGate.has(id);
        this.lastGate.set(id, now);
        if (now) this.log.info(`(${owners.join(',')}) MASTER: virtual server ${keyLabel(key)} installed in IPVS`);
        else if (had) this.log.info(`(${owners.join(',')}) not MASTER: virtual server ${keyLabel(key)} removed from IPVS`);
      }
    }
  }

  private logOnce(message: string): void {
    if (this.loggedFailures.has(message)) return;
    this.loggedFailures.add(message);
    this.log.error(message);
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopping) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopping) void this.sync?.request();
    }, this.deps.retryMs ?? 2000);
    this.retryTimer.unref();
  }

  // ------------------------------------------------------------------ VRRP gating

  private ownersOf(key: ServiceKey): readonly string[] | undefined {
    if (key.kind !== 'addr') return undefined;
    return this.vipOwners.get(vipGateId(key.family, key.address));
  }

  private isGatingInstance(instance: string): boolean {
    for (const owners of this.vipOwners.values()) if (owners.includes(instance)) return true;
    return false;
  }

  /**
   * Whether the reconciler may delete a row of ours that it does not want now. A gated row may be the
   * VRRP child's, installed at a takeover this side has not heard of yet: deleted only when due.
   */
  private mayDelete(key: ServiceKey): boolean {
    const owners = this.ownersOf(key);
    return !owners || owners.some((o) => this.instanceStates.get(o) === 'MASTER' || this.releaseDue.has(o));
  }

  /**
   * Sends the VRRP child what changed in the rows of the gated virtual servers (all of them the first
   * time): what it installs before the VIPs when one of their instances becomes MASTER.
   */
  private stageTakeovers(): void {
    const send = this.deps.onStaged;
    if (!send || !this.hasEngine) return;
    const current = new Map<string, { staged: StagedService; text: string }>();
    for (const e of this.client?.desired() ?? []) {
      const owners = this.ownersOf(e.service.key);
      if (!owners) continue;
      let row = this.stagedRows.get(e);
      if (!row) {
        const ops = planChanges([e], []);
        row = { id: serviceKeyId(e.service.key), ops, json: JSON.stringify(ops) };
        this.stagedRows.set(e, row);
      }
      current.set(row.id, { staged: { id: row.id, owners: [...owners], ops: row.ops }, text: `${owners.join(',')}\n${row.json}` });
    }
    const changes: StagedService[] = [];
    for (const [id, { staged, text }] of current) {
      if (this.stagedSent.get(id) === text) continue;
      this.stagedSent.set(id, text);
      changes.push(staged);
    }
    for (const id of [...this.stagedSent.keys()]) {
      if (current.has(id)) continue;
      this.stagedSent.delete(id);
      changes.push({ id, owners: [], ops: [] });
    }
    if (this.stagedResetDue) {
      this.stagedResetDue = false;
      send({ type: 'ipvs-staged', reset: true, services: [...current.values()].map((c) => c.staged) });
    } else if (changes.length > 0) send({ type: 'ipvs-staged', services: changes });
  }

  /** Whether a service of ours belongs in the kernel now. */
  private installed(key: ServiceKey): boolean {
    const owners = this.ownersOf(key);
    if (!owners) return true;
    return owners.some((n) => this.instanceStates.get(n) === 'MASTER');
  }

  /**
   * ha_suspend: a VS whose address is a VIP is only checked while that VIP is here. Gated by a VRRP
   * instance, "here" is its MASTER state; otherwise (-C, lvs_program_on_all_nodes, an address no instance
   * holds) it is the address itself on a local interface, as keepalived follows it (read every second).
   */
  private applySuspend(): void {
    const client = this.client;
    if (!client) return;
    const handled = new Set<string>();
    const suspended = new Set<string>();
    let byAddress = false;
    for (const spec of this.specs) {
      const vs = this.vsConfig.get(spec.id)?.vs;
      const key = spec.keys[0];
      if (!vs?.haSuspend || vs.key.kind !== 'address' || !key || key.kind !== 'addr') continue;
      const gated = this.ownersOf(key) !== undefined;
      if (!gated) byAddress = true;
      const enabled = gated ? this.installed(key) : this.isLocalAddress(key.family, key.address);
      client.setEnabled(spec.id, enabled);
      handled.add(spec.id);
      if (!enabled) suspended.add(spec.id);
    }
    // Paused before a reload that removed ha_suspend (or the VIP's gating): check it again.
    for (const id of this.suspended) if (!handled.has(id)) client.setEnabled(id, true);
    this.suspended = suspended;
    if (byAddress && this.suspendPoll === undefined && !this.stopping) {
      this.suspendPoll = setInterval(() => this.applySuspend(), 1000);
      this.suspendPoll.unref();
    } else if (!byAddress && this.suspendPoll !== undefined) {
      clearInterval(this.suspendPoll);
      this.suspendPoll = undefined;
    }
  }

  /** Whether an address is configured on one of this namespace's interfaces. */
  private isLocalAddress(family: 'inet' | 'inet6', address: string): boolean {
    const want = canonicalAddress(address);
    for (const list of Object.values(this.localInterfaces())) {
      for (const a of list ?? []) if ((a.family === 'IPv4') === (family === 'inet') && canonicalAddress(a.address) === want) return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ lvs_sync_daemon

  /** lvs_sync_daemon naming an instance is the VRRP child's (daemon/ipvs-takeover.ts), as in keepalived. */
  private vrrpDrivesSyncDaemon(): boolean {
    return this.hasEngine && this.config.global.lvsSyncDaemon?.instance !== undefined;
  }

  private syncDaemonSpec(state: 'master' | 'backup'): SyncDaemon | undefined {
    const sd = this.config.global.lvsSyncDaemon;
    if (!sd) return undefined;
    const inst = sd.instance ? this.config.vrrpInstances.find((i) => i.name === sd.instance) : undefined;
    const d: SyncDaemon = { state, mcastInterface: sd.interface, syncId: sd.syncId ?? inst?.virtualRouterId ?? 0 };
    if (sd.maxlen !== undefined) d.maxLen = sd.maxlen;
    if (sd.group !== undefined) d.mcastGroup = sd.group;
    if (sd.port !== undefined) d.mcastPort = sd.port;
    if (sd.ttl !== undefined) d.mcastTtl = sd.ttl;
    return d;
  }

  /**
   * Start, move (master/backup) or restart the sync daemon so that it matches the configuration and
   * the named instance's state; called on instance state changes and at reload.
   */
  private updateSyncDaemon(): void {
    const sd = this.vrrpDrivesSyncDaemon() ? undefined : this.config.global.lvsSyncDaemon;
    const ipvs = this.ipvs;
    if (!ipvs || this.stopping) return;
    const role: 'master' | 'backup' | undefined = !sd ? undefined : sd.instance && this.instanceStates.get(sd.instance) === 'MASTER' ? 'master' : 'backup';
    const spec = role ? this.syncDaemonSpec(role) : undefined;
    const json = spec ? JSON.stringify(spec) : undefined;
    if (json === this.syncDaemonJson) return;
    const previous = this.syncDaemonRole;
    // Handed to the VRRP child by a reload: it stops and restarts the daemon itself.
    if (!spec && this.vrrpDrivesSyncDaemon()) {
      this.syncDaemonRole = undefined;
      this.syncDaemonJson = undefined;
      return;
    }
    this.syncDaemonRole = role;
    this.syncDaemonJson = json;
    this.syncDaemonChain = this.syncDaemonChain.then(async () => {
      if (previous) await ipvs.stopDaemon(previous).catch(() => undefined);
      else {
        // Left over from a previous run (kill -9): start from a clean slate.
        for (const s of ['master', 'backup'] as const) {
          await ipvs.stopDaemon(s).catch(() => undefined);
        }
      }
      if (!spec || !role) {
        this.log.info(`Stopped IPVS ${previous ?? ''} sync daemon: lvs_sync_daemon is no longer configured`);
        return;
      }
      try {
        await ipvs.startDaemon(spec);
        this.log.info(`Starting IPVS ${role} sync daemon on ${spec.mcastInterface}, syncid ${spec.syncId}`);
      } catch (e) {
        this.log.error(`IPVS: cannot start ${role} sync daemon on ${spec.mcastInterface}: ${(e as Error).message}`);
      }
    });
  }

  private async stopSyncDaemons(): Promise<void> {
    await this.syncDaemonChain;
    const role = this.syncDaemonRole;
    if (!role || !this.ipvs) return;
    this.syncDaemonRole = undefined;
    this.syncDaemonJson = undefined;
    await this.ipvs.stopDaemon(role).catch(() => undefined);
  }
}

/** A `hooks.onEngine` function that also remembers its runtime, for `stop()` at shutdown. */
export interface CheckersHook {
  /** `engine` undefined (-C, checkers only): every virtual server is installed. */
  (engine: EngineView | undefined, config: Config, log: Logger): Promise<void>;
  runtime(): CheckersRuntime | undefined;
  /** SIGHUP: the new configuration, once it parsed without errors (CheckersRuntime.reload). */
  reload(config: Config): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `runDaemon(options, { onEngine: attachCheckers(options) })`, then `await hook.stop()` during the
 * daemon's stop (before the logger closes). Does nothing with -P (VRRP only).
 */
export function attachCheckers(options: Pick<DaemonOptions, 'dontReleaseIpvs' | 'vrrpOnly'>, deps: CheckersDeps = {}): CheckersHook {
  let runtime: CheckersRuntime | undefined;
  const hook = (async (engine: EngineView | undefined, config: Config, log: Logger) => {
    if (options.vrrpOnly || runtime) return;
    runtime = new CheckersRuntime(config, log, { dontReleaseIpvs: options.dontReleaseIpvs }, deps);
    try {
      await runtime.start(engine);
    } catch (e) {
      log.error(`Checkers failed to start: ${(e as Error).stack ?? String(e)}`);
    }
  }) as CheckersHook;
  hook.runtime = () => runtime;
  hook.reload = async (config: Config) => {
    await runtime?.reload(config);
  };
  hook.stop = async () => {
    await runtime?.stop();
  };
  return hook;
}

