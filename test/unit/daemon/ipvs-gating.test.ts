import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { instancesNeedingAllNodes } from '../../../src/daemon/ipvs-gating.js';

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
