// Monotonic clock and timer host. The real one keeps deadlines exact: setTimeout only has whole-ms
// granularity and fires up to ~1 ms late, so we wake up early and re-arm with setImmediate for the last
// milliseconds until the monotonic clock reaches the deadline. Tests use FakeTimers.
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
}

export interface TimerHandle {
  cancel(): void;
}

export interface TimerHost extends Clock {
  /** Run fn at (or just after) the absolute monotonic deadline. */
  at(deadlineMs: number, fn: () => void): TimerHandle;
}

const SPIN_MS = 1;

export const realTimers: TimerHost = {
  now: () => performance.now(),
  at(deadlineMs, fn) {
    let cancelled = false;
    let t: NodeJS.Timeout | undefined;
    let i: NodeJS.Immediate | undefined;
    const arm = (): void => {
      if (cancelled) return;
      const remaining = deadlineMs - performance.now();
      if (remaining <= 0.02) {
        fn();
      } else if (remaining < SPIN_MS) {
        i = setImmediate(arm);
      } else {
        // libuv timers have whole-ms resolution against a cached (slightly stale) loop time: floor()
        // wakes us at most ~1 ms early and we finish with setImmediate (a sub-ms busy wait per timer).
        // Waking earlier spins longer, which on a loaded host only invites preemption (measured).
        t = setTimeout(arm, Math.floor(remaining));
      }
    };
    arm();
    return {
      cancel() {
        cancelled = true;
        if (t) clearTimeout(t);
        if (i) clearImmediate(i);
      },
    };
  },
};

/** Deterministic timers for unit tests: advance() runs due callbacks in deadline order. */
export class FakeTimers implements TimerHost {
  private t = 0;
  private seq = 0;
  private queue: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  at(deadlineMs: number, fn: () => void): TimerHandle {
    const e = { at: deadlineMs, seq: this.seq++, fn, live: true };
    this.queue.push(e);
    return { cancel: () => void (e.live = false) };
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.queue = this.queue.filter((e) => e.live);
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
  pending(): number {
    return this.queue.filter((e) => e.live).length;
  }
}
