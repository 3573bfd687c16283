// The reload diff (SIGHUP): what changes between the running configuration and the new one, computed
// as keepalived does but so that nothing flaps.
//
// - VRRP instances are matched by identity, not by name: VRID + family + interface + (unicast source
//   address for unicast instances | multicast group). A renamed instance with the same identity is
//   kept (its state — MASTER stays MASTER — and its timers are kept); a changed VRID or interface is
//   a removed instance plus an added one.
// - A removed instance that is MASTER must send an advert with priority 0 and drop its VIPs.
// - VIPs are diffed per instance; a VIP that leaves one instance and joins another is a "move": the
//   engine must hand it over (never delete it from the interface while its new owner is MASTER
//   here), which keepalived(8) says can need two reloads.
// - vrrp_scripts are matched by name; kept ones keep their result (no FAULT blip at reload).
// - Virtual servers are matched by service identity (protocol + address + port, fwmark, or group),
//   real servers by address:port; retained real servers keep their alive state, a weight change is
//   an edit (IPVS EDITDEST), never a delete + add.
//
// Pure: no I/O, no clock. Location (file:line) differences never count as changes.

import type {
  Config,
  GlobalDefs,
  RealServer,
  TrackInterface,
  TrackScript,
  UnicastPeer,
  VirtualIpAddress,
  VirtualServer,
  VirtualServerGroup,
  VirtualServerGroupEntry,
  VrrpInstance,
  VrrpScript,
  VrrpSyncGroup,
} from '../../config/model.js';

// ---------------------------------------------------------------------------------------------
// identities

/** VRID + family + interface + (unicast source | multicast group). */
export function instanceIdentity(i: VrrpInstance): string {
  const transport = i.unicastPeers.length > 0 ? `unicast:${i.unicastSrcIp ?? ''}` : `mcast:${i.mcastGroup}`;
  return `${i.family}|${i.interface ?? ''}|${i.virtualRouterId}|${transport}`;
}

/** How a VIP is identified on an interface: address/prefix and device. */
export function vipIdentity(v: VirtualIpAddress): string {
  return `${v.address}/${v.prefixLength}${v.dev ? ` dev ${v.dev}` : ''}`;
}

export function virtualServerIdentity(vs: VirtualServer): string {
  const k = vs.key;
  switch (k.kind) {
    case 'address':
      return `${vs.protocol}|${k.family === 'inet6' ? `[${k.address}]` : k.address}:${k.port}`;
    case 'fwmark':
      return `fwmark|${k.family ?? 'inet'}|${k.fwmark}`;
    case 'group':
      return `group|${vs.protocol}|${k.group}`;
  }
}

export function realServerIdentity(rs: RealServer): string {
  return `${rs.family === 'inet6' ? `[${rs.address}]` : rs.address}:${rs.port}`;
}

function groupEntryIdentity(e: VirtualServerGroupEntry): string {
  return e.kind === 'address'
    ? `${e.family}|${e.address}${e.rangeEnd ? `-${e.rangeEnd}` : ''}|${e.port}`
    : `fwmark|${e.family ?? ''}|${e.fwmark}`;
}

// ---------------------------------------------------------------------------------------------
// plan types

export interface ListDiff<T> {
  added: T[];
  removed: T[];
}

export interface Change<T> {
  from: T;
  to: T;
}

export interface InstanceChanges {
  /** Set when the instance kept its identity under another name. */
  renamed?: Change<string> | undefined;
  /** virtual_ipaddress and virtual_ipaddress_excluded together. */
  vips: ListDiff<VirtualIpAddress>;
  priority?: Change<number> | undefined;
  advertIntervalMs?: Change<number> | undefined;
  unicastPeers: ListDiff<UnicastPeer>;
  trackInterfaces: ListDiff<TrackInterface> & { changed: Array<Change<TrackInterface>> };
  trackScripts: ListDiff<TrackScript> & { changed: Array<Change<TrackScript>> };
  /** Every other top-level field whose value changed (e.g. "nopreempt", "authentication", "notify"). */
  otherFields: string[];
}

export interface KeptInstance {
  identity: string;
  old: VrrpInstance;
  new: VrrpInstance;
  /** False when nothing but file positions changed. */
  changed: boolean;
  changes: InstanceChanges;
}

export interface RemovedInstance {
  identity: string;
  instance: VrrpInstance;
  /** What the engine must do if it is MASTER now: advert with priority 0, then drop its VIPs. */
  ifMaster: ['send-priority-0', 'remove-vips'];
}

