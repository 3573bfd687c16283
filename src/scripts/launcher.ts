// The VRRP process never forks a script itself: a small helper process (launcher-main.ts) does it.
//
// Why: child_process.spawn() forks the whole Node process from the event loop's thread, which blocks
// it for the page-table copy: 4 ms median and 9 ms worst on an idle 2-core host, 13 ms under load
// (the CI reload test: an advert 12.9 ms late). keepalived forks a small C process; lvskeeper's VRRP
// child ran vrrp_script checks every interval and notify scripts right after a state change, each a
// late-advert risk. Forking from a worker thread was measured too: still 3-4 ms (fork holds the mm
// lock, then copy-on-write faults). With the launcher, the VRRP process only writes a short IPC message.
//
// The helper is forked once (before any script runs) and again on demand if it dies; a script running
// when it dies is reported as not started. Scripts lead their own session (spawn.ts), so a script in
// progress survives a dead launcher, as it would survive a dead keepalived.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PreparedScript } from './script-security.js';
import type { RunningScript, ScriptExit, ScriptSpawner, SpawnOptions } from './spawn.js';

/** VRRP process → launcher. */
export interface LauncherRequest {
  type: 'run';
  id: number;
  script: PreparedScript;
  extraArgs: readonly string[];
  options: Pick<SpawnOptions, 'captureStderr'>;
}

/** A spawn error as it crosses the IPC channel. */
export interface SerializedSpawnError {
  message: string;
  code?: string | undefined;
  errno?: number | undefined;
  syscall?: string | undefined;
  path?: string | undefined;
}

/** Launcher → VRRP process. */
export type LauncherReply =
  | { type: 'started'; id: number; pid: number | undefined }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null; stderrTail: string; spawnError?: SerializedSpawnError | undefined };

export function serializeSpawnError(e: NodeJS.ErrnoException): SerializedSpawnError {
  return { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path };
}

function spawnErrorFrom(s: SerializedSpawnError): NodeJS.ErrnoException {
  return Object.assign(new Error(s.message), { code: s.code, errno: s.errno, syscall: s.syscall, path: s.path });
}

interface InFlight {
  pid: number | undefined;
  /** A kill asked for before the launcher reported the pid. */
  pendingSignal: NodeJS.Signals | undefined;
  resolve(exit: ScriptExit): void;
}

export interface ScriptLauncherOptions {
  /** The launcher module (default: launcher-main.js beside this file). */
  modulePath?: string | undefined;
  warn(message: string): void;
}

export class ScriptLauncher {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly inFlight = new Map<number, InFlight>();
  private closed = false;
  private readonly modulePath: string;

  constructor(private readonly options: ScriptLauncherOptions) {
    this.modulePath = options.modulePath ?? fileURLToPath(new URL('./launcher-main.js', import.meta.url));
  }

  /** Fork the helper now (at start-up, before the engine runs), rather than at the first script. */
  start(): void {
    this.ensureChild();
  }

  /** The ScriptSpawner the track-script runner and the notifiers use. */
  readonly spawner: ScriptSpawner = (script, extraArgs = [], options = {}) => this.run(script, extraArgs, options);

  private ensureChild(): ChildProcess | undefined {
    if (this.closed) return undefined;
    if (this.child) return this.child;
    let child: ChildProcess;
    try {
      child = fork(this.modulePath, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    } catch (e) {
      this.options.warn(`cannot start the script launcher: ${(e as Error).message}`);
      return undefined;
    }
    // Never what keeps this process alive: scripts in flight are waited for by their callers' timers.
    child.unref();
    child.channel?.unref();
    child.on('message', (msg: LauncherReply) => this.onReply(msg));
    child.on('error', (e) => this.options.warn(`script launcher: ${e.message}`));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.closed) return;
      const how = signal ? `signal ${signal}` : `status ${code}`;
      this.options.warn(`script launcher exited (${how}); ${this.inFlight.size} script(s) in progress reported as failed, the next script starts a new launcher`);
      for (const [id, f] of this.inFlight) {
        this.inFlight.delete(id);
        f.resolve(notStartedExit(`script launcher exited (${how})`));
      }
    });
    this.child = child;
    return child;
  }

  private onReply(msg: LauncherReply): void {
    const f = this.inFlight.get(msg.id);
    if (!f) return;
    if (msg.type === 'started') {
      f.pid = msg.pid;
      if (f.pendingSignal && msg.pid !== undefined) signalGroup(msg.pid, f.pendingSignal);
      f.pendingSignal = undefined;
      return;
    }
    this.inFlight.delete(msg.id);
    f.resolve({ code: msg.code, signal: msg.signal, stderrTail: msg.stderrTail, spawnError: msg.spawnError && spawnErrorFrom(msg.spawnError) });
    this.disconnectIfIdle();
  }

  private run(script: PreparedScript, extraArgs: readonly string[], options: SpawnOptions): RunningScript {
    const id = this.nextId++;
    let resolve!: (exit: ScriptExit) => void;
    const exited = new Promise<ScriptExit>((r) => (resolve = r));
    const f: InFlight = { pid: undefined, pendingSignal: undefined, resolve };
    const notStarted = (message: string): RunningScript => {
      resolve(notStartedExit(message));
      return { pid: undefined, kill() {}, exited };
    };
    const child = this.ensureChild();
    if (!child) return notStarted(this.closed ? 'script launcher closed' : 'script launcher unavailable');
    this.inFlight.set(id, f);
    const request: LauncherRequest = { type: 'run', id, script, extraArgs, options: { captureStderr: options.captureStderr } };
    try {
      child.send(request);
    } catch (e) {
      this.inFlight.delete(id);
      return notStarted(`script launcher: ${(e as Error).message}`);
    }
    return {
      get pid() {
        return f.pid;
      },
      kill(signal) {
        // Signalled from here (a kill(2), no fork): the script leads its own process group.
        if (f.pid !== undefined) signalGroup(f.pid, signal);
        else f.pendingSignal = signal;
      },
      exited,
    };
  }

  /** No new scripts; the helper goes once the scripts in progress have reported their exit. */
  close(): void {
    this.closed = true;
    this.disconnectIfIdle();
  }

  private disconnectIfIdle(): void {
    if (!this.closed || this.inFlight.size > 0 || !this.child) return;
    const child = this.child;
    this.child = undefined;
    if (child.connected) child.disconnect();
  }
}

/** A script the launcher could not start (or lost track of). */
function notStartedExit(message: string): ScriptExit {
  return { code: null, signal: null, stderrTail: '', spawnError: Object.assign(new Error(message), { code: 'ELAUNCHER' }) };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
