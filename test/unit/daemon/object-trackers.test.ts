// The adapters behind track_process (ProcessTracker, with an injected process table) and track_file
// (FileTracker on a real directory: writes and renames are seen through the directory watch).
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VrrpTrackProcess } from '../../../src/config/model.js';
import { FileTracker, readTrackFileValue } from '../../../src/daemon/file-tracker.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { ProcessTracker } from '../../../src/daemon/process-tracker.js';
import type { ProcessInfo } from '../../../src/vrrp/track-process.js';

const spec = (over: Partial<VrrpTrackProcess> = {}): VrrpTrackProcess => ({
  name: 'web', location: { file: 'k.conf', line: 1 }, process: 'nginx', params: [], paramMatch: 'none', fullCommand: false,
  quorum: 1, quorumMax: 4294967295, weight: 0, weightReverse: false, terminateDelayMs: 0, forkDelayMs: 0, ...over,
});

describe('ProcessTracker', () => {
  it('counts at configure, reports quorum changes, keeps a kept definition\'s state at reload', async () => {
    let table: ProcessInfo[] = [{ pid: 1, comm: 'nginx' }];
    const log = createMemoryLogger();
    const pt = new ProcessTracker({ log, scan: async () => table, intervalMs: 3_600_000 });
    const events: [string, boolean, string][] = [];
    pt.onChange((n, s) => events.push([n, s.up, s.detail]));
    await pt.configure([spec()]);
    expect(pt.status('web')).toEqual({ up: true, count: 1, detail: '1 process, quorum 1' });
    table = [];
    await pt.tick();
    expect(events).toEqual([['web', false, '0 processes, quorum 1']]);
    expect(log.lines.map((l) => l.msg)).toContain('Quorum lost for tracked process web (0 processes, quorum 1)');
    // reload with the same definition: no re-count, no event
    table = [{ pid: 2, comm: 'nginx' }];
    await pt.configure([spec({ location: { file: 'k.conf', line: 9 } })]);
    expect(pt.status('web')?.up).toBe(false);
    await pt.tick();
    expect(events.at(-1)).toEqual(['web', true, '1 process, quorum 1']);
    // a changed definition is counted afresh
    await pt.configure([spec({ quorum: 2 })]);
    expect(pt.status('web')).toMatchObject({ up: false, count: 1 });
    pt.stop();
  });
});

describe('FileTracker', () => {
  it('reads at configure and follows writes and renames in the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsk-tf-'));
    try {
      const path = join(dir, 'v');
      writeFileSync(path, '5\n');
      const ft = new FileTracker(createMemoryLogger());
      const seen: number[] = [];
      ft.onChange((_n, v) => seen.push(v));
      ft.configure([{ name: 'tf', path, weight: 1, weightReverse: false, location: { file: 'k.conf', line: 1 } }]);
      expect(ft.value('tf')).toBe(5);
      writeFileSync(path, '0x10\n');
      await expect.poll(() => ft.value('tf'), { timeout: 2000 }).toBe(16);
      writeFileSync(join(dir, 'tmp'), '-3');
      renameSync(join(dir, 'tmp'), path);
      await expect.poll(() => ft.value('tf'), { timeout: 2000 }).toBe(-3);
      rmSync(path);
      await expect.poll(() => ft.value('tf'), { timeout: 2000 }).toBe(0);
      expect(seen).toEqual([16, -3, 0]);
      ft.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing or non-numeric file reads 0; an out-of-range number keeps the last value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsk-tf-'));
    try {
      expect(readTrackFileValue(join(dir, 'none'), 7)).toBe(0);
      writeFileSync(join(dir, 'a'), 'abc');
      expect(readTrackFileValue(join(dir, 'a'), 7)).toBe(0);
      writeFileSync(join(dir, 'b'), '99999999999');
      expect(readTrackFileValue(join(dir, 'b'), 7)).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
