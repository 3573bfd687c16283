// `lvskeeper -s NAME` started from the host's namespace, as keepalived's --namespace: the daemon, its
// children and their sockets live in /run/netns/NAME (the VIP appears there, not on the host), pid files
// go to /run/lvskeeper/NAME/, and SIGTERM releases the VIP there. A missing namespace is refused.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, LVSKEEPER, canRun, hasAddress, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

const VIP = '192.168.60.200';
let topo: Topo;
let daemon: Daemon | undefined;

describe.skipIf(!canRun())('-s / --namespace', () => {
  beforeAll(() => {
    topo = topology('ns');
  });
  afterAll(async () => {
    await daemon?.stop();
    topo?.down();
  });

  it('runs the whole daemon inside the named namespace with its pid files under /run/lvskeeper/NAME', async () => {
    const conf = writeConf(topo.dir, 'lb1.conf', vrrpInstance({ state: 'MASTER', priority: 110, vips: [`${VIP}/24`] }));
    const runDir = `/run/lvskeeper/${topo.lb1}`;
    const proc = spawn(process.execPath, [LVSKEEPER, '-s', topo.lb1, '-f', conf, '-n', '-l'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const d = (daemon = Daemon.attach('lb1', topo.lb1, proc, `${runDir}/lvskeeper.pid`));
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 3000, 'VIP in the namespace');
    // Not on the host.
    expect(spawnSync('ip', ['-4', 'addr', 'show'], { encoding: 'utf8' }).stdout).not.toContain(VIP);
    for (const f of ['lvskeeper.pid', 'vrrp.pid', 'checkers.pid']) expect(existsSync(`${runDir}/${f}`)).toBe(true);
    expect(Number(readFileSync(`${runDir}/lvskeeper.pid`, 'utf8'))).toBe(proc.pid);
    expect(await d.stop()).toBe(0);
    expect(hasAddress(topo.lb1, VIP)).toBe(false);
    expect(existsSync(`${runDir}/lvskeeper.pid`)).toBe(false);
  }, 30_000);

  it('net_namespace and instance in the configuration do the same without -s (pid files NAME_INSTANCE.pid)', async () => {
    await daemon?.stop();
    const conf = writeConf(topo.dir, 'lb1ns.conf', `net_namespace ${topo.lb1}\ninstance web\n` + vrrpInstance({ state: 'MASTER', priority: 110, vips: [`${VIP}/24`] }));
    const runDir = `/run/lvskeeper/${topo.lb1}`;
    const proc = spawn(process.execPath, [LVSKEEPER, '-f', conf, '-n', '-l'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const d = (daemon = Daemon.attach('lb1', topo.lb1, proc, `${runDir}/lvskeeper_web.pid`));
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 3000, 'VIP in the namespace');
    expect(spawnSync('ip', ['-4', 'addr', 'show'], { encoding: 'utf8' }).stdout).not.toContain(VIP);
    for (const f of ['lvskeeper_web.pid', 'vrrp_web.pid', 'checkers_web.pid']) expect(existsSync(`${runDir}/${f}`)).toBe(true);
    expect(await d.stop()).toBe(0);
    expect(hasAddress(topo.lb1, VIP)).toBe(false);
  }, 30_000);

  it('a namespace that does not exist: a clear message and exit 1', () => {
    const r = spawnSync(process.execPath, [LVSKEEPER, '-s', 'lkv-no-such-ns', '-f', '/dev/null', '-n', '-l'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Unable to set network namespace lkv-no-such-ns - exiting: /run/netns/lkv-no-such-ns does not exist');
  });
});
