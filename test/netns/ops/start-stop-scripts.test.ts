// global_defs startup_script / shutdown_script with the real daemon: the startup script has ended before
// the VRRP child starts, and the shutdown script runs after the children have stopped (so the VIP is
// already gone when it looks); a startup script that hangs is killed at startup_script_timeout and the
// daemon starts anyway.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

let topo: Topo;

function script(name: string, body: string): string {
  const path = join(topo.dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const indexOf = (d: Daemon, re: RegExp): number => d.lines.findIndex((l) => re.test(l.text));

describe.skipIf(!canRun())('startup_script and shutdown_script', () => {
  beforeAll(() => {
    topo = topology('ss');
  });
  afterAll(() => topo?.down());

  it('startup before the children, shutdown after them (the VIP is gone by then)', async () => {
    const out = join(topo.dir, 'order.log');
    const startup = script('startup.sh', `echo startup >> ${out}`);
    // The shutdown script records whether the VIP is still on eth0 when it runs.
    const shutdown = script('shutdown.sh', `if ip -4 addr show dev eth0 | grep -q 192.168.60.200; then echo shutdown-vip-present >> ${out}; else echo shutdown-vip-gone >> ${out}; fi`);
    const conf = writeConf(
      topo.dir,
      'lb1.conf',
      `global_defs {\n  startup_script ${startup}\n  shutdown_script ${shutdown}\n  shutdown_script_timeout 5\n}\n` +
        vrrpInstance({ state: 'MASTER', priority: 110, vips: ['192.168.60.200/24'] }),
    );
    const d = Daemon.lvskeeper('lb1', topo.lb1, conf, topo.dir);
    try {
      await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 15_000);
      expect(readFileSync(out, 'utf8')).toBe('startup\n');
      const ran = indexOf(d, /startup script succeeded/);
      expect(ran).toBeGreaterThanOrEqual(0);
      expect(indexOf(d, /Starting VRRP child process/)).toBeGreaterThan(ran);
    } finally {
      expect(await d.stop()).toBe(0);
    }
    expect(readFileSync(out, 'utf8')).toBe('startup\nshutdown-vip-gone\n');
    expect(d.has(/shutdown script succeeded/)).toBe(true);
  }, 60_000);

  it('a startup script that hangs is killed after startup_script_timeout; the daemon starts anyway', async () => {
    const marker = join(topo.dir, 'hung.pid');
    const hang = script('hang.sh', `echo $$ > ${marker}\nexec sleep 1000`);
    const conf = writeConf(topo.dir, 'lb1b.conf', `global_defs {\n  startup_script ${hang}\n  startup_script_timeout 1\n}\n` + vrrpInstance({ state: 'MASTER', priority: 110 }));
    const d = Daemon.lvskeeper('lb1b', topo.lb1, conf, topo.dir);
    try {
      await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 15_000);
      expect(d.has(/startup script timed out after 1 s - killing it/)).toBe(true);
      const pid = Number(readFileSync(marker, 'utf8').trim());
      await waitUntil(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z', 5000, 'the hung script gone');
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 60_000);
});
