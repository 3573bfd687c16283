// The VRRP child's own IPVS work, done at the moment of a takeover and in keepalived's order
// (vrrp.c vrrp_state_become_master / vrrp_state_leave_master; keepalived's VRRP process also drives
// the sync daemon itself):
//
//   becoming MASTER: advert → the instance's virtual servers into IPVS → VIPs → GARP/NA → sync daemon master
//   leaving MASTER:  sync daemon backup → VIPs removed → (the checker child then removes the virtual servers)
//
// The virtual servers come from the checker child, which keeps the current rows of every MASTER-gated
// virtual server staged here (`ipvs-staged`, through the parent): the health checks run on the backup
// too, so the batch is ready and a takeover costs one pipelined netlink exchange, no IPC round trip.
// Without this, a segment reaching a new master between its VIP and its virtual server was answered by
// the node's own stack with a reset (issue #17). The checker child then adopts the rows as its own.
// The VIP matters most: if IPVS cannot be programmed, or does not answer within TAKEOVER_WAIT_MS,
// the VIPs are added anyway and the log says why.
import type { Config } from '../config/model.js';
import { ERRNO } from '../ipvs/errors.js';
import type { IpvsOp } from '../ipvs/ops.js';
import type { IpvsError, SyncDaemon } from '../ipvs/types.js';
import type { TakeoverHooks } from '../vrrp/instance.js';
import type { Logger } from './log.js';
import { StagedServices, type IpvsStagedMessage } from './process/messages.js';
import type { SyncBindingIo } from './sync-binding.js';

/** The part of the IPVS client used here (IpvsClient, or a fake in tests). */
export interface TakeoverIpvs {
  apply(ops: readonly IpvsOp[]): Promise<Array<IpvsError | undefined>>;
  startDaemon(daemon: SyncDaemon): Promise<void>;
  stopDaemon(state: SyncDaemon['state']): Promise<void>;
  close(): void;
}

/** Longest wait for IPVS before the VIPs are added anyway (the kernel answers in well under 1 ms). */
export const TAKEOVER_WAIT_MS = 250;
/**
 * Longest wait for the backup sync daemon to bind the re-announced connections before it is turned
 * into the master one (the VIPs are in by then; only the master sync daemon's start waits).
 */
export const BINDING_WAIT_MS = 1000;

export interface IpvsTakeoverDeps {
  /** Default: openIpvs() without modprobe (this process never forks; the checker child loads ip_vs). */
  open?: (() => Promise<TakeoverIpvs>) | undefined;
  waitMs?: number | undefined;
  /** Default: syncBindingIo(). */
  syncIo?: (() => SyncBindingIo) | undefined;
  bindingWaitMs?: number | undefined;
}

type SyncRole = SyncDaemon['state'];

/** lvs_sync_daemon when it names an instance of this configuration (keepalived clears it otherwise). */
export function syncDaemonFor(config: Config, log?: Logger): { instance: string; daemon: Omit<SyncDaemon, 'state'> } | undefined {
  const sd = config.global.lvsSyncDaemon;
  if (!sd?.instance) return undefined;
  const inst = config.vrrpInstances.find((i) => i.name === sd.instance);
  if (!inst) {
    log?.warn(`(${sd.instance}) no VRRP instance with this name for lvs_sync_daemon - clearing lvs_sync_daemon config`);
    return undefined;
  }
  const daemon: Omit<SyncDaemon, 'state'> = { mcastInterface: sd.interface, syncId: sd.syncId ?? inst.virtualRouterId };
  if (sd.maxlen !== undefined) daemon.maxLen = sd.maxlen;
  if (sd.group !== undefined) daemon.mcastGroup = sd.group;
  if (sd.port !== undefined) daemon.mcastPort = sd.port;
  if (sd.ttl !== undefined) daemon.mcastTtl = sd.ttl;
  return { instance: inst.name, daemon };
}

