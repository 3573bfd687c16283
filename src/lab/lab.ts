// The live lab: the seed's two load balancers and two real servers in namespaces, two lvskeeper
// daemons running the seed's (adapted) configuration files, failure actions and takeover timing.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { adaptConfig, addGlobalFlag, alwaysHealthyScript } from './conf.js';
import { LabProcess, type Line } from './proc.js';
import { NODE_IP, Topology, VIP, run, runAsync, type NodeName } from './topology.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export type Lb = 'lb1' | 'lb2';
export const LBS: readonly Lb[] = ['lb1', 'lb2'];
const SEED_CONF: Record<Lb, string> = { lb1: 'lb01.conf', lb2: 'lb02.conf' };
const WEB: Record<'rs1' | 'rs2', string> = { rs1: 'This is web1', rs2: 'This is web2' };
const KEEPALIVED_TIME = /^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}: /;

/** A failure to report as one line (no stack). */
export class LabError extends Error {}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LabOptions {
  prefix: string;
  /** 'auto': the repo's config/lvs_check.sh where ip_vs exists, else a script that succeeds. */
  checkScript: 'auto' | 'real' | 'ok';
  out: (text: string) => void;
  color: boolean;
  /** Repository root (config/, dist/). */
  repo?: string;
  /** Multiplies every timeout (an emulated VM starts node processes many times slower). */
  slow?: number;
  /** With the real lvs_check.sh, add lvs_program_on_all_nodes to global_defs (default true). */
  programOnAllNodes?: boolean;
}

export interface Takeover {
  /** ms from the action until the VIP was seen on the new holder (polled every ~10 ms). */
  vipPresentMs: number;
  /** ms until the VIP was seen gone from the old holder, if it was seen at all. */
  vipGoneMs: number | undefined;
  /** ms until the new holder logged Entering MASTER STATE. */
  masterLogMs: number | undefined;
}

const COLORS: Record<string, string> = { lb1: '\x1b[36m', lb2: '\x1b[35m', rs1: '\x1b[33m', rs2: '\x1b[33m', lab: '\x1b[1m' };

export class Lab {
  readonly topo: Topology;
  readonly repo: string;
  readonly lvskeeper: string;
  readonly daemons: Partial<Record<Lb, LabProcess>> = {};
  private readonly web: LabProcess[] = [];
  private dir: string | undefined;
  private confs: Partial<Record<Lb, string>> = {};
  ipvs = false;
  private readonly t0 = performance.now();
  private cleaned: Promise<void> | undefined;

  constructor(readonly opts: LabOptions) {
    this.topo = new Topology(opts.prefix, opts.slow ?? 1);
    this.repo = opts.repo ?? REPO;
    this.lvskeeper = join(this.repo, 'dist/cli/lvskeeper.js');
  }

  /** A timeout scaled by opts.slow. */
  ms(base: number): number {
    return base * (this.opts.slow ?? 1);
  }

  elapsed(at = performance.now()): string {
    return `+${((at - this.t0) / 1000).toFixed(3)}s`;
  }

  say(who: string, text: string, at?: number): void {
    const tag = who.padEnd(3);
    const c = this.opts.color ? (COLORS[who] ?? '') : '';
    const r = this.opts.color && c ? '\x1b[0m' : '';
    this.opts.out(`${this.elapsed(at).padStart(9)} ${c}${tag} |${r} ${text}\n`);
  }

  info(text: string): void {
    this.say('lab', text);
  }

  /** Build everything and start both daemons (lb1 first, as the seed's MASTER). */
  async up(): Promise<void> {
    if (!existsSync(this.lvskeeper)) throw new LabError(`${this.lvskeeper} not found: run npm run build first`);
    const stale = this.topo.existing();
    const busy = this.topo.pids();
    if (busy.length > 0) {
      throw new LabError(`namespaces ${stale.join(' ')} have running processes (pids ${busy.join(' ')}): another lab with prefix ${this.opts.prefix} is running; quit it or use --prefix`);
    }
    if (stale.length > 0) {
      this.info(`removing namespaces left over from an earlier run: ${stale.join(' ')}`);
      this.topo.down();
    }
    this.dir = mkdtempSync(join(tmpdir(), `${this.opts.prefix}lab-`));
    chmodSync(this.dir, 0o755);
    this.info(`building namespaces ${this.topo.all().join(' ')} (bridge br0 in ${this.topo.sw}, 192.168.60.0/24)`);
    this.topo.up();
    this.ipvs = detectIpvs(this.topo.ns.lb1);
    this.writeConfs();
    await this.startWeb();
    this.startDaemon('lb1');
    // The seed's two nodes boot at different times; starting lb2 after lb1's init keeps the roles the
    // seed intends (both down timers are ~3.6 s apart by only 39 ms, less than process start-up jitter).
    await this.daemons.lb1!.waitFor(/Entering (BACKUP|MASTER|FAULT) STATE/, this.ms(8000)).catch(() => undefined);
    this.startDaemon('lb2');
  }

