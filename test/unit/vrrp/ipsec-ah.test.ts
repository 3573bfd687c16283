// VRRPv2 auth_type AH (src/vrrp/ipsec-ah.ts): golden bytes derived by hand from RFC 2402/2403 and
// keepalived's vrrp_update_pkt, real adverts captured from keepalived 2.2.7, and the sequence rules.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AhSequence, ahIcv, buildAhPacket, verifyAhPacket } from '../../../src/vrrp/ipsec-ah.js';
import type { ReceivedPacket } from '../../../src/net/types.js';
import { encodeAdvert, VRRP_AUTH_AH, VRRP_AUTH_PASS } from '../../../src/vrrp/packet.js';
import { validateAdvert, type ValidationConfig } from '../../../src/vrrp/validate.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// 10.0.0.1 -> 224.0.0.18, ID 0x1234, VRID 1, priority 100, advert_int 1, VIP 10.0.0.100, seq 7, auth_pass "secret".
// VRRP checksum by hand: 2101+6401+0201+0a00+0064 = 9167, ~ = 6e98.
const VRRP = hex('21 01 64 01 02 01 6e98 0a000064 0000000000000000');
// ICV input: IP header with TOS, frag_off, checksum zeroed (TTL 255 kept: multicast), AH with ICV zero, VRRP.
const ICV_INPUT = hex(`
  45 00 0040 1234 0000 ff 33 0000 0a000001 e0000012
  70 04 0000 0a000001 00000007 000000000000000000000000
  21 01 64 01 02 01 6e98 0a000064 0000000000000000`);
// `openssl dgst -md5 -mac HMAC -macopt hexkey:7365637265740000` of ICV_INPUT, first 12 bytes.
const ICV = 'fd1ff4af3c0fe15fe9d6f7cf';
// Header checksum by hand: 45c0+0040+1234+ff33+0a00+0001+e000+0012 = 2417a -> 417c, ~ = be83.
const PACKET = hex(`
  45 c0 0040 1234 0000 ff 33 be83 0a000001 e0000012
  70 04 0000 0a000001 00000007 ${ICV}
  21 01 64 01 02 01 6e98 0a000064 0000000000000000`);

/** RFC 2104 HMAC written out with MD5, independent of createHmac. */
function hmacMd5(key: Buffer, msg: Buffer): Buffer {
  const k = Buffer.alloc(64);
  key.copy(k);
  const x = (b: number): Buffer => Buffer.from(k.map((v) => v ^ b));
  const inner = createHash('md5').update(x(0x36)).update(msg).digest();
  return createHash('md5').update(x(0x5c)).update(inner).digest();
}

// keepalived 2.2.7 MASTER (192.168.60.111, VRID 51, priority 150, advert_int 1, VIP 192.168.60.200,
// auth_type AH, auth_pass k33pal1v), captured with tshark: IP packets of adverts 1, 2 and its priority 0 at stop.
const PASS_KA = 'k33pal1v';
const KA = {
  first: '45c0004000010000ff33dd9fc0a83c6fe000001270040000c0a83c6f0000000112f83359100ce8a84cd9d5222133960102014959c0a83cc80000000000000000',
  second: '45c0004000020000ff33dd9ec0a83c6fe000001270040000c0a83c6f00000002415099dc49490c26f47be7c82133960102014959c0a83cc80000000000000000',
  prio0: '45c00040000a0000ff33dd96c0a83c6fe000001270040000c0a83c6f0000000a6006cd566f0e6887ac73beb3213300010201df59c0a83cc80000000000000000',
};

