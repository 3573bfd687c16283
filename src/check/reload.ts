// What a SIGHUP changed in the checker specs, as data for the scheduler and as one readable log line
// per change. Pure. Identities are the spec ids from from-config.ts: a virtual server by its
// "[vip]:proto:port" / "FWM n" label, a real server by address:port within it, a checker by
// "vs|rs|TYPE#n" — so a checker whose type changes is a removed one plus an added one.

import type { CheckerSpec, RealServerSpec, VirtualServerSpec } from './types.js';

/** A checker is kept (state, timers, running probe) only when its probe and timing are unchanged. */
export function sameChecker(a: CheckerSpec, b: CheckerSpec): boolean {
  return jsonOf(a.probe) === jsonOf(b.probe) && jsonOf(a.timing) === jsonOf(b.timing);
}

export interface ReloadLine {
  vs: string;
  message: string;
}

/** The virtual server fields that an edit-service (or the pool logic) applies. */
const VS_FIELDS: ReadonlyArray<[keyof VirtualServerSpec, string]> = [
  ['keys', 'service keys'],
  ['scheduler', 'lb_algo'],
  ['flags', 'flags'],
  ['timeout', 'persistence_timeout'],
  ['netmask', 'persistence_granularity'],
  ['persistenceEngine', 'persistence_engine'],
  ['quorum', 'quorum'],
  ['hysteresis', 'hysteresis'],
  ['sorryServer', 'sorry_server'],
  ['quorumUp', 'quorum_up'],
  ['quorumDown', 'quorum_down'],
  ['omega', 'omega'],
];

const RS_FIELDS: ReadonlyArray<[keyof RealServerSpec, string]> = [
  ['weight', 'weight'],
  ['forward', 'lb_kind'],
  ['tunnel', 'tunnel'],
  ['upperThreshold', 'uthreshold'],
  ['lowerThreshold', 'lthreshold'],
  ['inhibitOnFailure', 'inhibit_on_failure'],
  ['notifyUp', 'notify_up'],
  ['notifyDown', 'notify_down'],
];

/**
 * One line per virtual server, real server or checker added, removed or changed between two
 * configurations, in the new configuration's order (removals first). Unchanged ones give nothing.
 */
export function describeReload(before: readonly VirtualServerSpec[], after: readonly VirtualServerSpec[]): ReloadLine[] {
  const lines: ReloadLine[] = [];
  const afterIds = new Set(after.map((v) => v.id));
  for (const v of before) if (!afterIds.has(v.id)) lines.push({ vs: v.id, message: `Reload: virtual server ${v.label} removed` });
  const beforeById = new Map(before.map((v) => [v.id, v]));
  for (const v of after) {
    const old = beforeById.get(v.id);
    if (!old) {
      lines.push({ vs: v.id, message: `Reload: virtual server ${v.label} added` });
      continue;
    }
    const say = (message: string) => lines.push({ vs: v.id, message });
    const vsDiff = fieldChanges(old, v, VS_FIELDS);
    if (vsDiff) say(`Reload: virtual server ${v.label} changed (${vsDiff})`);
    const newRs = new Set(v.realServers.map((r) => r.id));
    for (const r of old.realServers) if (!newRs.has(r.id)) say(`Reload: real server ${r.label} removed from VS ${v.label}`);
    const oldRs = new Map(old.realServers.map((r) => [r.id, r]));
    for (const r of v.realServers) {
      const was = oldRs.get(r.id);
      if (!was) {
        const alpha = r.checkers.some((c) => c.timing.alpha);
        say(`Reload: real server ${r.label} added to VS ${v.label} (${alpha ? 'alpha: out of the pool until its checkers succeed' : 'in the pool until a checker fails'})`);
        continue;
      }
      const rsDiff = fieldChanges(was, r, RS_FIELDS);
      if (rsDiff) say(`Reload: real server ${r.label} of VS ${v.label} changed (${rsDiff})`);
      checkerLines(v, was, r, say);
    }
  }
  return lines;
}

function checkerLines(vs: VirtualServerSpec, was: RealServerSpec, now: RealServerSpec, say: (m: string) => void): void {
  const where = `${now.label} of VS ${vs.label}`;
  const nowById = new Map(now.checkers.map((c) => [c.id, c]));
  const wasById = new Map(was.checkers.map((c) => [c.id, c]));
  for (const c of was.checkers) if (!nowById.has(c.id)) say(`Reload: ${c.probe.type} on ${where} removed`);
  for (const c of now.checkers) {
    const old = wasById.get(c.id);
    if (!old) say(`Reload: ${c.probe.type} on ${where} added, starting in the real server's current state`);
    else if (!sameChecker(old, c)) {
      const diff = [...leafChanges('', old.probe, c.probe), ...leafChanges('', old.timing, c.timing)].join(', ');
      say(`Reload: ${c.probe.type} on ${where} changed (${diff}): restarting it in the real server's current state`);
    }
  }
}

function fieldChanges<T>(a: T, b: T, fields: ReadonlyArray<[keyof T, string]>): string {
  const out: string[] = [];
  for (const [key, name] of fields) {
    if (jsonOf(a[key]) !== jsonOf(b[key])) out.push(`${name} ${shown(a[key])} -> ${shown(b[key])}`);
  }
  return out.join(', ');
}

/** "target.port 80 -> 81" for every leaf that differs (objects and arrays walked by key). */
function leafChanges(path: string, a: unknown, b: unknown): string[] {
  if (jsonOf(a) === jsonOf(b)) return [];
  // The SSL block's PEM text and passphrase never go to the log.
  if (path === 'ssl' || path.startsWith('ssl.')) return [`${path} changed`];
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => leafChanges(path ? `${path}.${k}` : k, a[k], b[k]));
  }
  return [`${path} ${shown(a)} -> ${shown(b)}`];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function shown(v: unknown): string {
  if (v === undefined) return 'none';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return jsonOf(v);
}

function jsonOf(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'undefined';
}
