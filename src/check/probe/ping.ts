// PING_CHECK (check_ping.c): one ICMP (IPv4) or ICMPv6 echo request; success when the matching echo
// reply arrives within connect_timeout. Uses raw sockets (raw-socket package; needs CAP_NET_RAW).

import { createRequire } from 'node:module';
import { randomInt } from 'node:crypto';
import { fail, guard, ok } from './common.js';
import type { PingCheckSpec, ProbeResult } from '../types.js';

interface RawSocket {
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', cb: (err: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, cb: (err: Error | null, bytes: number) => void): void;
  close(): void;
}
interface RawModule {
  createSocket(opts: { protocol: number; addressFamily?: number }): RawSocket;
  Protocol: { ICMP: number; ICMPv6: number };
  AddressFamily: { IPv4: number; IPv6: number };
}

let rawModule: RawModule | undefined;
function raw(): RawModule {
  if (!rawModule) rawModule = createRequire(import.meta.url)('raw-socket') as RawModule;
  return rawModule;
}

/** RFC 1071 checksum */
export function icmpChecksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2 === 1) sum += (buf[buf.length - 1] as number) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

export function buildEcho(v6: boolean, id: number, seq: number): Buffer {
  const buf = Buffer.alloc(8 + 16);
  buf[0] = v6 ? 128 : 8;
  buf.writeUInt16BE(id, 4);
  buf.writeUInt16BE(seq, 6);
  buf.write('lvskeeper-ping!!', 8, 'ascii');
  // The kernel fills in the ICMPv6 checksum (it needs the pseudo-header).
  if (!v6) buf.writeUInt16BE(icmpChecksum(buf), 2);
  return buf;
}

/** Does this datagram carry our echo reply? IPv4 raw sockets deliver the IP header too. */
export function isEchoReply(v6: boolean, buf: Buffer, id: number, seq: number): boolean {
  let off = 0;
  if (!v6) {
    if (buf.length < 20) return false;
    off = ((buf[0] as number) & 0x0f) * 4;
  }
  if (buf.length < off + 8) return false;
  const type = buf[off];
  if (type !== (v6 ? 129 : 0)) return false;
  return buf.readUInt16BE(off + 4) === id && buf.readUInt16BE(off + 6) === seq;
}

/** SO_MARK (fwmark) on the raw socket; raw-socket passes the option number through to setsockopt. */
const SO_MARK = 36;

interface Pending {
  address: string;
  finish: (r: ProbeResult) => void;
}

/**
 * One raw socket per (family, fwmark) shared by every PING_CHECK: a raw ICMP socket receives every
 * ICMP packet of the host, so one socket per probe would cost O(checkers^2) at scale. Replies are
 * matched by (identifier, sequence, source). The socket is closed when nothing is pending.
 */
class PingMux {
  private readonly socket: RawSocket;
  private readonly id = randomInt(0, 0x10000);
  private seq = randomInt(0, 0x10000);
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly v6: boolean,
    fwmark: number | undefined,
    private readonly onIdle: () => void,
  ) {
    const r = raw();
    this.socket = r.createSocket(
      v6 ? { protocol: r.Protocol.ICMPv6, addressFamily: r.AddressFamily.IPv6 } : { protocol: r.Protocol.ICMP },
    );
    if (fwmark !== undefined) {
      (this.socket as unknown as { setOption(l: number, o: number, v: number): void }).setOption(1, SO_MARK, fwmark);
    }
    this.socket.on('message', (buf, source) => this.receive(buf, source));
    this.socket.on('error', (err) => {
      for (const p of [...this.pending.values()]) p.finish(fail(`ICMP socket error: ${err.message}`));
    });
  }

  ping(address: string, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
    return new Promise((resolve) => {
      let seq = (this.seq + 1) & 0xffff;
      for (let tries = 0; this.pending.has(seq) && tries < 0x10000; tries++) seq = (seq + 1) & 0xffff;
      this.seq = seq;
      let done = false;
      const finish = (res: ProbeResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.pending.delete(seq);
        if (this.pending.size === 0) this.close();
        resolve(res);
      };
      const timer = setTimeout(() => finish(fail('no echo reply (timeout)')), timeoutMs);
      const onAbort = () => finish(fail('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(seq, { address: address.toLowerCase(), finish });
      const pkt = buildEcho(this.v6, this.id, seq);
      this.socket.send(pkt, 0, pkt.length, address, (err) => {
        if (err) finish(fail(`cannot send echo request: ${err.message}`));
      });
    });
  }

  private receive(buf: Buffer, source: string): void {
    let off = 0;
    if (!this.v6) {
      if (buf.length < 20) return;
      off = ((buf[0] as number) & 0x0f) * 4;
    }
    if (buf.length < off + 8) return;
    const seq = buf.readUInt16BE(off + 6);
    const p = this.pending.get(seq);
    if (!p || p.address !== source.toLowerCase()) return;
    if (isEchoReply(this.v6, buf, this.id, seq)) p.finish(ok('echo reply'));
  }

  private close(): void {
    this.onIdle();
    try {
      this.socket.close();
    } catch {
      /* closed */
    }
  }
}

const muxes = new Map<string, PingMux>();

export function probePing(spec: PingCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(async () => {
    if (signal.aborted) return fail('aborted');
    const v6 = spec.target.family === 'inet6';
    const key = `${v6 ? 6 : 4}|${spec.target.fwmark ?? ''}`;
    let mux = muxes.get(key);
    if (!mux) {
      mux = new PingMux(v6, spec.target.fwmark, () => muxes.delete(key));
      muxes.set(key, mux);
    }
    return mux.ping(spec.target.address, spec.target.connectTimeoutMs, signal);
  });
}
