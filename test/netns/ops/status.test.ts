// `lvskeeper status` on two real daemons in namespaces, through a failover: each node says who is MASTER
// and why, `--watch` streams the transitions with their reasons as they happen, `--json` validates
// against the shipped schema, and a stopped daemon gets one line and exit code 3.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, LVSKEEPER, REPO, canRun, linkSet, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

let topo: Topo;
let lb1: Daemon | undefined;
let lb2: Daemon | undefined;

/** `lvskeeper status ARGS` for the daemon with pid file `pidFile` (its control socket is beside it). */
function status(pidFile: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [LVSKEEPER, 'status', '-p', pidFile, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function json(pidFile: string): { instances: Array<{ name: string; state: string; lastTransition?: { from: string; to: string; reason: string } }> } {
  const r = status(pidFile, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as ReturnType<typeof json>;
}

describe.skipIf(!canRun())('lvskeeper status on two daemons in namespaces', () => {
  beforeAll(async () => {
    topo = topology('st');
    const conf = (priority: number) => `global_defs {\n  router_id lb${priority === 150 ? 1 : 2}\n}\n${vrrpInstance({ priority, auth: 'st4tus', vips: ['192.168.60.200/24'] })}`;
    lb1 = Daemon.lvskeeper('lb1', topo.lb1, writeConf(topo.dir, 'lb1.conf', conf(150)), topo.dir);
    lb2 = Daemon.lvskeeper('lb2', topo.lb2, writeConf(topo.dir, 'lb2.conf', conf(100)), topo.dir);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 20_000);
    await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 20_000);
  }, 60_000);
  afterAll(async () => {
    await lb1?.stop();
    await lb2?.stop();
    topo?.down();
  });

  it('each node says who is MASTER and why; --watch streams the failover; --json validates against the schema', async () => {
    const before = status(lb2!.pidFile);
    expect(before.code, before.err).toBe(0);
    expect(before.out).toMatch(/VI_1: BACKUP for \S+, vrid 51 on eth0, priority 100/);
    expect(before.out).toContain('master 192.168.60.111; VIPs 192.168.60.200 not here');
    expect(status(lb1!.pidFile).out).toMatch(/VI_1: MASTER for \S+, vrid 51 on eth0, priority 150[\s\S]*master this node; VIPs 192.168.60.200 present here/);

    const watchOut: string[] = [];
    const watch = spawn(process.execPath, [LVSKEEPER, 'status', '--watch', '--json', '-p', lb2!.pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    watch.stdout.setEncoding('utf8').on('data', (d: string) => watchOut.push(d));
    // The daemon's first line says the watcher is subscribed: a state change from then on is streamed.
    await waitUntil(() => watchOut.join('').includes('"kind":"watch"'), 20_000, 'the watcher subscribed');

    linkSet(topo.lb1, false); // lb1 goes FAULT; lb2 stops hearing it and takes over
    try {
      await lb2!.waitFor(/\(VI_1\) Entering MASTER STATE/, 20_000);
      const streamed = () => {
        const text = watchOut.join('');
        // Whole lines only: a chunk can end inside one.
        return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; text: string });
      };
      await waitUntil(() => streamed().some((e) => e.kind === 'state' && e.text === 'VI_1 BACKUP -> MASTER (advert timeout: no advert from 192.168.60.111)'), 10_000, 'the watcher sees the takeover');
      const now = json(lb2!.pidFile);
      expect(now.instances[0]).toMatchObject({ name: 'VI_1', state: 'MASTER', lastTransition: { from: 'BACKUP', to: 'MASTER', reason: 'advert timeout: no advert from 192.168.60.111' } });
      const faulted = status(lb1!.pidFile);
      expect(faulted.out).toMatch(/VI_1: FAULT for \S+, vrid 51 on eth0, priority 150 \(base 150: interface eth0 FAULT\)/);
      expect(faulted.out).toContain('MASTER -> FAULT, interface eth0 down');

      const schema = JSON.parse(readFileSync(join(REPO, 'docs/status.schema.json'), 'utf8')) as object;
      const validate = new Ajv({ allErrors: true }).compile(schema);
      for (const d of [lb1!, lb2!]) {
        const snapshot = JSON.parse(status(d.pidFile, '--json').out) as unknown;
        expect(validate(snapshot), JSON.stringify(validate.errors)).toBe(true);
      }
    } finally {
      linkSet(topo.lb1, true);
      watch.kill();
    }
  }, 60_000);

  it('a stopped daemon: one line on stderr, exit code 3', async () => {
    await lb1!.stop();
    const r = status(lb1!.pidFile);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toEqual([expect.stringMatching(/^lvskeeper is not running \(no daemon listening on .*lb1\.control\)$/)]);
  }, 30_000);
});
