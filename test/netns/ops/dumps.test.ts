// Dump signals on the real daemon: the parent asks both children and writes keepalived's files where
// global_defs says, mode 0600, never with the PASS password: SIGUSR1 data, SIGUSR2 stats, JSON (SIGWINCH
// here, see `lvskeeper --signum=JSON`), STATS_CLEAR (SIGURG) zeroing the counters after writing them.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, readStats, sleep, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

let topo: Topo;
let daemon: Daemon | undefined;
const PASSWORD = 's3cr3tpw';

describe.skipIf(!canRun())('dump files from the running daemon', () => {
  const file = (name: string): string => join(topo.dir, name);

  beforeAll(async () => {
    topo = topology('dm');
    const conf = writeConf(
      topo.dir,
      'lb1.conf',
      `global_defs {\n  state_file_location ${file('k.data')}\n  stats_file_location ${file('k.stats')}\n  json_file_location ${file('k.json')}\n}\n` +
        vrrpInstance({ state: 'MASTER', priority: 110, auth: PASSWORD, vips: ['192.168.60.200/24'] }),
    );
    daemon = Daemon.lvskeeper('lb1', topo.lb1, conf, topo.dir);
    await daemon.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  }, 30_000);
  afterAll(async () => {
    await daemon?.stop();
    topo?.down();
  });

  it('USR1, USR2, JSON and STATS_CLEAR write their files, redacted and private', async () => {
    const d = daemon!;
    d.signal('SIGUSR1');
    await waitUntil(() => readStats(file('k.data')).includes('VRRP Instance VI_1'), 5000, 'data file');
    expect(readStats(file('k.data'))).toMatch(/state = MASTER/);

    await sleep(3000); // a few adverts, so that clearing the counters is visible
    d.signal('SIGUSR2');
    await waitUntil(() => readStats(file('k.stats')).includes('VRRP Instance: VI_1'), 5000, 'stats file');
    const sent = Number(/Advertisements:\n\s+Received: \d+\n\s+Sent: (\d+)/.exec(readStats(file('k.stats')))?.[1]);
    expect(sent).toBeGreaterThanOrEqual(3);

    d.signal('SIGWINCH');
    await waitUntil(() => readStats(file('k.json')).includes('VI_1'), 5000, 'JSON file');
    const json = JSON.parse(readStats(file('k.json'))) as { VRRP: { vrrp: Record<string, { state: string }> } };
    expect(json.VRRP.vrrp['VI_1']!.state).toBe('MASTER');

    // STATS_CLEAR: written with the counters, then zeroed (the next USR2 shows a smaller count).
    d.signal('SIGURG');
    await d.waitFor(/Stats \(cleared\) written to/, 5000);
    d.signal('SIGUSR2');
    await d.waitFor(/Stats written to/, 5000, performance.now() - 50);
    await waitUntil(() => {
      const now = Number(/Sent: (\d+)/.exec(readStats(file('k.stats')))?.[1]);
      return now < sent;
    }, 5000, 'counters cleared');

    for (const f of ['k.data', 'k.stats', 'k.json']) {
      expect(statSync(file(f)).mode & 0o777).toBe(0o600);
      expect(readStats(file(f))).not.toContain(PASSWORD);
    }
  }, 30_000);
});
