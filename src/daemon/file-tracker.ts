// track_file values for VRRP instances (keepalived 2.2.7 track_file.c): the file holds a number (strtol
// base 0); a missing, unreadable or non-numeric file reads as 0, an out-of-range number is ignored (the
// last value stays). keepalived watches the file's directory with inotify (IN_CLOSE_WRITE, IN_DELETE,
// IN_MOVE) so that a file replaced by rename is seen; fs.watch on the directory is inotify too.
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { TrackFile } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import { parseTrackFileValue } from '../check/probe/file.js';

export type FileChangeListener = (name: string, value: number) => void;

/** fs.watch reports each write (IN_MODIFY), not only the close: read once the writer is likely done. */
const SETTLE_MS = 20;

/** The value of a track file now; `last` when the file holds an out-of-range number. */
export function readTrackFileValue(path: string, last: number): number {
  let text = '';
  try {
    text = readFileSync(path).subarray(0, 127).toString('latin1');
  } catch {
    return 0;
  }
  const v = parseTrackFileValue(text);
  return Number.isNaN(v) ? last : v;
}

export class FileTracker {
  private files = new Map<string, { path: string; value: number }>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<FileChangeListener>();
  private stopped = false;

  constructor(private readonly log: Logger) {}

  /** Start, or reload: every file is read now (no change event), directories are watched. */
  configure(defs: readonly TrackFile[]): void {
    const before = this.files;
    this.files = new Map();
    for (const d of defs) {
      const path = resolve(d.path);
      const last = before.get(d.name)?.value ?? 0;
      this.files.set(d.name, { path, value: readTrackFileValue(path, last) });
    }
    const dirs = new Set([...this.files.values()].map((f) => dirname(f.path)));
    for (const [dir, w] of this.watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir) || this.stopped) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => this.changed(dir, file === null ? undefined : String(file)));
        w.on('error', (e) => this.log.warn(`track_file: watching ${dir} failed: ${e.message}`));
        this.watchers.set(dir, w);
      } catch (e) {
        // keepalived: "Track file directory for NAME does not exist - removing"; here the file reads 0.
        const names = [...this.files].filter(([, f]) => dirname(f.path) === dir).map(([n]) => n);
        this.log.error(`Track file directory for ${names.join(', ')} cannot be watched (${(e as Error).message}) - its value stays 0`);
      }
    }
  }

  value(name: string): number | undefined {
    return this.files.get(name)?.value;
  }

  onChange(listener: FileChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  /** Re-read now (tests, and the settled watch event). */
  reread(name: string): void {
    const f = this.files.get(name);
    if (!f || this.stopped) return;
    const value = readTrackFileValue(f.path, f.value);
    if (value === f.value) return;
    f.value = value;
    this.log.info(`Track file ${name} (${f.path}) now ${value}`);
    for (const l of this.listeners) l(name, value);
  }

  private changed(dir: string, file: string | undefined): void {
    for (const [name, f] of this.files) {
      if (dirname(f.path) !== dir || (file !== undefined && basename(f.path) !== file)) continue;
      if (this.pending.has(name)) continue;
      const t = setTimeout(() => {
        this.pending.delete(name);
        this.reread(name);
      }, SETTLE_MS);
      t.unref();
      this.pending.set(name, t);
    }
  }
}
