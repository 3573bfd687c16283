// Two lvskeeper daemons with virtual_routes, virtual_rules and a static route (namespaces `lkv-vr-*`):
// the MASTER has the instance's routes and rule, the BACKUP does not; they follow the MASTER through a
// failover (a track_script lowers lb1's priority) and a stop; the static route stays on both while they
// run and goes when a daemon stops (keepalived vrrp_terminate_phase1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Daemon, canRun, hasAddress, sh, topology, waitUntil, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.210';
let topo: Topo;
const daemons: Daemon[] = [];

function conf(node: 'lb1' | 'lb2', priority: number): string {
  const check = writeConf(topo.dir, `check_${node}.sh`, `#!/bin/sh\n[ ! -e ${join(topo.dir, `${node}.fail`)} ]\n`);
  chmodSync(check, 0o755);
  return writeConf(
    topo.dir,
    `${node}.conf`,
    `global_defs {
  router_id ${node}
}
static_routes {
  10.50.0.0/16 via 192.168.60.1 dev eth0
}
vrrp_script lower {
  script "${check}"
  interval 1
  weight -20
}
vrrp_instance VI_1 {
  state ${node === 'lb1' ? 'MASTER' : 'BACKUP'}
  interface eth0
  virtual_router_id 61
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    ${VIP}/24
  }
  track_script {
    lower
  }
  virtual_routes {
    10.60.0.0/16 via 192.168.60.254 dev eth0 table 100
    10.62.0.0/16 dev eth0 src ${VIP} table 100
    blackhole 10.61.0.0/16 table 100 no_track
  }
  virtual_rules {
    from ${VIP} table 100 priority 100
  }
}
`,
  );
}

interface Route {
  dst: string;
  type?: string;
  gateway?: string;
  prefsrc?: string;
}

function table100(ns: string): string[] {
  // A table that never had a route does not exist ("FIB table does not exist"): empty.
  let j: Route[] = [];
  try {
    j = JSON.parse(sh('ip', ['-n', ns, '-j', '-4', 'route', 'show', 'table', '100'], true)) as Route[];
  } catch {
    // `ip -j` prints a partial document before that error
  }
  return j.map((r) => [r.type === 'blackhole' ? 'blackhole' : '', r.dst, r.gateway ? `via ${r.gateway}` : '', r.prefsrc ? `src ${r.prefsrc}` : ''].filter(Boolean).join(' ')).sort();
}

function hasRule(ns: string): boolean {
  const j = JSON.parse(sh('ip', ['-n', ns, '-j', '-4', 'rule', 'show'])) as { priority: number; src?: string; table?: string }[];
  return j.some((r) => r.priority === 100 && r.src === VIP && r.table === '100');
}

function hasStatic(ns: string): boolean {
  const j = JSON.parse(sh('ip', ['-n', ns, '-j', '-4', 'route', 'show', 'table', 'main'])) as Route[];
  return j.some((r) => r.dst === '10.50.0.0/16' && r.gateway === '192.168.60.1');
}

const MASTER_ROUTES = ['10.60.0.0/16 via 192.168.60.254', `10.62.0.0/16 src ${VIP}`, 'blackhole 10.61.0.0/16'];

/** The MASTER has the VIP, the routes and the rule; the other node none of them. Both have the static route. */
async function holds(master: string, other: string): Promise<void> {
  await waitUntil(() => table100(master).length === 3 && hasRule(master) && table100(other).length === 0 && !hasRule(other), 4000, `routes and rule on ${master} only`);
  expect(table100(master)).toEqual(MASTER_ROUTES);
  expect(hasAddress(master, VIP)).toBe(true);
  expect(hasAddress(other, VIP)).toBe(false);
  expect(hasStatic(master) && hasStatic(other)).toBe(true);
}

describe.skipIf(!canRun())('virtual_routes / virtual_rules / static_routes on two lvskeeper daemons', () => {
  let lb1: Daemon;
  let lb2: Daemon;

  beforeAll(() => {
    topo = topology('vr');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });

  it('the MASTER has the routes and the rule, the BACKUP not; both have the static route', async () => {
    lb1 = Daemon.lvskeeper('lb1', topo.lb1, conf('lb1', 110), topo.dir);
    daemons.push(lb1);
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 6000);
    lb2 = Daemon.lvskeeper('lb2', topo.lb2, conf('lb2', 100), topo.dir);
    daemons.push(lb2);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 6000);
    await holds(topo.lb1, topo.lb2);
    // The `src VIP` route went in after the VIP (the kernel refuses a source it does not have).
    expect(lb1.has(/cannot add route/)).toBe(false);
    expect([...lb1.lines, ...lb2.lines].filter((l) => / ERROR|error/i.test(l.text) && /route|rule/.test(l.text))).toEqual([]);
  });

  it('failover (track_script weight on lb1): lb2 gets them, lb1 removes its own; the static route stays on both', async () => {
    const t0 = performance.now();
    writeFileSync(join(topo.dir, 'lb1.fail'), '');
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000, t0);
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 4000, t0);
    await holds(topo.lb2, topo.lb1);
    rmSync(join(topo.dir, 'lb1.fail'));
    const t1 = performance.now();
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000, t1);
    await holds(topo.lb1, topo.lb2);
  });

  it('stop: the stopping MASTER removes its routes, rule and static route; the peer takes over the virtual ones', async () => {
    const t0 = performance.now();
    expect(await lb1.stop()).toBe(0);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 4000, t0);
    await waitUntil(() => table100(topo.lb2).length === 3 && hasRule(topo.lb2), 3000, 'routes and rule on lb2');
    expect(table100(topo.lb1)).toEqual([]);
    expect(hasRule(topo.lb1)).toBe(false);
    expect(hasStatic(topo.lb1)).toBe(false);
    expect(hasStatic(topo.lb2)).toBe(true);
    expect(await lb2.stop()).toBe(0);
    expect(table100(topo.lb2)).toEqual([]);
    expect(hasRule(topo.lb2)).toBe(false);
    expect(hasStatic(topo.lb2)).toBe(false);
  });
});
