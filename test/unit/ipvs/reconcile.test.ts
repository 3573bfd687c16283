import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import { planChanges, reconcile, serviceKeyId, destKeyId } from '../../../src/ipvs/reconcile.js';
import type { Destination, Service, ServiceEntry, ServiceKey } from '../../../src/ipvs/types.js';
import { applyToModel } from './model.js';

const K1: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80 };
const K2: ServiceKey = { kind: 'fwmark', family: 'inet', fwmark: 2 };
const svc = (key: ServiceKey, extra: Partial<Service> = {}): Service => ({ key, scheduler: 'wlc', flags: 0, timeout: 0, netmask: '255.255.255.255', ...extra });
const dst = (last: number, extra: Partial<Destination> = {}): Destination => ({
  family: 'inet', address: `10.1.0.${last}`, port: 80, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, ...extra,
});
const entry = (service: Service, destinations: Destination[] = []): ServiceEntry => ({ service, destinations });
const kinds = (ops: IpvsOp[]): string[] => ops.map((o) => o.op);

describe('planChanges', () => {
  it('identical tables → no ops, even with kernel-only fields (stats, conns, HASHED) on the actual side', () => {
    const desired = [entry(svc(K1), [dst(1), dst(2)])];
    const actual = [
      entry({ ...svc(K1, { flags: 0x2 }), stats: { conns: 5n } as never }, [{ ...dst(2), activeConns: 3 }, { ...dst(1), inactiveConns: 1 }]),
    ];
    expect(planChanges(desired, actual)).toEqual([]);
  });

  it('adds a missing service, then its destinations', () => {
    const ops = planChanges([entry(svc(K1), [dst(1)])], []);
    expect(ops).toEqual([
      { op: 'add-service', service: svc(K1) },
      { op: 'add-dest', key: K1, dest: dst(1) },
    ]);
  });

  it('scheduler, flags, timeout, netmask or engine change → one edit-service; dests untouched', () => {
    for (const change of [{ scheduler: 'rr' }, { flags: 1 }, { timeout: 300 }, { netmask: '255.255.255.0' }, { persistenceEngine: 'sip' }]) {
      const ops = planChanges([entry(svc(K1, change), [dst(1)])], [entry(svc(K1), [dst(1)])]);
      expect(ops).toEqual([{ op: 'edit-service', service: svc(K1, change) }]);
    }
  });

  it('weight, threshold, forwarding or tunnel change → edit-dest', () => {
    for (const change of [{ weight: 9 }, { upperThreshold: 10 }, { lowerThreshold: 1, upperThreshold: 0 }, { forward: 'route' as const }]) {
      expect(kinds(planChanges([entry(svc(K1), [dst(1, change)])], [entry(svc(K1), [dst(1)])]))).toEqual(['edit-dest']);
    }
    const tun = dst(1, { forward: 'tunnel', tunnelType: 'gue', tunnelPort: 6080 });
    expect(kinds(planChanges([entry(svc(K1), [tun])], [entry(svc(K1), [{ ...tun, tunnelPort: 6081 }])]))).toEqual(['edit-dest']);
    // tunnel defaults are the kernel's: ipip, port 0, flags 0
    expect(planChanges([entry(svc(K1), [dst(1, { forward: 'tunnel' })])], [entry(svc(K1), [dst(1, { forward: 'tunnel', tunnelType: 'ipip', tunnelPort: 0, tunnelFlags: 0 })])])).toEqual([]);
    // tunnel fields of a non-tunnel dest do not matter
    expect(planChanges([entry(svc(K1), [dst(1)])], [entry(svc(K1), [dst(1, { tunnelType: 'gre' })])])).toEqual([]);
  });

  it('address family or protocol change → delete the old service and add the new one', () => {
    const udp: ServiceKey = { ...K1, protocol: 'udp' } as ServiceKey;
    expect(kinds(planChanges([entry(svc(udp), [dst(1)])], [entry(svc(K1), [dst(1)])]))).toEqual(['del-service', 'add-service', 'add-dest']);
    const v6: ServiceKey = { kind: 'fwmark', family: 'inet6', fwmark: 2 };
    const ops = planChanges([entry(svc(v6, { netmask: '128' }))], [entry(svc(K2))]);
    expect(ops).toEqual([{ op: 'del-service', key: K2 }, { op: 'add-service', service: svc(v6, { netmask: '128' }) }]);
  });

  it('removed destinations of kept services are deleted first; removed services do not get per-dest deletes', () => {
    const ops = planChanges([entry(svc(K1), [dst(1)])], [entry(svc(K1), [dst(1), dst(2)]), entry(svc(K2), [dst(3)])]);
    expect(ops).toEqual([
      { op: 'del-dest', key: K1, dest: { family: 'inet', address: '10.1.0.2', port: 80 } },
      { op: 'del-service', key: K2 },
    ]);
  });

  it('addresses written differently are the same key (IPv6 canonical form), and the kernel spelling is used', () => {
    const desiredKey: ServiceKey = { kind: 'addr', family: 'inet6', protocol: 'tcp', address: '2001:DB8:0::1', port: 80 };
    const actualKey: ServiceKey = { ...desiredKey, address: '2001:db8::1' };
    const d6 = (a: string): Destination => ({ ...dst(1), family: 'inet6', address: a });
    expect(planChanges([entry(svc(desiredKey, { netmask: '128' }), [d6('2001:db8:0:0::a')])], [entry(svc(actualKey, { netmask: '128' }), [d6('2001:db8::a')])])).toEqual([]);
    const ops = planChanges([entry(svc(desiredKey, { netmask: '/128', scheduler: 'rr' }))], [entry(svc(actualKey, { netmask: '128' }))]);
    expect(ops).toEqual([{ op: 'edit-service', service: svc(actualKey, { netmask: '/128', scheduler: 'rr' }) }]);
  });

  it('with an owned scope, foreign services are never deleted; owned ones are', () => {
    const foreign = entry(svc(K2), [dst(9)]);
    const owned = entry(svc(K1), [dst(1)]);
    expect(planChanges([], [foreign, owned], { owned: [K1] })).toEqual([{ op: 'del-service', key: K1 }]);
    expect(planChanges([], [foreign, owned], { owned: (k) => k.kind === 'fwmark' })).toEqual([{ op: 'del-service', key: K2 }]);
    expect(planChanges([], [foreign, owned], { owned: [] })).toEqual([]);
  });

  it('duplicate desired entries merge: the later service wins, destinations are united', () => {
    const ops = planChanges([entry(svc(K1), [dst(1)]), entry(svc(K1, { scheduler: 'rr' }), [dst(2)])], []);
    expect(ops).toEqual([
      { op: 'add-service', service: svc(K1, { scheduler: 'rr' }) },
      { op: 'add-dest', key: K1, dest: dst(1) },
      { op: 'add-dest', key: K1, dest: dst(2) },
    ]);
  });
});

