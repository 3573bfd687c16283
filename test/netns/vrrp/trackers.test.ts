// track_process and track_file on a VRRP instance (keepalived 2.2.7 track_process.c, track_file.c): two
// lvskeeper daemons on a bridge; lb1 (priority 110) tracks a process the test starts, with weight 0, and
// a file with weight -20. Killing the process moves the master to lb2; starting it again gives it back
// (preemption). Writing 1 to the file lowers lb1 to 90 < 100: lb2 takes over; writing 0 brings lb1 back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Daemon, canRun, hasAddress, topology, vrrpInstance, waitUntil, writeConf, type Topo } from './helpers.js';

const VIP = '192.168.60.200';
let topo: Topo;
const daemons: Daemon[] = [];
let sleeper: ChildProcess | undefined;
/** argv[0] of the tracked process: distinctive, so that no other process on the machine matches it. */
let marker = '';

function startSleeper(): ChildProcess {
  const p = spawn('sleep', ['100000'], { argv0: marker, stdio: 'ignore' });
  sleeper = p;
  return p;
}

async function killSleeper(): Promise<void> {
  const p = sleeper;
  sleeper = undefined;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}

function conf(node: 'lb1' | 'lb2'): string {
  const lb1 = node === 'lb1';
  const tracking = lb1
    ? `vrrp_track_process sleeper {
  process ${marker} 100000
  full_command
}
track_file prio {
  file ${join(topo.dir, 'prio')}
  weight -20
  init_file 0 overwrite
}
`
    : '';
  return writeConf(
    topo.dir,
    `${node}.conf`,
    `global_defs {\n  router_id ${lb1 ? 'lb01' : 'lb02'}\n}\n${tracking}${vrrpInstance({
      state: lb1 ? 'MASTER' : 'BACKUP',
      priority: lb1 ? 110 : 100,
      extra: lb1 ? '  track_process {\n    sleeper\n  }\n  track_file {\n    prio\n  }\n' : '',
    })}`,
  );
}

describe.skipIf(!canRun())('track_process and track_file on a VRRP instance', () => {
  let lb1: Daemon;
  let lb2: Daemon;

  beforeAll(async () => {
    topo = topology('tp');
    marker = `lktp-sleeper-${process.pid}`;
    startSleeper();
    lb1 = Daemon.lvskeeper('lb1', topo.lb1, conf('lb1'), topo.dir);
    daemons.push(lb1);
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 6000);
    lb2 = Daemon.lvskeeper('lb2', topo.lb2, conf('lb2'), topo.dir);
    daemons.push(lb2);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 6000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 2000, 'VIP on lb1');
  }, 30_000);

  afterAll(async () => {
    await killSleeper();
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });

  it('the process counted at start: lb1 is MASTER', () => {
    expect(lb1.has(/Track process sleeper: 1 process, quorum 1/)).toBe(true);
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
  });

  it('weight 0: killing the process puts lb1 in FAULT and lb2 takes over; restarting it gives MASTER back', async () => {
    const t0 = performance.now();
    await killSleeper();
    await lb1.waitFor(/Quorum lost for tracked process sleeper/, 4000, t0);
    await lb1.waitFor(/\(VI_1\) Entering FAULT STATE/, 2000, t0);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 4000, t0);
    await waitUntil(() => hasAddress(topo.lb2, VIP) && !hasAddress(topo.lb1, VIP), 3000, 'VIP on lb2 only');

    const t1 = performance.now();
    startSleeper();
    await lb1.waitFor(/Quorum gained for tracked process sleeper/, 4000, t1);
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 2000, t1);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, t1);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP back on lb1 only');
  }, 30_000);

  it('a process with other arguments does not count', async () => {
    const other = spawn('sleep', ['100001'], { argv0: marker, stdio: 'ignore' });
    try {
      const t0 = performance.now();
      await killSleeper();
      await lb1.waitFor(/Quorum lost for tracked process sleeper/, 4000, t0);
      await lb1.waitFor(/\(VI_1\) Entering FAULT STATE/, 2000, t0);
      const t1 = performance.now();
      startSleeper();
      await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000, t1);
    } finally {
      other.kill('SIGKILL');
    }
  }, 30_000);

  it('track_file weight -20: value 1 lowers lb1 to 90 and lb2 takes over; value 0 gives MASTER back', async () => {
    const file = join(topo.dir, 'prio');
    const t0 = performance.now();
    writeFileSync(file, '1\n');
    await lb1.waitFor(/\(VI_1\) Changing effective priority from 110 to 90/, 3000, t0);
    await lb2.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, t0);
    await lb1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 3000, t0);
    await waitUntil(() => hasAddress(topo.lb2, VIP) && !hasAddress(topo.lb1, VIP), 3000, 'VIP on lb2 only');

    // Replaced by rename (how most tools write files): seen through the directory watch.
    const t1 = performance.now();
    writeFileSync(`${file}.new`, '0\n');
    renameSync(`${file}.new`, file);
    await lb1.waitFor(/\(VI_1\) Changing effective priority from 90 to 110/, 3000, t1);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, t1);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP back on lb1 only');
  }, 30_000);
});
