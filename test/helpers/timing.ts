// Timing bounds for the netns and VM tests without wall-clock thresholds (project rule: a test asserts
// behaviour; timing goals are benchmarks; the suite must pass on a loaded machine).
//
// A bound here is "what the protocol or the configuration requires + a margin", and the margin comes from
// this run's scheduling noise: a NoiseMonitor samples the lateness of short sleeps in a worker thread (so
// the test's own synchronous work - spawnSync of ip/tshark - does not count as noise) over the window in
// which the test measures something, and a daemon's own account of late timers (src/vrrp/late-timers.ts)
// raises it further. On an idle machine the margin is about FLOOR_MS; on a loaded one it grows with what
// the load did to this run, so a test still tells "late because the machine was busy" from "late
// because the daemon did the wrong thing" (e.g. waited for a fourth advert, or never took over).
import { Worker } from 'node:worker_threads';

/** The margin on an idle machine: process wake-ups, a netlink round trip, a pipe to the test. */
export const FLOOR_MS = 100;
/** Multiplier of the noise's p99: a takeover is a chain of a few wake-ups (timer, send, log, reader). */
export const P99_FACTOR = 3;
/**
 * Timers never fire early, so an event before its RFC deadline is a bug, whatever the load. This only
 * covers the capture's timestamps and keepalived's centisecond rounding of the VRRPv3 Skew_Time.
 */
export const EARLY_TOLERANCE_MS = 20;
/** The monitor's stats use at least this many sleeps, however short the window. */
export const MIN_SAMPLES = 50;

// ---- VRRP timers (the tests' own statement of the RFCs, deliberately not imported from src/) ----

/**
 * Skew_Time in ms. RFC 3768 §6.1 (VRRPv2): (256 − Priority) / 256 seconds, whatever the advert interval.
 * RFC 5798 §6.1 (VRRPv3): ((256 − Priority) × Master_Adver_Interval) / 256.
 */
export function skewMs(priority: number, advertIntMs: number, version: 2 | 3 = 2): number {
  return version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * advertIntMs) / 256;
}

/** Master_Down_Interval in ms = 3 × Advertisement_Interval + Skew_Time (RFC 3768 §6.1, RFC 5798 §6.1). */
export function masterDownMs(priority: number, advertIntMs: number, version: 2 | 3 = 2): number {
  return 3 * advertIntMs + skewMs(priority, advertIntMs, version);
}

/** An advert seen on the wire: time in ms (any epoch, the same for all), sender, priority. */
export interface WireAdvert {
  t: number;
  from: string;
  prio: number;
}

export interface Takeover {
  /** The old master's last advert before the new master's first one. */
  last: WireAdvert;
  /** The new master's first advert. */
  first: WireAdvert;
  /** What reset the backup's Master_Down_Timer last: a priority-0 advert (Skew_Time) or a normal one. */
  reason: 'priority 0' | 'master down';
  /** When the backup was due to take over: last.t + Skew_Time or + Master_Down_Interval. */
  dueAt: number;
  /** first.t − dueAt: ≥ −EARLY_TOLERANCE_MS always, ≤ the run's margin unless the daemon is wrong. */
  lateMs: number;
  describe(): string;
}

/**
 * A backup's takeover, read from the wire. RFC 3768 §6.4.2 / RFC 5798 §6.4.2: every advert from the master
 * (priority at least the backup's) resets the backup's Master_Down_Timer to Master_Down_Interval, a
 * priority-0 one to Skew_Time; when it fires the backup sends its first advert as MASTER. So the backup's
 * first advert is due at the master's last advert before it + (priority 0 ? Skew_Time : Master_Down_Interval),
 * which holds on a loaded machine too (a master that stalled before its priority-0 advert is timed out).
 */
export function takeover(
  adverts: readonly WireAdvert[],
  oldMaster: string,
  newMaster: string,
  timers: { skewMs: number; downMs: number },
  /** The new master's first advert at or after this time (e.g. Date.now() when the test acted). */
  since = -Infinity,
): Takeover {
  const sorted = [...adverts].sort((a, b) => a.t - b.t);
  const first = sorted.find((a) => a.from === newMaster && a.prio > 0 && a.t >= since);
  if (!first) throw new Error(`no advert from the new master ${newMaster} on the wire (${sorted.length} adverts captured)`);
  const last = sorted.filter((a) => a.from === oldMaster && a.t <= first.t).at(-1);
  if (!last) throw new Error(`no advert from the old master ${oldMaster} before ${newMaster}'s first`);
  const reason = last.prio === 0 ? 'priority 0' : 'master down';
  const dueAt = last.t + (reason === 'priority 0' ? timers.skewMs : timers.downMs);
  const lateMs = first.t - dueAt;
  return {
    last,
    first,
    reason,
    dueAt,
    lateMs,
    describe: () =>
      `${oldMaster}'s last advert (priority ${last.prio}) → ${newMaster}'s first: ${(first.t - last.t).toFixed(1)} ms; due after ${
        reason === 'priority 0' ? `Skew_Time ${timers.skewMs.toFixed(1)}` : `Master_Down_Interval ${timers.downMs.toFixed(1)}`
      } ms, so ${lateMs.toFixed(1)} ms late`,
  };
}