export interface VipMove {
  vip: VirtualIpAddress;
  /** Instance names in the old / new configuration. */
  from: string;
  to: string;
}

export interface KeptScript {
  old: VrrpScript;
  new: VrrpScript;
  /** Changed fields; the script keeps its current result whatever they are. */
  changed: string[];
}

export interface KeptRealServer {
  identity: string;
  old: RealServer;
  new: RealServer;
  /** An IPVS EDITDEST, keeping the alive state. */
  weight?: Change<number> | undefined;
  /** Fields that need an EDITDEST too (forwarding method, tunnel, thresholds). */
  ipvsFields: string[];
  /** The health checks differ: restart this real server's checkers, keeping its alive state. */
  checkersChanged: boolean;
  otherFields: string[];
}

export interface KeptVirtualServer {
  identity: string;
  old: VirtualServer;
  new: VirtualServer;
  /** Fields that need an IPVS EDITSVC (scheduler, persistence, flags…). */
  ipvsFields: string[];
  /** Other changed fields (quorum, sorry server, alpha/omega, timers…). */
  otherFields: string[];
  realServers: ListDiff<RealServer> & { kept: KeptRealServer[] };
  changed: boolean;
}

export interface KeptGroup {
  name: string;
  old: VirtualServerGroup;
  new: VirtualServerGroup;
  entries: ListDiff<VirtualServerGroupEntry>;
}

export interface ReloadPlan {
  global: { changedFields: Array<keyof GlobalDefs> };
  vrrpScripts: ListDiff<VrrpScript> & { kept: KeptScript[] };
  vrrpInstances: ListDiff<VrrpInstance> & { kept: KeptInstance[]; removedActions: RemovedInstance[] };
  vipMoves: VipMove[];
  syncGroups: ListDiff<VrrpSyncGroup> & { kept: Array<{ old: VrrpSyncGroup; new: VrrpSyncGroup; changedFields: string[] }> };
  virtualServerGroups: ListDiff<VirtualServerGroup> & { kept: KeptGroup[] };
  virtualServers: ListDiff<VirtualServer> & { kept: KeptVirtualServer[] };
  /** Things the operator should know (e.g. two new instances with the same identity). */
  warnings: string[];
  /** True when the reload changes nothing at all (only file positions). */
  empty: boolean;
}

// ---------------------------------------------------------------------------------------------
// helpers

/** Canonical JSON without source locations, for equality. */
function canon(v: unknown): string {
  return JSON.stringify(v, (k, val: unknown) => {
    if (k === 'location') return undefined;
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      const o = val as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().filter((key) => o[key] !== undefined).map((key) => [key, o[key]]));
    }
    return val;
  });
}

function same(a: unknown, b: unknown): boolean {
  return canon(a) === canon(b);
}

function changedKeys<T extends object>(a: T, b: T, skip: ReadonlyArray<keyof T>): Array<keyof T> {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as Array<keyof T>);
  const out: Array<keyof T> = [];
  for (const k of keys) {
    if (k === 'location' || skip.includes(k)) continue;
    if (!same(a[k], b[k])) out.push(k);
  }
  return out.sort();
}

/** Diff two lists by identity; `kept` pairs in new-list order. First occurrence wins on duplicates. */
function diffBy<T>(
  oldList: readonly T[],
  newList: readonly T[],
  id: (t: T) => string,
): { added: T[]; removed: T[]; kept: Array<[T, T]>; duplicates: string[] } {
  const oldMap = new Map<string, T>();
  for (const o of oldList) if (!oldMap.has(id(o))) oldMap.set(id(o), o);
  const seen = new Set<string>();
  const duplicates: string[] = [];
  const added: T[] = [];
  const kept: Array<[T, T]> = [];
  for (const n of newList) {
    const k = id(n);
    if (seen.has(k)) {
      duplicates.push(k);
      continue;
    }
    seen.add(k);
    const o = oldMap.get(k);
    if (o === undefined) added.push(n);
    else kept.push([o, n]);
  }
  const removed = oldList.filter((o, idx) => !seen.has(id(o)) && oldList.findIndex((x) => id(x) === id(o)) === idx);
  return { added, removed, kept, duplicates };
}

function listDiff<T>(a: readonly T[], b: readonly T[], id: (t: T) => string): ListDiff<T> {
  const d = diffBy(a, b, id);
  return { added: d.added, removed: d.removed };
}

