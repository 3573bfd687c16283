// The VRRP child's part of `lvskeeper status`: each instance's state and why, from the engine's
// counters, its trackers and the last transition the child saw.
import type { InstanceStats } from '../../vrrp/instance.js';
import { trackerEffect, trackerLabel } from '../../vrrp/state-machine.js';
import type { InstanceStatus, StatusSnapshot, Transition, TrackerStatus, VrrpCounters, VrrpStateName } from './model.js';

export interface InstanceInputs {
  name: string;
  vrid: number;
  family: 'inet' | 'inet6';
  interface?: string | undefined;
  vips: string[];
  stats: InstanceStats;
  /** numeric/value: a track_file and its value; detail: a track_process's count. */
  trackers: Array<{ name: string; weight: number; reverse: boolean; up: boolean; numeric?: boolean | undefined; value?: number | undefined; detail?: string | undefined }>;
  group?: { name: string; state: string } | undefined;
  lastTransition?: Transition | undefined;
  /** When the instance started, for one that has not changed state since. */
  startedAt: number;
  splitBrain?: InstanceStatus['splitBrain'];
  splitBrainEvents?: number | undefined;
}

/** keepalived's counters (its stats file, the exporters' families) from an instance's counters and per-reason drops. */
export function keepalivedCounters(s: InstanceStats): VrrpCounters {
  const n = (k: string): number => s.drops[k] ?? 0;
  return {
    advertRcvd: s.advertsReceived,
    advertSent: s.advertsSent,
    becomeMaster: s.becameMaster,
    releaseMaster: s.releasedMaster,
    packetLenErr: n('too-short') + n('truncated'),
    ipTtlErr: n('ttl'),
    invalidTypeRcvd: n('type'),
    advertIntervalErr: n('interval'),
    addrListErr: n('address-list') + n('address-count'),
    invalidAuthType: n('auth-type'),
    authTypeMismatch: 0,
    authFailure: n('auth-pass') + n('ah-icv') + n('ah-spi') + n('ah-replay'),
    priZeroRcvd: s.priorityZeroReceived,
    priZeroSent: s.priorityZeroSent,
  };
}

export function instanceStatus(i: InstanceInputs): InstanceStatus {
  const s = i.stats;
  const state: VrrpStateName = s.state;
  const priorityChanges = i.trackers.flatMap((t) => {
    const delta = trackerEffect(t, t.numeric ? (t.value ?? 0) : t.up);
    return delta === 0 ? [] : [{ tracker: trackerLabel(t.name), delta }];
  });
  return {
    name: i.name,
    vrid: i.vrid,
    family: i.family,
    interface: i.interface,
    state,
    since: i.lastTransition?.at ?? i.startedAt,
    basePriority: s.basePriority,
    effectivePriority: s.effectivePriority,
    priorityChanges,
    masterAddress: s.masterAddress,
    vips: i.vips,
    vipsPresent: state === 'MASTER',
    syncGroup: i.group?.name,
    lastTransition: i.lastTransition,
    counters: keepalivedCounters(s),
    lateTimers: s.lateTimers,
    splitBrain: i.splitBrain,
    splitBrainEvents: i.splitBrainEvents ?? 0,
  };
}

/** The VRRP child's whole part: instances, their sync groups, and the vrrp_scripts' last results. */
export function vrrpStatus(
  instances: readonly InstanceInputs[],
  scripts: ReadonlyMap<string, string>,
): Pick<StatusSnapshot, 'instances' | 'syncGroups' | 'trackers'> {
  const groups = new Map<string, { name: string; state: string; instances: string[] }>();
  for (const i of instances) {
    if (!i.group) continue;
    const g = groups.get(i.group.name) ?? { name: i.group.name, state: i.group.state, instances: [] };
    g.instances.push(i.name);
    groups.set(i.group.name, g);
  }
  const trackers: TrackerStatus[] = [...scripts].map(([name, status]) => ({ kind: 'script', name, result: status === 'up' ? 'good' : status === 'down' ? 'bad' : 'init' }));
  // Interfaces: each instance's own and its track_interface ones, once each.
  const interfaces = new Map<string, boolean>();
  for (const i of instances) {
    for (const t of i.trackers) {
      const m = /^(?:primary|interface):([^#]+)/.exec(t.name);
      if (m) interfaces.set(m[1]!, t.up);
    }
  }
  for (const [name, up] of interfaces) trackers.push({ kind: 'interface', name, result: up ? 'up' : 'down' });
  // track_file (its value) and track_process (running or not, with the count), once each.
  const objects = new Map<string, TrackerStatus>();
  for (const i of instances) {
    for (const t of i.trackers) {
      const m = /^(file|process):(.*?)(?:#g?\d+)?$/.exec(t.name);
      if (!m) continue;
      const kind = m[1] as 'file' | 'process';
      const result = kind === 'file' ? String(t.value ?? 0) : `${t.up ? 'running' : 'not running'}${t.detail ? ` (${t.detail})` : ''}`;
      objects.set(`${kind}:${m[2]}`, { kind, name: m[2]!, result });
    }
  }
  trackers.push(...objects.values());
  return { instances: instances.map(instanceStatus), syncGroups: [...groups.values()], trackers };
}
