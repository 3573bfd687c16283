// Fault matrix for the configuration file and the dump files, on a real daemon (lb1 MASTER, lb2 BACKUP
// watching): every fault must be refused or reported with a line naming the file, change nothing (lb1
// stays MASTER with its VIP, no transition on either node, the daemon keeps running), and the daemon
// must work normally once the fault is gone.
//   1. SIGHUP with the configuration (a) unreadable: a directory or a dangling symbolic link in its
//      place (chmod 000 does not stop root: that file is read and the reload goes ahead; a FIFO in its
//      place stalls the parent: skipped, see the bug note there), (b) deleted, (c) truncated by a write
//      that failed on a full disk (the file lives in a 64k tmpfs mounted here);
//   2. SIGUSR1 (data) and SIGUSR2 (stats) dumps into that full tmpfs (state_file_location /
//      stats_file_location), then again once space is freed;
//   3. the JSON dump (JSON = SIGWINCH, src/daemon/process/signals.ts) likewise (json_file_location).
//      The failure line does not name the file: skipped, see the bug note on the last test.
// The tmpfs is mounted before the daemons start: `/` is mounted private here, so a later mount would not
// reach the mount namespace `ip netns exec` gives the daemon.
import { chmodSync, closeSync, constants as fsc, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, hasAddress, sh, sleep, topology, vrrpInstance, waitUntil, writeConf, type Topo } from '../vrrp/helpers.js';

const VIP = '192.168.60.200';
const VIP_B = '192.168.60.201';

