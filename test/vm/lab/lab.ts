// The seed lab in network namespaces (run inside the kernel VM: IPVS is per network namespace):
// lkl-lb1 .111, lkl-lb2 .112, lkl-rs1 .121, lkl-rs2 .122, lkl-cl .50 on one bridge (lkl-sw),
// 192.168.60.0/24, VIP 192.168.60.200. Real servers run busybox httpd ("This is web1"/"web2").
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const P = 'lkl-';
export const NODES = ['lb1', 'lb2', 'rs1', 'rs2', 'cl'] as const;
export type Node = (typeof NODES)[number];
export const IP: Record<Node, string> = {
  lb1: '192.168.60.111',
  lb2: '192.168.60.112',
  rs1: '192.168.60.121',
  rs2: '192.168.60.122',
  cl: '192.168.60.50',
};
export const VIP = '192.168.60.200';

export function sh(command: string, allowFail = false): string {
  try {
    return execFileSync('sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return (e as { stdout?: string }).stdout ?? '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${command}: ${err.stderr ?? err.message}`);
  }
}

const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** Run a shell command inside a lab namespace. */
export function ns(node: Node | 'sw', command: string, allowFail = false): string {
  return sh(`ip netns exec ${P}${node} sh -c ${q(command)}`, allowFail);
}

export function topoDown(): void {
  for (const n of ['sw', ...NODES]) sh(`ip netns del ${P}${n} 2>/dev/null`, true);
}

export function topoUp(): void {
  topoDown();
  sh(`ip netns add ${P}sw && ip -n ${P}sw link add br0 type bridge && ip -n ${P}sw link set br0 up && ip -n ${P}sw link set lo up`);
  for (const n of NODES) {
    sh(
      [
        `ip netns add ${P}${n}`,
        `ip link add ${P}${n}-e0 type veth peer name ${P}${n}-p`,
        `ip link set ${P}${n}-e0 netns ${P}${n}`,
        `ip link set ${P}${n}-p netns ${P}sw`,
        `ip -n ${P}${n} link set ${P}${n}-e0 name eth0`,
        `ip -n ${P}sw link set ${P}${n}-p master br0 up`,
        `ip -n ${P}${n} addr add ${IP[n]}/24 dev eth0`,
        `ip -n ${P}${n} link set eth0 up`,
        `ip -n ${P}${n} link set lo up`,
      ].join(' && '),
    );
  }
  for (const n of ['lb1', 'lb2'] as const) {
    // NAT needs forwarding; the lbs must not redirect real servers around themselves.
    ns(n, 'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0');
  }
  for (const n of ['rs1', 'rs2'] as const) rsDirectRouting(n);
}

/** DR: the VIP on lo, no ARP for it. */
export function rsDirectRouting(n: 'rs1' | 'rs2'): void {
  ns(n, `sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2`);
  ns(n, `ip addr add ${VIP}/32 dev lo`);
}

/** NAT: no VIP; only the lbs and the VIP on-link, everything else (the client) via the VIP. */
export function rsNat(n: 'rs1' | 'rs2'): void {
  ns(n, `ip addr del ${VIP}/32 dev lo`, true);
  ns(n, `sysctl -qw net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0`);
  ns(n, `ip addr flush dev eth0 && ip addr add ${IP[n]}/32 dev eth0`);
  ns(n, `ip route add ${IP.lb1} dev eth0 && ip route add ${IP.lb2} dev eth0 && ip route add ${VIP} dev eth0 && ip route add default via ${VIP}`);
}

export class Proc {
  private exited: Promise<number | null>;
  private done = false;
  constructor(
    readonly child: ChildProcess,
    readonly logPath?: string,
  ) {
    this.exited = new Promise((r) =>
      child.on('exit', (code) => {
        this.done = true;
        r(code);
      }),
    );
  }
  get running(): boolean {
    return !this.done;
  }
  log(): string {
    return this.logPath && existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 15_000): Promise<number | null> {
    if (this.done) return this.child.exitCode;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

export function spawnIn(node: Node, argv: string[], logPath?: string): Proc {
  const fd = logPath ? openSync(logPath, 'a') : undefined;
  const child = spawn('ip', ['netns', 'exec', `${P}${node}`, ...argv], {
    stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
    cwd: ROOT,
  });
  if (fd !== undefined) closeSync(fd);
  return new Proc(child, logPath);
}

/** busybox httpd on `port` serving `body` at "/". */
export function startHttpd(dir: string, node: 'rs1' | 'rs2', port: number, body: string): Proc {
  const root = join(dir, `${node}-${port}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'index.html'), body);
  return spawnIn(node, ['/bin/busybox', 'httpd', '-f', '-p', String(port), '-h', root]);
}

