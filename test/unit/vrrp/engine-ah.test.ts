// auth_type AH through the real engine, instances, validation and AH codec, on a fake wire that carries
// whole IPv4 packets (what the transport's ipsecAh path sends and checks). The parser still refuses AH, so
// the configs are parsed with PASS and switched to AH in the model.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/index.js';
import { VrrpEngine } from '../../../src/daemon/vrrp-engine.js';
import type { ReceivedPacket, TransportOptions, VrrpTransport } from '../../../src/net/types.js';
import { buildAhPacket, verifyAhPacket } from '../../../src/vrrp/ipsec-ah.js';
import { encodeAdvert } from '../../../src/vrrp/packet.js';
import { FakeTimers } from '../../../src/vrrp/timers.js';
import { conf, LATENCY_MS, Node, parse, run } from './engine-harness.js';

interface Port {
  src: string;
  options: TransportOptions;
  deliver(p: ReceivedPacket): void;
  up(): boolean;
}

/** IPv4 packets on a segment; each receiver checks AH with its own password, as the real transport. */
class AhWire {
  ports: Port[] = [];
  sent: { at: number; src: string; ip: Buffer }[] = [];
  private ipId = 0;
  constructor(readonly timers: FakeTimers) {}
  send(src: string, payload: Buffer, options: TransportOptions, seq: number | undefined): void {
    if (options.ipsecAh === undefined) throw new Error('this wire carries AH only');
    if (seq === undefined) throw new Error('AH send without a sequence number');
    this.ipId = (this.ipId % 0xffff) + 1;
    const ip = buildAhPacket({ source: src, destination: '224.0.0.18', ttl: 255, id: this.ipId, sequence: seq, vrrp: payload, password: options.ipsecAh.password, unicast: false });
    this.put(src, ip);
  }
  /** Puts a raw IPv4 packet on the wire (a replay, a forgery). */
  put(src: string, ip: Buffer): void {
    this.sent.push({ at: this.timers.now(), src, ip });
    for (const p of this.ports) {
      if (p.src === src) continue;
      this.timers.at(this.timers.now() + LATENCY_MS, () => {
        if (!p.up()) return;
        const r = verifyAhPacket(ip, p.options.ipsecAh!.password, false);
        if (r.ok) p.deliver({ payload: r.vrrp, source: r.source, destination: r.destination, ttl: r.ttl, ah: r.ah });
      });
    }
  }
  /** A plain protocol-112 advert reaching the AH socket's instance (as if a socket for both existed). */
  putPlain(src: string, payload: Buffer): void {
    for (const p of this.ports) if (p.src !== src && p.up()) p.deliver({ payload, source: src, destination: '224.0.0.18', ttl: 255 });
  }
  /** AH sequence numbers sent by `src`, in order. */
  seqs(src: string): number[] {
    return this.sent.filter((s) => s.src === src).map((s) => s.ip.readUInt32BE(28));
  }
  priorities(src: string): number[] {
    return this.sent.filter((s) => s.src === src).map((s) => s.ip[46]!);
  }
}

function ahConfig(prio: number, password = 'secret'): Config {
  const c = parse(conf(prio, '', password));
  const vi = c.vrrpInstances[0]!;
  vi.authentication = { ...vi.authentication!, type: 'AH' };
  return c;
}

class AhNode extends Node {
  opened: TransportOptions[] = [];
  constructor(
    readonly ahWire: AhWire,
    src: string,
  ) {
    super({ ports: [], sent: [], timers: ahWire.timers } as never, src, ahWire.timers);
  }
  async startAh(config: Config): Promise<void> {
    const node = this;
    const base = this.adapters();
    this.engine = await VrrpEngine.start(
      config,
      {
        ...base,
        openTransport: async (options: TransportOptions): Promise<VrrpTransport> => {
          node.opened.push(options);
          let handler: (p: ReceivedPacket) => void = () => undefined;
          let closed = false;
          node.ahWire.ports.push({ src: node.src, options, deliver: (p) => handler(p), up: () => !closed });
          return {
            send: async (payload, o) => node.ahWire.send(node.src, payload, options, o?.ahSequence),
            onPacket: (h) => void (handler = h),
            onError: () => undefined,
            close: () => void (closed = true),
          };
        },
      },
      { log: this.log, keepVipsOnStop: false, hooks: { onNotify: (ev) => void this.notifies.push(ev) } },
    );
  }
}

async function pair(passwordB = 'secret'): Promise<{ t: FakeTimers; wire: AhWire; a: AhNode; b: AhNode }> {
  const t = new FakeTimers();
  const wire = new AhWire(t);
  const a = new AhNode(wire, '192.168.60.111');
  const b = new AhNode(wire, '192.168.60.112');
  await a.startAh(ahConfig(150));
  await b.startAh(ahConfig(100, passwordB));
  return { t, wire, a, b };
}

