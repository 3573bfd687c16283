// GC pauses that explain a late VRRP timer: the pure overlap rule, and the observer on this process.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { GcWatch, describeGcPauses } from '../../../src/daemon/gc-watch.js';

describe('describeGcPauses', () => {
  const pauses = [
    { start: 100, duration: 2, kind: 'minor' },
    { start: 500, duration: 11.5, kind: 'major' },
    { start: 512, duration: 1, kind: 'minor' },
  ];
  it('names the pauses that overlap the late interval, with their total', () => {
    expect(describeGcPauses(pauses, 498, 510)).toBe('a major garbage collection paused the process for 11.5 ms');
    expect(describeGcPauses(pauses, 505, 515)).toBe('2 garbage collections (major+minor) paused the process for 12.5 ms');
  });
  it('nothing when no pause overlaps (touching ends do not count)', () => {
    expect(describeGcPauses(pauses, 102, 499)).toBeUndefined();
    expect(describeGcPauses([], 0, 1e9)).toBeUndefined();
  });
});

describe('GcWatch', () => {
  it('sees this process collect garbage', async () => {
    const watch = new GcWatch();
    try {
      const from = performance.now();
      let keep: unknown[] = [];
      // Enough short-lived objects for several scavenges.
      for (let i = 0; i < 2_000_000; i++) {
        keep.push({ i });
        if (keep.length > 1000) keep = [];
      }
      expect(await watch.explain(from, performance.now())).toMatch(/garbage collection.* paused the process for \d+\.\d ms$/);
      expect(await watch.explain(from - 10_000, from - 5_000)).toBeUndefined();
    } finally {
      watch.close();
    }
  });
});