function keyedChanges<T extends { name: string }>(a: readonly T[], b: readonly T[]): ListDiff<T> & { changed: Array<Change<T>> } {
  const d = diffBy(a, b, (t) => t.name);
  return { added: d.added, removed: d.removed, changed: d.kept.filter(([o, n]) => !same(o, n)).map(([from, to]) => ({ from, to })) };
}

const allVips = (i: VrrpInstance): VirtualIpAddress[] => [...i.virtualIpAddresses, ...i.virtualIpAddressesExcluded];

// ---------------------------------------------------------------------------------------------
// parts

function diffInstance(o: VrrpInstance, n: VrrpInstance): InstanceChanges {
  const structured: Array<keyof VrrpInstance> = [
    'name', 'virtualIpAddresses', 'virtualIpAddressesExcluded', 'priority', 'advertIntervalMs', 'unicastPeers',
    'trackInterfaces', 'trackScripts',
  ];
  const vipsOld = allVips(o);
  const vipsNew = allVips(n);
  const vips = listDiff(vipsOld, vipsNew, vipIdentity);
  // a VIP that moved between the plain and the excluded list, or changed label/scope/brd: remove + add
  const vipChanged = diffBy(vipsOld, vipsNew, vipIdentity).kept.filter(([a, b]) => !same(a, b));
  for (const [a, b] of vipChanged) {
    vips.removed.push(a);
    vips.added.push(b);
  }
  const other = changedKeys(o, n, structured).map(String);
  const plainIds = (i: VrrpInstance): string => i.virtualIpAddresses.map(vipIdentity).sort().join(' ');
  if (vips.added.length + vips.removed.length === 0 && plainIds(o) !== plainIds(n)) {
    other.push('virtualIpAddressesExcluded'); // same addresses, but a different set is advertised
  }
  return {
    renamed: o.name !== n.name ? { from: o.name, to: n.name } : undefined,
    vips,
    priority: o.priority !== n.priority ? { from: o.priority, to: n.priority } : undefined,
    advertIntervalMs: o.advertIntervalMs !== n.advertIntervalMs ? { from: o.advertIntervalMs, to: n.advertIntervalMs } : undefined,
    unicastPeers: listDiff(o.unicastPeers, n.unicastPeers, (p) => canon(p)),
    trackInterfaces: keyedChanges(o.trackInterfaces, n.trackInterfaces),
    trackScripts: keyedChanges(o.trackScripts, n.trackScripts),
    otherFields: other,
  };
}

function instanceChangesAnything(c: InstanceChanges): boolean {
  return (
    c.renamed !== undefined ||
    c.vips.added.length + c.vips.removed.length > 0 ||
    c.priority !== undefined ||
    c.advertIntervalMs !== undefined ||
    c.unicastPeers.added.length + c.unicastPeers.removed.length > 0 ||
    c.trackInterfaces.added.length + c.trackInterfaces.removed.length + c.trackInterfaces.changed.length > 0 ||
    c.trackScripts.added.length + c.trackScripts.removed.length + c.trackScripts.changed.length > 0 ||
    c.otherFields.length > 0
  );
}

/** Fields of a virtual server that IPVS holds (EDITSVC). */
const VS_IPVS_FIELDS: ReadonlyArray<keyof VirtualServer> = [
  'scheduler', 'persistenceTimeout', 'persistenceGranularity', 'persistenceEngine', 'ops', 'schedFlag1', 'schedFlag2', 'schedFlag3',
];
/** Fields of a real server that IPVS holds besides the weight (EDITDEST). */
const RS_IPVS_FIELDS: ReadonlyArray<keyof RealServer> = ['forwardMethod', 'tunnel', 'upperThreshold', 'lowerThreshold'];

function diffRealServer(o: RealServer, n: RealServer): KeptRealServer {
  const changed = changedKeys(o, n, []);
  return {
    identity: realServerIdentity(n),
    old: o,
    new: n,
    weight: o.weight !== n.weight ? { from: o.weight, to: n.weight } : undefined,
    ipvsFields: changed.filter((k) => RS_IPVS_FIELDS.includes(k)).map(String),
    checkersChanged: changed.includes('checkers'),
    otherFields: changed.filter((k) => k !== 'weight' && k !== 'checkers' && !RS_IPVS_FIELDS.includes(k)).map(String),
  };
}

