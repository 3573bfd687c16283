// old_unicast_checksum with keepalived 2.2.7 set to it: IPv4 VRRPv3 unicast adverts whose checksum puts
// the multicast group in the pseudo-header (keepalived before 2.0.11). lvskeeper without the keyword
// learns it from the peer's adverts, as keepalived does; with it, keepalived accepts our adverts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, hasAddress, sleep, topology, vrrpInstance, waitUntil, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
let topo: Topo;
const daemons: Daemon[] = [];

const uconf = (name: string, self: string, peer: string, priority: number, old: boolean) =>
  writeConf(
    topo.dir,
    `${name}.conf`,
    vrrpInstance({
      priority,
      version: 3,
      advertInt: '0.1',
      vips: [`${VIP}/24`],
      extra: `  unicast_src_ip ${self}\n  unicast_peer {\n    ${peer}\n  }\n${old ? '  old_unicast_checksum\n' : ''}`,
    }),
  );

describe.skipIf(!canRun())('old_unicast_checksum with keepalived 2.2.7', () => {
  beforeAll(() => {
    topo = topology('ock');
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
  });
  afterAll(() => topo?.down());

  it('keepalived MASTER with it, lvskeeper without: lvskeeper learns the old checksum and stays BACKUP', async () => {
    const ka = Daemon.keepalived('kaold', topo.lb1, uconf('kaold', '192.168.60.111', '192.168.60.112', 150, true), topo.dir);
    daemons.push(ka);
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    const lk = Daemon.lvskeeper('lknew', topo.lb2, uconf('lknew', '192.168.60.112', '192.168.60.111', 100, false), topo.dir);
    daemons.push(lk);
    await lk.waitFor(/\(VI_1\) Setting unicast VRRPv3 checksum to old version/, 5000);
    await sleep(1000);
    expect(lk.has(/Entering MASTER STATE/)).toBe(false);
    expect(lk.has(/Invalid VRRPv3 checksum/)).toBe(false);
    // keepalived also accepts what the learning node now sends (no checksum complaint after it switched).
    const t0 = performance.now();
    await sleep(500);
    expect(ka.has(/Invalid VRRPv3 checksum/, t0)).toBe(false);
    expect(hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP)).toBe(true);
  }, 40_000);

  it('lvskeeper MASTER with it, keepalived BACKUP with it: keepalived accepts our adverts and stays BACKUP', async () => {
    const lk = Daemon.lvskeeper('lkold', topo.lb1, uconf('lkold', '192.168.60.111', '192.168.60.112', 150, true), topo.dir);
    daemons.push(lk);
    await lk.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    const ka = Daemon.keepalived('kaold2', topo.lb2, uconf('kaold2', '192.168.60.112', '192.168.60.111', 100, true), topo.dir);
    daemons.push(ka);
    await ka.waitFor(/\(VI_1\) Entering BACKUP STATE/, 8000);
    await sleep(1500);
    expect(ka.has(/Entering MASTER STATE/)).toBe(false);
    expect(ka.has(/Invalid VRRPv3 checksum/)).toBe(false);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP on lvskeeper only');
  }, 40_000);
});
