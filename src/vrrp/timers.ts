// Monotonic clock and timer host. The real one keeps deadlines exact to a few tens of µs, as keepalived's
// timerfd does, which a bare setTimeout cannot:
//  - libuv's clock is whole ms, truncated and cached per loop iteration, and epoll_wait sleeps "due − that
//    clock" from the real now: a timer wakes anywhere in [due, due + 1 ms) (up to 2 ms on HZ=1000 kernels,
//    where libuv reads CLOCK_MONOTONIC_COARSE: there, expect up to ~1 ms lateness again);
//  - Linux lets epoll_wait overshoot by its timer slack, 0.1 % of the timeout (0.5 % when niced, at least
//    50 µs; fs/select.c select_estimate_accuracy): 3.6 ms for a 3648 ms Master_Down_Interval.
// So a long wait sleeps to 1 % + 1 ms before the deadline, then again for the short rest (where the slack
// is tens of µs), and the last ~1-2 ms are finished with setImmediate, which keeps serving I/O while it
// waits (measured in bench:failover: ~1.5 ms of spinning per expiry, i.e. ~0.15 % CPU per 1 s timer).
// Tests use FakeTimers.
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

/** Margin for libuv's whole-ms clock: the last sleep ends at least this long before the deadline. */
const SPIN_MS = 1;
/** Share of a sleep kept in reserve for epoll_wait's timer slack (0.1 % of the timeout, 0.5 % when niced). */
const SLACK_MARGIN = 0.01;

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
      } else {
        const sleepMs = Math.floor(remaining - SPIN_MS - remaining * SLACK_MARGIN);
        // setTimeout(0) would be 1 ms: under that, finish with setImmediate.
        if (sleepMs >= 1) t = setTimeout(arm, sleepMs);
        else i = setImmediate(arm);
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