  private writeConfs(): void {
    const dir = this.dir!;
    const want = this.opts.checkScript === 'auto' ? (this.ipvs ? 'real' : 'ok') : this.opts.checkScript;
    let script = join(this.repo, 'config/lvs_check.sh');
    const notes = [`lvskeeper lab: adapted from config/%s by src/lab (interface ens33 -> eth0)`];
    if (this.ipvs) {
      this.info('ip_vs: present - the daemons program IPVS and the client reaches rs1/rs2 through the VIP');
    } else {
      this.info(`ip_vs: MISSING in this kernel - IPVS programming is skipped (each daemon logs "IPVS: Can't initialize ipvs"); VRRP failover works as usual`);
    }
    if (want === 'ok') {
      script = join(dir, 'lvs_check_ok.sh');
      writeFileSync(script, alwaysHealthyScript(), { mode: 0o755 });
      chmodSync(script, 0o755);
      notes.push(`vrrp_script lvs_check -> ${script}: always succeeds, because config/lvs_check.sh`);
      notes.push('needs /proc/net/ip_vs (no ip_vs module here) and would put both nodes in FAULT.');
      this.info(`vrrp_script lvs_check: ${script} (exits 0) instead of config/lvs_check.sh, which fails without /proc/net/ip_vs`);
    } else {
      notes.push(`vrrp_script lvs_check -> ${script}`);
      this.info(`vrrp_script lvs_check: ${script}`);
      if (this.opts.programOnAllNodes !== false) {
        notes.push('lvs_program_on_all_nodes added: lvs_check.sh passes only where IPVS has a TCP service; keepalived');
        notes.push('installs virtual servers on every node, lvskeeper by default only on the MASTER of their VIP.');
        this.info('global_defs += lvs_program_on_all_nodes: lvs_check.sh needs IPVS services on BOTH nodes (keepalived programs every node;');
        this.info('  lvskeeper by default only the MASTER, so with this check both nodes would stay in FAULT); --no-program-on-all-nodes to see that');
      }
    }
    for (const lb of LBS) {
      const seed = readFileSync(join(this.repo, 'config', SEED_CONF[lb]), 'utf8');
      const conf = join(dir, `${lb}.conf`);
      let text = adaptConfig(seed, { checkScript: script, notes: notes.map((n) => n.replace('%s', SEED_CONF[lb])) });
      if (want === 'real' && this.opts.programOnAllNodes !== false) text = addGlobalFlag(text, 'lvs_program_on_all_nodes');
      writeFileSync(conf, text);
      this.confs[lb] = conf;
      this.info(`${lb}: config/${SEED_CONF[lb]} -> ${conf}`);
    }
  }

  private async startWeb(): Promise<void> {
    for (const rs of ['rs1', 'rs2'] as const) {
      const js = `require('http').createServer((q,s)=>{s.setHeader('Content-Type','text/plain');s.end(${JSON.stringify(WEB[rs] + '\n')})}).listen(8080,()=>console.log('serving ${WEB[rs]} on :8080'))`;
      const p = new LabProcess(rs, this.topo.ns[rs], [process.execPath, '-e', js], (proc, line) => this.say(proc.name, line.text, line.at));
      this.web.push(p);
      await p.waitFor(/serving/, this.ms(10_000));
    }
    this.info(`rs1 ${NODE_IP.rs1}:8080 and rs2 ${NODE_IP.rs2}:8080 serve; VIP ${VIP}/32 on their lo (arp_ignore=1, arp_announce=2)`);
  }

  startDaemon(lb: Lb): LabProcess {
    const cur = this.daemons[lb];
    if (cur?.running) return cur;
    const dir = this.dir!;
    const argv = [
      process.execPath,
      this.lvskeeper,
      '-f',
      this.confs[lb]!,
      '-n',
      '-l',
      '-p',
      join(dir, `${lb}.pid`),
      '-r',
      join(dir, `${lb}_vrrp.pid`),
      '-c',
      join(dir, `${lb}_checkers.pid`),
    ];
    this.info(`starting ${lb}: ip netns exec ${this.topo.ns[lb]} node dist/cli/lvskeeper.js -f ${this.confs[lb]} -n -l`);
    const p = new LabProcess(lb, this.topo.ns[lb], argv, (proc, line) => this.say(proc.name, line.text.replace(KEEPALIVED_TIME, ''), line.at));
    void p.exited.then((code) => {
      if (this.daemons[lb] === p) this.say(lb, `(daemon exited: ${code === null ? `signal ${p.exitSignal ?? '?'}` : `code ${code}`})`);
    });
    this.daemons[lb] = p;
    return p;
  }

  async stopDaemon(lb: Lb): Promise<number | null> {
    const p = this.daemons[lb];
    if (!p?.running) return p?.exitCode ?? null;
    return p.stop(this.ms(6000));
  }

  setLink(lb: Lb, up: boolean): void {
    this.topo.setLink(lb, up);
  }

  /** The last VRRP state each daemon logged ("stopped" when not running). */
  state(lb: Lb): string {
    const p = this.daemons[lb];
    if (!p) return 'not started';
    if (!p.running) return 'stopped';
    const l = p.last(/\(VI_1\) Entering \w+ STATE/);
    return l ? /Entering (\w+) STATE/.exec(l.text)![1]! : 'starting';
  }