describe('VrrpEngine with auth_type AH', () => {
  it('runs AH instances on an ipsecAh transport: one MASTER, the BACKUP accepts its adverts', async () => {
    const { t, wire, a, b } = await pair();
    expect(a.opened).toEqual([expect.objectContaining({ family: 'inet', ipsecAh: { password: 'secret' } })]);
    await run(t, 10_000);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    const seqs = wire.seqs('192.168.60.111');
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(wire.seqs('192.168.60.112')).toEqual([]);
    expect(b.engine.stats()['VI_1']!.dropped).toBe(0);
    expect(a.engine.stats()['VI_1']!.dropped).toBe(0);
    // the VRRP message inside says auth type 2 with zero auth data (keepalived vrrp_build_vrrp_v2)
    const last = wire.sent.at(-1)!.ip;
    expect(last[44 + 4]).toBe(2);
    expect(last.subarray(44 + 12).equals(Buffer.alloc(8))).toBe(true);
  });

  it('a wrong auth_pass: both sides drop (ah-icv, logged as keepalived) and both become MASTER', async () => {
    const { t, a, b } = await pair('other');
    await run(t, 10_000);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'MASTER']);
    expect(b.engine.stats()['VI_1']!.drops['ah-icv']).toBeGreaterThan(3);
    expect(a.engine.stats()['VI_1']!.drops['ah-icv']).toBeGreaterThan(0);
    expect(b.lines()).toContain('(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password ! (from 192.168.60.111)');
  });

  it('drops a replayed advert (ah-replay) and a plain VRRP advert (auth-type)', async () => {
    const { t, wire, a, b } = await pair();
    await run(t, 9000);
    const old = wire.sent.filter((s) => s.src === a.src).at(-3)!.ip;
    const oldSeq = old.readUInt32BE(28);
    wire.put(a.src, old);
    await run(t, 10);
    const st = b.engine.stats()['VI_1']!;
    expect(st.drops['ah-replay']).toBe(1);
    expect(b.lines().some((l) => l.startsWith(`(VI_1) IPSEC-AH : sequence number ${oldSeq} already processed. Packet dropped. Local(${oldSeq + 2})`))).toBe(true);
    wire.putPlain('192.168.60.9', encodeAdvert({ version: 2, family: 'inet', vrid: 51, priority: 254, advertIntCs: 100, addresses: ['192.168.60.200'], authType: 2 }));
    await run(t, 10);
    expect(b.engine.stats()['VI_1']!.drops['auth-type']).toBe(1);
    expect(b.lines()).toContain('(VI_1) No AH header but auth type is AH (from 192.168.60.9)');
    expect(b.state()).toBe('BACKUP');
  });

  it("a forged higher-priority advert with a valid ICV but a replayed sequence number cannot take over", async () => {
    const { t, wire, a, b } = await pair();
    await run(t, 5000);
    expect(a.state()).toBe('MASTER');
    // someone who knows the key but replays an old number, claiming priority 254 from .9
    const vrrp = encodeAdvert({ version: 2, family: 'inet', vrid: 51, priority: 254, advertIntCs: 100, addresses: ['192.168.60.200'], authType: 2 });
    wire.put('192.168.60.9', buildAhPacket({ source: '192.168.60.9', destination: '224.0.0.18', ttl: 255, id: 7, sequence: 1, vrrp, password: 'secret', unicast: false }));
    await run(t, 10);
    expect(a.state()).toBe('MASTER');
    expect(a.engine.stats()['VI_1']!.drops['ah-replay']).toBe(1);
  });

  it('a BACKUP that takes over continues the old master’s sequence; the old master comes back and preempts', async () => {
    const { t, wire, a, b } = await pair();
    await run(t, 5000);
    const lastA = wire.seqs(a.src).at(-1)!;
    await a.engine.stop();
    const stopSeq = wire.seqs(a.src).at(-1)!;
    expect(stopSeq).toBe(lastA + 1);
    expect(wire.priorities(a.src).at(-1)).toBe(0);
    await run(t, 5000);
    expect(b.state()).toBe('MASTER');
    const bSeqs = wire.seqs(b.src);
    expect(bSeqs[0]).toBe(stopSeq + 1); // its counter followed A's adverts (keepalived's shared seq_counter)
    // A restarts with its counter at 0: it accepts B's adverts (higher numbers), preempts and continues after them.
    const a2 = new AhNode(wire, '192.168.60.111');
    wire.ports = wire.ports.filter((p) => p.src !== a.src);
    await a2.startAh(ahConfig(150));
    await run(t, 10_000);
    expect([a2.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    const a2Seqs = wire.sent.filter((s) => s.src === a2.src && s.at > 5000).map((s) => s.ip.readUInt32BE(28));
    expect(a2Seqs[0]).toBeGreaterThan(wire.seqs(b.src).filter((s) => s < a2Seqs[0]!).at(-1)!);
    expect(b.engine.stats()['VI_1']!.drops['ah-replay'] ?? 0).toBe(0);
  });
});
