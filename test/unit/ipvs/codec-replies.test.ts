// Decoding kernel replies: datagrams captured from a real kernel (captured.ts) and replies built by hand
// with the kernel's layout (STATS u32/u64 mix, STATS64, zero-length PAD attributes, missing ADDR_FAMILY).
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_MULTI,
  decodeDaemon,
  decodeDestination,
  decodeFamilyId,
  decodeInfo,
  decodeService,
  decodeStats,
  decodeTimeouts,
  parseErrno,
  parseMessages,
  replyBuilders as B,
} from '../../../src/ipvs/codec.js';
import { CAPTURE } from './captured.js';

const received = (step: string): Buffer[] =>
  CAPTURE.filter((c) => c.step === step && c.dir === '<').map((c) => Buffer.from(c.hex, 'hex'));

const hex = (s: string): Buffer => Buffer.from(s.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, ''), 'hex');

describe.runIf(endianness() === 'LE')('decoding captured kernel replies', () => {
  it('GET_SERVICE dump: three services in one datagram, then DONE', () => {
    const [dgram, done] = received('getAll');
    const msgs = parseMessages(dgram!);
    expect(msgs).toHaveLength(3);
    for (const m of msgs) {
      expect(m.type).toBe(0x20);
      expect(m.flags & NLM_F_MULTI).toBe(NLM_F_MULTI);
    }
    const services = msgs.map((m) => decodeService(m.payload));
    expect(services.map((s) => ({ ...s, stats: undefined }))).toEqual([
      {
        key: { kind: 'addr', family: 'inet6', protocol: 'udp', address: '2001:db8::1', port: 53 },
        scheduler: 'rr',
        flags: 1, // PERSISTENT; the kernel's HASHED (0x2) is dropped
        timeout: 60,
        netmask: '128',
        persistenceEngine: 'sip',
        stats: undefined,
      },
      {
        key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80 },
        scheduler: 'wrr',
        flags: 1,
        timeout: 300,
        netmask: '255.255.255.0',
        persistenceEngine: undefined,
        stats: undefined,
      },
      {
        key: { kind: 'fwmark', family: 'inet6', fwmark: 7 },
        scheduler: 'sh',
        flags: 0x18,
        timeout: 0,
        netmask: '128',
        persistenceEngine: undefined,
        stats: undefined,
      },
    ]);
    expect(services[0]!.stats).toEqual({
      conns: 0n, inPkts: 0n, outPkts: 0n, inBytes: 0n, outBytes: 0n, cps: 0n, inPps: 0n, outPps: 0n, inBps: 0n, outBps: 0n,
    });
    const end = parseMessages(done!);
    expect(end).toHaveLength(1);
    expect(end[0]!.type).toBe(NLMSG_DONE);
    expect(end[0]!.seq).toBe(msgs[0]!.seq);
    expect(parseErrno(end[0]!.payload)).toBe(0);
  });

  it('GET_DEST dumps: IPv4 route dest and IPv6 GUE tunnel dest with port and csum flag', () => {
    const dests = received('getAll')
      .flatMap((d) => parseMessages(d))
      .filter((m) => m.type === 0x20 && m.payload[0] === 5); // cmd NEW_DEST
    expect(dests).toHaveLength(2);
    const route = decodeDestination(dests[0]!.payload, 'inet');
    expect(route).toMatchObject({
      family: 'inet', address: '10.1.0.1', port: 8080, forward: 'route', weight: 5, upperThreshold: 10, lowerThreshold: 2,
      activeConns: 0, inactiveConns: 0, persistConns: 0,
    });
    expect(route.tunnelType).toBeUndefined();
    const tun = decodeDestination(dests[1]!.payload, 'inet6');
    expect(tun).toMatchObject({
      family: 'inet6', address: '2001:db8::5', port: 0, forward: 'tunnel', weight: 1, tunnelType: 'gue', tunnelPort: 6080, tunnelFlags: 1,
    });
  });

  it('GET_INFO and GET_CONFIG replies', () => {
    const [info] = parseMessages(received('getInfo')[0]!);
    expect(decodeInfo(info!.payload)).toEqual({ version: 0x010201, connTableSize: 4096 });
    const [cfg] = parseMessages(received('getTimeouts')[0]!);
    expect(decodeTimeouts(cfg!.payload)).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
  });

  it('GET_DAEMON dump', () => {
    const [d] = parseMessages(received('getDaemons')[0]!);
    expect(decodeDaemon(d!.payload)).toEqual({
      state: 'backup', mcastInterface: 'lo', syncId: 9, maxLen: 1400, mcastGroup: '239.1.2.3', mcastPort: 9000, mcastTtl: 3,
    });
  });

  it('ACK and ERROR messages carry the errno; the error echoes the request', () => {
    const [ack] = parseMessages(received('startDaemon')[0]!);
    expect(ack!.type).toBe(NLMSG_ERROR);
    expect(parseErrno(ack!.payload)).toBe(0);
    const [err] = parseMessages(received('del-service missing')[0]!);
    expect(err!.type).toBe(NLMSG_ERROR);
    expect(parseErrno(err!.payload)).toBe(3); // ESRCH
    const sent = CAPTURE.find((c) => c.step === 'del-service missing' && c.dir === '>')!;
    expect(err!.payload.subarray(4).toString('hex')).toBe(sent.hex);
  });
});

