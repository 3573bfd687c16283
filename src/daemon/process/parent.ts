// The lvskeeper parent process: pid file, systemd notifications, signals, and the supervised VRRP
// and checker children, wired together. run.ts builds the child specs (which module, which
// arguments: -P/-C decide which children exist) and calls startParent().
//
//   start   pid file (refuses "daemon is already running") → fork children → READY=1 once every
//           child sent `ready`; STATUS= shows the instance states
//   HUP     RELOADING=1 + MONOTONIC_USEC → beforeReload() (parse/validate; an error aborts the reload
//           and nothing changes) → `reload` to each child in turn → its `reload-done` → READY=1
//           (a HUP during a reload runs one more reload afterwards, never two at once)
//   TERM/INT  STOPPING=1 → children stopped in order (VRRP first: priority-0 adverts go out before
//           the checker removes IPVS entries) → pid file removed → exit code
//   USR1 / USR2 / STATS_CLEAR / JSON  `dump` requests to the children → the dump file, mode 0600
//   VRRP `instance-state` → forwarded to the checker child (and replayed to a respawned one)
//   checker `ipvs-staged` → forwarded to the VRRP child (and replayed to a respawned one)

import type { GlobalDefs } from '../../config/model.js';
import { STATUS_SCHEMA, type DaemonStatus, type StatusSnapshot } from '../status/model.js';
import type { WatchEvent } from './control.js';
import { writeDump, renderJsonDump, type DumpFileKind } from './dump.js';
import type { ChildToParent, DumpKind, DumpReply, InstanceStateMessage, ParentToChild } from './messages.js';
import { InstanceStateRelay, StagedServices } from './messages.js';
import { acquirePidFile, type PidFile } from './pidfile.js';
import { createNotifier, type Notifier } from './sd-notify.js';
import { installSignalHandlers, type SignalTarget } from './signals.js';
import { Supervisor, type ChildSpec, type RespawnPolicy, type SupervisorLog } from './supervisor.js';

export const VRRP_CHILD = 'VRRP';
export const CHECKER_CHILD = 'Checker';

export interface ParentOptions {
  /** In start order; stopped VRRP first. Names VRRP_CHILD / CHECKER_CHILD get the state relay. */
  children: ChildSpec[];
  /** -p (default /run/lvskeeper.pid). */
  pidFile: string;
  /** -R */
  dontRespawn?: boolean;
  respawn?: Partial<RespawnPolicy>;
  stopTimeoutMs?: number;
  log: SupervisorLog;
  /** Default: createNotifier() (no-op without NOTIFY_SOCKET). */
  notifier?: Notifier;
  /** The current global_defs, for the dump file locations. */
  globalDefs?: () => Partial<GlobalDefs> | undefined;
  /** Parse and validate the new configuration at SIGHUP; a returned message aborts the reload. */
  beforeReload?: () => Promise<string | undefined> | string | undefined;
  /** How long the children have to report reload-done (default 30 s). */
  reloadTimeoutMs?: number;
  /** Tests: where signals come from (default process). */
  signals?: SignalTarget;
  /** Tests: the pid to write (default process.pid). */
  pid?: number;
  /** What status says of the daemon itself. */
  describe?: () => Pick<DaemonStatus, 'version' | 'configFile' | 'routerId'>;
}

export interface ParentHandle {
  supervisor: Supervisor<ParentToChild, ChildToParent>;
  /** Resolves with the exit code once everything stopped (after stop(), a fatal child death, or `fatal`). */
  done: Promise<number>;
  stop(): Promise<number>;
  /** Resolves true when every child reported a successful reload. */
  reload(): Promise<boolean>;
  /** Writes a dump file; resolves with its path. */
  dump(kind: DumpKind): Promise<string>;
  /** Latest instance states, as the VRRP child reported them. */
  instanceStates(): InstanceStateMessage[];
  /** The daemon's status: its own counters and each running child's answer (bounded wait). */
  status(): Promise<StatusSnapshot>;
  /** State changes, reloads and respawns as they happen (status --watch). */
  subscribe(fn: (ev: WatchEvent) => void): () => void;
}

/** Longest a status request waits for a child (a respawning or busy child is left out, not waited for). */
const STATUS_WAIT_MS = 2000;