describe('AH codec', () => {
  it('the hand-derived ICV is HMAC-MD5-96 keyed with auth_pass padded to 8 bytes', () => {
    expect(hmacMd5(Buffer.from('secret\0\0'), ICV_INPUT).subarray(0, 12).toString('hex')).toBe(ICV);
    expect(ahIcv('secret', PACKET.subarray(0, 20), PACKET.subarray(20, 44), VRRP, false).toString('hex')).toBe(ICV);
  });

  it('builds the golden packet byte for byte', () => {
    const vrrp = encodeAdvert({ version: 2, family: 'inet', vrid: 1, priority: 100, advertIntCs: 100, addresses: ['10.0.0.100'], authType: VRRP_AUTH_AH });
    expect(vrrp.toString('hex')).toBe(VRRP.toString('hex'));
    const p = buildAhPacket({ source: '10.0.0.1', destination: '224.0.0.18', ttl: 255, id: 0x1234, sequence: 7, vrrp, password: 'secret', unicast: false });
    expect(p.toString('hex')).toBe(PACKET.toString('hex'));
  });

  it('unicast mode leaves the TTL out of the ICV; multicast covers it', () => {
    const base = { source: '10.0.0.1', destination: '10.0.0.2', id: 9, sequence: 1, vrrp: VRRP, password: 'secret' };
    const u64 = buildAhPacket({ ...base, ttl: 64, unicast: true });
    const u255 = buildAhPacket({ ...base, ttl: 255, unicast: true });
    expect(u64.subarray(32, 44)).toEqual(u255.subarray(32, 44));
    const zeroTtl = Buffer.from(ICV_INPUT);
    zeroTtl.writeUInt32BE(0x0a000002, 16);
    zeroTtl[8] = 0;
    zeroTtl.writeUInt16BE(9, 4);
    zeroTtl.writeUInt32BE(1, 28);
    expect(u64.subarray(32, 44).toString('hex')).toBe(hmacMd5(Buffer.from('secret\0\0'), zeroTtl).subarray(0, 12).toString('hex'));
    const m64 = buildAhPacket({ ...base, ttl: 64, unicast: false });
    const m255 = buildAhPacket({ ...base, ttl: 255, unicast: false });
    expect(m64.subarray(32, 44)).not.toEqual(m255.subarray(32, 44));
  });

  it('truncates auth_pass to 8 bytes (keepalived auth_data[8])', () => {
    const a = buildAhPacket({ source: '10.0.0.1', destination: '224.0.0.18', ttl: 255, id: 1, sequence: 1, vrrp: VRRP, password: 'k33pal1v', unicast: false });
    const b = buildAhPacket({ source: '10.0.0.1', destination: '224.0.0.18', ttl: 255, id: 1, sequence: 1, vrrp: VRRP, password: 'k33pal1vEXTRA', unicast: false });
    expect(a).toEqual(b);
    expect(verifyAhPacket(a, 'k33pal1', false)).toMatchObject({ ok: true, ah: { failure: { reason: 'icv' } } });
  });

  it("verifies keepalived 2.2.7's own adverts", () => {
    const seqs: number[] = [];
    for (const [name, h] of Object.entries(KA)) {
      const r = verifyAhPacket(hex(h), 'k33pal1v', false);
      expect(r.ok, name).toBe(true);
      if (!r.ok) continue;
      expect(r.ah.failure, name).toBeUndefined();
      expect(r.ah.spi).toBe('192.168.60.111');
      expect(r).toMatchObject({ source: '192.168.60.111', destination: '224.0.0.18', ttl: 255 });
      expect(r.vrrp.length).toBe(20);
      expect(r.vrrp[4]).toBe(VRRP_AUTH_AH); // VRRP auth type 2, auth data zero
      expect(r.vrrp.subarray(12).equals(Buffer.alloc(8))).toBe(true);
      seqs.push(r.ah.sequence);
    }
    expect(seqs).toEqual([1, 2, 10]);
    // and ours, given the same fields, is the same packet (the kernel filled keepalived's header checksum)
    const k = hex(KA.first);
    const ours = buildAhPacket({ source: '192.168.60.111', destination: '224.0.0.18', ttl: 255, id: 1, sequence: 1, vrrp: k.subarray(44), password: 'k33pal1v', unicast: false });
    expect(ours.toString('hex')).toBe(KA.first);
  });

  it('rejects a wrong password, a changed covered field, an SPI that is not the source; TOS/checksum changes are fine', () => {
    const k = hex(KA.first);
    expect(verifyAhPacket(k, 'other', false)).toMatchObject({ ok: true, ah: { failure: { reason: 'icv', message: expect.stringContaining('invalid IPSEC HMAC-MD5 value') } } });
    const ttl = Buffer.from(k);
    ttl[8] = 254;
    expect(verifyAhPacket(ttl, 'k33pal1v', false)).toMatchObject({ ah: { failure: { reason: 'icv' } } });
    expect(verifyAhPacket(ttl, 'k33pal1v', true)).toMatchObject({ ah: { failure: { reason: 'icv' } } }); // keepalived's sender (multicast) covered the TTL
    const prio = Buffer.from(k);
    prio[46] = 200;
    expect(verifyAhPacket(prio, 'k33pal1v', false)).toMatchObject({ ah: { failure: { reason: 'icv' } } });
    const seq = Buffer.from(k);
    seq.writeUInt32BE(99, 28);
    expect(verifyAhPacket(seq, 'k33pal1v', false)).toMatchObject({ ah: { failure: { reason: 'icv' } } });
    const mutable = Buffer.from(k);
    mutable[1] = 0;
    mutable.writeUInt16BE(0x4000, 6);
    mutable.writeUInt16BE(0, 10);
    const m = verifyAhPacket(mutable, 'k33pal1v', false);
    expect(m).toMatchObject({ ok: true, ah: { sequence: 1 } });
    expect(m.ok && m.ah.failure).toBeUndefined();
    // an SPI other than the source, with a valid ICV over it
    const p = buildAhPacket({ source: '10.0.0.1', destination: '224.0.0.18', ttl: 255, id: 1, sequence: 3, vrrp: VRRP, password: 'secret', unicast: false });
    p.writeUInt32BE(0x0a000009, 24);
    ahIcv('secret', p.subarray(0, 20), p.subarray(20, 44), VRRP, false).copy(p, 32);
    expect(verifyAhPacket(p, 'secret', false)).toMatchObject({ ah: { spi: '10.0.0.9', failure: { reason: 'spi', message: 'IPSEC AH : invalid IPSEC SPI value. 10.0.0.1 and expect 10.0.0.9' } } });
  });

  it('ignores what is not AH-protected VRRP', () => {
    const k = hex(KA.first);
    const other = Buffer.from(k);
    other[20] = 6; // AH for TCP: keepalived drops it silently
    expect(verifyAhPacket(other, 'k33pal1v', false)).toMatchObject({ ok: false });
    expect(verifyAhPacket(k.subarray(0, 40), 'k33pal1v', false)).toMatchObject({ ok: false });
    const vrrp = Buffer.from(k);
    vrrp[9] = 112;
    expect(verifyAhPacket(vrrp, 'k33pal1v', false)).toMatchObject({ ok: false });
    expect(() => buildAhPacket({ source: '10.0.0.1', destination: '224.0.0.18', ttl: 255, id: 0, sequence: 1, vrrp: VRRP, password: 'x', unicast: false })).toThrow(/IP ID/);
  });
});

