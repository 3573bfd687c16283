// The seed lab's network in namespaces: a switch namespace with bridge br0, and lb1 (.111), lb2 (.112),
// rs1 (.121), rs2 (.122), client (.50) each with eth0 on it, 192.168.60.0/24. Every name starts with the
// lab's prefix (lab- for the real lab, lkt- in tests); teardown kills what still runs in them first.
import { execFile, spawnSync } from 'node:child_process';

export const SUBNET = '192.168.60';
export const VIP = `${SUBNET}.200`;
export const NODES = ['lb1', 'lb2', 'rs1', 'rs2', 'client'] as const;
export type NodeName = (typeof NODES)[number];
export const NODE_IP: Record<NodeName, string> = {
  lb1: `${SUBNET}.111`,
  lb2: `${SUBNET}.112`,
  rs1: `${SUBNET}.121`,
  rs2: `${SUBNET}.122`,
  client: `${SUBNET}.50`,
};

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[]): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

export function must(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

export function runAsync(cmd: string, args: string[], timeoutMs = 5000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      const note = e?.killed ? `timed out after ${timeoutMs} ms` : e && code === null ? e.message : '';
      resolve({ status: code, stdout: stdout ?? '', stderr: (stderr ?? '') + note });
    });
  });
}

/** Namespace names currently present whose name starts with prefix. */
/** `ip [-n ns] -batch -`: the lines in one process; throws with ip's message on the first failure. */
function batch(ns: string | undefined, lines: string[]): void {
  const r = spawnSync('ip', [...(ns ? ['-n', ns] : []), '-batch', '-'], { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip${ns ? ` -n ${ns}` : ''} -batch failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
}

export function listNamespaces(prefix: string): string[] {
  const r = run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0 && n.startsWith(prefix));
}

export class Topology {
  readonly sw: string;
  readonly ns: Record<NodeName, string>;
  /** True once up() created the switch namespace: the namespaces are this instance's to remove. */
  created = false;

  /** slow: factor for command timeouts (an emulated VM). */
  constructor(
    readonly prefix: string,
    readonly slow = 1,
  ) {
    if (!/^[a-z][a-z0-9-]{0,9}$/.test(prefix)) throw new Error(`bad namespace prefix '${prefix}' (a-z, 0-9, -, at most 10 characters)`);
    this.sw = `${prefix}sw`;
    this.ns = Object.fromEntries(NODES.map((n) => [n, `${prefix}${n}`])) as Record<NodeName, string>;
  }

  all(): string[] {
    return [this.sw, ...NODES.map((n) => this.ns[n])];
  }

  /** Our namespaces that exist right now. */
  existing(): string[] {
    const present = new Set(listNamespaces(this.prefix));
    return this.all().filter((n) => present.has(n));
  }

  /** Build the bridge and the five nodes. Throws (after removing what it made) on failure. */
  up(): void {
    // A handful of `ip -batch` runs rather than ~70 `ip` processes (seconds each in an emulated VM).
    // Each veth is created with both ends already in their namespaces and final names.
    // The switch namespace first, alone: `netns add` fails if it exists, so two labs with one prefix
    // cannot both get here, and the loser leaves the winner's namespaces alone.
    const sw = run('ip', ['netns', 'add', this.sw]);
    if (sw.status !== 0) throw new Error(`cannot create namespace ${this.sw}: ${sw.stderr.trim()} (another lab with prefix ${this.prefix}?)`);
    this.created = true;
    const root = NODES.map((n) => `netns add ${this.ns[n]}`);
    for (const n of NODES) root.push(`link add eth0 netns ${this.ns[n]} type veth peer name ${n} netns ${this.sw}`);
    try {
      batch(undefined, root);
      batch(this.sw, ['link set lo up', 'link add br0 type bridge', 'link set br0 up', ...NODES.flatMap((n) => [`link set ${n} master br0`, `link set ${n} up`])]);
      for (const n of NODES) {
        const lines = [`addr add ${NODE_IP[n]}/24 dev eth0`, 'link set eth0 up', 'link set lo up'];
        // Real servers for LVS-DR: the VIP on lo, never answered for or announced on eth0.
        if (n === 'rs1' || n === 'rs2') lines.push(`addr add ${VIP}/32 dev lo`);
        batch(this.ns[n], lines);
      }
      for (const n of ['rs1', 'rs2'] as const) {
        const kv = ['all', 'eth0', 'lo'].flatMap((d) => [`net.ipv4.conf.${d}.arp_ignore=1`, `net.ipv4.conf.${d}.arp_announce=2`]);
        must('ip', ['netns', 'exec', this.ns[n], 'sysctl', '-qw', ...kv]);
      }
    } catch (e) {
      this.down();
      throw e;
    }
  }

  /** Pids of processes running inside our namespaces. */
  pids(): number[] {
    return this.existing().flatMap((ns) =>
      run('ip', ['netns', 'pids', ns])
        .stdout.split(/\s+/)
        .filter((p) => /^\d+$/.test(p))
        .map(Number),
    );
  }

  /** Kill every process still inside our namespaces (SIGKILL), then delete them. Idempotent. */
  down(): void {
    for (const ns of this.existing()) {
      for (let round = 0; round < 3; round++) {
        const pids = run('ip', ['netns', 'pids', ns])
          .stdout.split(/\s+/)
          .filter((p) => /^\d+$/.test(p))
          .map(Number)
          .filter((p) => p !== process.pid);
        if (pids.length === 0) break;
        for (const p of pids) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
        spawnSync('sleep', ['0.1']);
      }
      run('ip', ['netns', 'del', ns]);
    }
  }

  /** Does ns have address on eth0 right now? */
  async hasAddress(node: NodeName, address: string): Promise<boolean> {
    const r = await runAsync('ip', ['-n', this.ns[node], '-4', '-o', 'addr', 'show', 'dev', 'eth0'], 5000 * this.slow);
    return r.stdout.includes(` ${address}/`);
  }

  setLink(node: NodeName, up: boolean): void {
    must('ip', ['-n', this.ns[node], 'link', 'set', 'eth0', up ? 'up' : 'down']);
  }
}