let topo: Topo;
let mnt = '';
let mounted = false;
const daemons: Daemon[] = [];

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(!canRun())('configuration and disk faults on a running MASTER', () => {
  let lb1: Daemon;
  let lb2: Daemon;
  let conf = '';
  const file = (name: string): string => join(mnt, name);
  const filler = (): string => file('filler');

  /** lb1's configuration; its dump files all go into the tmpfs. */
  const lb1Text = (priority = 110, vips = [VIP], pad = ''): string =>
    `global_defs {\n  router_id lb1\n  state_file_location ${file('k.data')}\n  stats_file_location ${file('k.stats')}\n  json_file_location ${file('k.json')}\n}\n` +
    vrrpInstance({ state: 'MASTER', priority, vips: vips.map((v) => `${v}/24`), extra: pad });

  /** Fills the tmpfs: every block taken (tmpfs allocates by page). */
  const fill = (): void => {
    sh('dd', ['if=/dev/zero', `of=${filler()}`, 'bs=4096'], true);
    expect(Number(sh('df', ['--output=avail', '-B1', mnt]).split('\n')[1]!.trim())).toBe(0);
  };
  const free = (): void => rmSync(filler(), { force: true });

  async function reload(d: Daemon): Promise<void> {
    const before = d.count(/Reload complete|Reload aborted/);
    d.signal('SIGHUP');
    await waitUntil(() => d.count(/Reload complete|Reload aborted/) > before, 10_000, `${d.name} reload`);
  }

  /** Nothing changed since t0: lb1 MASTER with its VIP, alive, no transition on either node. */
  async function expectUndisturbed(t0: number): Promise<void> {
    await sleep(3500); // over 3 × advert_int: a master gone quiet would have lost VI_1 to lb2 by now
    expect(lb1.exitCode).toBeUndefined();
    expect(lb2.exitCode).toBeUndefined();
    expect(lb1.lines.filter((l) => l.at >= t0 && /Entering|removing VIPs|sent 0 priority|Reloading VRRP|died/.test(l.text)).map((l) => l.text)).toEqual([]);
    expect(lb2.lines.filter((l) => l.at >= t0 && /Entering/.test(l.text)).map((l) => l.text)).toEqual([]);
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(hasAddress(topo.lb1, VIP_B)).toBe(false);
    expect(hasAddress(topo.lb2, VIP)).toBe(false);
  }

  /** A refused reload: "Reload aborted" naming the file (and a line), never "Reload complete". */
  async function expectRefused(t0: number, detail: RegExp): Promise<string> {
    await reload(lb1);
    const aborted = lb1.lines.filter((l) => l.at >= t0 && /Reload aborted/.test(l.text)).map((l) => l.text);
    expect(aborted.length).toBe(1);
    expect(aborted[0]).toMatch(new RegExp(`Reload aborted, the running configuration stays: ${esc(conf)}:\\d+: `));
    expect(aborted[0]).toMatch(detail);
    expect(lb1.has(/Reload complete/, t0)).toBe(false);
    await expectUndisturbed(t0);
    return aborted[0]!;
  }

  /** The good file back, a reload that goes ahead, still nothing changed. */
  async function expectGoodReload(): Promise<void> {
    writeFileSync(conf, lb1Text());
    const t1 = performance.now();
    await reload(lb1);
    expect(lb1.has(/Reload complete/, t1)).toBe(true);
    expect(lb1.has(/Reload aborted/, t1)).toBe(false);
    expect(hasAddress(topo.lb1, VIP)).toBe(true);
    expect(lb1.has(/Entering/, t1)).toBe(false);
  }

  beforeAll(async () => {
    topo = topology('dfl');
    mnt = join(topo.dir, 'full');
    mkdirSync(mnt);
    sh('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', mnt]);
    mounted = true;
    conf = writeConf(mnt, 'lb1.conf', lb1Text());
    const conf2 = writeConf(topo.dir, 'lb2.conf', `global_defs {\n  router_id lb2\n}\n${vrrpInstance({ state: 'BACKUP', priority: 100, vips: [`${VIP}/24`] })}`);
    lb1 = Daemon.lvskeeper('lb1', topo.lb1, conf, topo.dir);
    daemons.push(lb1);
    lb2 = Daemon.lvskeeper('lb2', topo.lb2, conf2, topo.dir);
    daemons.push(lb2);
    await lb1.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await lb2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 10_000);
    await waitUntil(() => hasAddress(topo.lb1, VIP), 5000, 'VIP on lb1');
    // Started together, lb2's first Master_Down_Timer (3.61 s) can run out just before lb1's first advert
    // (its own ends at 3.57 s) on a loaded host: a MASTER→BACKUP blip that is no reload's doing. Let it pass
    // before the tests compare states.
    await sleep(4500);
    const lastState = (d: Daemon): string | undefined => d.lines.filter((l) => /Entering (MASTER|BACKUP|FAULT) STATE/.test(l.text)).at(-1)?.text;
    await waitUntil(() => /BACKUP/.test(lastState(lb2) ?? '') && /MASTER/.test(lastState(lb1) ?? ''), 10_000, 'lb1 MASTER, lb2 BACKUP');
    await waitUntil(() => hasAddress(topo.lb1, VIP) && !hasAddress(topo.lb2, VIP), 5000, 'VIP on lb1 only');
  }, 40_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    if (mounted) sh('umount', [mnt], true);
    topo?.down();
  });

  it('reload with a directory in place of the file: refused naming the file, nothing changes', async () => {
    const t0 = performance.now();
    renameSync(conf, `${conf}.saved`);
    mkdirSync(conf);
    try {
      await expectRefused(t0, new RegExp(`Config files missing '${esc(conf)}'`));
    } finally {
      rmSync(conf, { recursive: true, force: true });
      renameSync(`${conf}.saved`, conf);
    }
    await expectGoodReload();
  }, 30_000);

  it('reload with a dangling symbolic link in place of the file: refused naming the file, nothing changes', async () => {
    const t0 = performance.now();
    unlinkSync(conf);
    symlinkSync(file('no-such-target.conf'), conf);
    try {
      await expectRefused(t0, new RegExp(`Config files missing '${esc(conf)}'`));
    } finally {
      rmSync(conf, { force: true });
    }
    await expectGoodReload();
  }, 30_000);

  it('reload of a chmod 000 file: root still reads it, so the (unchanged) file is reloaded and nothing changes', async () => {
    const t0 = performance.now();
    chmodSync(conf, 0o000);
    try {
      await reload(lb1);
      expect(lb1.has(/Reload complete/, t0)).toBe(true);
      expect(lb1.has(/Reload aborted/, t0)).toBe(false);
      await expectUndisturbed(t0);
    } finally {
      chmodSync(conf, 0o644);
    }
  }, 30_000);

  // A FIFO in place of the file must not stall the parent (the reader opens O_NONBLOCK and reads only a
  // regular file): refused at once as a missing file.
  it('reload with a FIFO in place of the file: refused at once naming the file, nothing changes', async () => {
    const t0 = performance.now();
    unlinkSync(conf);
    sh('mkfifo', [conf]);
    try {
      await expectRefused(t0, new RegExp(esc(conf)));
    } finally {
      // If the parent is blocked in open(2) on the FIFO: the good file goes in place first, then the
      // good text down the FIFO, so that the parent and the children all read the running configuration.
      let fd: number | undefined;
      try {
        fd = openSync(conf, fsc.O_WRONLY | fsc.O_NONBLOCK);
      } catch {
        // ENXIO: nobody is reading it
      }
      writeFileSync(`${conf}.new`, lb1Text());
      renameSync(`${conf}.new`, conf);
      if (fd !== undefined) {
        writeSync(fd, lb1Text());
        closeSync(fd);
      }
    }
    await expectGoodReload();
  }, 30_000);

  it('reload of a deleted file: refused naming the file, nothing changes, a later good reload works', async () => {
    const t0 = performance.now();
    unlinkSync(conf);
    await expectRefused(t0, new RegExp(`Config files missing '${esc(conf)}'`));
    await expectGoodReload();
  }, 30_000);

  it('reload of a file truncated by a write that failed on a full disk: refused with file:line, nothing changes', async () => {
    // The new file would lower lb1 below lb2 and swap the VIP: applied even in part, it shows. Its
    // instance block is padded so that the one page left on the disk ends inside it.
    const pad = Array.from({ length: 400 }, (_, i) => `  # padding line ${String(i).padStart(4, '0')} ..........\n`).join('');
    const wanted = lb1Text(50, [VIP_B], pad);
    expect(wanted.length).toBeGreaterThan(3 * 4096);
    fill();
    let writeError: NodeJS.ErrnoException | undefined;
    try {
      writeFileSync(conf, wanted);
    } catch (e) {
      writeError = e as NodeJS.ErrnoException;
    }
    expect(writeError?.code).toBe('ENOSPC');
    const left = readFileSync(conf, 'utf8');
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(wanted.length);
    expect(wanted.startsWith(left)).toBe(true);
    expect(left).toContain('priority 50'); // the change is in what was written

    const t0 = performance.now();
    try {
      const line = await expectRefused(t0, /There are 1 missing '\}'s or extra '\{'s/);
      // file:line is the last line the reader saw with words on it (the padding is comments), where the file
      // stopped making sense: the `}` of virtual_ipaddress, past the lowered priority.
      const lines = left.split('\n');
      const lastWords = lines.findLastIndex((l) => l.trim() !== '' && !/^\s*[#!]/.test(l)) + 1;
      expect(lines[lastWords - 1]!.trim()).toBe('}');
      expect(line).toContain(`${conf}:${lastWords}: `);
      expect(hasAddress(topo.lb1, VIP_B)).toBe(false);
    } finally {
      free();
    }
    await expectGoodReload();
  }, 30_000);

  /** One dump kind into the full tmpfs, then again with space freed. */
  async function dumpOnFullDisk(signal: NodeJS.Signals, kind: 'data' | 'stats' | 'json', name: string, label: string, complete: (text: string) => void): Promise<string> {
    const path = file(name);
    // A good dump first: the failed one must leave it as it was (files are replaced by rename).
    let t = performance.now();
    lb1.signal(signal);
    await lb1.waitFor(new RegExp(`${label} written to ${esc(path)}$`), 5000, t);
    const before = readFileSync(path, 'utf8');
    complete(before);

    fill();
    const t0 = performance.now();
    let failure: string;
    try {
      lb1.signal(signal);
      failure = (await lb1.waitFor(new RegExp(`cannot write the ${kind} dump: `), 5000, t0)).text;
      expect(failure).toMatch(/ENOSPC|no space left/i);
      expect(lb1.has(new RegExp(`${label} written to`), t0)).toBe(false);
      expect(readFileSync(path, 'utf8')).toBe(before);
      // no temporary file left behind in the directory
      expect(readdirSync(mnt).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      await expectUndisturbed(t0);
    } finally {
      free();
    }

    t = performance.now();
    lb1.signal(signal);
    await lb1.waitFor(new RegExp(`${label} written to ${esc(path)}$`), 5000, t);
    const after = readFileSync(path, 'utf8');
    expect(after).not.toBe(before);
    complete(after);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    return failure;
  }

  const dataComplete = (text: string): void => {
    expect(text).toMatch(/VRRP Instance VI_1/);
    expect(text).toMatch(/state = MASTER/);
  };
  const statsComplete = (text: string): void => {
    // the last lines of the VI_1 block, the file's end
    expect(text).toMatch(/VRRP Instance: VI_1\n[\s\S]*Priority Zero:\n\s+Received: \d+\n\s+Sent: \d+\n(?:\s+Drops: .*\n)?$/);
  };
  const jsonComplete = (text: string): void => {
    const json = JSON.parse(text) as { VRRP: { vrrp: Record<string, { state: string }> } };
    expect(json.VRRP.vrrp['VI_1']!.state).toBe('MASTER');
  };

  const failures: Record<string, string> = {};

  it('SIGUSR1 data dump to a full disk: an error is logged, the old file stays, the daemon runs on; freed, the dump is complete', async () => {
    failures['data'] = await dumpOnFullDisk('SIGUSR1', 'data', 'k.data', 'Data', dataComplete);
  }, 30_000);

  it('SIGUSR2 stats dump to a full disk: an error is logged, the old file stays, the daemon runs on; freed, the dump is complete', async () => {
    failures['stats'] = await dumpOnFullDisk('SIGUSR2', 'stats', 'k.stats', 'Stats', statsComplete);
  }, 30_000);

  it('JSON dump (SIGWINCH) to a full disk: an error is logged, the old file stays, the daemon runs on; freed, the dump is complete', async () => {
    failures['json'] = await dumpOnFullDisk('SIGWINCH', 'json', 'k.json', 'JSON', jsonComplete);
  }, 30_000);

  // writeSync's error names no file; the dump's message must.
  it('each dump failure names the file it could not write', () => {
    expect(failures['data']).toContain(file('k.data'));
    expect(failures['stats']).toContain(file('k.stats'));
    expect(failures['json']).toContain(file('k.json'));
  });
});
