// The seed lab's configurations (config/): what lvskeeper -t reports, which is what keepalived
// 2.2.7 reports on a host that has ens33.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseText, messages } from './helpers.js';

const lab = (name: string) => readFileSync(new URL(`../../../config/${name}`, import.meta.url), 'latin1');
const opts = { checkInterfaces: true, interfaceExists: (n: string) => n === 'ens33' };

describe('seed lab configs', () => {
  it('keepalived.conf = lb01.conf', () => {
    expect(lab('keepalived.conf')).toBe(lab('lb01.conf'));
  });
  it('lb01: MASTER 100, DR service with two TCP_CHECK real servers; keepalived-identical warnings', () => {
    const r = parseText(lab('lb01.conf'), opts);
    expect(messages(r)).toEqual([
      "number '0' outside range [1, 2678400]",
      'persistence_timeout invalid',
      "Unknown keyword 'nb_get_retry'",
      "Unknown keyword 'nb_get_retry'",
    ]);
    expect(r.config.global.routerId).toBe('LVS_01');
    expect(r.config.vrrpScripts[0]).toMatchObject({ name: 'lvs_check', script: '/etc/keepalived/lvs_check.sh', intervalMs: 1000 });
    expect(r.config.vrrpInstances[0]).toMatchObject({ state: 'MASTER', interface: 'ens33', virtualRouterId: 10, priority: 100, authentication: { type: 'PASS', password: '1111' } });
    const vs = r.config.virtualServers[0]!;
    expect(vs).toMatchObject({ key: { kind: 'address', address: '192.168.60.200', port: 8080 }, scheduler: 'rr', forwardMethod: 'route', protocol: 'tcp', delayLoopMs: 6000 });
    expect(vs.persistenceTimeout).toBeUndefined();
    expect(vs.realServers.map((s) => s.address)).toEqual(['192.168.60.121', '192.168.60.122']);
    expect(vs.realServers[0]!.checkers[0]).toMatchObject({ kind: 'TCP_CHECK', connectPort: 8080, connectTimeoutMs: 3000, retry: 1, delayBeforeRetryMs: 3000 });
  });
  it('lb02: BACKUP 90, router_id LVS_02', () => {
    const r = parseText(lab('lb02.conf'), opts);
    expect(r.config.global.routerId).toBe('LVS_02');
    expect(r.config.vrrpInstances[0]).toMatchObject({ state: 'BACKUP', priority: 90 });
  });
});