// ---- properties over random tables ----

const arbKey: fc.Arbitrary<ServiceKey> = fc.oneof(
  fc.record({
    kind: fc.constant('addr' as const),
    family: fc.constant('inet' as const),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const),
    address: fc.constantFrom('10.0.0.1', '10.0.0.2'),
    port: fc.constantFrom(80, 443),
  }),
  fc.record({ kind: fc.constant('fwmark' as const), family: fc.constantFrom('inet' as const, 'inet6' as const), fwmark: fc.integer({ min: 1, max: 3 }) }),
);
const arbDest = (family: 'inet' | 'inet6'): fc.Arbitrary<Destination> =>
  fc.record({
    family: fc.constant(family),
    address: family === 'inet' ? fc.constantFrom('10.1.0.1', '10.1.0.2', '10.1.0.3') : fc.constantFrom('2001:db8::1', '2001:db8::2'),
    port: fc.constantFrom(80, 8080),
    forward: fc.constantFrom('masq' as const, 'route' as const, 'tunnel' as const),
    weight: fc.integer({ min: 0, max: 3 }),
    upperThreshold: fc.constantFrom(0, 10),
    lowerThreshold: fc.constant(0),
  });
const arbEntry: fc.Arbitrary<ServiceEntry> = arbKey.chain((key) =>
  fc.record({
    service: fc.record({
      key: fc.constant(key),
      scheduler: fc.constantFrom('rr', 'wlc', 'sh'),
      flags: fc.constantFrom(0, 1),
      timeout: fc.constantFrom(0, 300),
      netmask: fc.constant(key.family === 'inet' ? '255.255.255.255' : '128'),
    }),
    destinations: fc.uniqueArray(arbDest(key.family), { maxLength: 3, selector: destKeyId }),
  }),
);
const arbTable = fc.uniqueArray(arbEntry, { maxLength: 4, selector: (e) => serviceKeyId(e.service.key) });