  async vipHolders(): Promise<Lb[]> {
    const has = await Promise.all(LBS.map((lb) => this.topo.hasAddress(lb, VIP)));
    return LBS.filter((_, i) => has[i]);
  }

  async status(): Promise<string> {
    const holders = await this.vipHolders();
    const parts = LBS.map((lb) => `${lb} ${this.state(lb)}${holders.includes(lb) ? ` (holds VIP ${VIP})` : ''}`);
    let s = parts.join(', ');
    if (holders.length === 0) s += `; nobody holds ${VIP}`;
    if (holders.length > 1) s += `; SPLIT BRAIN: both hold ${VIP}`;
    return s;
  }

  /** Poll every ~10 ms from `since` until the VIP is on `to` (and, if seen, gone from `from`). */
  async measureTakeover(to: Lb, from: Lb, since: number, timeoutMs: number): Promise<Takeover> {
    let present: number | undefined;
    let gone: number | undefined;
    const deadline = since + this.ms(timeoutMs);
    for (;;) {
      const t = performance.now();
      const [onTo, onFrom] = await Promise.all([present === undefined ? this.topo.hasAddress(to, VIP) : true, gone === undefined ? this.topo.hasAddress(from, VIP) : false]);
      if (present === undefined && onTo) present = t - since;
      if (gone === undefined && !onFrom) gone = t - since;
      if (present !== undefined && gone !== undefined) break;
      if (performance.now() > deadline) break;
      await sleep(10);
    }
    if (present === undefined) throw new Error(`${VIP} did not appear on ${to} within ${this.ms(timeoutMs)} ms (${await this.status()})`);
    // The log line may trail the address change by a pipe read; give it a moment.
    const m = await this.daemons[to]?.waitFor(/\(VI_1\) Entering MASTER STATE/, this.ms(1000), since).catch(() => undefined);
    return { vipPresentMs: present, vipGoneMs: gone, masterLogMs: m ? m.at - since : undefined };
  }

  /** Poll cond every 50 ms until it has held for holdMs; false after timeoutMs. */
  async waitUntil(cond: () => Promise<boolean>, timeoutMs: number, holdMs = 0): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    let since: number | undefined;
    while (performance.now() < end) {
      if (await cond()) {
        since ??= performance.now();
        if (performance.now() - since >= holdMs) return true;
      } else since = undefined;
      await sleep(50);
    }
    return false;
  }

  /** curl the VIP from the client n times; the bodies (or errors). */
  async curlVip(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await runAsync('ip', ['netns', 'exec', this.topo.ns.client, 'curl', '-sS', '--max-time', String(2 * (this.opts.slow ?? 1)), `http://${VIP}:8080/`], this.ms(5000));
      out.push(r.status === 0 ? r.stdout.trim() : `error: ${(r.stderr || `exit ${r.status}`).trim()}`);
    }
    return out;
  }

  async curlDirect(rs: 'rs1' | 'rs2'): Promise<string> {
    const r = await runAsync('ip', ['netns', 'exec', this.topo.ns.client, 'curl', '-sS', '--max-time', String(2 * (this.opts.slow ?? 1)), `http://${NODE_IP[rs]}:8080/`], this.ms(5000));
    return r.status === 0 ? r.stdout.trim() : `error: ${(r.stderr || `exit ${r.status}`).trim()}`;
  }

  /** `ipvsadm -Ln` in lb's namespace (lvsadm from dist/ when ipvsadm is not installed). */
  ipvsTable(lb: Lb): string {
    const ns = this.topo.ns[lb];
    const r = run('sh', ['-c', 'command -v ipvsadm >/dev/null']).status === 0
      ? run('ip', ['netns', 'exec', ns, 'ipvsadm', '-Ln'])
      : run('ip', ['netns', 'exec', ns, process.execPath, join(this.repo, 'dist/cli/lvsadm.js'), '-Ln']);
    return (r.stdout + r.stderr).trimEnd();
  }

  /** Stop daemons (SIGTERM, SIGKILL after 5 s) and web servers, delete namespaces and files. Idempotent. */
  cleanup(): Promise<void> {
    this.cleaned ??= (async () => {
      const procs = [...LBS.map((lb) => this.daemons[lb]), ...this.web].filter((p): p is LabProcess => p !== undefined);
      await Promise.all(procs.map((p) => p.stop(this.ms(5000))));
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
      if (!this.topo.created) return;
      this.topo.down();
      const left = this.topo.existing();
      if (left.length > 0) this.info(`could not remove namespaces: ${left.join(' ')}`);
      else this.info(`cleaned up: namespaces ${this.opts.prefix}* removed`);
    })();
    return this.cleaned;
  }
}

function detectIpvs(ns: string): boolean {
  const has = (): boolean => run('ip', ['netns', 'exec', ns, 'test', '-e', '/proc/net/ip_vs']).status === 0;
  if (has()) return true;
  // The module may be available but not loaded yet (e.g. in ../shared/kernel-vm/run).
  run('modprobe', ['-q', 'ip_vs']);
  return has();
}

export type { Line };
