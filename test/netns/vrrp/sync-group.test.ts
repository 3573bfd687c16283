// vrrp_sync_group with two instances (VRIDs 51 and 52 on one interface, so one shared socket dispatching by
// VRID): a tracked interface going down on the master puts both members in FAULT and the peer takes both VIPs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { Daemon, canRun, hasAddress, sh, sleep, topology, vrrpInstance, waitUntil, writeConf, type Topo } from './helpers.js';

let topo: Topo;
const daemons: Daemon[] = [];

function conf(name: string, priority: number, trackEth1: boolean): string {
  const track = trackEth1 ? '  track_interface {\n    eth1\n  }\n' : '';
  return writeConf(
    topo.dir,
    `${name}.conf`,
    `vrrp_sync_group VG {
  group {
    VI_1
    VI_2
  }
}
${vrrpInstance({ name: 'VI_1', vrid: 51, priority, advertInt: '1', vips: ['192.168.60.200/24'], extra: track })}
${vrrpInstance({ name: 'VI_2', vrid: 52, priority, advertInt: '1', vips: ['192.168.60.201/24'] })}`,
  );
}

describe.skipIf(!canRun())('vrrp_sync_group', () => {
  beforeAll(() => {
    topo = topology('sg');
    // A second link to track (no dummy driver here): a veth pair inside lb1.
    sh('ip', ['-n', topo.lb1, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p']);
    sh('ip', ['-n', topo.lb1, 'link', 'set', 'eth1p', 'up']);
    sh('ip', ['-n', topo.lb1, 'link', 'set', 'eth1', 'up']);
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });

  it('members move together: one FAULT → both FAULT, the peer takes both VIPs, and back', async () => {
    const lb1 = Daemon.lvskeeper('lb1', topo.lb1, conf('lb1', 150, true), topo.dir);
    daemons.push(lb1);
    await lb1.waitFor(/\(VI_2\) Entering BACKUP STATE \(init\)/, 6000);
    const lb2 = Daemon.lvskeeper('lb2', topo.lb2, conf('lb2', 100, false), topo.dir);
    daemons.push(lb2);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    await lb1.waitFor(/\(VI_2\) Entering MASTER STATE/, 3000);
    await waitUntil(() => hasAddress(topo.lb1, '192.168.60.200') && hasAddress(topo.lb1, '192.168.60.201'), 3000, 'both VIPs on lb1');
    await sleep(1500);
    expect(lb2.has(/Entering MASTER STATE/)).toBe(false);
    // Both VRIDs share one socket: nothing was dropped as an unknown VRID.
    expect(lb2.has(/received VRID/)).toBe(false);

    const t0 = performance.now();
    sh('ip', ['-n', topo.lb1, 'link', 'set', 'eth1', 'down']);
    await lb1.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000, t0);
    await lb1.waitFor(/\(VI_2\) Entering FAULT STATE/, 1000, t0);
    expect(lb1.has(/VRRP_Group\(VG\) Syncing instances to FAULT state/, t0)).toBe(true);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, t0);
    await lb2.waitFor(/\(VI_2\) Entering MASTER STATE/, 3000, t0);
    await waitUntil(
      () => hasAddress(topo.lb2, '192.168.60.200') && hasAddress(topo.lb2, '192.168.60.201') && !hasAddress(topo.lb1, '192.168.60.200') && !hasAddress(topo.lb1, '192.168.60.201'),
      3000,
      'both VIPs on lb2 only',
    );

    const t1 = performance.now();
    sh('ip', ['-n', topo.lb1, 'link', 'set', 'eth1', 'up']);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000, t1);
    await lb1.waitFor(/\(VI_2\) Entering MASTER STATE/, 3000, t1);
    await waitUntil(() => hasAddress(topo.lb1, '192.168.60.200') && hasAddress(topo.lb1, '192.168.60.201') && !hasAddress(topo.lb2, '192.168.60.201'), 3000, 'both VIPs back on lb1');
  });
});