function normalize(t: readonly ServiceEntry[]): unknown {
  return [...t]
    .map((e) => ({ id: serviceKeyId(e.service.key), s: { ...e.service, key: undefined }, d: e.destinations.map((d) => ({ ...d })).sort((a, b) => destKeyId(a).localeCompare(destKeyId(b))) }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

describe('planChanges properties', () => {
  it('applying the plan yields the desired table with no kernel error, and re-planning is empty', () => {
    fc.assert(
      fc.property(arbTable, arbTable, (desired, actual) => {
        const ops = planChanges(desired, actual);
        const { state, errnos } = applyToModel(actual, ops);
        expect(errnos.filter((e) => e !== 0)).toEqual([]);
        expect(normalize(state)).toEqual(normalize(desired));
        expect(planChanges(desired, state)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('with a scope, services outside it and outside desired are left exactly as they were', () => {
    fc.assert(
      fc.property(arbTable, arbTable, fc.array(arbKey, { maxLength: 3 }), (desired, actual, owned) => {
        const ownedIds = new Set(owned.map(serviceKeyId));
        const desiredIds = new Set(desired.map((e) => serviceKeyId(e.service.key)));
        const ops = planChanges(desired, actual, { owned });
        const { state } = applyToModel(actual, ops);
        const untouched = actual.filter((e) => !ownedIds.has(serviceKeyId(e.service.key)) && !desiredIds.has(serviceKeyId(e.service.key)));
        const after = state.filter((e) => untouched.some((u) => serviceKeyId(u.service.key) === serviceKeyId(e.service.key)));
        expect(normalize(after)).toEqual(normalize(untouched));
        for (const o of ops) {
          const k = 'key' in o && o.key ? o.key : 'service' in o ? o.service.key : undefined;
          if (k) expect(ownedIds.has(serviceKeyId(k)) || desiredIds.has(serviceKeyId(k))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('reconcile', () => {
  it('reads, plans, applies and reports failures; a second run sends nothing', async () => {
    let table: ServiceEntry[] = [entry(svc(K2), [dst(3)])];
    const sent: IpvsOp[][] = [];
    const client = {
      getAll: async () => table,
      apply: async (ops: readonly IpvsOp[]) => {
        sent.push([...ops]);
        const r = applyToModel(table, ops);
        table = r.state;
        return r.errnos.map((e) => (e ? ({ errno: e } as never) : undefined));
      },
    };
    const desired = [entry(svc(K1), [dst(1)])];
    const first = await reconcile(client, desired);
    expect(kinds(first.ops)).toEqual(['del-service', 'add-service', 'add-dest']);
    expect(first.failed).toEqual([]);
    const second = await reconcile(client, desired);
    expect(second).toEqual({ ops: [], failed: [] });
    expect(sent).toHaveLength(1);
  });

  it('reports the ops the kernel refused', async () => {
    const client = { getAll: async () => [], apply: async (ops: readonly IpvsOp[]) => ops.map((_, i) => (i === 0 ? ({ errno: 2 } as never) : undefined)) };
    const r = await reconcile(client, [entry(svc(K1, { scheduler: 'nosuch' }))]);
    expect(r.failed).toEqual([{ op: r.ops[0], error: { errno: 2 } }]);
  });
});
