// vrrp_track_process: counts the matching processes (vrrp/track-process.ts) and reports quorum changes.
//
// Why /proc polling and not the proc connector keepalived prefers: NETLINK_CONNECTOR exists only in the
// initial network namespace (the kernel registers it on init_net), so a daemon started in a namespace
// (ip netns exec, our tests, containers) cannot open it, and the addon's netlink receiver cannot send
// the PROC_CN_MCAST_LISTEN subscription anyway. keepalived itself reads /proc (read_procs) at start and
// after lost events; here /proc is read every POLL_MS, so a change is seen within that interval.
import { readdir, readFile } from 'node:fs/promises';
import type { VrrpTrackProcess } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import { countProcesses, describeCount, haveQuorum, needsCmdline, nextQuorumState, parseProcStat, type ProcessInfo, type QuorumState } from '../vrrp/track-process.js';

export const POLL_MS = 1000;

export interface ProcessStatus {
  up: boolean;
  count: number;
  /** "0 processes, quorum 1" */
  detail: string;
}

export type ProcessChangeListener = (name: string, status: ProcessStatus) => void;

export interface ProcessTrackerOptions {
  log: Logger;
  intervalMs?: number | undefined;
  /** Reads the process table (tests inject one); default: /proc. */
  scan?: ((withCmdline: boolean) => Promise<ProcessInfo[]>) | undefined;
}

/** Every process of /proc: comm and state from /proc/PID/stat, cmdline when asked. Vanished PIDs are skipped. */
export async function scanProc(withCmdline: boolean): Promise<ProcessInfo[]> {
  const pids = (await readdir('/proc')).filter((d) => d.charCodeAt(0) > 48 && d.charCodeAt(0) <= 57);
  const out = await Promise.all(
    pids.map(async (d): Promise<ProcessInfo | undefined> => {
      try {
        const info = parseProcStat(Number(d), await readFile(`/proc/${d}/stat`, 'latin1'));
        if (info && withCmdline && !info.zombie) info.cmdline = await readFile(`/proc/${d}/cmdline`, 'latin1');
        return info;
      } catch {
        return undefined; // exited meanwhile
      }
    }),
  );
  return out.filter((p): p is ProcessInfo => p !== undefined);
}

const sameSpec = (a: VrrpTrackProcess, b: VrrpTrackProcess): boolean =>
  JSON.stringify({ ...a, location: undefined }) === JSON.stringify({ ...b, location: undefined });

export class ProcessTracker {
  private readonly specs = new Map<string, VrrpTrackProcess>();
  private readonly states = new Map<string, QuorumState>();
  private readonly delayTimers = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<ProcessChangeListener>();
  private poll: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = false;
  private readonly scan: (withCmdline: boolean) => Promise<ProcessInfo[]>;

  constructor(private readonly opts: ProcessTrackerOptions) {
    this.scan = opts.scan ?? scanProc;
  }

  /**
   * Start, or reload: a kept definition keeps its state; a new or changed one is counted now, without a
   * change event (the engine reads status() when it builds or reconfigures the instances).
   */
  async configure(specs: readonly VrrpTrackProcess[]): Promise<void> {
    const fresh: VrrpTrackProcess[] = [];
    const next = new Map(specs.map((s) => [s.name, s] as const));
    for (const [name, old] of this.specs) {
      const n = next.get(name);
      if (n && sameSpec(old, n)) continue;
      this.states.delete(name);
      this.cancelDelay(name);
    }
    this.specs.clear();
    for (const s of specs) {
      this.specs.set(s.name, s);
      if (!this.states.has(s.name)) fresh.push(s);
    }
    if (fresh.length > 0) {
      const list = await this.readTable(needsCmdline(fresh));
      for (const s of fresh) {
        const count = list ? countProcesses(s, list) : 0;
        this.states.set(s.name, { up: haveQuorum(s, count), count });
        this.opts.log.info(`Track process ${s.name}: ${describeCount(s, count)}`);
      }
    }
    if (this.specs.size > 0 && !this.poll && !this.stopped) {
      this.poll = setInterval(() => void this.tick(), this.opts.intervalMs ?? POLL_MS);
      this.poll.unref();
    } else if (this.specs.size === 0 && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }

  status(name: string): ProcessStatus | undefined {
    const st = this.states.get(name);
    const spec = this.specs.get(name);
    if (!st || !spec) return undefined;
    return { up: st.up, count: st.count, detail: describeCount(spec, st.count) };
  }

  onChange(listener: ProcessChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    for (const name of [...this.delayTimers.keys()]) this.cancelDelay(name);
  }

  /** One scan now (tests; also what the poll timer runs). */
  tick(): Promise<void> {
    if (this.scanning) return this.scanning;
    this.scanning = (async () => {
      const specs = [...this.specs.values()];
      const list = await this.readTable(needsCmdline(specs));
      if (!list || this.stopped) return;
      for (const s of specs) if (this.specs.get(s.name) === s) this.update(s, countProcesses(s, list));
    })().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async readTable(withCmdline: boolean): Promise<ProcessInfo[] | undefined> {
    try {
      return await this.scan(withCmdline);
    } catch (e) {
      this.opts.log.error(`Track process: cannot read the process table: ${(e as Error).message}`);
      return undefined;
    }
  }

  private update(spec: VrrpTrackProcess, count: number): void {
    const prev = this.states.get(spec.name) ?? { up: haveQuorum(spec, count), count };
    const next = nextQuorumState(spec, prev, count, performance.now());
    this.states.set(spec.name, next);
    if (!next.pending) this.cancelDelay(spec.name);
    else if (!this.delayTimers.has(spec.name)) {
      const t = setTimeout(() => {
        this.delayTimers.delete(spec.name);
        const cur = this.states.get(spec.name);
        if (cur && this.specs.get(spec.name) === spec) this.update(spec, cur.count);
      }, Math.max(0, next.pending.dueMs - performance.now()) + 1);
      t.unref();
      this.delayTimers.set(spec.name, t);
    }
    if (next.up !== prev.up) {
      // keepalived vrrp_track.c process_update_track_process_status wording.
      this.opts.log.info(`Quorum ${next.up ? 'gained' : 'lost'} for tracked process ${spec.name} (${describeCount(spec, count)})`);
      const status = { up: next.up, count, detail: describeCount(spec, count) };
      for (const l of this.listeners) l(spec.name, status);
    }
  }

  private cancelDelay(name: string): void {
    const t = this.delayTimers.get(name);
    if (t) clearTimeout(t);
    this.delayTimers.delete(name);
  }
}