function diffVirtualServer(o: VirtualServer, n: VirtualServer): KeptVirtualServer {
  const changed = changedKeys(o, n, ['realServers', 'key', 'protocol']);
  const rs = diffBy(o.realServers, n.realServers, realServerIdentity);
  const kept = rs.kept.map(([a, b]) => diffRealServer(a, b));
  const keptChanged = kept.filter((k) => k.weight || k.ipvsFields.length || k.checkersChanged || k.otherFields.length);
  return {
    identity: virtualServerIdentity(n),
    old: o,
    new: n,
    ipvsFields: changed.filter((k) => VS_IPVS_FIELDS.includes(k)).map(String),
    otherFields: changed.filter((k) => !VS_IPVS_FIELDS.includes(k)).map(String),
    realServers: { added: rs.added, removed: rs.removed, kept },
    changed: changed.length > 0 || rs.added.length > 0 || rs.removed.length > 0 || keptChanged.length > 0,
  };
}

// ---------------------------------------------------------------------------------------------

export function planReload(oldConfig: Config, newConfig: Config): ReloadPlan {
  const warnings: string[] = [];

  // global_defs
  const globalChanged = changedKeys(oldConfig.global, newConfig.global, []);

  // vrrp_script
  const sd = diffBy(oldConfig.vrrpScripts, newConfig.vrrpScripts, (s) => s.name);
  const scriptsKept: KeptScript[] = sd.kept.map(([o, n]) => ({ old: o, new: n, changed: changedKeys(o, n, []).map(String) }));
  for (const d of sd.duplicates) warnings.push(`vrrp_script ${d} is defined twice; the first one is used`);

  // vrrp_instance, by identity
  const id = diffBy(oldConfig.vrrpInstances, newConfig.vrrpInstances, instanceIdentity);
  for (const d of id.duplicates) {
    const names = newConfig.vrrpInstances.filter((i) => instanceIdentity(i) === d).map((i) => i.name);
    warnings.push(`vrrp_instances ${names.join(', ')} share VRID/family/interface/transport (${d}); only ${names[0]} is used`);
  }
  const kept: KeptInstance[] = id.kept.map(([o, n]) => {
    const changes = diffInstance(o, n);
    return { identity: instanceIdentity(n), old: o, new: n, changes, changed: instanceChangesAnything(changes) };
  });
  const removedActions: RemovedInstance[] = id.removed.map((i) => ({
    identity: instanceIdentity(i),
    instance: i,
    ifMaster: ['send-priority-0', 'remove-vips'],
  }));

  // VIP moves: removed from one instance (kept or removed), added to another (kept or added)
  const gone = new Map<string, string>(); // vip identity → old instance name
  for (const k of kept) for (const v of k.changes.vips.removed) gone.set(vipIdentity(v), k.old.name);
  for (const r of id.removed) for (const v of allVips(r)) gone.set(vipIdentity(v), r.name);
  const vipMoves: VipMove[] = [];
  const arrivals: Array<[VirtualIpAddress, string]> = [
    ...kept.flatMap((k) => k.changes.vips.added.map((v): [VirtualIpAddress, string] => [v, k.new.name])),
    ...id.added.flatMap((i) => allVips(i).map((v): [VirtualIpAddress, string] => [v, i.name])),
  ];
  for (const [v, to] of arrivals) {
    const from = gone.get(vipIdentity(v));
    if (from !== undefined && from !== to) vipMoves.push({ vip: v, from, to });
  }

  // vrrp_sync_group, by name
  const sg = diffBy(oldConfig.vrrpSyncGroups, newConfig.vrrpSyncGroups, (g) => g.name);

  // virtual_server_group, by name
  const vg = diffBy(oldConfig.virtualServerGroups, newConfig.virtualServerGroups, (g) => g.name);
  const groupsKept: KeptGroup[] = vg.kept
    .map(([o, n]) => ({ name: n.name, old: o, new: n, entries: listDiff(o.entries, n.entries, groupEntryIdentity) }))
    .filter((g) => g.entries.added.length + g.entries.removed.length > 0);

  // virtual_server
  const vd = diffBy(oldConfig.virtualServers, newConfig.virtualServers, virtualServerIdentity);
  for (const d of vd.duplicates) warnings.push(`virtual_server ${d} is defined twice; the first one is used`);
  const vsKept = vd.kept.map(([o, n]) => diffVirtualServer(o, n));

  const plan: ReloadPlan = {
    global: { changedFields: globalChanged },
    vrrpScripts: { added: sd.added, removed: sd.removed, kept: scriptsKept },
    vrrpInstances: { added: id.added, removed: id.removed, kept, removedActions },
    vipMoves,
    syncGroups: {
      added: sg.added,
      removed: sg.removed,
      kept: sg.kept.map(([o, n]) => ({ old: o, new: n, changedFields: changedKeys(o, n, []).map(String) })),
    },
    virtualServerGroups: { added: vg.added, removed: vg.removed, kept: groupsKept },
    virtualServers: { added: vd.added, removed: vd.removed, kept: vsKept },
    warnings,
    empty: false,
  };
  plan.empty =
    globalChanged.length === 0 &&
    sd.added.length + sd.removed.length === 0 &&
    scriptsKept.every((s) => s.changed.length === 0) &&
    id.added.length + id.removed.length === 0 &&
    kept.every((k) => !k.changed) &&
    sg.added.length + sg.removed.length === 0 &&
    plan.syncGroups.kept.every((g) => g.changedFields.length === 0) &&
    vg.added.length + vg.removed.length + groupsKept.length === 0 &&
    vd.added.length + vd.removed.length === 0 &&
    vsKept.every((v) => !v.changed);
  return plan;
}

