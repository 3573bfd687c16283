// Desired vs actual IPVS tables → the minimal list of ops (pure), and a thin apply on top of the client.
import { canonicalAddress } from './address.js';
import type { DestinationKey, IpvsOp } from './ops.js';
import { SERVICE_FLAGS, type Destination, type IpvsError, type Service, type ServiceEntry, type ServiceKey } from './types.js';

/**
 * Which actual services the plan may delete. Services named in `desired` are always managed; an actual
 * service absent from `desired` is deleted only when it is owned. Without a scope everything is owned.
 */
export interface ReconcileScope {
  owned?: Iterable<ServiceKey> | ((key: ServiceKey) => boolean);
}

/** A stable identity string for a service key (address written canonically). */
export function serviceKeyId(key: ServiceKey): string {
  return key.kind === 'fwmark'
    ? `fwmark/${key.family}/${key.fwmark >>> 0}`
    : `${key.protocol}/${key.family}/${canonicalAddress(key.family, key.address)}/${key.port}`;
}

/** A stable identity string for a destination inside its service. */
export function destKeyId(d: DestinationKey): string {
  return `${d.family}/${canonicalAddress(d.family, d.address)}/${d.port}`;
}

function normalizeNetmask(s: Service): string {
  if (s.key.family === 'inet') return canonicalAddress('inet', s.netmask);
  const t = s.netmask.startsWith('/') ? s.netmask.slice(1) : s.netmask;
  return /^\d+$/.test(t) ? String(Number(t)) : t;
}

/** True when the service attributes an edit-service would change differ. */
export function serviceDiffers(a: Service, b: Service): boolean {
  return (
    a.scheduler !== b.scheduler ||
    (a.flags & ~SERVICE_FLAGS.hashed) !== (b.flags & ~SERVICE_FLAGS.hashed) ||
    a.timeout !== b.timeout ||
    normalizeNetmask(a) !== normalizeNetmask(b) ||
    (a.persistenceEngine || '') !== (b.persistenceEngine || '')
  );
}

function tunnelView(d: Destination): string {
  return d.forward === 'tunnel' ? `${d.tunnelType ?? 'ipip'}/${d.tunnelPort ?? 0}/${d.tunnelFlags ?? 0}` : '';
}

/** True when the destination attributes an edit-dest would change differ. */
export function destDiffers(a: Destination, b: Destination): boolean {
  return (
    a.forward !== b.forward ||
    a.weight !== b.weight ||
    a.upperThreshold !== b.upperThreshold ||
    a.lowerThreshold !== b.lowerThreshold ||
    tunnelView(a) !== tunnelView(b)
  );
}

function ownedPredicate(scope: ReconcileScope | undefined): (key: ServiceKey) => boolean {
  const owned = scope?.owned;
  if (owned === undefined) return () => true;
  if (typeof owned === 'function') return owned;
  const ids = new Set<string>();
  for (const k of owned) ids.add(serviceKeyId(k));
  return (key) => ids.has(serviceKeyId(key));
}

/** Entries by key id; a later duplicate replaces an earlier one, destinations merge the same way. */
function index(entries: readonly ServiceEntry[]): Map<string, { service: Service; dests: Map<string, Destination> }> {
  const out = new Map<string, { service: Service; dests: Map<string, Destination> }>();
  for (const e of entries) {
    const id = serviceKeyId(e.service.key);
    const prev = out.get(id);
    const dests = prev?.dests ?? new Map<string, Destination>();
    for (const d of e.destinations) dests.set(destKeyId(d), d);
    out.set(id, { service: e.service, dests });
  }
  return out;
}

function stripService(s: Service): Service {
  const { stats: _stats, ...rest } = s;
  return { ...rest, flags: s.flags & ~SERVICE_FLAGS.hashed };
}

function stripDest(d: Destination): Destination {
  const { stats: _s, activeConns: _a, inactiveConns: _i, persistConns: _p, ...rest } = d;
  return rest;
}

/**
 * The ops that turn `actual` into `desired`: deletions first (destinations of kept services, then services),
 * then new services with their destinations, then edits. A service whose scheduler, flags, persistence
 * timeout, netmask or engine differ is edited; a destination whose forwarding, weight, thresholds or tunnel
 * settings differ is edited; a change of family, protocol, address, port or fwmark is a different key, so
 * it becomes a delete plus an add. Pure; planning desired against itself is empty.
 */
export function planChanges(desired: readonly ServiceEntry[], actual: readonly ServiceEntry[], scope?: ReconcileScope): IpvsOp[] {
  const isOwned = ownedPredicate(scope);
  const want = index(desired);
  const have = index(actual);
  const delDests: IpvsOp[] = [];
  const delServices: IpvsOp[] = [];
  const adds: IpvsOp[] = [];
  const edits: IpvsOp[] = [];

  for (const [id, cur] of have) {
    if (!want.has(id) && isOwned(cur.service.key)) delServices.push({ op: 'del-service', key: cur.service.key });
  }
  for (const [id, w] of want) {
    const key = w.service.key;
    const cur = have.get(id);
    if (!cur) {
      adds.push({ op: 'add-service', service: stripService(w.service) });
      for (const d of w.dests.values()) adds.push({ op: 'add-dest', key, dest: stripDest(d) });
      continue;
    }
    const actualKey = cur.service.key; // the kernel's spelling of the same key
    if (serviceDiffers(w.service, cur.service)) edits.push({ op: 'edit-service', service: { ...stripService(w.service), key: actualKey } });
    for (const [did, d] of cur.dests) {
      if (!w.dests.has(did)) delDests.push({ op: 'del-dest', key: actualKey, dest: { family: d.family, address: d.address, port: d.port } });
    }
    for (const [did, d] of w.dests) {
      const c = cur.dests.get(did);
      if (!c) edits.push({ op: 'add-dest', key: actualKey, dest: stripDest(d) });
      else if (destDiffers(d, c)) edits.push({ op: 'edit-dest', key: actualKey, dest: stripDest(d) });
    }
  }
  return [...delDests, ...delServices, ...adds, ...edits];
}

/** The client surface the reconciler needs (IpvsClient, or a fake in tests). */
export interface ReconcileClient {
  getAll(): Promise<ServiceEntry[]>;
  apply(ops: readonly IpvsOp[]): Promise<Array<IpvsError | undefined>>;
}

export interface ReconcileResult {
  /** Every op sent, in order. Empty when the kernel already matched. */
  ops: IpvsOp[];
  /** The ops the kernel refused, with its error. */
  failed: Array<{ op: IpvsOp; error: IpvsError }>;
}

/** Reads the kernel tables, plans, applies (pipelined) and reports what it did. Rejects only if reading fails. */
export async function reconcile(client: ReconcileClient, desired: readonly ServiceEntry[], scope?: ReconcileScope): Promise<ReconcileResult> {
  const actual = await client.getAll();
  const ops = planChanges(desired, actual, scope);
  if (ops.length === 0) return { ops, failed: [] };
  const errors = await client.apply(ops);
  const failed: ReconcileResult['failed'] = [];
  errors.forEach((error, i) => {
    if (error) failed.push({ op: ops[i]!, error });
  });
  return { ops, failed };
}
