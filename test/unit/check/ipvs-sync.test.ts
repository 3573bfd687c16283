import { describe, expect, it } from 'vitest';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import type { ReconcileClient } from '../../../src/ipvs/reconcile.js';
import type { ServiceEntry } from '../../../src/ipvs/types.js';
import { IpvsSync } from '../../../src/check/ipvs-sync.js';
import { desiredEntries, initialPool } from '../../../src/check/pool.js';
import { realServer, virtualServer } from './helpers.js';

/** An in-memory kernel table that applies ops like the netlink client. */
function fakeKernel(initial: ServiceEntry[] = []) {
  let table: ServiceEntry[] = structuredClone(initial);
  const applied: IpvsOp[][] = [];
  let gets = 0;
  const client: ReconcileClient = {
    async getAll() {
      gets++;
      await new Promise((r) => setImmediate(r));
      return structuredClone(table);
    },
    async apply(ops) {
      applied.push([...ops]);
      for (const op of ops) {
        const same = (k: ServiceEntry['service']['key']) => JSON.stringify(k) === JSON.stringify('key' in op ? op.key : undefined);
        if (op.op === 'add-service') table.push({ service: op.service, destinations: [] });
        else if (op.op === 'del-service') table = table.filter((e) => !same(e.service.key));
        else if (op.op === 'add-dest') table.find((e) => same(e.service.key))?.destinations.push(op.dest);
        else if (op.op === 'del-dest') {
          const e = table.find((x) => same(x.service.key));
          if (e) e.destinations = e.destinations.filter((d) => d.address !== op.dest.address || d.port !== op.dest.port);
        } else if (op.op === 'edit-dest') {
          const e = table.find((x) => same(x.service.key));
          if (e) e.destinations = e.destinations.map((d) => (d.address === op.dest.address && d.port === op.dest.port ? op.dest : d));
        }
      }
      return ops.map(() => undefined);
    },
  };
  return { client, applied, table: () => table, gets: () => gets };
}

function entries(address: string, rs: string[]): ServiceEntry[] {
  const vs = virtualServer(address, 80, rs.map((a) => realServer(a, 80)));
  const st = Object.fromEntries(vs.realServers.map((r) => [r.id, { alive: true, weight: 1 }]));
  return desiredEntries(vs, initialPool(vs, st).state);
}

describe('IpvsSync', () => {
  it('programs the desired state and leaves foreign services alone', async () => {
    const foreign = entries('192.0.2.1', ['192.0.2.2']);
    const k = fakeKernel(foreign);
    let desired = entries('10.0.0.1', ['10.0.1.1', '10.0.1.2']);
    const sync = new IpvsSync(k.client, () => desired);
    await sync.request();
    expect(k.table().map((e) => (e.service.key.kind === 'addr' ? e.service.key.address : ''))).toEqual(['192.0.2.1', '10.0.0.1']);
    desired = entries('10.0.0.1', ['10.0.1.2']);
    await sync.request();
    expect(k.table()[1]?.destinations.map((d) => d.address)).toEqual(['10.0.1.2']);
    // The VS disappears (reload): it was ours, so it is deleted; the foreign one stays.
    desired = [];
    await sync.request();
    expect(k.table().map((e) => (e.service.key.kind === 'addr' ? e.service.key.address : ''))).toEqual(['192.0.2.1']);
  });

  it('coalesces requests made while a reconcile runs', async () => {
    const k = fakeKernel();
    let desired = entries('10.0.0.1', ['10.0.1.1']);
    const sync = new IpvsSync(k.client, () => desired);
    const p1 = sync.request();
    desired = entries('10.0.0.1', ['10.0.1.1', '10.0.1.2']);
    const p2 = sync.request();
    desired = entries('10.0.0.1', ['10.0.1.1', '10.0.1.2', '10.0.1.3']);
    const p3 = sync.request();
    await Promise.all([p1, p2, p3]);
    expect(k.gets()).toBe(2);
    expect(k.table()[0]?.destinations).toHaveLength(3);
  });

  it('a filter keeps services out (and removes them once programmed)', async () => {
    const k = fakeKernel();
    const desired = [...entries('10.0.0.1', ['10.0.1.1']), ...entries('10.0.0.2', ['10.0.1.1'])];
    let master = true;
    const sync = new IpvsSync(k.client, () => desired, {
      filter: (e) => master || (e.service.key.kind === 'addr' && e.service.key.address !== '10.0.0.2'),
    });
    await sync.request();
    expect(k.table()).toHaveLength(2);
    master = false;
    await sync.request();
    expect(k.table()).toHaveLength(1);
  });
});