describe('AH sequence numbers (keepalived seq_counter_t)', () => {
  it('sends 1, 2, 3 … and stops at 0xFFFFFFFE (cycle), restarting at a takeover', () => {
    const s = new AhSequence();
    expect([s.next(), s.next(), s.next()]).toEqual([1, 2, 3]);
    const w = new AhSequence(0xfffffffc);
    expect([w.next(), w.next(), w.cycle, w.next(), w.next()]).toEqual([0xfffffffd, 0xfffffffe, false, 0xfffffffe, 0xfffffffe]);
    expect(w.cycle).toBe(true);
    w.becomingMaster();
    expect([w.cycle, w.next()]).toEqual([false, 1]);
    const n = new AhSequence(41);
    n.becomingMaster(); // not cycled: the sequence goes on
    expect(n.next()).toBe(42);
  });

  it('accepts only numbers above the last one sent or accepted', () => {
    const s = new AhSequence();
    expect(s.accept(5, true)).toBe(true);
    expect(s.accept(5, true)).toBe(false);
    expect(s.accept(4, true)).toBe(false);
    expect(s.accept(6, true)).toBe(true);
    // a backup that takes over continues the old master's sequence
    expect(s.next()).toBe(7);
    // our own sends raise the bar too
    expect(s.accept(7, false)).toBe(false);
    expect(s.accept(8, false)).toBe(true);
  });

  it('a BACKUP accepting clears cycle; a MASTER syncs after a lower-priority advert', () => {
    const s = new AhSequence(0xfffffffe, true);
    expect(s.accept(0xffffffff, false)).toBe(true);
    expect(s.cycle).toBe(true);
    s.masterRxHigher();
    expect(s.cycle).toBe(false);
    const b = new AhSequence(3, true);
    b.accept(10, true);
    expect(b.cycle).toBe(false);
    const m = new AhSequence(100);
    m.masterRxLower(500);
    expect(m.next()).toBe(502);
    m.masterRxLower(0xffffffff);
    expect(m.seq).toBe(0); // uint32 wrap, as in C
  });
});

