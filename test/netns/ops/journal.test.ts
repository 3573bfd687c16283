// Test 4 of issue #6: under systemd's journal every line carries its syslog priority, and a full failover
// logs keepalived's phrases in order. Two lvskeeper daemons in network namespaces, started through the
// CLI the way the unit starts them (`lvskeeper --dont-fork -D`, no -l), with JOURNAL_STREAM set as systemd
// sets it: the dev:inode of the stderr they write to (a shell reads it with stat, then execs node; the
// daemon's processes inherit that stderr). systemd-run would need systemd as PID 1, which this container
// lacks. Only the CLI's combined output is read, so the test holds whatever processes the daemon runs.
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, LVSKEEPER, canRun, hasAddress, linkSet, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

const VIP = '192.168.60.200';
let topo: Topo;
const daemons: Daemon[] = [];

/**
 * The seed's shape: one instance, one VIP, a tracked script, a notify script (it exits 1, which -D logs
 * at debug). lb2's file also has two operator mistakes, an unknown keyword (line 3) and a notify_master
 * script that does not exist, so that an error and a warning are logged.
 */
function conf(node: 'lb1' | 'lb2', priority: number, state: 'MASTER' | 'BACKUP'): string {
  const check = writeConf(topo.dir, 'chk.sh', '#!/bin/sh\nexit 0\n');
  const notify = writeConf(topo.dir, 'notify.sh', '#!/bin/sh\nexit 1\n');
  chmodSync(check, 0o755);
  chmodSync(notify, 0o755);
  const mistakes = node === 'lb2';
  const notifyLines = `  notify ${notify}\n${mistakes ? `  notify_master ${join(topo.dir, 'missing.sh')}\n` : ''}`;
  return writeConf(
    topo.dir,
    `${node}.conf`,
    `global_defs {
  router_id ${node}
${mistakes ? '  no_such_keyword 1\n' : ''}}
vrrp_script chk {
  script "${check}"
  interval 1
  weight -20
}
${vrrpInstance({ state, priority, vips: [`${VIP}/24`], extra: `  track_script {\n    chk\n  }\n${notifyLines}` })}`,
  );
}

/** `lvskeeper -f CONF -n -D` in the node's namespace, its stderr a pipe named by JOURNAL_STREAM. */
function start(node: 'lb1' | 'lb2', priority: number, state: 'MASTER' | 'BACKUP'): Daemon {
  const ns = node === 'lb1' ? topo.lb1 : topo.lb2;
  const pid = join(topo.dir, `${node}.pid`);
  const argv = [process.execPath, LVSKEEPER, '-f', conf(node, priority, state), '-n', '-D', '-p', pid, '-r', join(topo.dir, `${node}_vrrp.pid`), '-c', join(topo.dir, `${node}_checkers.pid`)];
  const env = { ...process.env };
  delete env.JOURNAL_STREAM;
  const proc = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', 'export JOURNAL_STREAM="$(stat -L -c %d:%i /proc/self/fd/2)"; exec "$@"', 'sh', ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const d = Daemon.attach(node, ns, proc, pid);
  daemons.push(d);
  return d;
}

/** A journal line: `<N>message`, N the syslog priority (sd-daemon(3)). */
interface JournalLine {
  priority: number;
  msg: string;
}

function journalLines(d: Daemon): JournalLine[] {
  return d.lines.map((l) => {
    const m = /^<([0-7])>(.*)$/.exec(l.text);
    if (!m) throw new Error(`${d.name}: a line without a <N> priority prefix: ${JSON.stringify(l.text)}`);
    return { priority: Number(m[1]), msg: m[2]! };
  });
}

const ERROR = 3;
const WARNING = 4;
const INFO = 6;
const DEBUG = 7;

/** The priorities of the lines matching `re`. */
function prioritiesOf(d: Daemon, re: RegExp): number[] {
  return journalLines(d)
    .filter((l) => re.test(l.msg))
    .map((l) => l.priority);
}

/**
 * Finds each expected phrase after the previous one (exact text, or a RegExp for texts with versions or
 * addresses) and checks its priority; the error names the first phrase missing from its place.
 */
function expectInOrder(d: Daemon, expected: readonly (readonly [string | RegExp, number])[]): void {
  const lines = journalLines(d);
  let from = 0;
  for (const [phrase, priority] of expected) {
    const at = lines.findIndex((l, i) => i >= from && (typeof phrase === 'string' ? l.msg === phrase : phrase.test(l.msg)));
    if (at < 0) {
      throw new Error(`${d.name}: no ${String(phrase)} after line ${from}; lines from there:\n${lines.slice(from).map((l) => `<${l.priority}>${l.msg}`).join('\n')}`);
    }
    expect(lines[at]!.priority, `${d.name}: priority of ${lines[at]!.msg}`).toBe(priority);
    from = at + 1;
  }
}