/** One line per change, for the log ("Reloading ..." then these, then "Reload complete"). */
export function describePlan(plan: ReloadPlan): string[] {
  const out: string[] = [];
  for (const s of plan.vrrpScripts.added) out.push(`VRRP_Script(${s.name}) added`);
  for (const s of plan.vrrpScripts.removed) out.push(`VRRP_Script(${s.name}) removed`);
  for (const s of plan.vrrpScripts.kept) if (s.changed.length) out.push(`VRRP_Script(${s.new.name}) changed: ${s.changed.join(', ')}`);
  for (const i of plan.vrrpInstances.added) out.push(`(${i.name}) added`);
  for (const i of plan.vrrpInstances.removed) out.push(`(${i.name}) removed`);
  for (const k of plan.vrrpInstances.kept) {
    if (!k.changed) continue;
    const c = k.changes;
    const parts: string[] = [];
    if (c.renamed) parts.push(`renamed from ${c.renamed.from}`);
    if (c.vips.added.length) parts.push(`VIPs added ${c.vips.added.map(vipIdentity).join(' ')}`);
    if (c.vips.removed.length) parts.push(`VIPs removed ${c.vips.removed.map(vipIdentity).join(' ')}`);
    if (c.priority) parts.push(`priority ${c.priority.from} -> ${c.priority.to}`);
    if (c.advertIntervalMs) parts.push(`advert interval ${c.advertIntervalMs.from} -> ${c.advertIntervalMs.to} ms`);
    if (c.unicastPeers.added.length + c.unicastPeers.removed.length) parts.push('unicast peers changed');
    if (c.trackInterfaces.added.length + c.trackInterfaces.removed.length + c.trackInterfaces.changed.length) parts.push('track_interface changed');
    if (c.trackScripts.added.length + c.trackScripts.removed.length + c.trackScripts.changed.length) parts.push('track_script changed');
    if (c.otherFields.length) parts.push(`changed ${c.otherFields.join(', ')}`);
    out.push(`(${k.new.name}) ${parts.join('; ')}`);
  }
  for (const m of plan.vipMoves) out.push(`VIP ${vipIdentity(m.vip)} moves from (${m.from}) to (${m.to})`);
  for (const v of plan.virtualServers.added) out.push(`virtual server ${virtualServerIdentity(v)} added`);
  for (const v of plan.virtualServers.removed) out.push(`virtual server ${virtualServerIdentity(v)} removed`);
  for (const v of plan.virtualServers.kept) {
    if (!v.changed) continue;
    const parts: string[] = [];
    if (v.ipvsFields.length) parts.push(`edit ${v.ipvsFields.join(', ')}`);
    if (v.otherFields.length) parts.push(`changed ${v.otherFields.join(', ')}`);
    for (const r of v.realServers.added) parts.push(`real server ${realServerIdentity(r)} added`);
    for (const r of v.realServers.removed) parts.push(`real server ${realServerIdentity(r)} removed`);
    for (const r of v.realServers.kept) {
      if (r.weight) parts.push(`real server ${r.identity} weight ${r.weight.from} -> ${r.weight.to}`);
      if (r.ipvsFields.length || r.checkersChanged || r.otherFields.length) {
        parts.push(`real server ${r.identity} changed ${[...r.ipvsFields, ...(r.checkersChanged ? ['checkers'] : []), ...r.otherFields].join(', ')}`);
      }
    }
    out.push(`virtual server ${v.identity}: ${parts.join('; ')}`);
  }
  out.push(...plan.warnings);
  return out;
}
