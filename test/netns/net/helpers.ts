// Namespace plumbing for the src/net real-kernel tests: a bridge namespace with two hosts (a, b), a probe
// process per host running the compiled adapters, and tshark captures. Names start with `lkn-`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
const distDir = join(repoRoot, 'dist-check', 'netns-net');

export function sh(cmd: string, args: string[], allowFail = false): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr ?? err.message}`);
  }
}

export const ipn = (ns: string, ...args: string[]): string => sh('ip', ['-n', ns, ...args]);
export const inNs = (ns: string, cmd: string, ...args: string[]): string => sh('ip', ['netns', 'exec', ns, cmd, ...args]);

/** Compiles src/net (only: others' work in progress cannot break these tests) for the probes. */
export function buildAdapters(): void {
  sh(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(here, 'tsconfig.probe.json')]);
  if (!existsSync(join(repoRoot, 'build/Release/lvskeeper_net.node'))) {
    throw new Error('native addon not built: run npm install (or node-gyp rebuild) first');
  }
}

export interface Topology {
  sw: string;
  a: string;
  b: string;
  ipA: string;
  ipB: string;
  macA: string;
  macB: string;
  llA: string;
  llB: string;
  down(): void;
}

/** Bridge namespace `${p}-sw` with hosts `${p}-a` (10.77.N.1) and `${p}-b` (10.77.N.2), eth0 in each. */
export function topology(p: string, subnet: number): Topology {
  const sw = `${p}-sw`;
  const a = `${p}-a`;
  const b = `${p}-b`;
  const down = (): void => {
    for (const ns of [a, b, sw]) sh('ip', ['netns', 'del', ns], true);
  };
  down();
  sh('ip', ['netns', 'add', sw]);
  ipn(sw, 'link', 'add', 'br0', 'type', 'bridge');
  ipn(sw, 'link', 'set', 'br0', 'up');
  const hosts: [string, string, string][] = [
    [a, 'pa', `10.77.${subnet}.1`],
    [b, 'pb', `10.77.${subnet}.2`],
  ];
  for (const [ns, port, ip] of hosts) {
    sh('ip', ['netns', 'add', ns]);
    ipn(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', sw);
    ipn(sw, 'link', 'set', port, 'master', 'br0', 'up');
    inNs(ns, 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0');
    ipn(ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    ipn(ns, 'link', 'set', 'eth0', 'up');
    ipn(ns, 'link', 'set', 'lo', 'up');
  }
  const mac = (ns: string): string =>
    (JSON.parse(ipn(ns, '-j', 'link', 'show', 'eth0')) as { address: string }[])[0]!.address;
  const ll = (ns: string): string => {
    for (let i = 0; i < 50; i++) {
      const j = JSON.parse(ipn(ns, '-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link')) as {
        addr_info: { local: string }[];
      }[];
      const addr = j[0]?.addr_info[0]?.local;
      if (addr) return addr;
      execFileSync('sleep', ['0.1']);
    }
    throw new Error(`${ns}: no link-local address on eth0`);
  };
  return {
    sw,
    a,
    b,
    ipA: `10.77.${subnet}.1`,
    ipB: `10.77.${subnet}.2`,
    macA: mac(a),
    macB: mac(b),
    llA: ll(a),
    llB: ll(b),
    down,
  };
}

export interface ProbeEvent {
  event: string;
  key?: string;
  [k: string]: unknown;
}

/** A node process inside a namespace driving the adapters (see probe.mjs). */
export class Probe {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly events: ProbeEvent[] = [];
  private readonly waiters: (() => void)[] = [];
  stderr = '';

  private constructor(ns: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(here, 'probe.mjs'), distDir], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let msg: { id?: number; ok?: boolean; result?: unknown; error?: string } & ProbeEvent;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(new Error(msg.error));
      } else {
        this.events.push(msg);
        for (const w of this.waiters.splice(0)) w();
      }
    });
  }

  static async start(ns: string, env: NodeJS.ProcessEnv = {}): Promise<Probe> {
    const p = new Probe(ns, env);
    await p.waitFor((e) => e.event === 'ready', 15000);
    return p;
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Resolves with the first event (past or future) matching the predicate. */
  waitFor(pred: (e: ProbeEvent) => boolean, timeoutMs = 5000): Promise<ProbeEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for an event; stderr: ${this.stderr}`)), timeoutMs);
      const check = (): void => {
        const hit = this.events.find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.write(`${JSON.stringify({ id: 0, op: 'exit' })}\n`);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

/** tshark capture in a namespace: start() waits until it listens; stop() returns the decoded fields. */
export class Capture {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'lkn-cap-'));
  private readonly file = join(this.dir, 'cap.pcap');

  constructor(
    private readonly ns: string,
    private readonly iface: string,
    private readonly filter: string,
  ) {}

  async start(): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.ns, 'tshark', '-q', '-i', this.iface, '-f', this.filter, '-w', this.file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`tshark did not start: ${err}`)), 20000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('Capturing on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => reject(new Error(`tshark exited: ${err}`)));
    });
    await new Promise((r) => setTimeout(r, 300));
  }

  /** Stops the capture and returns one row per packet with the requested tshark fields. */
  async stop(fields: string[], displayFilter = ''): Promise<Record<string, string>[]> {
    await new Promise((r) => setTimeout(r, 300));
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    const args = ['-r', this.file, '-T', 'fields', '-E', 'separator=|'];
    if (displayFilter) args.push('-Y', displayFilter);
    for (const f of fields) args.push('-e', f);
    const out = sh('tshark', args);
    rmSync(this.dir, { recursive: true, force: true });
    return out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => Object.fromEntries(l.split('|').map((v, i) => [fields[i]!, v])));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