const BACKUP = [/^\(VI_1\) Entering BACKUP STATE( \(init\))?$/, INFO] as const;
const MASTER = ['(VI_1) Entering MASTER STATE', INFO] as const;
const SETTING = ['(VI_1) setting VIPs.', INFO] as const;
const GARP = [`(VI_1) Sending/queueing gratuitous ARPs on eth0 for ${VIP}`, INFO] as const;
const REMOVING = ['(VI_1) removing VIPs.', INFO] as const;
const STOP = [
  ['Stopping', INFO],
  ['(VI_1) sent 0 priority', INFO],
  REMOVING,
  [/^Stopped lvskeeper v\d/, INFO],
] as const;

describe.skipIf(!canRun())('journal output during a full failover (issue #6, test 4)', () => {
  beforeAll(() => {
    topo = topology('jn');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    topo?.down();
  });

  it('every line has a <N> priority and keepalived phrases come in order: election, link down, link up + preemption, SIGTERM', async () => {
    const lb1 = start('lb1', 110, 'MASTER');
    // lb2 after lb1's init: the two down timers (3.57 s vs 3.61 s) are closer than process start-up jitter.
    await lb1.waitFor(/^<\d>\(VI_1\) Entering BACKUP STATE/, 8000);
    const lb2 = start('lb2', 100, 'BACKUP');
    await lb1.waitFor(/^<\d>\(VI_1\) Entering MASTER STATE$/, 8000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 2000, 'VIP on lb1');

    const down = performance.now();
    linkSet(topo.lb1, false);
    await lb2.waitFor(/^<\d>\(VI_1\) Entering MASTER STATE$/, 6000, down);
    await lb1.waitFor(/^<\d>\(VI_1\) Entering FAULT STATE/, 3000, down);
    await waitUntil(() => hasAddress(topo.lb2, VIP), 2000, 'VIP on lb2');

    const up = performance.now();
    linkSet(topo.lb1, true);
    await lb1.waitFor(/^<\d>\(VI_1\) Entering MASTER STATE$/, 8000, up);
    await lb2.waitFor(/^<\d>\(VI_1\) removing VIPs\.$/, 3000, up);
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 3000, 'VIP back on lb1 only');

    const term = performance.now();
    expect(await lb1.stop()).toBe(0);
    await lb2.waitFor(/^<\d>\(VI_1\) Entering MASTER STATE$/, 3000, term);
    await waitUntil(() => hasAddress(topo.lb2, VIP), 2000, 'VIP on lb2 after lb1 stopped');
    expect(await lb2.stop()).toBe(0);

    expectInOrder(lb1, [
      [/^Starting lvskeeper v\d/, INFO],
      REMOVING,
      BACKUP,
      MASTER,
      SETTING,
      GARP,
      // link down
      [/^\(VI_1\) Entering FAULT STATE/, INFO],
      REMOVING,
      // link up: back to BACKUP, discard the lower-priority master's adverts, preempt
      BACKUP,
      ['(VI_1) received lower priority (100) advert from 192.168.60.112 - discarding', INFO],
      MASTER,
      SETTING,
      GARP,
      ...STOP,
    ]);
    expectInOrder(lb2, [
      [/^Starting lvskeeper v\d/, INFO],
      REMOVING,
      BACKUP,
      // lb1's link down: its adverts stop, lb2 takes over
      ['(VI_1) Receive advertisement timeout', INFO],
      MASTER,
      SETTING,
      GARP,
      // lb1 back with the higher priority
      ['(VI_1) Master received advert from 192.168.60.111 with higher priority 110, ours 100', INFO],
      BACKUP,
      REMOVING,
      // lb1 stopped: its priority-0 advert makes lb2 master after the skew time
      ['(VI_1) Backup received priority 0 advertisement', INFO],
      MASTER,
      SETTING,
      GARP,
      ...STOP,
    ]);

    expectInOrder(lb1, [['VRRP_Script(chk) succeeded', INFO], MASTER]);

    // `journalctl -p warning` must show the operator's mistakes and failures, and nothing routine.
    expect(prioritiesOf(lb2, /lb2\.conf:3: Unknown keyword 'no_such_keyword'$/)).toEqual([ERROR]);
    expect(prioritiesOf(lb2, /^Unable to access script `.*missing\.sh` - disabling$/)).toEqual([WARNING]);
    for (const d of [lb1, lb2]) {
      const failures = prioritiesOf(d, /failed|[Uu]nable|[Cc]annot|not found|does not exist/);
      expect(failures.filter((p) => p > WARNING), `${d.name}: failures filed below warning`).toEqual([]);
      const routine = prioritiesOf(d, /Entering \w+ STATE|VIPs\.$|^\(VI_1\) Sending\/queueing gratuitous|^Starting|^Stopp|^VRRP_Script/);
      expect(routine.filter((p) => p !== INFO), `${d.name}: routine lines not at info`).toEqual([]);
      // -D detail goes to debug, below the default journal view of info
      expect(prioritiesOf(d, /^Notify script '.*notify\.sh INSTANCE VI_1 MASTER \d+' for \(VI_1\) exited with status 1$/)).toContain(DEBUG);
    }
  }, 90_000);
});
