// The real daemon (parent + VRRP child + checker child) talking sd_notify to a NOTIFY_SOCKET we listen on,
// as systemd's Type=notify unit would: READY=1 only once both children are up (with the instance states
// in STATUS=), RELOADING=1 … READY=1 around a SIGHUP, STOPPING=1 at SIGTERM, every datagram sent by the
// main pid (NotifyAccess=main would drop the children's), and the child pid files written and removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

const listenerScript = fileURLToPath(new URL('../../unit/ops/fixtures/dgram-listen.py', import.meta.url));

let topo: Topo;
let listener: ChildProcess | undefined;
let daemon: Daemon | undefined;

describe.skipIf(!canRun())('sd_notify from the running daemon', () => {
  const received: Array<{ pid: number | null; data: string }> = [];

  beforeAll(async () => {
    topo = topology('sn');
    const socketPath = join(topo.dir, 'notify.sock');
    listener = spawn('python3', [listenerScript, socketPath, '1000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const lines = createInterface({ input: listener.stdout! });
    await new Promise<void>((resolve) =>
      lines.on('line', (line) => {
        if (line === 'ready') resolve();
        else received.push(JSON.parse(line) as { pid: number | null; data: string });
      }),
    );
    const conf = writeConf(topo.dir, 'lb1.conf', vrrpInstance({ state: 'MASTER', priority: 110, vips: ['192.168.60.200/24'] }));
    daemon = Daemon.lvskeeper('lb1', topo.lb1, conf, topo.dir, [], { NOTIFY_SOCKET: socketPath });
  }, 30_000);
  afterAll(async () => {
    await daemon?.stop();
    listener?.kill();
    topo?.down();
  });

  it('READY=1 after both children, RELOADING=1/READY=1 around SIGHUP, STOPPING=1 at SIGTERM, all from the main pid', async () => {
    const d = daemon!;
    await waitUntil(() => received.some((m) => m.data.includes('READY=1')), 10_000, 'READY=1');
    const mainPid = Number(readFileSync(d.pidFile, 'utf8').trim());
    const vrrpPid = join(topo.dir, 'lb1_vrrp.pid');
    const checkersPid = join(topo.dir, 'lb1_checkers.pid');
    expect(existsSync(vrrpPid) && existsSync(checkersPid)).toBe(true);
    const children = [vrrpPid, checkersPid].map((f) => Number(readFileSync(f, 'utf8').trim()));
    expect(children).not.toContain(mainPid);
    // READY comes after both children said they were up.
    expect(d.has(/Starting VRRP child process, pid=\d+/)).toBe(true);
    expect(d.has(/Starting Checker child process, pid=\d+/)).toBe(true);

    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    await waitUntil(() => received.some((m) => /STATUS=.*VI_1 MASTER/.test(m.data)), 3000, 'STATUS with VI_1 MASTER');

    const beforeReload = received.length;
    d.signal('SIGHUP');
    await d.waitFor(/Reload complete/, 10_000);
    await waitUntil(() => received.slice(beforeReload).some((m) => m.data.includes('READY=1')), 3000, 'READY=1 after reload');
    const reload = received.slice(beforeReload).map((m) => m.data);
    const reloadingAt = reload.findIndex((x) => x.includes('RELOADING=1'));
    expect(reloadingAt).toBeGreaterThanOrEqual(0);
    expect(reload[reloadingAt]).toMatch(/MONOTONIC_USEC=\d+/);
    expect(reload.findIndex((x) => x.includes('READY=1'))).toBeGreaterThan(reloadingAt);

    const beforeStop = received.length;
    expect(await d.stop()).toBe(0);
    await waitUntil(() => received.slice(beforeStop).some((m) => m.data.includes('STOPPING=1')), 3000, 'STOPPING=1');
    expect(existsSync(vrrpPid) || existsSync(checkersPid) || existsSync(d.pidFile)).toBe(false);
    expect(new Set(received.map((m) => m.pid))).toEqual(new Set([mainPid]));
  }, 60_000);
});
