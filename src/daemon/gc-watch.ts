// The recent garbage collections of this process, to explain a late VRRP timer (src/vrrp/late-timers.ts).
// Node hands GC entries to a PerformanceObserver only after the interrupted code ran, so a question about
// a stall that just ended is answered a little later.
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import type { StallExplainer } from '../vrrp/late-timers.js';

const KEEP = 64;
/** How long to wait for the GC entries of a stall that just ended. */
const SETTLE_MS = 20;

const KIND_NAMES: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callback',
};

interface GcPause {
  start: number;
  duration: number;
  kind: string;
}

/** Describes the GC pauses that overlap [from, to], or undefined (pure: for tests). */
export function describeGcPauses(pauses: readonly GcPause[], fromMs: number, toMs: number): string | undefined {
  const hits = pauses.filter((p) => p.start < toMs && p.start + p.duration > fromMs);
  if (hits.length === 0) return undefined;
  const total = hits.reduce((sum, p) => sum + p.duration, 0);
  const kinds = [...new Set(hits.map((p) => p.kind))].join('+');
  return `${hits.length > 1 ? `${hits.length} garbage collections (${kinds})` : `a ${kinds} garbage collection`} paused the process for ${total.toFixed(1)} ms`;
}

/** A pause at least this long is counted (lvskeeper_gc_pauses_total): long enough to matter to a VRRP timer. */
export const LONG_GC_PAUSE_MS = 10;

export class GcWatch {
  private readonly pauses: GcPause[] = [];
  /** Pauses of LONG_GC_PAUSE_MS or more since the process started. */
  longPauses = 0;
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.record(e);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  private record(e: PerformanceEntry): void {
    const kind = ((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind;
    this.pauses.push({ start: e.startTime, duration: e.duration, kind: (kind !== undefined && KIND_NAMES[kind]) || 'unknown' });
    if (e.duration >= LONG_GC_PAUSE_MS) this.longPauses++;
    if (this.pauses.length > KEEP) this.pauses.shift();
  }

  readonly explain: StallExplainer = (fromMs, toMs) =>
    new Promise((resolve) => {
      setTimeout(() => resolve(describeGcPauses(this.pauses, fromMs, toMs)), SETTLE_MS).unref();
    });

  close(): void {
    this.observer.disconnect();
  }
}