export class IpvsTakeover implements TakeoverHooks {
  private readonly staged = new StagedServices();
  private ipvs: TakeoverIpvs | undefined;
  private opening: Promise<TakeoverIpvs | undefined> | undefined;
  private openFailure: string | undefined;
  private syncd: ReturnType<typeof syncDaemonFor>;
  private syncdJson: string | undefined;
  /** The role asked for last, and the role running in the kernel (undefined while none is). */
  private syncdWanted: SyncRole | undefined;
  private syncdRole: SyncRole | undefined;
  private syncdChain: Promise<void> = Promise.resolve();
  /** Set once a configuration with lvs_sync_daemon was seen (leftovers are stopped then, once). */
  private syncdConfigured = false;
  /** What the last install before an instance's VIPs did, logged once the VIPs are in. */
  private readonly installed = new Map<string, string>();
  /** The rows of the virtual servers the last install created (not found there already), by instance. */
  private readonly fresh = new Map<string, IpvsOp[]>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly deps: IpvsTakeoverDeps = {},
  ) {}

  /** `ipvs-staged` from the checker child (through the parent). */
  stage(msg: IpvsStagedMessage): void {
    this.staged.apply(msg);
    // Opened now, so that a takeover never waits for the socket.
    if (msg.services.length > 0) void this.handle();
  }

  /**
   * At start and at each reload: the sync daemon follows lvs_sync_daemon's instance. `isMaster` tells
   * whether that instance is MASTER now. At start, leftovers of an earlier run are stopped first
   * (keepalived does the same after an abnormal exit); a reload that changed the daemon's settings
   * restarts it in its current role.
   */
  configure(config: Config, isMaster: (instance: string) => boolean): void {
    const next = syncDaemonFor(config, this.log);
    const json = next ? JSON.stringify(next) : undefined;
    if (json === this.syncdJson) return;
    const first = !this.syncdConfigured;
    this.syncdConfigured = true;
    this.syncd = next;
    this.syncdJson = json;
    this.syncdWanted = next ? (isMaster(next.instance) ? 'master' : 'backup') : undefined;
    const role = this.syncdWanted;
    this.queueSyncd(async (ipvs) => {
      const running = this.syncdRole;
      if (running) await ipvs.stopDaemon(running).catch(() => undefined);
      else if (first) for (const s of ['master', 'backup'] as const) await ipvs.stopDaemon(s).catch(() => undefined);
      this.syncdRole = undefined;
      if (role) await this.startSyncd(ipvs, role);
      else if (running) this.log.info(`Stopped IPVS ${running} sync daemon: lvs_sync_daemon is no longer configured`);
    });
  }

  async beforeVipsAdded(instance: string): Promise<void> {
    const ops = this.staged.opsFor(instance);
    if (ops.length === 0) return;
    const started = performance.now();
    // The socket was opened when the rows were staged; one that could not be opened then (no ip_vs yet)
    // is tried again in the background, never on the takeover's path. The whole wait is bounded.
    const attempt = (async (): Promise<Array<IpvsError | undefined> | 'unavailable'> => {
      const ipvs = this.ipvs ?? (this.opening ? await this.opening : (void this.handle(), undefined));
      return ipvs ? ipvs.apply(ops) : 'unavailable';
    })();
    const errors = await this.bounded(attempt);
    const ms = (performance.now() - started).toFixed(1);
    if (errors === 'unavailable') {
      this.installed.set(instance, `virtual servers not installed before the VIPs: ${this.openFailure ?? 'IPVS unavailable'}`);
      return;
    }
    if (!errors) {
      this.installed.set(instance, `IPVS did not answer within ${ms} ms: VIPs added before the virtual servers were confirmed`);
      return;
    }
    this.fresh.set(instance, freshRows(ops, errors));
    // EEXIST: already there (the checker child got the MASTER state first, or -C programs it anyway).
    const failed = errors.flatMap((e, i) => (e && e.errno !== ERRNO.EEXIST ? [`${describe(ops[i]!)}: ${e.message}`] : []));
    const count = this.staged.countFor(instance);
    this.installed.set(
      instance,
      failed.length === 0
        ? `${count} virtual server${count === 1 ? '' : 's'} ready in IPVS before the VIPs (${ms} ms)`
        : `IPVS refused ${failed.join('; ')} - VIPs added anyway`,
    );
  }

  afterVipsAdded(instance: string): void {
    const line = this.installed.get(instance);
    if (line !== undefined) {
      this.installed.delete(instance);
      if (line.includes('ready in IPVS')) this.log.info(`(${instance}) ${line}`);
      else this.log.error(`(${instance}) ${line}`);
    }
    const fresh = this.fresh.get(instance) ?? [];
    this.fresh.delete(instance);
    if (this.syncd?.instance === instance) this.switchSyncd('master', fresh);
  }

  async beforeVipsRemoved(instance: string): Promise<void> {
    if (this.syncd?.instance !== instance) return;
    this.switchSyncd('backup');
    await this.bounded(this.syncdChain);
  }

  /** At shutdown, before the VIPs go (keepalived stop_vrrp): the sync daemon stops; the socket closes. */
  async stop(): Promise<void> {
    this.syncd = undefined;
    this.syncdJson = undefined;
    this.syncdWanted = undefined;
    this.queueSyncd(async (ipvs) => {
      const running = this.syncdRole;
      this.syncdRole = undefined;
      if (running) await ipvs.stopDaemon(running).catch(() => undefined);
    }, false);
    await this.syncdChain;
    this.closed = true;
    this.ipvs?.close();
    this.ipvs = undefined;
  }

  // ------------------------------------------------------------------ internals

  /** `work`'s result, or undefined once the takeover has waited TAKEOVER_WAIT_MS (or `waitMs`) for it. */
  private async bounded<T>(work: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((r) => (timer = setTimeout(r, this.deps.waitMs ?? TAKEOVER_WAIT_MS, undefined)));
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * keepalived ipvs_syncd_master / ipvs_syncd_backup: stop the other role, start this one. Becoming
   * master, the virtual servers just installed (`installed`) first get the backup's synced connections
   * bound to their real servers, while the backup daemon still runs (sync-binding.ts).
   */
  private switchSyncd(role: SyncRole, installed: readonly IpvsOp[] = []): void {
    if (!this.syncd || this.syncdWanted === role) return;
    this.syncdWanted = role;
    const other: SyncRole = role === 'master' ? 'backup' : 'master';
    const sd = this.syncd;
    this.queueSyncd(async (ipvs) => {
      if (this.syncdRole === 'backup' && role === 'master' && installed.length > 0) await this.bindSynced(sd, installed);
      await ipvs.stopDaemon(this.syncdRole ?? other).catch(() => undefined);
      this.syncdRole = undefined;
      await this.startSyncd(ipvs, role);
    });
  }

  private async bindSynced(sd: NonNullable<typeof this.syncd>, installed: readonly IpvsOp[]): Promise<void> {
    // Loaded on first use, as the IPVS client is: most VRRP children never need it.
    const { bindSyncedConnections, syncBindingIo } = await import('./sync-binding.js');
    const io = (this.deps.syncIo ?? syncBindingIo)();
    const outcome = await bindSyncedConnections(installed, sd.daemon, io, this.deps.bindingWaitMs ?? BINDING_WAIT_MS);
    const prefix = `(${sd.instance}) IPVS sync`;
    if (outcome.kind === 'failed') this.log.warn(`${prefix}: synced connections left unbound to their real servers: ${outcome.why}`);
    if (outcome.kind !== 'done') return;
    const line = `${prefix}: ${outcome.sent} synced connection${outcome.sent === 1 ? '' : 's'} re-announced to the backup sync daemon, which binds them to their real servers (${outcome.ms.toFixed(1)} ms)`;
    const problems = [
      outcome.unsent > 0 ? `${outcome.unsent} not sent within ${this.deps.bindingWaitMs ?? BINDING_WAIT_MS} ms` : '',
      outcome.dropped > 0 ? `${outcome.dropped} datagram${outcome.dropped === 1 ? '' : 's'} dropped by its full receive buffer` : '',
    ].filter(Boolean);
    if (problems.length > 0) this.log.warn(`${line}; ${problems.join('; ')}: those stay unbound`);
    else this.log.info(line);
  }

  private async startSyncd(ipvs: TakeoverIpvs, role: SyncRole): Promise<void> {
    const sd = this.syncd;
    if (!sd) return;
    try {
      await ipvs.startDaemon({ ...sd.daemon, state: role });
      this.syncdRole = role;
      this.log.info(`Starting IPVS ${role} sync daemon on ${sd.daemon.mcastInterface}, syncid ${sd.daemon.syncId}`);
    } catch (e) {
      this.log.error(`IPVS: cannot start ${role} sync daemon on ${sd.daemon.mcastInterface}: ${(e as Error).message}`);
    }
  }

  /** Sync daemon commands run one after the other; `open`: open the socket for it (not at stop). */
  private queueSyncd(fn: (ipvs: TakeoverIpvs) => Promise<void>, open = true): void {
    this.syncdChain = this.syncdChain.then(async () => {
      const ipvs = open ? await this.handle() : this.ipvs;
      if (ipvs) await fn(ipvs);
    });
  }

  /** The IPVS socket, opened once; a failed open is retried at the next use (ip_vs may load later). */
  private handle(): Promise<TakeoverIpvs | undefined> {
    if (this.ipvs || this.closed) return Promise.resolve(this.ipvs);
    this.opening ??= (this.deps.open ?? openDefault)().then(
      (ipvs) => {
        this.opening = undefined;
        if (this.closed) {
          ipvs.close();
          return undefined;
        }
        this.ipvs = ipvs;
        this.openFailure = undefined;
        return ipvs;
      },
      (e: unknown) => {
        this.opening = undefined;
        const why = (e as Error).message;
        if (why !== this.openFailure) this.log.warn(`IPVS: cannot open it from the VRRP process: ${why}`);
        this.openFailure = why;
        return undefined;
      },
    );
    return this.opening;
  }
}

