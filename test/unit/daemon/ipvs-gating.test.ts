import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { describeGateChanges, instancesNeedingAllNodes, vipGateId, vipGates } from '../../../src/daemon/ipvs-gating.js';

const dir = mkdtempSync(join(tmpdir(), 'lk-gating-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seedCheck = readFileSync(new URL('../../../config/lvs_check.sh', import.meta.url), 'latin1');
const readSeed = (path: string) => (path === '/etc/keepalived/lvs_check.sh' ? seedCheck : undefined);

function configWith(trackWeight: string, script = '/etc/keepalived/lvs_check.sh') {
  const file = join(dir, `k${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(
    file,
    `vrrp_script lvs_check {\n  script "${script}"\n  interval 1\n${trackWeight}}\n` +
      'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 10\n  virtual_ipaddress {\n    192.168.60.200\n  }\n' +
      '  track_script {\n    lvs_check\n  }\n}\n',
  );
  return parseConfig(file, { checkInterfaces: false }).config;
}

describe('which instances keep their virtual servers on every node', () => {
  it('the seed: a weight-0 lvs_check.sh reading /proc/net/ip_vs would deadlock both nodes in FAULT', () => {
    const seed = parseConfig(new URL('../../../config/lb02.conf', import.meta.url).pathname, { checkInterfaces: false }).config;
    expect(instancesNeedingAllNodes(seed, readSeed)).toEqual([
      { instance: 'VI_1', script: 'lvs_check', evidence: '/etc/keepalived/lvs_check.sh' },
    ]);
  });

  it('a weighted script only lowers the priority: the instance still gates on MASTER', () => {
    expect(instancesNeedingAllNodes(configWith('  weight -20\n'), readSeed)).toEqual([]);
  });

  it('a script that does not read IPVS leaves the default alone', () => {
    expect(instancesNeedingAllNodes(configWith('', '/usr/bin/true'), () => '#!/bin/sh\nexit 0\n')).toEqual([]);
  });

  it('an ipvsadm pipeline on the command line counts, with no file to read', () => {
    expect(instancesNeedingAllNodes(configWith('', 'ipvsadm -Ln | grep -q TCP'), () => undefined)).toEqual([
      { instance: 'VI_1', script: 'lvs_check', evidence: 'command line' },
    ]);
  });
});

function instances(...specs: Array<[name: string, vrid: number, vips: string[]]>) {
  const text = specs
    .map(([name, vrid, vips]) => `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n  virtual_ipaddress {\n    ${vips.join('\n    ')}\n  }\n}\n`)
    .join('');
  return parseConfig('/virtual/k.conf', { readFile: () => text, checkInterfaces: false }).config;
}

describe('VIP gating across reloads (instances added and removed)', () => {
  it('maps each VIP (canonical address) to the instances holding it; ungated instances hold none', () => {
    const cfg = instances(['VI_1', 10, ['192.168.60.200']], ['VI_2', 11, ['192.168.60.200', '10.0.0.9']], ['VI_6', 12, ['2001:db8:0::0:1']]);
    expect([...vipGates(cfg, new Set())]).toEqual([
      ['inet/192.168.60.200', ['VI_1', 'VI_2']],
      ['inet/10.0.0.9', ['VI_2']],
      ['inet6/2001:db8::1', ['VI_6']],
    ]);
    expect([...vipGates(cfg, new Set(['VI_1', 'VI_6']))]).toEqual([
      ['inet/192.168.60.200', ['VI_2']],
      ['inet/10.0.0.9', ['VI_2']],
    ]);
  });

  it('says which served VIPs changed hands when a reload adds or removes an instance', () => {
    const before = vipGates(instances(['VI_1', 10, ['192.168.60.200']]), new Set());
    const after = vipGates(instances(['VI_2', 11, ['10.0.0.9']]), new Set());
    const served = new Set([vipGateId('inet', '192.168.60.200'), vipGateId('inet', '10.0.0.9'), vipGateId('inet', '10.0.0.1')]);
    expect(describeGateChanges(before, after, served)).toEqual([
      'Reload: virtual servers on 192.168.60.200 are now installed on every node (were only while (VI_1) is MASTER)',
      'Reload: virtual servers on 10.0.0.9 are now installed only while (VI_2) is MASTER (were on every node)',
    ]);
    expect(describeGateChanges(before, before, served)).toEqual([]);
  });
});
