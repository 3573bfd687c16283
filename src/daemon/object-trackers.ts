// track_file and track_process for the VRRP engine: which trackers an instance gets (keepalived 2.2.7
// vrrp.c vrrp_complete_instance / sync_group_tracking_init rules), their current states, and their
// changes. The engine binds them to instances by tracker name ("file:NAME#i", "process:NAME#g0").
import type { Config, TrackFile, TrackFileRef, TrackProcessRef, VrrpInstance, VrrpSyncGroup, VrrpTrackProcess } from '../config/model.js';
import type { Logger } from '../log/logger.js';
import type { TrackerSpec, TrackerState } from '../vrrp/state-machine.js';
import { FileTracker } from './file-tracker.js';
import { ProcessTracker, type ProcessStatus } from './process-tracker.js';

export interface FileTrackSource {
  configure(defs: readonly TrackFile[]): void;
  value(name: string): number | undefined;
  onChange(listener: (name: string, value: number) => void): () => void;
  stop(): void;
}

export interface ProcessTrackSource {
  configure(specs: readonly VrrpTrackProcess[]): Promise<void>;
  status(name: string): ProcessStatus | undefined;
  onChange(listener: (name: string, status: ProcessStatus) => void): () => void;
  stop(): void;
}

export type ObjectChangeListener = (key: string, state: TrackerState, detail?: string) => void;

/** "file:tf1#g0" → "file:tf1"; undefined for other trackers. */
export function trackedObject(trackerName: string): string | undefined {
  if (!trackerName.startsWith('file:') && !trackerName.startsWith('process:')) return undefined;
  const hash = trackerName.lastIndexOf('#');
  return hash < 0 ? trackerName : trackerName.slice(0, hash);
}

export class ObjectTrackers {
  private files: FileTrackSource | undefined;
  private processes: ProcessTrackSource | undefined;
  private readonly listeners = new Set<ObjectChangeListener>();

  constructor(
    private readonly log: Logger,
    injected: { files?: FileTrackSource | undefined; processes?: ProcessTrackSource | undefined } = {},
  ) {
    if (injected.files) this.useFiles(injected.files);
    if (injected.processes) this.useProcesses(injected.processes);
  }

  /**
   * Start or reload: watch the files and count the processes that an instance or sync group tracks
   * (keepalived init_track_files forgets the others). Kept ones keep their state.
   */
  async configure(config: Config): Promise<void> {
    const owners = [...config.vrrpInstances, ...config.vrrpSyncGroups];
    const fileNames = new Set(owners.flatMap((o) => (o.trackFiles ?? []).map((t) => t.name)));
    const procNames = new Set(owners.flatMap((o) => (o.trackProcesses ?? []).map((t) => t.name)));
    const files = config.trackFiles.filter((f) => fileNames.has(f.name));
    const procs = (config.vrrpTrackProcesses ?? []).filter((p) => procNames.has(p.name));
    if (files.length > 0 && !this.files) this.useFiles(new FileTracker(this.log));
    if (procs.length > 0 && !this.processes) this.useProcesses(new ProcessTracker({ log: this.log }));
    this.files?.configure(files);
    await this.processes?.configure(procs);
  }

  /**
   * The file and process trackers of an instance: its own, then its sync group's. In a sync group without
   * sync_group_tracking_weight (or at priority 255) an instance's own track_file with the default weight 1
   * becomes unweighted and one with another weight is dropped (vrrp_complete_instance); a file or process
   * also tracked by the group is tracked once, with the group's weight unless the instance's is 0.
   */
  trackersFor(ic: VrrpInstance, group: VrrpSyncGroup | undefined): TrackerSpec[] {
    const out: TrackerSpec[] = [];
    const byObject = new Map<string, TrackerSpec>();
    const noWeights = (group !== undefined && !group.syncGroupTrackingWeight) || ic.priority >= 255;
    const why = group !== undefined && !group.syncGroupTrackingWeight ? 'SYNC group' : 'address_owner';
    const add = (kind: 'file' | 'process', t: TrackFileRef | TrackProcessRef, idx: string, owner: 'instance' | 'group'): void => {
      const key = `${kind}:${t.name}`;
      const seen = byObject.get(key);
      if (seen) {
        this.log.info(`(${ic.name}) track_${kind} ${t.name} is configured on VRRP instance and sync group. Remove vrrp instance config`);
        if (seen.weight !== 0) seen.weight = t.weight;
        if (kind === 'file') seen.reverse = t.reverse;
        return;
      }
      let weight = t.weight;
      if (kind === 'file' && owner === 'instance' && noWeights && weight !== 0) {
        if (weight === 1) {
          this.log.error(`(${ic.name}) ignoring weight from tracked file ${t.name} due to ${why}. specify weight 0`);
          weight = 0;
        } else {
          this.log.error(`(${ic.name}) ignoring tracked file ${t.name} with weight ${weight} due to ${why}`);
          return;
        }
      }
      const spec: TrackerSpec = { name: `${key}#${idx}`, weight, reverse: t.reverse, numeric: kind === 'file' ? true : undefined };
      byObject.set(key, spec);
      out.push(spec);
    };
    (ic.trackFiles ?? []).forEach((t, i) => add('file', t, `${i}`, 'instance'));
    (ic.trackProcesses ?? []).forEach((t, i) => add('process', t, `${i}`, 'instance'));
    (group?.trackFiles ?? []).forEach((t, i) => add('file', t, `g${i}`, 'group'));
    (group?.trackProcesses ?? []).forEach((t, i) => add('process', t, `g${i}`, 'group'));
    return out;
  }

  /** A file or process tracker's current state (a value, or up/down and its count); undefined for others. */
  state(trackerName: string): { state: TrackerState; detail?: string | undefined } | undefined {
    const key = trackedObject(trackerName);
    if (key === undefined) return undefined;
    if (key.startsWith('file:')) {
      const v = this.files?.value(key.slice(5));
      return v === undefined ? undefined : { state: v };
    }
    const st = this.processes?.status(key.slice(8));
    return st === undefined ? undefined : { state: st.up, detail: st.detail };
  }

  onChange(listener: ObjectChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.files?.stop();
    this.processes?.stop();
  }

  private useFiles(f: FileTrackSource): void {
    this.files = f;
    f.onChange((name, value) => this.emit(`file:${name}`, value));
  }

  private useProcesses(p: ProcessTrackSource): void {
    this.processes = p;
    p.onChange((name, st) => this.emit(`process:${name}`, st.up, st.detail));
  }

  private emit(key: string, state: TrackerState, detail?: string): void {
    for (const l of this.listeners) l(key, state, detail);
  }
}