/**
 * The add-service ops that created their virtual server, with their add-dest ops. A virtual server that
 * was there already (EEXIST) had its synced connections bound as they arrived.
 */
export function freshRows(ops: readonly IpvsOp[], errors: ReadonlyArray<IpvsError | undefined>): IpvsOp[] {
  const created = new Set<string>();
  const out: IpvsOp[] = [];
  ops.forEach((op, i) => {
    if (op.op === 'add-service' && !errors[i]) created.add(JSON.stringify(op.service.key));
    if ((op.op === 'add-service' && !errors[i]) || (op.op === 'add-dest' && created.has(JSON.stringify(op.key)))) out.push(op);
  });
  return out;
}

function describe(op: IpvsOp): string {
  if (op.op === 'add-service') {
    const k = op.service.key;
    return `virtual server ${k.kind === 'fwmark' ? `FWM ${k.fwmark}` : `[${k.address}]:${k.protocol}:${k.port}`}`;
  }
  if (op.op === 'add-dest') return `real server [${op.dest.address}]:${op.dest.port}`;
  return op.op;
}

/** Loaded on first use: a VRRP child without IPVS work never loads the IPVS client. */
async function openDefault(): Promise<TakeoverIpvs> {
  const { openIpvs } = await import('../ipvs/client.js');
  return openIpvs({ modprobe: false, dumpSockets: 1 });
}
