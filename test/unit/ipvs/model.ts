// A tiny in-memory IPVS table with the kernel's add/edit/delete semantics, for reconciler tests.
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import { destKeyId, serviceKeyId } from '../../../src/ipvs/reconcile.js';
import type { Destination, ServiceEntry } from '../../../src/ipvs/types.js';

export function applyToModel(state: readonly ServiceEntry[], ops: readonly IpvsOp[]): { state: ServiceEntry[]; errnos: number[] } {
  const m = new Map(state.map((e) => [serviceKeyId(e.service.key), { service: e.service, dests: new Map(e.destinations.map((d) => [destKeyId(d), d])) }]));
  const errnos = ops.map((o): number => {
    switch (o.op) {
      case 'add-service': {
        const id = serviceKeyId(o.service.key);
        if (m.has(id)) return 17;
        m.set(id, { service: o.service, dests: new Map() });
        return 0;
      }
      case 'edit-service': {
        const e = m.get(serviceKeyId(o.service.key));
        if (!e) return 3;
        e.service = { ...o.service, key: e.service.key };
        return 0;
      }
      case 'del-service':
        return m.delete(serviceKeyId(o.key)) ? 0 : 3;
      case 'add-dest':
      case 'edit-dest':
      case 'del-dest': {
        const e = m.get(serviceKeyId(o.key));
        if (!e) return 3;
        const id = destKeyId(o.dest);
        if (o.op === 'add-dest') {
          if (e.dests.has(id)) return 17;
          e.dests.set(id, o.dest);
        } else if (!e.dests.has(id)) return 2;
        else if (o.op === 'edit-dest') e.dests.set(id, o.dest);
        else e.dests.delete(id);
        return 0;
      }
      case 'flush':
        m.clear();
        return 0;
      default:
        return 0;
    }
  });
  return { state: [...m.values()].map((e) => ({ service: e.service, destinations: [...e.dests.values()] as Destination[] })), errnos };
}
