// Helpers for the VRRP namespace tests: a bridge topology (lb1, lb2, x) per test file, real daemons
// (lvskeeper from dist/, keepalived 2.2.7) with their console logs captured, tshark captures, and
// address checks. Namespaces use the `lkv-` prefix and are removed in afterAll.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WireAdvert } from '../../helpers/timing.js';

export const REPO = resolve(import.meta.dirname, '../../..');
/** The built daemon (npm run build); LKV_DIST points at another build output. */
export const DIST = process.env.LKV_DIST ?? join(REPO, 'dist');
export const LVSKEEPER = join(DIST, 'cli/lvskeeper.js');
export const KEEPALIVED = '/usr/sbin/keepalived';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function sh(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export function canRun(): boolean {
  return process.getuid?.() === 0 && existsSync(LVSKEEPER);
}

export interface Topo {
  prefix: string;
  lb1: string;
  lb2: string;
  x: string;
  sw: string;
  dir: string;
  down(): void;
}

/** Bridge `sw` with lb1 (.111), lb2 (.112), x (.50) on eth0, 192.168.60.0/24 and IPv6 ULA + link-local. */
export function topology(tag: string): Topo {
  const prefix = `lkv-${tag}-`;
  const ns = (n: string): string => `${prefix}${n}`;
  const down = (): void => {
    for (const n of ['sw', 'lb1', 'lb2', 'x']) sh('ip', ['netns', 'del', ns(n)], true);
  };
  down();
  sh('ip', ['netns', 'add', ns('sw')]);
  sh('ip', ['-n', ns('sw'), 'link', 'add', 'br0', 'type', 'bridge']);
  sh('ip', ['-n', ns('sw'), 'link', 'set', 'br0', 'up']);
  const ips: Record<string, [string, string]> = { lb1: ['192.168.60.111', 'fd00:60::111'], lb2: ['192.168.60.112', 'fd00:60::112'], x: ['192.168.60.50', 'fd00:60::50'] };
  for (const [n, [v4, v6]] of Object.entries(ips)) {
    const a = `${tag}${n}a`;
    const b = `${tag}${n}b`;
    sh('ip', ['netns', 'add', ns(n)]);
    sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    sh('ip', ['link', 'set', a, 'netns', ns(n)]);
    sh('ip', ['link', 'set', b, 'netns', ns('sw')]);
    sh('ip', ['-n', ns(n), 'link', 'set', a, 'name', 'eth0']);
    sh('ip', ['-n', ns('sw'), 'link', 'set', b, 'master', 'br0', 'up']);
    sh('ip', ['netns', 'exec', ns(n), 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0']);
    sh('ip', ['-n', ns(n), 'addr', 'add', `${v4}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns(n), 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad']);
    sh('ip', ['-n', ns(n), 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns(n), 'link', 'set', 'lo', 'up']);
  }
  const dir = mkdtempSync(join(tmpdir(), `lkv-${tag}-`));
  chmodSync(dir, 0o755);
  return {
    prefix,
    lb1: ns('lb1'),
    lb2: ns('lb2'),
    x: ns('x'),
    sw: ns('sw'),
    dir,
    down() {
      down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LogLine {
  at: number;
  text: string;
}

/** A daemon in a namespace whose console log we read. */
export class Daemon {
  readonly lines: LogLine[] = [];
  private buf = '';
  private waiters: { re: RegExp; since: number; resolve: (l: LogLine) => void }[] = [];
  exited: Promise<number | null>;
  exitCode: number | null | undefined;
  readonly pidFile: string;

  private constructor(
    readonly name: string,
    readonly ns: string,
    readonly proc: ChildProcess,
    pidFile: string,
  ) {
    this.pidFile = pidFile;
    const onData = (d: Buffer): void => {
      this.buf += d.toString('utf8');
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const text = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const line = { at: performance.now(), text };
        this.lines.push(line);
        if (process.env.LKV_VERBOSE) process.stderr.write(`[${name}] ${text}\n`);
        this.waiters = this.waiters.filter((w) => {
          if (w.re.test(text)) {
            w.resolve(line);
            return false;
          }
          return true;
        });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.exited = new Promise((r) => proc.once('exit', (code) => ((this.exitCode = code), r(code))));
  }

  static lvskeeper(name: string, ns: string, conf: string, dir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Daemon {
    const p = join(dir, `${name}.pid`);
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, LVSKEEPER, '-f', conf, '-n', '-l', '-D', '-p', p, '-r', join(dir, `${name}_vrrp.pid`), '-c', join(dir, `${name}_checkers.pid`), ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    return new Daemon(name, ns, proc, p);
  }

  /** A daemon spawned some other way (e.g. through a wrapper that sets its environment); stdout/stderr piped. */
  static attach(name: string, ns: string, proc: ChildProcess, pidFile: string): Daemon {
    return new Daemon(name, ns, proc, pidFile);
  }

  static keepalived(name: string, ns: string, conf: string, dir: string): Daemon {
    const p = join(dir, `${name}.pid`);
    const proc = spawn('ip', ['netns', 'exec', ns, KEEPALIVED, '-n', '-l', '-D', '-P', '-f', conf, '-p', p, '-r', join(dir, `${name}_vrrp.pid`)], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Daemon(name, ns, proc, p);
  }

  /** The first line matching re logged at or after `since` (performance.now()), waiting up to timeoutMs. */
  waitFor(re: RegExp, timeoutMs = 10_000, since = 0): Promise<LogLine> {
    const found = this.lines.find((l) => l.at >= since && re.test(l.text));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { re, since, resolve: (l: LogLine) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`${this.name}: no line /${re.source}/ within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).map((l) => l.text).join('\n')}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  has(re: RegExp, since = 0): boolean {
    return this.lines.some((l) => l.at >= since && re.test(l.text));
  }

  count(re: RegExp, since = 0): number {
    return this.lines.filter((l) => l.at >= since && re.test(l.text)).length;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exitCode === undefined && this.proc.pid !== undefined) process.kill(this.proc.pid, sig);
  }

  /** SIGTERM and wait (SIGKILL after timeoutMs); returns the exit code. */
  async stop(timeoutMs = 6000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    const c = await this.exited;
    clearTimeout(t);
    return c;
  }
}

export function hasAddress(ns: string, address: string): boolean {
  const fam = address.includes(':') ? '-6' : '-4';
  const out = sh('ip', ['-n', ns, '-j', fam, 'addr', 'show', 'dev', 'eth0']);
  const j = JSON.parse(out) as { addr_info: { local: string }[] }[];
  return (j[0]?.addr_info ?? []).some((a) => a.local === address);
}

export async function waitUntil(pred: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
  return performance.now();
}

export function linkSet(ns: string, up: boolean): void {
  sh('ip', ['-n', ns, 'link', 'set', 'eth0', up ? 'up' : 'down']);
}

/** tshark capture in a namespace; fields() reads the pcap with a display filter. */
export class Capture {
  private constructor(readonly file: string, readonly proc: ChildProcess) {}
  static async start(ns: string, file: string, filter = 'vrrp or arp or icmp6'): Promise<Capture> {
    const proc = spawn('ip', ['netns', 'exec', ns, 'tshark', '-q', '-i', 'eth0', '-w', file, '-f', filter], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`tshark did not start: ${err}`)), 15_000);
      proc.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('Capturing on')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    await sleep(300);
    return new Capture(file, proc);
  }
  /** Idempotent: a second call (e.g. from afterAll) returns at once. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await sleep(300);
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGINT');
    await done;
  }
  /** Rows of the requested fields for packets matching the display filter. */
  fields(displayFilter: string, fields: string[], extra: string[] = []): string[][] {
    const out = sh('tshark', ['-r', this.file, '-Y', displayFilter, '-T', 'fields', '-E', 'separator=|', ...extra, ...fields.flatMap((f) => ['-e', f])]);
    return out
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => l.split('|'));
  }
}