/** Adverts from `from` with a priority > 0 after `after` (ms): a second MASTER on the wire. */
export function advertsAfter(adverts: readonly WireAdvert[], from: string, after: number): WireAdvert[] {
  return adverts.filter((a) => a.from === from && a.prio > 0 && a.t > after);
}

/** With LKV_VERBOSE set, a measured figure and its bound go to stderr even when the test passes. */
export function verbose(line: string): void {
  if (process.env.LKV_VERBOSE) process.stderr.write(`${line}\n`);
}

// ---- scheduling noise ----

/** Lateness of sleeps in ms. */
export interface Lateness {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(lateMs: readonly number[]): Lateness {
  const s = lateMs.map((x) => Math.max(0, x)).sort((a, b) => a - b);
  const at = (q: number): number => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!);
  return { samples: s.length, p50: at(0.5), p99: at(0.99), max: s.length === 0 ? 0 : s[s.length - 1]! };
}

/** The largest lateness a daemon logged for its own timers ("advert timer ran 12.3 ms late: ..."). */
export function daemonLateMs(lines: Iterable<string | { text: string; at?: number }>, since = -Infinity): number {
  let max = 0;
  for (const l of lines) {
    const text = typeof l === 'string' ? l : l.text;
    if (typeof l !== 'string' && l.at !== undefined && l.at < since) continue;
    const m = / ran (\d+(?:\.\d+)?) ms late/.exec(text);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

/**
 * The margin for a bound in this run: FLOOR_MS + P99_FACTOR × p99 + the worst single stall (the monitor's,
 * or one a daemon logged if longer).
 */
export function marginMs(noise: Lateness, opts: { floorMs?: number; daemonLateMs?: number } = {}): number {
  return (opts.floorMs ?? FLOOR_MS) + P99_FACTOR * noise.p99 + Math.max(noise.max, opts.daemonLateMs ?? 0);
}

export function describeNoise(noise: Lateness, margin: number): string {
  return `scheduling noise in this run: ${noise.samples} sleeps late by p50 ${noise.p50.toFixed(1)} / p99 ${noise.p99.toFixed(1)} / max ${noise.max.toFixed(1)} ms → margin ${margin.toFixed(0)} ms`;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const late = [];
let stopAt = 0;
const tick = () => {
  const t = performance.now();
  setTimeout(() => {
    late.push(performance.now() - t - workerData.periodMs);
    if (stopAt > 0 && late.length >= stopAt) parentPort.postMessage(late);
    else tick();
  }, workerData.periodMs);
};
parentPort.on('message', (min) => {
  stopAt = Math.max(1, min);
  if (late.length >= stopAt) parentPort.postMessage(late);
});
tick();
`;

/**
 * Samples the lateness of back-to-back sleeps of periodMs in a worker thread from start() to stop(), i.e.
 * how long this machine keeps a ready thread waiting for a CPU during the window a test measures.
 */
export class NoiseMonitor {
  private result: Promise<Lateness> | undefined;

  private constructor(private readonly worker: Worker) {
    worker.unref(); // a monitor a failed test never stopped must not keep the run alive
  }

  static start(periodMs = 10): NoiseMonitor {
    return new NoiseMonitor(new Worker(WORKER, { eval: true, workerData: { periodMs } }));
  }

  /** Stops sampling (after at least MIN_SAMPLES sleeps) and returns the lateness seen. Idempotent. */
  stop(): Promise<Lateness> {
    this.result ??= new Promise<Lateness>((resolve, reject) => {
      this.worker.once('message', (late: number[]) => {
        void this.worker.terminate();
        resolve(summarize(late));
      });
      this.worker.once('error', reject);
      this.worker.postMessage(MIN_SAMPLES);
    });
    return this.result;
  }

  /** stop(), then the margin and its description (daemon logs: their "ran N ms late" lines count too). */
  async margin(opts: { floorMs?: number; daemonLogs?: Iterable<string | { text: string; at?: number }>; since?: number } = {}): Promise<{ ms: number; noise: Lateness; text: string }> {
    const noise = await this.stop();
    const ms = marginMs(noise, { floorMs: opts.floorMs, daemonLateMs: opts.daemonLogs === undefined ? 0 : daemonLateMs(opts.daemonLogs, opts.since) });
    return { ms, noise, text: describeNoise(noise, ms) };
  }
}
