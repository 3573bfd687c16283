// vrrp_garp_interval / vrrp_gna_interval: one message per interval per interface and family, in order.
import { describe, expect, it } from 'vitest';
import { PacedAnnouncer } from '../../../src/daemon/garp-pacer.js';

function harness(garpMs: number, gnaMs: number) {
  let now = 0;
  const sent: Array<[number, string, string]> = [];
  const sleeps: number[] = [];
  const inner = { announce: async (i: string, v: { address: string }) => void sent.push([now, i, v.address]), close: () => undefined };
  const paced = new PacedAnnouncer(inner, { garpMs, gnaMs }, () => now, async (ms) => {
    sleeps.push(ms);
    await Promise.resolve();
    now += ms; // a fake sleep: the clock moves when it ends
  });
  return { paced, sent, sleeps, setNow: (t: number) => (now = t) };
}

describe('GARP/NA pacing', () => {
  it('spaces messages on one interface by the interval; other interfaces and families are independent', async () => {
    const h = harness(100, 0);
    await Promise.all([
      h.paced.announce('eth0', { family: 'inet', address: '10.0.0.1' }),
      h.paced.announce('eth0', { family: 'inet', address: '10.0.0.2' }),
      h.paced.announce('eth1', { family: 'inet', address: '10.0.1.1' }),
      h.paced.announce('eth0', { family: 'inet6', address: 'fd00::1' }),
    ]);
    const eth0v4 = h.sent.filter(([, i, a]) => i === 'eth0' && a.startsWith('10.'));
    expect(eth0v4.map(([, , a]) => a)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(h.sleeps).toEqual([100]); // only the second eth0 IPv4 GARP waited
    expect(h.sent.find(([, i]) => i === 'eth1')?.[0]).toBe(0);
  });

  it('no interval: no waiting at all', async () => {
    const h = harness(0, 0);
    for (let k = 0; k < 3; k++) await h.paced.announce('eth0', { family: 'inet', address: '10.0.0.1' });
    expect(h.sleeps).toEqual([]);
    expect(h.sent).toHaveLength(3);
  });
});
