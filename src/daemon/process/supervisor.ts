// The parent side of lvskeeper's process layout (keepalived's): a parent that forks a VRRP child and
// a checker child, so that checker load can never delay VRRP adverts. The supervisor forks named
// children, keeps a typed IPC channel to each, respawns a child that dies unexpectedly (rate
// limited, then gives up), and stops them in order on TERM/INT: signal, wait, then SIGKILL.
//
// Log phrases (keepalived's, with the child's name):
//   "Starting VRRP child process, pid=6712"
//   "VRRP child process(6694) died: Respawning"
//   "VRRP child process(6694) died: Exiting"           (-R / --dont-respawn, or a permanent error)
//   "VRRP child process(6694) died 5 times in 60 s: giving up"   (lvskeeper; the daemon then exits)

import { fork, type ChildProcess } from 'node:child_process';
import { IpcChannel, type Message } from './ipc.js';
import { removePidFile, writePidFile } from './pidfile.js';

/** A child exiting with this code reports a permanent error (e.g. its configuration cannot work): no respawn. */
export const CHILD_EXIT_PERMANENT = 78; // EX_CONFIG

export interface ChildSpec {
  /** "VRRP", "Checker": used in the log phrases and to address the child. */
  name: string;
  /** The module to fork (a .js file). */
  modulePath: string;
  args?: string[];
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Written with the child's pid at each (re)spawn, removed when it exits. */
  pidFile?: string | undefined;
}

export interface RespawnPolicy {
  /** More deaths than this within windowMs: give up (default 5). */
  maxDeaths: number;
  windowMs: number; // 60 000
  /** Delay before the 2nd respawn within the window; doubles for each further one (default 1000). */
  backoffMs: number;
  maxBackoffMs: number; // 30 000
}

export const DEFAULT_RESPAWN: RespawnPolicy = { maxDeaths: 5, windowMs: 60_000, backoffMs: 1000, maxBackoffMs: 30_000 };

export interface SupervisorLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export type StopReason =
  | { kind: 'stopped' }
  | { kind: 'dont-respawn'; child: string; pid: number }
  | { kind: 'permanent-error'; child: string; pid: number; code: number }
  | { kind: 'respawn-limit'; child: string; pid: number; deaths: number };

export interface SupervisorExit {
  reason: StopReason;
  /** What the daemon should exit with: 0 after stop(), 1 otherwise. */
  exitCode: number;
}

export interface SupervisorOptions<Down extends Message, Up extends Message> {
  /** -R: a dying child stops the daemon instead of being respawned. */
  dontRespawn?: boolean;
  respawn?: Partial<RespawnPolicy>;
  /** Time each child has to exit after the stop signal before SIGKILL (default 5000). */
  stopTimeoutMs?: number;
  /** Order of stopping, by name; unnamed children after, in reverse start order. Default: reverse start order. */
  stopOrder?: string[];
  log?: SupervisorLog;
  onMessage?: (child: string, msg: Up) => void;
  onRequest?: (child: string, msg: Up) => unknown;
  /** After every fork, also respawns (respawn = true): e.g. to send it a state snapshot. */
  onSpawn?: (child: string, pid: number, respawn: boolean) => void;
  onChildExit?: (child: string, pid: number, code: number | null, signal: NodeJS.Signals | null) => void;
  now?: () => number;
  /** For tests; default the real fork. */
  forkChild?: (spec: ChildSpec) => ChildProcess;
}

export interface ChildInfo {
  name: string;
  pid: number | undefined;
  /** Number of respawns since start. */
  respawns: number;
  running: boolean;
}

interface Slot<Down extends Message, Up extends Message> {
  spec: ChildSpec;
  proc: ChildProcess | undefined;
  channel: IpcChannel<Down, Up> | undefined;
  deaths: number[];
  respawns: number;
  respawnTimer: ReturnType<typeof setTimeout> | undefined;
  exited: Promise<void>;
}

const consoleLog: SupervisorLog = {
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`${m}\n`),
  error: (m) => process.stderr.write(`${m}\n`),
};

