// auth_type AH on the wire against keepalived 2.2.7, below the daemon (the parser still refuses AH): the
// compiled AH transport (src/net ipsecAh) and codec in a probe process (ah-probe.mjs) on one host,
// keepalived with `auth_type AH` on the other, a tshark capture on a third host of the bridge.
// Namespaces lkv-ahw-*, removed in afterAll.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capture, Daemon, KEEPALIVED, REPO, sh, sleep, topology, writeConf, type Topo } from './helpers.js';

const PROBE_DIST = join(REPO, 'dist-check', 'netns-ah');
const PASS = 'k33pal1v';
const LB1 = '192.168.60.111';
const LB2 = '192.168.60.112';

interface Packet {
  payload: string;
  source: string;
  destination?: string;
  ttl?: number;
  receivedAt: number;
  ah?: { sequence: number; spi: string; failure?: { reason: string; message: string } };
}
interface Event {
  event: string;
  key?: string;
  packet?: Packet;
  message?: string;
  at: number;
}

/** The ah-probe.mjs process in a namespace. */
class AhProbe {
  readonly events: Event[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly waiters: (() => void)[] = [];
  stderr = '';
  private constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let m: { id?: number; ok?: boolean; result?: unknown; error?: string } & Omit<Event, 'at'>;
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        return;
      }
      if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.result);
        else p?.reject(new Error(m.error));
        return;
      }
      this.events.push({ ...m, at: performance.now() });
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async start(ns: string): Promise<AhProbe> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(import.meta.dirname, 'ah-probe.mjs'), PROBE_DIST], { stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new AhProbe(child);
    await p.waitFor((e) => e.event === 'ready', 15_000);
    return p;
  }
  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }
  waitFor(pred: (e: Event) => boolean, timeoutMs = 5000): Promise<Event> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a probe event; stderr: ${this.stderr}`)), timeoutMs);
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
  packets(key: string, since = 0): Packet[] {
    return this.events.filter((e) => e.event === 'packet' && e.key === key && e.at >= since).map((e) => e.packet!);
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

function kaConf(name: string, priority: number, password = PASS, extra = ''): string {
  return `global_defs {
  router_id ${name}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  advert_int 1
  authentication {
    auth_type AH
    auth_pass ${password}
  }
  virtual_ipaddress {
    192.168.60.200/24
  }
${extra}}
`;
}

const canRunHere = process.getuid?.() === 0 && existsSync(KEEPALIVED) && existsSync(join(REPO, 'build/Release/lvskeeper_net.node'));

describe.skipIf(!canRunHere)('auth_type AH on the wire with keepalived 2.2.7 (transport + codec)', () => {
  let topo: Topo;
  const daemons: Daemon[] = [];
  const probes: AhProbe[] = [];
  let capture: Capture | undefined;

  beforeAll(async () => {
    // src/net and the AH codec only, so others' work in progress elsewhere cannot break this test.
    sh(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(import.meta.dirname, 'tsconfig.ah-probe.json')]);
    topo = topology('ahw');
    capture = await Capture.start(topo.x, join(topo.dir, 'ah.pcap'), 'ip proto 51');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await Promise.all(probes.map((p) => p.stop()));
    await capture?.stop();
    topo?.down();
  }, 30_000);

  it('receives and verifies keepalived MASTER adverts; a wrong password fails the ICV', async () => {
    const ka = Daemon.keepalived('ka1', topo.lb1, writeConf(topo.dir, 'ka1.conf', kaConf('ka1', 150)), topo.dir);
    daemons.push(ka);
    const probe = await AhProbe.start(topo.lb2);
    probes.push(probe);
    await probe.call('open', { key: 'good', opts: { family: 'inet', interface: 'eth0', ipsecAh: { password: PASS } } });
    await probe.call('open', { key: 'bad', opts: { family: 'inet', interface: 'eth0', ipsecAh: { password: 'wrong' } } });
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await probe.waitFor((e) => probe.packets('good').length >= 3, 6000);
    const good = probe.packets('good');
    for (const p of good) {
      expect(p.source).toBe(LB1);
      expect(p.destination).toBe('224.0.0.18');
      expect(p.ttl).toBe(255);
      expect(p.ah?.failure).toBeUndefined();
      expect(p.ah?.spi).toBe(LB1);
      const vrrp = Buffer.from(p.payload, 'hex');
      expect([vrrp[0], vrrp[1], vrrp[2], vrrp[4]]).toEqual([0x21, 51, 150, 2]);
    }
    const seqs = good.map((p) => p.ah!.sequence);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    const bad = probe.packets('bad');
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.every((p) => p.ah?.failure?.reason === 'icv')).toBe(true);
    await ka.stop();
    // its priority 0 advert is authenticated too
    await probe.waitFor((e) => e.key === 'good' && e.packet !== undefined && Buffer.from(e.packet.payload, 'hex')[2] === 0, 3000);
    await probe.call('close', { key: 'good' });
    await probe.call('close', { key: 'bad' });
  }, 40_000);

  it('keepalived BACKUP accepts our AH adverts (stays BACKUP), drops a replay and a wrong ICV, then takes over', async () => {
    const probe = await AhProbe.start(topo.lb1);
    probes.push(probe);
    await probe.call('open', { key: 'm', opts: { family: 'inet', interface: 'eth0', ipsecAh: { password: PASS } } });
    await probe.call('advertise', { key: 'm', priority: 150 });
    const ka = Daemon.keepalived('ka2', topo.lb2, writeConf(topo.dir, 'ka2.conf', kaConf('ka2', 100)), topo.dir);
    daemons.push(ka);
    await ka.waitFor(/\(VI_1\) Entering BACKUP STATE/, 8000);
    await sleep(6000); // well past its master down interval (3.6 s)
    expect(ka.has(/Entering MASTER STATE/)).toBe(false);
    expect(ka.has(/IPSEC|invalid|mismatch|No AH header/)).toBe(false);

    // a replayed sequence number: keepalived's anti-replay drops it
    const seq = await probe.call<number>('silence', { key: 'm' });
    const t0 = performance.now();
    await probe.call('send', { key: 'm', priority: 150, seq: seq - 1, keep: true });
    await ka.waitFor(new RegExp(`\\(VI_1\\) IPSEC-AH : sequence number ${seq - 1} already processed\\. Packet dropped\\. Local\\(${seq}\\)`), 3000, t0);
    await probe.call('advertise', { key: 'm', priority: 150 });
    await sleep(2500);
    expect(ka.has(/Entering MASTER STATE/)).toBe(false);

    // the same adverts under another key: ICV failures, and keepalived takes over
    await probe.call('silence', { key: 'm' });
    await probe.call('close', { key: 'm' });
    await probe.call('open', { key: 'w', opts: { family: 'inet', interface: 'eth0', ipsecAh: { password: 'wrongpw' } } });
    const t1 = performance.now();
    await probe.call('advertise', { key: 'w', priority: 150 });
    await ka.waitFor(/\(VI_1\) IPSEC-AH : invalid IPSEC HMAC-MD5 value\. Due to fields mutation or bad password !/, 3000, t1);
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000, t1);
    await probe.call('silence', { key: 'w' });
    await ka.stop();
  }, 60_000);

  it('unicast peers: TTL left out of the ICV both ways (keepalived vrrp_update_pkt / vrrp_in_chk_ipsecah)', async () => {
    const unicast = `  unicast_src_ip ${LB1}\n  unicast_peer {\n    ${LB2}\n  }\n`;
    const ka = Daemon.keepalived('ka3', topo.lb1, writeConf(topo.dir, 'ka3.conf', kaConf('ka3', 150, PASS, unicast)), topo.dir);
    daemons.push(ka);
    const probe = await AhProbe.start(topo.lb2);
    probes.push(probe);
    await probe.call('open', { key: 'u', opts: { family: 'inet', interface: 'eth0', unicastPeers: [LB1], unicastTtl: 64, ipsecAh: { password: PASS } } });
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await probe.waitFor(() => probe.packets('u').length >= 2, 5000);
    for (const p of probe.packets('u')) {
      expect([p.source, p.destination]).toEqual([LB1, LB2]);
      expect(p.ah?.failure).toBeUndefined();
    }
    // our unicast advert (TTL 64, not 255) with a higher priority and a number above keepalived's: it yields
    const t0 = performance.now();
    await probe.call('send', { key: 'u', priority: 200, seq: 1000 });
    await ka.waitFor(/\(VI_1\) Master received advert from 192\.168\.60\.112 with higher priority 200, ours 150/, 3000, t0);
    await ka.waitFor(/\(VI_1\) Entering BACKUP STATE/, 3000, t0);
    expect(ka.has(/IPSEC/)).toBe(false);
    await probe.call('close', { key: 'u' });
    await ka.stop();
  }, 40_000);

  it('the capture shows protocol 51 from our transport and from keepalived, with AH sequence numbers', async () => {
    await capture!.stop();
    const rows = capture!.fields('ip.proto == 51', ['ip.src', 'ah.spi', 'ah.sequence', 'vrrp.prio']);
    const ours = rows.filter((r) => r[0] === LB1 && Number(r[3]) === 150);
    const theirs = rows.filter((r) => r[0] === LB2);
    expect(ours.length).toBeGreaterThan(5);
    expect(theirs.length).toBeGreaterThan(0);
    // SPI = source address (0xc0a83c6f = 192.168.60.111)
    expect(ours.every((r) => Number(r[1]) === 0xc0a83c6f)).toBe(true);
  }, 20_000);
});
