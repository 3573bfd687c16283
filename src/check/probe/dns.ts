// DNS_CHECK (check_dns.c): send one query over UDP (RD set, class IN, type default SOA, name
// default "."), then wait up to connect_timeout. keepalived's rule: a datagram whose id matches and
// which has QR set is the answer; RCODE 0 (NOERROR) = success, any other RCODE = failure. ANCOUNT is
// not looked at. Short datagrams, other ids and queries are ignored (keep waiting). An ICMP error
// (connection refused) is a failure.

import { randomInt } from 'node:crypto';
import { describeError, fail, guard, ok, udpExchange } from './common.js';
import type { DnsCheckSpec, DnsQueryType, ProbeResult } from '../types.js';

export const DNS_TYPES: Record<DnsQueryType, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  RRSIG: 46,
  DNSKEY: 48,
};

/** Build the query packet (header + one question). */
export function buildDnsQuery(id: number, name: string, type: DnsQueryType): Buffer {
  const labels = name === '.' || name === '' ? [] : name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  parts.push(header);
  for (const label of labels) {
    const b = Buffer.from(label, 'ascii');
    parts.push(Buffer.from([Math.min(b.length, 63)]), b.subarray(0, 63));
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt8(0, 0);
  tail.writeUInt16BE(DNS_TYPES[type], 1);
  tail.writeUInt16BE(1, 3); // IN
  parts.push(tail);
  return Buffer.concat(parts);
}

/** keepalived's verdict on a received datagram: 'ignore' keeps waiting. */
export function judgeDnsReply(id: number, msg: Buffer): 'ignore' | { ok: boolean; reason: string } {
  if (msg.length < 12) return 'ignore';
  if (msg.readUInt16BE(0) !== (id & 0xffff)) return 'ignore';
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return 'ignore';
  const rcode = flags & 0x000f;
  if (rcode !== 0) return { ok: false, reason: `read error occurred. (rcode = ${rcode})` };
  return { ok: true, reason: 'NOERROR' };
}

export function probeDns(spec: DnsCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(() => {
    const id = randomInt(0, 0x10000);
    return udpExchange(spec.target, buildDnsQuery(id, spec.name, spec.queryType), signal, {
      onTimeout: () => fail('read timeout from socket'),
      onMessage: (msg) => {
        const v = judgeDnsReply(id, msg);
        return v === 'ignore' ? v : v.ok ? ok(v.reason) : fail(v.reason);
      },
      onError: (err) => fail(describeError(err)),
      onSendError: (err) => fail(`failed to write socket: ${describeError(err)}`),
    });
  });
}
