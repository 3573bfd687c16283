// `npm run lab` end to end (scripts/lab.sh -> dist/lab/main.js) with the test prefix lkt-: the --scripted
// failover passes with the timings VRRP requires (RFC 3768 timers + this run's scheduling noise), fails (exit 1) when the track script cannot pass, refuses to
// start over a running lab, and leaves no namespace, temp dir or daemon behind, also when interrupted by
// SIGINT / SIGTERM midway or by Ctrl-C at the interactive menu.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NoiseMonitor, masterDownMs, skewMs, verbose } from '../../helpers/timing.js';

const REPO = resolve(import.meta.dirname, '../../..');
const PREFIX = 'lkt-';
const LAB_NS = ['sw', 'lb1', 'lb2', 'rs1', 'rs2', 'client'].map((n) => `${PREFIX}${n}`);

function canRun(): boolean {
  return process.getuid?.() === 0 && existsSync(join(REPO, 'dist/cli/lvskeeper.js')) && spawnSync('ip', ['-V']).status === 0;
}

function hasIpvs(): boolean {
  return existsSync('/proc/net/ip_vs');
}

function ourNamespaces(): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

/** Processes whose command line mentions the lab's temp dir (daemons read their config from there). */
function processesUsing(dir: string): string[] {
  const r = spawnSync('pgrep', ['-af', dir], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim().length > 0 && !l.includes('pgrep'));
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

function startLab(args: string[], onOut?: (all: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Run> {
  const p = spawn('sh', [join(REPO, 'scripts/lab.sh'), '--scripted', '--no-color', '--prefix', PREFIX, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const kill = (s: NodeJS.Signals): void => {
    p.kill(s);
  };
  const on = (d: Buffer): void => {
    out += d.toString();
    if (process.env.LKT_VERBOSE) process.stderr.write(d);
    onOut?.(out, kill);
  };
  p.stdout.on('data', on);
  p.stderr.on('data', on);
  return new Promise((r) => p.on('close', (code, signal) => r({ code, signal, out })));
}

function tmpDirOf(out: string): string {
  const m = /-> (\/\S+)\/lb1\.conf/.exec(out);
  expect(m, 'the lab names its adapted config file').not.toBeNull();
  return m![1]!;
}

function seconds(out: string, label: string): number {
  const m = new RegExp(`${label}\\s+(\\d+\\.\\d+) s`).exec(out);
  expect(m, `timing line '${label}'`).not.toBeNull();
  return Number(m![1]);
}

describe.skipIf(!canRun())('npm run lab', () => {
  it('`lvskeeper lab` is the same lab (its usage, exit 0 on --help)', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'dist/cli/lvskeeper.js'), 'lab', '--help'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Usage: npm run lab \[-- OPTIONS\]\s+\(or: lvskeeper lab OPTIONS, as root\)/);
  });

  it('runs the failover script, reports timings, exits 0 and removes everything', async () => {
    const seen: string[][] = [];
    const noise = NoiseMonitor.start();
    const run = await startLab([], (out) => {
      if (seen.length === 0 && out.includes('step 2:')) seen.push(ourNamespaces());
    });
    const margin = await noise.margin({ daemonLogs: run.out.split('\n') });
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain('SCRIPTED LAB PASSED');
    // The namespaces existed while the lab ran, and are gone now.
    expect(seen[0]?.sort()).toEqual([...LAB_NS].sort());
    expect(ourNamespaces()).toEqual([]);
    const dir = tmpDirOf(run.out);
    expect(existsSync(dir)).toBe(false);
    expect(processesUsing(dir)).toEqual([]);
    // The seed's roles and the VRRP timings they imply (config/lb0N.conf: advert_int 1, lb1 priority 100,
    // lb2 priority 90), each measured by the lab from its action to the VIP on the new master. The lab polls
    // (`ip addr` every ~10 ms, timed from the poll's start), so a figure may be early by one poll as well as
    // late: the margin from this run's scheduling noise applies both ways.
    expect(run.out).toMatch(/step 1 ok: lb1 MASTER \(holds VIP 192\.168\.60\.200\), lb2 BACKUP/);
    expect(run.out).toMatch(/lb2 \| \(VI_1\) Entering MASTER STATE/);
    const ADVERT_INT_MS = 1000;
    const m = margin.ms;
    const ms = (label: string): number => seconds(run.out, label) * 1000;
    const within = (what: string, v: number, lo: number, hi: number): void => {
      const why = `${what}: ${v.toFixed(0)} ms, expected ${lo.toFixed(0)}-${hi.toFixed(0)} ms; ${margin.text}`;
      verbose(why);
      expect(v, why).toBeGreaterThanOrEqual(lo);
      expect(v, why).toBeLessThanOrEqual(hi);
    };
    // Link down: lb2 takes over Master_Down_Interval(90) = 3.648 s after lb1's last advert (RFC 3768 §6.4.2),
    // which was sent at most advert_int (+ noise, if lb1 was late) before the cut.
    within('link down lb1 -> VIP on lb2', ms('link down lb1 -> VIP on lb2'), masterDownMs(90, ADVERT_INT_MS) - ADVERT_INT_MS - m, masterDownMs(90, ADVERT_INT_MS) + m);
    // Link up: lb1 leaves FAULT for BACKUP, discards lb2's lower-priority adverts (preempt) and takes over
    // when its own Master_Down_Interval(100) = 3.609 s runs out (not at once).
    within('link up lb1 -> lb1 preempts', ms('link up lb1 -> lb1 preempts \\(VIP on lb1\\)'), masterDownMs(100, ADVERT_INT_MS) - m, masterDownMs(100, ADVERT_INT_MS) + m);
    // SIGTERM: lb1 sends priority 0, lb2 takes over Skew_Time(90) = 0.648 s later (RFC 3768 §6.4.2).
    within('SIGTERM lb1 -> VIP on lb2', ms('SIGTERM lb1 -> VIP on lb2'), skewMs(90, ADVERT_INT_MS) - m, skewMs(90, ADVERT_INT_MS) + m);
    if (!hasIpvs()) expect(run.out).toContain('ip_vs: MISSING in this kernel - IPVS programming is skipped');
    else expect(run.out).not.toContain('ip_vs: MISSING');
  }, 90_000);

  it('SIGINT midway (lb1 link down, waiting for lb2): cleans up and exits 130', async () => {
    let before: string[] = [];
    let sent = false;
    const run = await startLab([], (out, kill) => {
      if (!sent && out.includes('step 2:')) {
        sent = true;
        before = ourNamespaces();
        setTimeout(() => kill('SIGINT'), 500);
      }
    });
    expect(sent, run.out).toBe(true);
    expect(before.sort()).toEqual([...LAB_NS].sort());
    expect(run.code, run.out).toBe(130);
    expect(run.out).toContain('SIGINT: stopping the daemons and removing the namespaces');
    expect(run.out).not.toContain('SCRIPTED LAB PASSED');
    expect(run.out).toMatch(/lb2 \| Stopped lvskeeper/);
    expect(ourNamespaces()).toEqual([]);
    const dir = tmpDirOf(run.out);
    expect(existsSync(dir)).toBe(false);
    expect(processesUsing(dir)).toEqual([]);
  }, 60_000);

  it('SIGTERM during start-up (right after lb2 starts): cleans up and exits 143', async () => {
    let sent = false;
    const run = await startLab([], (out, kill) => {
      if (!sent && out.includes('starting lb2')) {
        sent = true;
        kill('SIGTERM');
      }
    });
    expect(sent, run.out).toBe(true);
    expect(run.code, run.out).toBe(143);
    expect(ourNamespaces()).toEqual([]);
    const dir = tmpDirOf(run.out);
    expect(existsSync(dir)).toBe(false);
    expect(processesUsing(dir)).toEqual([]);
  }, 60_000);

  // Interactive, on a terminal (script(1) gives it a pty): readline reads Ctrl-C as a key, which must
  // still clean up like the signal does.
  it.skipIf(spawnSync('script', ['-V']).status !== 0)('interactive on a terminal: a menu choice, then Ctrl-C, cleans up (exit 130)', async () => {
    const cmd = `sh ${join(REPO, 'scripts/lab.sh')} --no-color --prefix ${PREFIX}`;
    const p = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let step = 0;
    let before: string[] = [];
    const on = (d: Buffer): void => {
      out += d.toString().replace(/\r/g, '');
      if (step === 0 && out.includes('choice> ')) {
        step = 1;
        p.stdin.write('6\n');
      } else if (step === 1 && /status: lb1 \w+.*\nchoice \[/.test(out.slice(out.indexOf('choice> ')))) {
        step = 2;
        before = ourNamespaces();
        p.stdin.write('\x03');
      }
    };
    p.stdout.on('data', on);
    p.stderr.on('data', on);
    const code = await new Promise<number | null>((r) => p.on('close', r));
    expect(step, out).toBe(2);
    expect(before.sort()).toEqual([...LAB_NS].sort());
    expect(code, out).toBe(130);
    expect(out).toContain('SIGINT: stopping the daemons and removing the namespaces');
    expect(out).toContain('cleaned up: namespaces lkt-* removed');
    expect(ourNamespaces()).toEqual([]);
    expect(processesUsing(tmpDirOf(out))).toEqual([]);
  }, 60_000);

  it('a second lab with the same prefix refuses to start and leaves the running one alone', async () => {
    const first = spawn('sh', [join(REPO, 'scripts/lab.sh'), '--no-color', '--prefix', PREFIX], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const ready = new Promise<void>((resolve) => {
      const on = (d: Buffer): void => {
        out += d.toString();
        if (out.includes('choice> ')) resolve();
      };
      first.stdout.on('data', on);
      first.stderr.on('data', on);
    });
    const firstExit = new Promise<number | null>((r) => first.on('close', r));
    await ready;
    const second = await startLab([]);
    expect(second.code, second.out).toBe(1);
    expect(second.out).toContain(`another lab with prefix ${PREFIX} is running`);
    expect(ourNamespaces().sort()).toEqual([...LAB_NS].sort());
    first.stdin.write('6\nq\n');
    expect(await firstExit, out).toBe(0);
    expect(out).toMatch(/status: lb1 MASTER \(holds VIP 192\.168\.60\.200\), lb2 BACKUP\n[^]*status: lb1 MASTER/);
    expect(ourNamespaces()).toEqual([]);
  }, 60_000);

  // Without ip_vs the seed's own lvs_check.sh fails, both nodes stay in FAULT and the script must say so.
  it.skipIf(hasIpvs())('fails (exit 1) when nobody can become MASTER, and still cleans up', async () => {
    const run = await startLab(['--check-script', 'real']);
    expect(run.code, run.out).toBe(1);
    expect(run.out).toContain('SCRIPTED LAB FAILED: lb1 did not become MASTER');
    expect(run.out).toMatch(/lb1 \| \(VI_1\) Entering FAULT STATE/);
    expect(ourNamespaces()).toEqual([]);
  }, 60_000);
});