/**
 * The VRRP adverts in a capture, for takeover() (test/helpers/timing.ts): t in ms since the epoch (the
 * kernel's capture time, the same clock as Date.now()), from = the field named (source address or MAC).
 */
export function wireAdverts(cap: Capture, from: 'ip.src' | 'ipv6.src' | 'eth.src' = 'ip.src', displayFilter = 'vrrp'): WireAdvert[] {
  return cap.fields(displayFilter, ['frame.time_epoch', from, 'vrrp.prio']).map(([t, src, prio]) => ({ t: Number(t) * 1000, from: src!, prio: Number(prio) }));
}

export function writeConf(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export function readStats(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

export interface InstanceOpts {
  name?: string;
  state?: 'MASTER' | 'BACKUP';
  priority: number;
  vrid?: number;
  advertInt?: string;
  version?: 2 | 3;
  auth?: string | undefined;
  vips?: string[];
  extra?: string;
}

export function vrrpInstance(o: InstanceOpts): string {
  const auth = o.auth === undefined ? '' : `  authentication {\n    auth_type PASS\n    auth_pass ${o.auth}\n  }\n`;
  return `vrrp_instance ${o.name ?? 'VI_1'} {
  state ${o.state ?? 'BACKUP'}
  interface eth0
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority}
  advert_int ${o.advertInt ?? '1'}
${o.version ? `  version ${o.version}\n` : ''}${auth}  virtual_ipaddress {
${(o.vips ?? ['192.168.60.200/24']).map((v) => `    ${v}\n`).join('')}  }
${o.extra ?? ''}
}
`;
}