describe('validateAdvert with auth_type AH (vrrp_check_packet order)', () => {
  const cfg: ValidationConfig = { name: 'VI_1', version: 2, family: 'inet', vrid: 51, authType: VRRP_AUTH_AH, authPassword: PASS_KA, advertIntCs: 100, unicast: false, addresses: ['192.168.60.200'] };
  /** keepalived's captured advert through verifyAhPacket, as the transport delivers it. */
  const received = (ip: Buffer, password = PASS_KA): ReceivedPacket => {
    const r = verifyAhPacket(ip, password, false);
    if (!r.ok) throw new Error(r.why);
    return { payload: r.vrrp, source: r.source, destination: r.destination, ttl: r.ttl, ah: r.ah };
  };

  it('accepts a good advert once (the counter moves to its number), then drops it as a replay', () => {
    const seq = new AhSequence();
    expect(validateAdvert(received(hex(KA.second)), cfg, { ahSequence: seq, backup: true })).toMatchObject({ ok: true });
    expect(seq.seq).toBe(2);
    expect(validateAdvert(received(hex(KA.second)), cfg, { ahSequence: seq, backup: true })).toEqual({
      ok: false,
      reason: 'ah-replay',
      message: '(VI_1) IPSEC-AH : sequence number 2 already processed. Packet dropped. Local(2)',
    });
    expect(validateAdvert(received(hex(KA.first)), cfg, { ahSequence: seq })).toMatchObject({ ok: false, reason: 'ah-replay' });
    expect(validateAdvert(received(hex(KA.prio0)), cfg, { ahSequence: seq })).toMatchObject({ ok: true });
  });

  it('drops ICV and SPI failures before the replay check, leaving the counter alone', () => {
    const seq = new AhSequence();
    expect(validateAdvert(received(hex(KA.second), 'nope'), cfg, { ahSequence: seq })).toEqual({
      ok: false,
      reason: 'ah-icv',
      message: '(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !',
    });
    const spi = hex(KA.first);
    spi.writeUInt32BE(0x0a000009, 24);
    ahIcv(PASS_KA, spi.subarray(0, 20), spi.subarray(20, 44), spi.subarray(44), false).copy(spi, 32);
    expect(validateAdvert(received(spi), cfg, { ahSequence: seq })).toMatchObject({ ok: false, reason: 'ah-spi' });
    expect(seq.seq).toBe(0);
  });

  it('AH presence must match the configuration (auth-type), before anything else', () => {
    const plain = encodeAdvert({ version: 2, family: 'inet', vrid: 51, priority: 100, advertIntCs: 100, addresses: ['192.168.60.200'], authType: VRRP_AUTH_AH });
    expect(validateAdvert({ payload: plain, source: '192.168.60.112', destination: '224.0.0.18', ttl: 254 }, cfg)).toEqual({
      ok: false,
      reason: 'auth-type',
      message: '(VI_1) No AH header but auth type is AH',
    });
    const pass: ValidationConfig = { ...cfg, authType: VRRP_AUTH_PASS };
    expect(validateAdvert(received(hex(KA.first)), pass)).toEqual({ ok: false, reason: 'auth-type', message: '(VI_1) Received AH header but auth type not AH' });
    // TTL is still checked before AH (a multicast TTL 254 packet would fail its ICV anyway)
    const p = received(hex(KA.first));
    expect(validateAdvert({ ...p, ttl: 254 }, cfg)).toMatchObject({ ok: false, reason: 'ttl' });
  });
});