/** Throws PidFileError ("daemon is already running ...") before forking anything. */
export function startParent(o: ParentOptions): ParentHandle {
  const pidFile: PidFile = acquirePidFile(o.pidFile, o.pid ?? process.pid);
  const log = o.log;
  const notifier = o.notifier ?? createNotifier({ warn: (m) => log.warn(m) });
  const relay = new InstanceStateRelay();
  const staged = new StagedServices();
  const ready = new Set<string>();
  let announcedReady = false;
  let fatalReason: string | undefined;
  const reloadWaiters = new Map<string, (r: { ok: boolean; error?: string | undefined }) => void>();
  const startedAt = Date.now();
  const reloads = { ok: 0, refused: 0 };
  const respawns: Record<string, number> = {};
  const watchers = new Set<(ev: WatchEvent) => void>();
  const publish = (ev: Omit<WatchEvent, 'at'> & { at?: number | undefined }): void => {
    const full = { ...ev, at: ev.at ?? Date.now() };
    for (const w of watchers) w(full);
  };

  const statusLine = (): string => {
    const states = relay.snapshot().states;
    if (states.length === 0) return `${ready.size}/${o.children.length} children ready`;
    return states.map((s) => `${s.instance} ${s.state}`).join(', ');
  };

  let stopFn: () => Promise<number> = async () => 0;
  let stopRequested = false;

  const supervisor = new Supervisor<ParentToChild, ChildToParent>(o.children, {
    dontRespawn: o.dontRespawn,
    respawn: o.respawn,
    stopTimeoutMs: o.stopTimeoutMs,
    stopOrder: [VRRP_CHILD, CHECKER_CHILD],
    log,
    onSpawn: (name, pid, respawn) => {
      ready.delete(name);
      if (respawn) {
        respawns[name] = (respawns[name] ?? 0) + 1;
        publish({ kind: 'respawn', child: name, text: `${name} child process respawned (pid ${pid})` });
      }
      if (name === VRRP_CHILD && respawn) relay.clear();
      if (name === VRRP_CHILD) supervisor.send(name, staged.snapshot());
      if (name === CHECKER_CHILD) supervisor.send(name, relay.snapshot());
    },
    onChildExit: (name) => {
      ready.delete(name);
      reloadWaiters.get(name)?.({ ok: false, error: `${name} child exited during the reload` });
    },
    onMessage: (name, msg) => {
      switch (msg.type) {
        case 'ready':
          ready.add(name);
          if (!announcedReady && o.children.every((c) => ready.has(c.name))) {
            announcedReady = true;
            notifier.ready(statusLine());
          }
          break;
        case 'instance-state':
          if (msg.from !== undefined && msg.from !== msg.state) {
            const why = msg.reason ? ` (${msg.reason})` : '';
            publish({ at: msg.at, kind: 'state', instance: msg.instance, from: msg.from, to: msg.state, reason: msg.reason, text: `${msg.instance} ${msg.from} -> ${msg.state}${why}` });
          }
          if (relay.update(msg)) {
            supervisor.send(CHECKER_CHILD, msg);
            if (announcedReady) notifier.status(statusLine());
          }
          break;
        case 'ipvs-staged':
          staged.apply(msg);
          supervisor.send(VRRP_CHILD, msg);
          break;
        case 'reload-done':
          reloadWaiters.get(name)?.({ ok: msg.ok, error: msg.error });
          break;
        case 'fatal':
          log.error(`${name} child process: ${msg.reason}: stopping`);
          fatalReason ??= msg.reason;
          void stopFn();
          break;
      }
    },
  });

  // ---- reload: one at a time; a HUP during a reload runs one more afterwards
  let reloadRunning: Promise<boolean> | undefined;
  let reloadAgain = false;
  const reloadOnce = async (): Promise<boolean> => {
    log.info('Reloading ...');
    notifier.reloading('reloading');
    try {
      // Whatever the check throws refuses the reload; it must never end the parent (issue #12).
      const problem = await Promise.resolve()
        .then(() => o.beforeReload?.())
        .catch((e: unknown) => `the new configuration could not be checked: ${e instanceof Error ? e.message : String(e)}`);
      if (problem !== undefined) {
        log.error(`Reload aborted, the running configuration stays: ${problem}`);
        reloads.refused++;
        publish({ kind: 'reload', ok: false, text: `reload refused: ${problem}` });
        return false;
      }
      const names = supervisor.children().filter((c) => c.running).map((c) => c.name);
      const timeout = o.reloadTimeoutMs ?? 30_000;
      const reloadChild = (name: string): Promise<{ name: string; ok: boolean; error?: string | undefined }> =>
        new Promise((resolve) => {
          const timer = setTimeout(() => finish({ ok: false, error: `no reload-done within ${timeout} ms` }), timeout);
          const finish = (r: { ok: boolean; error?: string | undefined }): void => {
            clearTimeout(timer);
            reloadWaiters.delete(name);
            resolve({ name, ...r });
          };
          reloadWaiters.set(name, finish);
          if (!supervisor.send(name, { type: 'reload' })) finish({ ok: false, error: 'not running' });
        });
      // One child after the other, in start order (VRRP first): the VRRP child reports the states of
      // added or renamed instances before its reload-done, so the checker child already knows them
      // when it applies its part and never drops a virtual server it is about to keep.
      const results: Array<{ name: string; ok: boolean; error?: string | undefined }> = [];
      for (const name of names) {
        const r = await reloadChild(name);
        results.push(r);
        // A child that refused (e.g. the file changed between this check and its own read) stops the
        // reload there: the next child keeps the running configuration too, so both stay on one file.
        if (!r.ok) break;
      }
      const failed = results.filter((r) => !r.ok);
      for (const f of failed) log.error(`${f.name} child process: reload failed: ${f.error ?? 'unknown error'}`);
      const skipped = names.slice(results.length);
      if (skipped.length > 0) log.error(`Reload aborted, the running configuration stays in the ${skipped.join(', ')} child process${skipped.length > 1 ? 'es' : ''}`);
      if (failed.length === 0) log.info('Reload complete');
      if (failed.length === 0) reloads.ok++;
      else reloads.refused++;
      publish({ kind: 'reload', ok: failed.length === 0, text: failed.length === 0 ? 'reload complete' : `reload failed: ${failed.map((f) => `${f.name}: ${f.error ?? 'unknown error'}`).join('; ')}` });
      return failed.length === 0;
    } finally {
      notifier.ready(statusLine());
    }
  };
  const reload = (): Promise<boolean> => {
    if (reloadRunning) {
      reloadAgain = true;
      log.info('Reload requested while reloading: it will run once the current one is done');
      return reloadRunning;
    }
    reloadRunning = (async () => {
      let ok = await reloadOnce();
      while (reloadAgain) {
        reloadAgain = false;
        ok = await reloadOnce();
      }
      reloadRunning = undefined;
      return ok;
    })();
    return reloadRunning;
  };

  // ---- dumps
  const dump = async (kind: DumpKind): Promise<string> => {
    const names = supervisor.children().filter((c) => c.running).map((c) => c.name);
    const replies = await Promise.all(
      names.map((name) =>
        supervisor.request<DumpReply | null>(name, { type: 'dump', what: kind }, 5000).then(
          (r) => [name, (r ?? {}) as DumpReply] as const,
          (e: unknown) => {
            log.warn(`${name} child process: no dump: ${e instanceof Error ? e.message : String(e)}`);
            return [name, {} as DumpReply] as const;
          },
        ),
      ),
    );
    const file: DumpFileKind = kind === 'json' ? 'json' : kind === 'data' ? 'data' : 'stats';
    const content =
      kind === 'json'
        ? renderJsonDump(Object.fromEntries(replies.map(([n, r]) => [n, r.json ?? null])))
        : replies.map(([, r]) => r.text ?? '').join('');
    const path = writeDump(file, content, o.globalDefs?.());
    log.info(`${kind === 'stats-clear' ? 'Stats (cleared)' : kind === 'json' ? 'JSON' : kind === 'data' ? 'Data' : 'Stats'} written to ${path}`);
    return path;
  };
  const dumpLogged = (kind: DumpKind): void =>
    void dump(kind).catch((e: unknown) => log.error(`cannot write the ${kind} dump: ${e instanceof Error ? e.message : String(e)}`));

  // ---- status: the parent's own counters and each running child's part
  const status = async (): Promise<StatusSnapshot> => {
    const names = supervisor.children().filter((c) => c.running).map((c) => c.name);
    const parts = await Promise.all(
      names.map((name) =>
        supervisor.request<Partial<StatusSnapshot> | null>(name, { type: 'status' }, STATUS_WAIT_MS).catch((e: unknown) => {
          log.warn(`${name} child process: no status: ${e instanceof Error ? e.message : String(e)}`);
          return null;
        }),
      ),
    );
    const merged = Object.assign({}, ...parts.map((p) => p ?? {})) as Partial<StatusSnapshot>;
    return {
      schema: STATUS_SCHEMA,
      at: Date.now(),
      daemon: {
        pid: o.pid ?? process.pid,
        version: '0.0.0',
        configFile: '',
        ...o.describe?.(),
        startedAt,
        reloads: { ...reloads },
        childRespawns: { vrrp: respawns[VRRP_CHILD] ?? 0, checker: respawns[CHECKER_CHILD] ?? 0 },
      },
      instances: merged.instances ?? [],
      syncGroups: merged.syncGroups ?? [],
      trackers: merged.trackers ?? [],
      virtualServers: merged.virtualServers ?? [],
      gcPauses: merged.gcPauses,
    };
  };

  // ---- stop and exit
  let finished: Promise<number> | undefined;
  const finish = (exitCode: number): Promise<number> => {
    finished ??= Promise.resolve().then(() => {
      uninstall();
      pidFile.release();
      return fatalReason !== undefined && exitCode === 0 ? 1 : exitCode;
    });
    return finished;
  };
  stopFn = () => {
    if (!stopRequested) log.info('Stopping'); // keepalived's phrase, once
    stopRequested = true;
    notifier.stopping();
    return supervisor.stop().then((e) => finish(e.exitCode));
  };
  const uninstall = installSignalHandlers(
    {
      STOP: () => void stopFn(),
      RELOAD: () => void reload(),
      DATA: () => dumpLogged('data'),
      STATS: () => dumpLogged('stats'),
      STATS_CLEAR: () => dumpLogged('stats-clear'),
      JSON: () => dumpLogged('json'),
    },
    o.signals,
  );
  const done = supervisor.done.then((e) => {
    if (e.exitCode !== 0) notifier.stopping();
    return finish(e.exitCode);
  });
  try {
    supervisor.start();
  } catch (e) {
    uninstall();
    pidFile.release();
    throw e;
  }
  return {
    supervisor,
    done,
    stop: () => stopFn(),
    reload,
    dump,
    instanceStates: () => relay.snapshot().states,
    status,
    subscribe: (fn) => {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
  };
}