function defaultFork(spec: ChildSpec): ChildProcess {
  return fork(spec.modulePath, spec.args ?? [], {
    execArgv: spec.execArgv ?? [],
    env: spec.env ?? process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
}

export class Supervisor<Down extends Message, Up extends Message> {
  private readonly slots = new Map<string, Slot<Down, Up>>();
  private readonly order: string[] = [];
  private readonly policy: RespawnPolicy;
  private readonly log: SupervisorLog;
  private readonly now: () => number;
  private stopping = false;
  private started = false;
  private stopPromise: Promise<SupervisorExit> | undefined;
  private resolveDone!: (e: SupervisorExit) => void;
  /** Resolves once, when every child is gone after stop() or after a fatal child death. */
  readonly done: Promise<SupervisorExit>;

  constructor(
    specs: ChildSpec[],
    private readonly options: SupervisorOptions<Down, Up> = {},
  ) {
    this.policy = { ...DEFAULT_RESPAWN, ...options.respawn };
    this.log = options.log ?? consoleLog;
    this.now = options.now ?? Date.now;
    this.done = new Promise((r) => (this.resolveDone = r));
    for (const spec of specs) {
      if (this.slots.has(spec.name)) throw new Error(`duplicate child name ${spec.name}`);
      this.order.push(spec.name);
      this.slots.set(spec.name, {
        spec,
        proc: undefined,
        channel: undefined,
        deaths: [],
        respawns: 0,
        respawnTimer: undefined,
        exited: Promise.resolve(),
      });
    }
  }

  /** Forks every child (in the order given). */
  start(): void {
    if (this.started) throw new Error('supervisor already started');
    this.started = true;
    for (const name of this.order) this.spawn(this.slots.get(name)!, false);
  }

  children(): ChildInfo[] {
    return this.order.map((name) => {
      const s = this.slots.get(name)!;
      return { name, pid: s.proc?.pid, respawns: s.respawns, running: s.proc !== undefined };
    });
  }

  pid(name: string): number | undefined {
    return this.slots.get(name)?.proc?.pid;
  }

  send(name: string, msg: Down): boolean {
    return this.slots.get(name)?.channel?.send(msg) ?? false;
  }

  broadcast(msg: Down, except?: string): void {
    for (const name of this.order) if (name !== except) this.send(name, msg);
  }

  request<R = unknown>(name: string, msg: Down, timeoutMs = 5000): Promise<R> {
    const ch = this.slots.get(name)?.channel;
    if (!ch) return Promise.reject(new Error(`${name} child is not running`));
    return ch.request<R>(msg, timeoutMs);
  }

  /** Sends a signal to one child (or all); false when it is not running. */
  signal(name: string | undefined, sig: NodeJS.Signals): boolean {
    let any = false;
    for (const n of name === undefined ? this.order : [name]) {
      const p = this.slots.get(n)?.proc;
      if (p?.pid !== undefined) {
        try {
          p.kill(sig);
          any = true;
        } catch {
          /* gone */
        }
      }
    }
    return any;
  }

  /**
   * Stops the children one after the other (stopOrder): signal (default SIGTERM), wait up to
   * stopTimeoutMs, then SIGKILL. No respawn from here on. Idempotent.
   */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<SupervisorExit> {
    return this.stopWith({ kind: 'stopped' }, signal);
  }

  private stopWith(reason: StopReason, signal: NodeJS.Signals): Promise<SupervisorExit> {
    if (this.stopPromise) return this.stopPromise;
    this.stopping = true;
    const timeout = this.options.stopTimeoutMs ?? 5000;
    const named = (this.options.stopOrder ?? []).filter((n) => this.slots.has(n));
    const rest = [...this.order].reverse().filter((n) => !named.includes(n));
    this.stopPromise = (async () => {
      for (const name of [...named, ...rest]) {
        const slot = this.slots.get(name)!;
        if (slot.respawnTimer) clearTimeout(slot.respawnTimer);
        slot.respawnTimer = undefined;
        const proc = slot.proc;
        if (!proc) continue;
        try {
          proc.kill(signal);
        } catch {
          /* already gone */
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const killed = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeout)));
        const r = await Promise.race([slot.exited.then(() => 'exited' as const), killed]);
        clearTimeout(timer);
        if (r === 'timeout' && slot.proc === proc) {
          this.log.warn(`${name} child process(${proc.pid}) did not stop within ${timeout} ms: killing it`);
          try {
            proc.kill('SIGKILL');
          } catch {
            /* gone */
          }
          await slot.exited;
        }
      }
      const exit: SupervisorExit = { reason, exitCode: reason.kind === 'stopped' ? 0 : 1 };
      this.resolveDone(exit);
      return exit;
    })();
    return this.stopPromise;
  }

  private spawn(slot: Slot<Down, Up>, respawn: boolean): void {
    slot.respawnTimer = undefined;
    if (this.stopping) return;
    const name = slot.spec.name;
    let proc: ChildProcess;
    try {
      proc = (this.options.forkChild ?? defaultFork)(slot.spec);
    } catch (e) {
      // fork itself failed (EAGAIN, ENOMEM): count it as a death so that backoff and give-up apply
      this.log.error(`${name} child process: cannot fork: ${(e as Error).message}`);
      slot.proc = undefined;
      slot.channel = undefined;
      this.afterExit(slot, -1, 1, null);
      return;
    }
    slot.proc = proc;
    const channel = new IpcChannel<Down, Up>(proc);
    slot.channel = channel;
    channel.onMessage((msg) => this.options.onMessage?.(name, msg));
    channel.onRequest((msg) => {
      if (!this.options.onRequest) throw new Error(`the parent does not answer ${msg.type}`);
      return this.options.onRequest(name, msg);
    });
    proc.on('error', (e) => this.log.error(`${name} child process: ${e.message}`));
    const pid = proc.pid;
    if (respawn) slot.respawns++;
    if (pid !== undefined) {
      this.log.info(`Starting ${name} child process, pid=${pid}`);
      if (slot.spec.pidFile) {
        try {
          writePidFile(slot.spec.pidFile, pid);
        } catch (e) {
          this.log.warn((e as Error).message);
        }
      }
    }
    slot.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, sig) => {
        channel.close();
        if (slot.proc === proc) {
          slot.proc = undefined;
          slot.channel = undefined;
        }
        if (slot.spec.pidFile && pid !== undefined) removePidFile(slot.spec.pidFile, pid);
        this.options.onChildExit?.(name, pid ?? -1, code, sig);
        resolve();
        this.afterExit(slot, pid ?? -1, code, sig);
      });
    });
    if (pid !== undefined) this.options.onSpawn?.(name, pid, respawn);
  }

  private afterExit(slot: Slot<Down, Up>, pid: number, code: number | null, sig: NodeJS.Signals | null): void {
    if (this.stopping) return;
    const name = slot.spec.name;
    const how = sig ? `signal ${sig}` : `exit code ${code}`;
    if (code === CHILD_EXIT_PERMANENT) {
      this.log.error(`${name} child process(${pid}) died: Exiting (permanent error, ${how})`);
      void this.stopWith({ kind: 'permanent-error', child: name, pid, code }, 'SIGTERM');
      return;
    }
    if (this.options.dontRespawn) {
      this.log.error(`${name} child process(${pid}) died: Exiting (${how})`);
      void this.stopWith({ kind: 'dont-respawn', child: name, pid }, 'SIGTERM');
      return;
    }
    const now = this.now();
    slot.deaths = slot.deaths.filter((t) => now - t < this.policy.windowMs);
    slot.deaths.push(now);
    const n = slot.deaths.length;
    if (n > this.policy.maxDeaths) {
      this.log.error(
        `${name} child process(${pid}) died ${n} times in ${Math.round(this.policy.windowMs / 1000)} s: giving up (${how})`,
      );
      void this.stopWith({ kind: 'respawn-limit', child: name, pid, deaths: n }, 'SIGTERM');
      return;
    }
    const delay = respawnDelay(n, this.policy);
    this.log.warn(
      delay === 0
        ? `${name} child process(${pid}) died: Respawning`
        : `${name} child process(${pid}) died: Respawning in ${delay} ms (${n} deaths in ${Math.round(this.policy.windowMs / 1000)} s)`,
    );
    if (delay === 0) this.spawn(slot, true);
    else slot.respawnTimer = setTimeout(() => this.spawn(slot, true), delay);
  }
}

/** 0 for the first death in the window, then backoffMs, doubling, capped at maxBackoffMs. */
export function respawnDelay(deathsInWindow: number, policy: RespawnPolicy): number {
  if (deathsInWindow <= 1) return 0;
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (deathsInWindow - 2));
}