export function startLb(dir: string, node: 'lb1' | 'lb2', config: string, tag: string, flags: string[] = []): Proc {
  const cfg = join(dir, `${node}-${tag}.conf`);
  writeFileSync(cfg, config);
  return spawnIn(node, [process.execPath, 'test/vm/lab/launch.mjs', cfg, node, dir, ...flags], join(dir, `${node}-${tag}.log`));
}

export function script(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/** `ipvsadm -Ln` rows of a node: "TCP 192.168.60.200:8080 rr" and "-> 192.168.60.121:8080 Route 1". */
export function ipvs(node: 'lb1' | 'lb2'): string[] {
  return ns(node, 'ipvsadm -Ln')
    .split('\n')
    .slice(3)
    .map((l) => l.trim().split(/\s+/).slice(0, 4).join(' '))
    .filter(Boolean);
}

/** The rows of one virtual service (its header excluded), e.g. service "TCP 192.168.60.200:8080". */
export function dests(node: 'lb1' | 'lb2', service: string): string[] {
  const rows = ipvs(node);
  const i = rows.findIndex((r) => r.startsWith(`${service} `));
  if (i < 0) return [];
  const out: string[] = [];
  for (const r of rows.slice(i + 1)) {
    if (!r.startsWith('->')) break;
    out.push(r.slice(3));
  }
  return out.sort();
}

export function hasService(node: 'lb1' | 'lb2', service: string): boolean {
  return ipvs(node).some((r) => r.startsWith(`${service} `));
}

/**
 * n requests from the client, one connection each (a single curl process: forks are slow in the VM):
 * the bodies, in order, with "FAIL (curl N: why)" for a request that got no answer, so that a failed
 * assertion says which request failed and how. A connection may take TCP's first two SYN retransmissions
 * (at 1 s and 3 s), as any client's would: a 2 s limit failed a request about once in five NAT runs
 * in the loaded VM, with nothing else wrong (bridge captures of the NAT test show the details if it recurs).
 */
export function requests(n: number, port = 8080): string[] {
  const urls = Array.from({ length: n }, () => `http://${VIP}:${port}/`).join(' ');
  const out = ns('cl', `curl -s -m 6 --connect-timeout 4 -H 'Connection: close' -w '\\n@@%{exitcode} %{time_connect} %{errormsg}@@\\n' ${urls}`, true);
  const results: string[] = [];
  for (const [, body, code, connect, why] of out.matchAll(/([\s\S]*?)\n@@(\d+) ([\d.]+) ([^@]*)@@\n/g)) {
    results.push(code === '0' ? body!.trim() : `FAIL (curl ${code}: ${why})`);
    // answered, but only after a SYN retransmission: worth a line in the test output
    if (code === '0' && Number(connect) > 0.9) console.log(`request ${results.length} of ${n} connected after ${connect} s`);
  }
  while (results.length < n) results.push('FAIL (no curl output)');
  return results;
}

export const failed = (bodies: string[]): string[] => bodies.filter((b) => b.startsWith('FAIL'));

export async function until(what: string, cond: () => boolean, ms: number, every = 250): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (cond()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A packet capture on the lab's bridge (dumpcap), for explaining a failure after the fact. */
export function captureBridge(dir: string, name: string): { file: string; proc: Proc; summary(filter: string): string } {
  const file = join(dir, `${name}.pcapng`);
  const proc = new Proc(spawn('ip', ['netns', 'exec', `${P}sw`, 'dumpcap', '-q', '-i', 'br0', '-w', file], { stdio: 'ignore' }));
  return {
    file,
    proc,
    summary: (filter) => sh(`tshark -r ${file} -t ad -Y ${q(filter)} 2>&1 | tail -150`, true),
  };
}
