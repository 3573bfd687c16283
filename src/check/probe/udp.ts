// UDP_CHECK (check_udp.c, layer4.c udp_socket_state): send `payload` to the target over a connected
// UDP socket, then wait connect_timeout.
//  - an ICMP error (port unreachable -> ECONNREFUSED) = failure;
//  - no reply at all = success, unless require_reply is set;
//  - a reply: with require_reply data, its length must be within [min_reply_length,
//    max_reply_length] and the first min(len, pattern length) octets must match the pattern
//    ('X' hex digits are wildcards), as keepalived's check_udp_reply.

import { describeError, fail, guard, ok, udpExchange } from './common.js';
import type { ProbeResult, UdpCheckSpec } from '../types.js';

export interface HexPattern {
  data: Buffer;
  /** 1 bits are wildcards */
  mask: Buffer;
}

/** Parse keepalived's hex strings (whitespace ignored; 'X'/'x' nibble = wildcard). */
export function parseHexPattern(hex: string): HexPattern | undefined {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length === 0) return { data: Buffer.alloc(0), mask: Buffer.alloc(0) };
  if (!/^[0-9a-fA-FxX]+$/.test(clean)) return undefined;
  const padded = clean.length % 2 === 1 ? `0${clean}` : clean;
  const n = padded.length / 2;
  const data = Buffer.alloc(n);
  const mask = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    let m = 0;
    for (let k = 0; k < 2; k++) {
      const ch = padded[2 * i + k] as string;
      d <<= 4;
      m <<= 4;
      if (ch === 'x' || ch === 'X') m |= 0xf;
      else d |= parseInt(ch, 16);
    }
    data[i] = d;
    mask[i] = m;
  }
  return { data, mask };
}

/** keepalived's check_udp_reply: undefined = matches, else the mismatch reason. */
export function checkUdpReply(reply: Buffer, spec: UdpCheckSpec): string | undefined {
  // keepalived only checks a reply when require_reply has data (check_udp_thread).
  if (!spec.replyHex) return undefined;
  if (reply.length < spec.minReplyLength || reply.length > spec.maxReplyLength) {
    return `reply length ${reply.length} outside [${spec.minReplyLength}, ${spec.maxReplyLength}]`;
  }
  const pattern = parseHexPattern(spec.replyHex);
  if (!pattern) return 'invalid require_reply pattern';
  const n = Math.min(reply.length, pattern.data.length);
  for (let i = 0; i < n; i++) {
    if (((reply[i] as number) ^ (pattern.data[i] as number)) & ~(pattern.mask[i] as number) & 0xff) {
      return 'reply data mismatch';
    }
  }
  return undefined;
}

export function probeUdp(spec: UdpCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(async () => {
    const payload = parseHexPattern(spec.payloadHex)?.data;
    if (!payload) return fail('invalid payload hex string');
    return udpExchange(spec.target, payload, signal, {
      onTimeout: () => (spec.requireReply ? fail('no reply') : ok('no ICMP error within connect_timeout')),
      onMessage: (msg) => {
        if (!spec.requireReply) return ok('reply received');
        const mismatch = checkUdpReply(msg, spec);
        return mismatch ? fail(mismatch) : ok('reply matches');
      },
      onError: (err) => fail(err.code === 'ECONNREFUSED' ? 'ICMP port unreachable' : describeError(err)),
      onSendError: (err) => fail(describeError(err)),
    });
  });
}