describe.runIf(endianness() === 'LE')('decoding constructed replies', () => {
  it('nlctrl family reply → family id', () => {
    const payload = B.genl(1, [B.attr(2, B.cstring('IPVS')), B.attr(1, B.u16(0x1d))], 2);
    expect(decodeFamilyId(payload)).toBe(0x1d);
  });

  it('STATS: u32 counters, u64 bytes, zero-length PAD attributes skipped', () => {
    // As nla_put_u64_64bit emits on architectures that need 8-byte alignment: PAD (type 11, len 4) before u64s.
    const stats = hex(`
      0800 0100 07000000                   // CONNS 7
      0800 0200 64000000                   // INPKTS 100
      0800 0300 c8000000                   // OUTPKTS 200
      0400 0b00                            // PAD, zero length
      0c00 0400 00e40b5402000000           // INBYTES 10_000_000_000 (u64)
      0400 0b00                            // PAD
      0c00 0500 0100000001000000           // OUTBYTES 0x1_0000_0001
      0800 0600 01000000 0800 0700 02000000 0800 0800 03000000
      0800 0900 04000000 0800 0a00 05000000`);
    expect(decodeStats(stats)).toEqual({
      conns: 7n, inPkts: 100n, outPkts: 200n, inBytes: 10_000_000_000n, outBytes: 0x1_0000_0001n,
      cps: 1n, inPps: 2n, outPps: 3n, inBps: 4n, outBps: 5n,
    });
  });

  it('service: STATS64 preferred over STATS, fwmark IPv4, flags without HASHED', () => {
    const S = B.SVC_ATTR;
    const stats32 = B.attr(B.STATS_ATTR.CONNS, B.u32(0xffffffff));
    const stats64 = Buffer.concat([B.attr(B.STATS_ATTR.PAD, Buffer.alloc(0)), B.attr(B.STATS_ATTR.CONNS, B.u64(0x1_0000_0000n))]);
    const payload = B.genl(1, [
      B.attr(B.CMD_ATTR.SERVICE, [
        B.attr(S.AF, B.u16(2)),
        B.attr(S.FWMARK, B.u32(0xdeadbeef)),
        B.attr(S.SCHED_NAME, B.cstring('mh')),
        B.attr(S.FLAGS, Buffer.concat([B.u32(0x2 | 0x8), B.u32(0xffffffff)])),
        B.attr(S.TIMEOUT, B.u32(0)),
        B.attr(S.NETMASK, Buffer.from([255, 255, 255, 255])),
        B.attr(S.STATS, stats32),
        B.attr(S.STATS64, stats64),
      ]),
    ]);
    const s = decodeService(payload);
    expect(s.key).toEqual({ kind: 'fwmark', family: 'inet', fwmark: 0xdeadbeef });
    expect(s.flags).toBe(0x8);
    expect(s.scheduler).toBe('mh');
    expect(s.netmask).toBe('255.255.255.255');
    expect(s.stats?.conns).toBe(0x1_0000_0000n);
  });

  it('destination without ADDR_FAMILY (kernels < 3.18) takes the service family; SCTP-less masq', () => {
    const D = B.DEST_ATTR;
    const addr = Buffer.alloc(16);
    addr.set([0xfe, 0x80], 0);
    addr[15] = 1;
    const payload = B.genl(5, [
      B.attr(B.CMD_ATTR.DEST, [
        B.attr(D.ADDR, addr),
        B.attr(D.PORT, B.be16(443)),
        B.attr(D.FWD_METHOD, B.u32(0x0100 | 0)), // INACTIVE bit set by the kernel; method bits 0 = masq
        B.attr(D.WEIGHT, B.u32(70000)), // above 65535: decoded as u32 (moby's u16 bug)
        B.attr(D.U_THRESH, B.u32(0)),
        B.attr(D.L_THRESH, B.u32(0)),
      ]),
    ]);
    const d = decodeDestination(payload, 'inet6');
    expect(d).toMatchObject({ family: 'inet6', address: 'fe80::1', port: 443, forward: 'masq', weight: 70000 });
  });

  it('malformed replies throw instead of returning garbage', () => {
    expect(() => decodeService(B.genl(1, []))).toThrow(/IPVS_CMD_ATTR_SERVICE/);
    expect(() => decodeService(B.genl(1, [B.attr(1, [B.attr(1, B.u16(99))])]))).toThrow(/family/);
    expect(() => decodeDestination(B.genl(5, [B.attr(2, [])]), 'inet')).toThrow(/address/);
    expect(parseMessages(Buffer.from('ff000000', 'hex'))).toEqual([]);
  });
});
