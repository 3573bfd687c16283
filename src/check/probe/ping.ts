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

export function probePing(spec: PingCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(
    () =>
      new Promise<ProbeResult>((resolve) => {
        const r = raw();
        const v6 = spec.target.family === 'inet6';
        const socket = r.createSocket(
          v6 ? { protocol: r.Protocol.ICMPv6, addressFamily: r.AddressFamily.IPv6 } : { protocol: r.Protocol.ICMP },
        );
        const id = randomInt(0, 0x10000);
        const seq = randomInt(0, 0x10000);
        let done = false;
        const finish = (res: ProbeResult) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          try {
            socket.close();
          } catch {
            /* closed */
          }
          resolve(res);
        };
        const timer = setTimeout(() => finish(fail('no echo reply (timeout)')), spec.target.connectTimeoutMs);
        const onAbort = () => finish(fail('aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        socket.on('error', (err) => finish(fail(`ICMP socket error: ${err.message}`)));
        socket.on('message', (buf, source) => {
          if (source === spec.target.address || source.toLowerCase() === spec.target.address.toLowerCase()) {
            if (isEchoReply(v6, buf, id, seq)) finish(ok('echo reply'));
          }
        });
        const pkt = buildEcho(v6, id, seq);
        socket.send(pkt, 0, pkt.length, spec.target.address, (err) => {
          if (err) finish(fail(`cannot send echo request: ${err.message}`));
        });
      }),
  );
}
