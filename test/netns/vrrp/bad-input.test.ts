// Bad adverts injected from another namespace (raw socket with our own IP header): wrong password, VRID,
// interval, checksum, TTL 254, truncated and random packets are dropped and counted (SIGUSR2 stats file
// and rate-limited log lines); the daemon keeps running and keeps its state. A good advert sent the same
// way last proves the injector reaches the daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeAdvert } from '../../../src/vrrp/packet.js';
import { Daemon, canRun, hasAddress, readStats, sh, sleep, topology, vrrpInstance, waitUntil, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
const SRC = '192.168.60.50';
let topo: Topo;
let d: Daemon;

function inject(ttl: number, payloads: Buffer[]): void {
  const r = spawnSync('ip', ['netns', 'exec', topo.x, process.execPath, join(import.meta.dirname, 'inject.mjs'), SRC, '224.0.0.18', String(ttl), ...payloads.map((p) => p.toString('hex'))], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`inject: ${r.stderr}`);
}

const advert = (over: Partial<Parameters<typeof encodeAdvert>[0]> = {}): Buffer =>
  encodeAdvert({ version: 2, family: 'inet', vrid: 51, priority: 254, advertIntCs: 100, addresses: [VIP], authType: 1, authPassword: 'k33pal1v', ...over });

function drops(statsFile: string): Record<string, number> {
  const line = readStats(statsFile).split('\n').find((l) => l.trim().startsWith('Drops:')) ?? '';
  return Object.fromEntries(
    line
      .replace(/^\s*Drops:\s*/, '')
      .split(' ')
      .filter((kv) => kv.includes('='))
      .map((kv) => {
        const [k, v] = kv.split('=');
        return [k!, Number(v)];
      }),
  );
}

describe.skipIf(!canRun())('bad input from the network', () => {
  const statsFile = () => join(topo.dir, 'lvskeeper.stats');
  beforeAll(async () => {
    topo = topology('bi');
    sh('ip', ['-n', topo.x, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
    const conf = writeConf(
      topo.dir,
      'lb1.conf',
      `global_defs {\n  stats_file_location ${statsFile()}\n}\n${vrrpInstance({ state: 'MASTER', priority: 100, auth: 'k33pal1v', vips: [`${VIP}/24`] })}`,
    );
    d = Daemon.lvskeeper('lb1', topo.lb1, conf, topo.dir);
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
  });
  afterAll(async () => {
    await d?.stop();
    topo?.down();
  });

  it('drops and counts each kind, keeps MASTER and the VIP', async () => {
    const t0 = performance.now();
    const badSum = advert();
    badSum[6] = badSum[6]! ^ 0x5a;
    const rnd = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (seed * 131 + i * 71 + ((i * i) % 13)) & 255));
    for (let round = 0; round < 3; round++) {
      inject(255, [advert({ authPassword: 'wrongpw' })]);
      inject(255, [advert({ vrid: 52 })]);
      inject(255, [advert({ advertIntCs: 300 })]);
      inject(255, [badSum]);
      inject(254, [advert()]);
      inject(255, [advert().subarray(0, 14)]);
    }
    const randoms = Array.from({ length: 40 }, (_, i) => rnd(1 + ((i * 7) % 70), i));
    inject(255, randoms);
    await sleep(1500);
    d.signal('SIGUSR2');
    await waitUntil(() => readStats(statsFile()).includes('Drops:'), 3000, 'stats file');
    const c = drops(statsFile());
    expect(c['auth-pass']).toBe(3);
    expect(c['vrid']).toBeGreaterThanOrEqual(3);
    expect(c['interval']).toBe(3);
    expect(c['checksum']).toBe(3);
    expect(c['ttl']).toBe(3);
    expect(c['truncated']).toBeGreaterThanOrEqual(3);
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(18 + 40);
    expect(readStats(statsFile())).toMatch(/Failure: 3/);

    // Logged with the peer, rate-limited (3 bad passwords → one line).
    expect(d.count(/\(VI_1\) received an invalid passwd! \(from 192\.168\.60\.50/, t0)).toBe(1);
    expect(d.has(/\(VI_1\) invalid TTL\/HL\. Received 254 and expect 255 \(from 192\.168\.60\.50/, t0)).toBe(true);
    expect(d.has(/advertisement interval mismatch mine=1 sec rcv'd=3 sec/, t0)).toBe(true);
    expect(d.has(/Invalid VRRPv2 checksum/, t0)).toBe(true);
    // State kept.
    expect(d.exitCode).toBeUndefined();
    expect(d.has(/Entering BACKUP STATE$/, t0)).toBe(false);
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
  });

  it('a valid higher-priority advert sent the same way is accepted (the injector works)', async () => {
    const t0 = performance.now();
    inject(255, [advert()]);
    await d.waitFor(/\(VI_1\) Master received advert from 192\.168\.60\.50 with higher priority 254, ours 100/, 3000, t0);
    await d.waitFor(/\(VI_1\) Entering BACKUP STATE$/, 1000, t0);
    // Nobody keeps advertising: MASTER again after the down interval.
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, t0);
  });
});
