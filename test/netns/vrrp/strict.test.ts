// vrrp_strict on a real daemon: as MASTER its VIP gets keepalived's nftables drop rules (no_accept,
// RFC 5798 §6.4.3), so a ping to the VIP from the LAN is not answered while the node's own address
// still is; `accept` lets the VIP answer; at stop the table is gone with the VIP.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, hasAddress, sh, topology, vrrpInstance, waitUntil, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
const hasNft = spawnSync('nft', ['--version']).status === 0;
let topo: Topo;
let daemon: Daemon | undefined;

function pings(ns: string, address: string): boolean {
  return spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', address]).status === 0;
}

function keepalivedTable(ns: string): string {
  return sh('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset']);
}

function start(extra: string, version?: 3): Daemon {
  const conf = writeConf(topo.dir, 'lb1.conf', `global_defs {\n  vrrp_strict\n}\n${vrrpInstance({ state: 'MASTER', priority: 110, version, vips: [`${VIP}/24`], extra })}`);
  daemon = Daemon.lvskeeper('lb1', topo.lb1, conf, topo.dir);
  return daemon;
}

describe.skipIf(!canRun() || !hasNft)('vrrp_strict no_accept firewall', () => {
  beforeAll(() => {
    topo = topology('st');
  });
  afterAll(async () => {
    await daemon?.stop();
    topo?.down();
  });

  it('as MASTER the VIP is held but drops traffic; the table goes at stop', async () => {
    const d = start('');
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 3000, 'VIP on lb1');
    await waitUntil(() => keepalivedTable(topo.lb1).includes(VIP), 3000, 'VIP in the nftables set');
    expect(keepalivedTable(topo.lb1)).toMatch(/table ip keepalived/);
    expect(pings(topo.x, '192.168.60.111')).toBe(true);
    expect(pings(topo.x, VIP)).toBe(false);
    expect(await d.stop()).toBe(0);
    expect(keepalivedTable(topo.lb1)).not.toMatch(/keepalived/);
    expect(hasAddress(topo.lb1, VIP)).toBe(false);
  }, 30_000);

  it('with accept (VRRPv3: strict mode resets it for v2, as keepalived) the VIP answers and no drop rule holds it', async () => {
    const d = start('  accept\n', 3);
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 3000, 'VIP on lb1');
    expect(pings(topo.x, VIP)).toBe(true);
    expect(keepalivedTable(topo.lb1)).not.toContain(VIP);
    expect(await d.stop()).toBe(0);
  }, 30_000);
});
