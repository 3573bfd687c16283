// Prometheus metrics from two real daemons in namespaces, scraped by a real Prometheus server (Debian's
// package) in a third: its query API shows keepalived_vrrp_state flip across a failover and a real
// server's series go down with the real server; promtool accepts what the daemons serve.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, linkSet, sh, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const havePrometheus = (): boolean => spawnSync(PROMETHEUS, ['--version']).status === 0 && spawnSync(PROMTOOL, ['--version']).status === 0;
// CI installs the prometheus package (scripts/setup.sh): there a missing binary is a failure, not a skip.
const run = canRun() && (havePrometheus() || process.env.CI === 'true');

let topo: Topo;
const daemons: Daemon[] = [];
let prometheus: ChildProcess | undefined;
let realServer: ChildProcess | undefined;

/** GET inside a namespace (curl), the body as text. */
function get(ns: string, url: string): string {
  return sh('ip', ['netns', 'exec', ns, 'curl', '-sf', '--max-time', '5', url], true);
}

/** An instant query against the Prometheus server: each series' instance label → its value. */
function query(promql: string): Map<string, number> {
  const body = get(topo.x, `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(promql)}`);
  const out = new Map<string, number>();
  if (!body) return out;
  const r = JSON.parse(body) as { data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  for (const s of r.data?.result ?? []) out.set(s.metric['instance'] ?? '', Number(s.value[1]));
  return out;
}

function conf(node: 'lb1' | 'lb2'): string {
  return `global_defs {\n  router_id ${node}\n}\n${vrrpInstance({ priority: node === 'lb1' ? 150 : 100, auth: 'm3tr1cs', vips: ['192.168.60.200/24'] })}
virtual_server 192.168.60.200 8080 {
  delay_loop 1
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 192.168.60.50 8080 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`;
}

describe.skipIf(!run)('Prometheus scrapes two daemons in namespaces', () => {
  beforeAll(async () => {
    expect(havePrometheus(), 'the prometheus package (promtool, prometheus) is not installed: run scripts/setup.sh').toBe(true);
    topo = topology('pm');
    // The real server: a TCP listener in the client namespace, checked by both daemons.
    realServer = spawn('ip', ['netns', 'exec', topo.x, process.execPath, '-e', `require('net').createServer((s) => s.end()).listen(8080, '192.168.60.50')`], { stdio: 'ignore' });
    for (const node of ['lb1', 'lb2'] as const) {
      const ns = node === 'lb1' ? topo.lb1 : topo.lb2;
      daemons.push(Daemon.lvskeeper(node, ns, writeConf(topo.dir, `${node}.conf`, conf(node)), topo.dir, ['--metrics-listen', ':9650']));
    }
    await daemons[0]!.waitFor(/\(VI_1\) Entering MASTER STATE/, 20_000);
    await daemons[1]!.waitFor(/\(VI_1\) Entering BACKUP STATE/, 20_000);
    const promConf = join(topo.dir, 'prometheus.yml');
    writeFileSync(
      promConf,
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: lvskeeper\n    static_configs:\n      - targets: ['192.168.60.111:9650', '192.168.60.112:9650']\n`,
    );
    prometheus = spawn(
      'ip',
      ['netns', 'exec', topo.x, PROMETHEUS, `--config.file=${promConf}`, `--storage.tsdb.path=${join(topo.dir, 'tsdb')}`, '--web.listen-address=127.0.0.1:9090', '--log.level=warn'],
      { stdio: 'ignore' },
    );
    await waitUntil(() => query('up').size === 2 && [...query('up').values()].every((v) => v === 1), 60_000, 'Prometheus scraping both daemons');
  }, 120_000);

  afterAll(async () => {
    prometheus?.kill();
    realServer?.kill();
    for (const d of daemons) await d.stop();
    topo?.down();
  });

  it('promtool accepts what each daemon serves', () => {
    for (const address of ['192.168.60.111', '192.168.60.112']) {
      const text = get(topo.x, `http://${address}:9650/metrics`);
      expect(text).toContain('keepalived_up 1');
      const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('keepalived_vrrp_state flips across a failover; the real server series goes down with it', async () => {
    const state = (): Map<string, number> => query('keepalived_vrrp_state{iname="VI_1"}');
    await waitUntil(() => state().get('192.168.60.111:9650') === 2 && state().get('192.168.60.112:9650') === 1, 30_000, 'lb1 MASTER (2), lb2 BACKUP (1)');
    await waitUntil(() => [...query('lvskeeper_real_server_up{addr="192.168.60.50:8080"}').values()].join() === '1,1', 30_000, 'the real server up on both');

    // Counted from here: lb2 may have been MASTER for a moment at start, before it heard lb1.
    const becameMaster = (): number | undefined => query('keepalived_become_master_total{instance="192.168.60.112:9650"}').get('192.168.60.112:9650');
    const before = becameMaster() ?? NaN;
    expect(before).toBeGreaterThanOrEqual(0);
    linkSet(topo.lb1, false);
    try {
      await waitUntil(() => state().get('192.168.60.112:9650') === 2, 30_000, 'lb2 MASTER (2) in Prometheus');
      await waitUntil(() => becameMaster() === before + 1, 30_000, 'keepalived_become_master_total one more on lb2');
    } finally {
      linkSet(topo.lb1, true);
    }
    // lb1 (priority 150) preempts again once its link is back: the series flip back.
    await waitUntil(() => state().get('192.168.60.111:9650') === 2 && state().get('192.168.60.112:9650') === 1, 30_000, 'lb1 MASTER again, lb2 BACKUP, in Prometheus');

    realServer?.kill();
    await waitUntil(() => [...query('lvskeeper_real_server_up{addr="192.168.60.50:8080"}').values()].join() === '0,0', 30_000, 'the real server down on both');
  }, 120_000);
});
